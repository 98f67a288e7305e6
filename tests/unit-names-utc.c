/* Archive names and retention periods are UTC whatever TZ says: the
 * same instant gets the same name under every TZ, the fall-back hour of
 * daylight saving gives two names, and keep_daily keeps the same
 * archives under America/New_York as under UTC. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn.h"

#include "unit.h"

static time_t at(const char *s)
{
	struct tm tm = { 0 };

	strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	return timegm(&tm);
}

static const char *zones[] = { "UTC", "America/New_York", "Asia/Kolkata",
			       "Australia/Lord_Howe" };

int main(void)
{
	struct config cfg = { .name = "mss", .compression = COMP_ZSTD };
	/* 01:30 EDT and 01:30 EST: the same local time an hour apart. */
	time_t a = at("2026-11-01 05:30:00"), b = at("2026-11-01 06:30:00");

	for (size_t z = 0; z < ARRAY_SIZE(zones); z++) {
		char *na, *nb, what[128];
		time_t t = 0;

		setenv("TZ", zones[z], 1);
		tzset();
		na = archive_name(&cfg, a);
		nb = archive_name(&cfg, b);
		snprintf(what, sizeof(what), "%s: name is UTC", zones[z]);
		check(!strcmp(na, "mss-backup-2026-11-01_053000.tar.zst"),
		      what, na);
		snprintf(what, sizeof(what), "%s: an hour later sorts later",
			 zones[z]);
		check(strcmp(na, nb) < 0, what, nb);
		snprintf(what, sizeof(what), "%s: parses as UTC", zones[z]);
		check(archive_name_parse("mss", nb, &t) && t == b, what, nb);
		free(na);
		free(nb);
	}

	/* 23:30 and 02:00 UTC on two UTC days are one New York day:
	 * keep_daily = 2 keeps both (two UTC days) under any TZ. */
	for (size_t z = 0; z < ARRAY_SIZE(zones); z++) {
		struct snap s[3] = {
			{ .name = "c", .time = at("2026-02-11 02:00:00") },
			{ .name = "b", .time = at("2026-02-10 23:30:00") },
			{ .name = "a", .time = at("2026-02-10 12:00:00") },
		};
		struct policy p = { .daily = 2 };
		char what[128];

		setenv("TZ", zones[z], 1);
		tzset();
		retention_select(s, 3, &p);
		snprintf(what, sizeof(what), "%s: keep_daily by UTC day",
			 zones[z]);
		check(s[0].keep && s[1].keep && !s[2].keep, what, NULL);
	}
	printf("1..%d\n", ntests);
	return failures ? 1 : 0;
}

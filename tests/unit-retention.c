/* Unit tests for retention_select: restic's keep-last/daily/weekly/
 * monthly/yearly, periods without archives not counted, newest kept. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn.h"

#include "unit.h"

/* "YYYY-MM-DD HH:MM:SS" in UTC (TZ is UTC for the whole run). */
static time_t at(const char *s)
{
	struct tm tm = { 0 };

	if (!strptime(s, "%Y-%m-%d %H:%M:%S", &tm)) {
		fprintf(stderr, "bad time %s\n", s);
		exit(2);
	}
	return timegm(&tm);
}

/*
 * Run retention over `times` (the name of each snap is its time string)
 * and compare the kept names, newest first, joined with ", ", with
 * `want`; also check the returned count.
 */
static void run(const char *what, const char *const *times,
		const struct policy *p, const char *want)
{
	size_t n = 0, kept, nkept = 0;
	struct snap *s;
	char got[1024] = "";

	while (times[n])
		n++;
	s = calloc(n ? n : 1, sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		s[i].name = times[i];
		s[i].time = at(times[i]);
		s[i].keep = i % 2; /* garbage the function must overwrite */
	}
	kept = retention_select(s, n, p);
	for (size_t i = 0; i < n; i++) {
		if (i && s[i - 1].time < s[i].time)
			check(0, "output sorted newest first", s[i].name);
		if (!s[i].keep)
			continue;
		nkept++;
		if (*got)
			strcat(got, ", ");
		strcat(got, s[i].name);
	}
	check(!strcmp(got, want), what, got);
	check(kept == nkept, "return value counts the kept archives", NULL);
	free(s);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();

	{
		const char *t[] = { "2026-01-05 03:15:00",
				    "2026-01-04 03:15:00",
				    "2026-01-03 03:15:00",
				    "2026-01-02 03:15:00",
				    "2026-01-01 03:15:00", NULL };
		struct policy p = { .last = 3 };

		run("keep_last=3 keeps the newest three", t, &p,
		    "2026-01-05 03:15:00, 2026-01-04 03:15:00, "
		    "2026-01-03 03:15:00");
		p.last = 10;
		run("keep_last larger than the list keeps all", t, &p,
		    "2026-01-05 03:15:00, 2026-01-04 03:15:00, "
		    "2026-01-03 03:15:00, 2026-01-02 03:15:00, "
		    "2026-01-01 03:15:00");
		p.last = 1;
		run("keep_last=1 keeps only the newest", t, &p,
		    "2026-01-05 03:15:00");
	}
	{
		/* Several per day; no archive on the 8th. */
		const char *t[] = { "2026-01-10 20:00:00",
				    "2026-01-10 08:00:00",
				    "2026-01-09 23:59:59",
				    "2026-01-09 00:00:00",
				    "2026-01-07 12:00:00",
				    "2026-01-06 12:00:00", NULL };
		struct policy p = { .daily = 3 };

		run("keep_daily keeps the newest of each day and skips days "
		    "without archives", t, &p,
		    "2026-01-10 20:00:00, 2026-01-09 23:59:59, "
		    "2026-01-07 12:00:00");
	}
	{
		/* 2026-12-31 (Thu) and 2027-01-01 (Fri) are both ISO week
		 * 2026-W53; 2027-01-04 (Mon) is 2027-W01; 2026-12-27 (Sun)
		 * is 2026-W52. Calendar years would split the first pair. */
		const char *t[] = { "2027-01-04 03:15:00",
				    "2027-01-01 03:15:00",
				    "2026-12-31 03:15:00",
				    "2026-12-27 03:15:00",
				    "2026-12-21 03:15:00", NULL };
		struct policy p = { .weekly = 3 };

		run("keep_weekly uses ISO weeks across the year boundary", t,
		    &p,
		    "2027-01-04 03:15:00, 2027-01-01 03:15:00, "
		    "2026-12-27 03:15:00");
	}
	{
		const char *t[] = { "2026-03-31 03:15:00",
				    "2026-03-01 03:15:00",
				    "2026-02-15 03:15:00",
				    "2026-01-31 23:00:00",
				    "2026-01-01 00:00:00",
				    "2025-12-31 03:15:00", NULL };
		struct policy p = { .monthly = 3 };

		run("keep_monthly keeps the newest of each month", t, &p,
		    "2026-03-31 03:15:00, 2026-02-15 03:15:00, "
		    "2026-01-31 23:00:00");
		p = (struct policy){ .yearly = 2 };
		run("keep_yearly keeps the newest of each year", t, &p,
		    "2026-03-31 03:15:00, 2025-12-31 03:15:00");
	}
	{
		const char *t[] = { "2026-03-10 12:00:00",
				    "2026-03-10 06:00:00",
				    "2026-03-09 03:15:00",
				    "2026-02-20 03:15:00",
				    "2026-02-10 03:15:00",
				    "2026-01-05 03:15:00", NULL };
		struct policy p = { .last = 2, .monthly = 2 };

		run("combined rules keep the union (last=2, monthly=2)", t,
		    &p,
		    "2026-03-10 12:00:00, 2026-03-10 06:00:00, "
		    "2026-02-20 03:15:00");
		p = (struct policy){ .last = 1, .daily = 2, .monthly = 3 };
		run("combined rules keep the union (last=1, daily=2, "
		    "monthly=3)", t, &p,
		    "2026-03-10 12:00:00, 2026-03-09 03:15:00, "
		    "2026-02-20 03:15:00, 2026-01-05 03:15:00");
		p = (struct policy){ 0 };
		run("no rule: only the newest is kept", t, &p,
		    "2026-03-10 12:00:00");
	}
	{
		/* Input in no particular order. */
		const char *t[] = { "2026-01-02 03:15:00",
				    "2026-01-05 03:15:00",
				    "2026-01-01 03:15:00",
				    "2026-01-04 03:15:00",
				    "2026-01-03 03:15:00", NULL };
		struct policy p = { .last = 2 };

		run("unsorted input is sorted before the rules apply", t, &p,
		    "2026-01-05 03:15:00, 2026-01-04 03:15:00");
		p = (struct policy){ 0 };
		run("unsorted input, no rule: the newest is kept", t, &p,
		    "2026-01-05 03:15:00");
	}
	{
		const char *t[] = { NULL };
		struct policy p = { .last = 3 };

		run("no archives: nothing kept", t, &p, "");
	}
	printf("1..%d\n", ntests);
	return failures ? 1 : 0;
}

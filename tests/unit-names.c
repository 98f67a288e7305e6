/* Unit tests for archive_name / archive_name_parse: the round trip, and
 * every name that is not an archive of this config is refused. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn.h"

#include "unit.h"

static void refused(const char *cfg_name, const char *file)
{
	char what[256];
	time_t t = 12345;

	snprintf(what, sizeof(what), "'%s' is not an archive of '%s'", file,
		 cfg_name);
	check(!archive_name_parse(cfg_name, file, &t) && t == 12345, what,
	      NULL);
}

int main(void)
{
	struct config cfg = { 0 };
	struct tm tm = { .tm_year = 126, .tm_mon = 1, .tm_mday = 11,
			 .tm_hour = 3, .tm_min = 15, .tm_sec = 0 };
	static const struct {
		enum compression c;
		const char *want;
	} cases[] = {
		{ COMP_ZSTD, "mss-backup-2026-02-11_031500.tar.zst" },
		{ COMP_GZIP, "mss-backup-2026-02-11_031500.tar.gz" },
		{ COMP_NONE, "mss-backup-2026-02-11_031500.tar" },
	};
	time_t t0, t;

	setenv("TZ", "UTC", 1);
	tzset();
	t0 = timegm(&tm);
	cfg.name = "mss";
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *n;

		cfg.compression = cases[i].c;
		n = archive_name(&cfg, t0);
		check(!strcmp(n, cases[i].want), cases[i].want, n);
		t = 0;
		check(archive_name_parse("mss", n, &t) && t == t0,
		      "parses back to the same time", n);
		free(n);
	}
	check(archive_name_parse("mss", "mss-backup-2026-02-11_031500.tar.zst",
				 NULL), "time pointer may be NULL", NULL);

	/* Round trip over a year of nightly runs plus odd times. */
	{
		bool all = true;

		cfg.compression = COMP_ZSTD;
		for (time_t x = t0; x < t0 + 366 * 86400; x += 86400 + 3607) {
			char *n = archive_name(&cfg, x);

			all &= archive_name_parse("mss", n, &t) && t == x;
			free(n);
		}
		check(all, "round trip for 300+ different times", NULL);
	}
	/* Names with dots, dashes, underscores. */
	cfg.name = "my-app_v2.0";
	{
		char *n = archive_name(&cfg, t0);

		check(archive_name_parse("my-app_v2.0", n, &t) && t == t0,
		      "a name with '-', '_' and '.' round-trips", n);
		refused("my-app", n);
		refused("my-app_v2", n);
		free(n);
	}

	refused("mss", "mss-backup-latest.tar.zst");
	refused("mss", "mss-backup-latest.tar.gz");
	refused("mss", "other-backup-2026-02-11_031500.tar.zst");
	refused("mss", "mssx-backup-2026-02-11_031500.tar.zst");
	refused("ms", "mss-backup-2026-02-11_031500.tar.zst");
	refused("mss", "mss-2026-02-11_031500.tar.zst");
	refused("mss", "mss-backup-2026-02-11_031500.tar.zst.sha256");
	refused("mss", "mss-backup-2026-02-11_031500.tar.zst.manifest");
	refused("mss", ".mss-backup-2026-02-11_031500.tar.zst.partial");
	refused("mss", "mss-backup-2026-02-11_031500.tar.zst.tmp");
	refused("mss", "mss-backup-2026-02-11_031500.tar.bz2");
	refused("mss", "mss-backup-2026-02-11_031500.zst");
	refused("mss", "mss-backup-2026-02-11_031500");
	refused("mss", "mss-backup-2026-02-11_0315.tar.zst");
	refused("mss", "mss-backup-2026-02-11-031500.tar.zst");
	refused("mss", "mss-backup-2026-2-11_031500.tar.zst");
	refused("mss", "mss-backup-2026-13-11_031500.tar.zst");
	refused("mss", "mss-backup-2026-02-11_251500.tar.zst");
	refused("mss", "mss-backup-20260211_031500x.tar.zst");
	refused("mss", "mss-backup-2026-02-11_03150a.tar.zst");
	refused("mss", "mss-backup-.tar.zst");
	refused("mss", "mss-backup-");
	refused("mss", "");
	printf("1..%d\n", ntests);
	return failures ? 1 : 0;
}

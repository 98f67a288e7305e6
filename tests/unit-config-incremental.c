/* Unit tests for [cairn] incremental and full_every: defaults (no, 7d),
 * a duration or a count of backups, bad values named with FILE:LINE,
 * and the CAIRN_INCREMENTAL / CAIRN_FULL_EVERY overrides. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn.h"

#include "unit.h"

static char dir[] = "/tmp/cairn-unit-incr.XXXXXX";

static int load(const char *extra, char **env, struct config *cfg,
		struct cairn_error *err)
{
	char *path = xasprintf("%s/c.conf", dir);
	FILE *f = fopen(path, "w");
	int rc;

	if (!f) {
		perror(path);
		exit(2);
	}
	fprintf(f, "[cairn]\nname = mss\nsource = /srv/x\narchive_dir = "
		"/var/x\n%s\n[component audio]\ntype = files\npath = "
		"Sounds\n", extra);
	fclose(f);
	memset(err, 0, sizeof(*err));
	rc = config_load(path, env, cfg, err);
	unlink(path);
	free(path);
	return rc;
}

static void ok(const char *what, const char *extra, char **env, bool incr,
	       long secs, long count)
{
	struct config cfg;
	struct cairn_error err;
	int rc = load(extra, env, &cfg, &err);

	check(!rc && cfg.incremental == incr && cfg.full_every.secs == secs &&
	      cfg.full_every.count == count, what, rc ? err.msg : NULL);
	if (!rc)
		config_free(&cfg);
}

static void bad(const char *what, const char *extra, const char *needle)
{
	struct config cfg;
	struct cairn_error err;
	int rc = load(extra, NULL, &cfg, &err);

	check(rc == CAIRN_ECONFIG && strstr(err.msg, needle) &&
	      strstr(err.msg, "c.conf:5"), what, err.msg);
	config_free(&cfg); /* after an error too */
}

int main(void)
{
	char *env_on[] = { "CAIRN_INCREMENTAL=yes", "CAIRN_FULL_EVERY=3",
			   NULL };

	if (!mkdtemp(dir)) {
		perror(dir);
		return 2;
	}
	ok("defaults: incremental = no, full_every = 7d", "", NULL, false,
	   7 * 86400, 0);
	ok("incremental = yes", "incremental = yes", NULL, true, 7 * 86400,
	   0);
	ok("full_every = 2w is a duration", "full_every = 2w", NULL, false,
	   14 * 86400, 0);
	ok("full_every = 36h is a duration", "full_every = 36h", NULL, false,
	   36 * 3600, 0);
	ok("full_every = 5 is a count of backups", "full_every = 5", NULL,
	   false, 7 * 86400, 5);
	ok("environment overrides both", "incremental = no", env_on, true,
	   7 * 86400, 3);
	bad("incremental = maybe is refused", "incremental = maybe",
	    "'incremental': want yes or no");
	bad("full_every = soon is refused", "full_every = soon",
	    "'full_every'");
	bad("full_every = 0 is refused", "full_every = 0", "'full_every'");
	bad("full_every = 10m is too short", "full_every = 10m",
	    "'full_every'");
	rmdir(dir);
	printf("1..%d\n", ntests);
	return failures != 0;
}

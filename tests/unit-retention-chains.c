/* Unit tests for retention over chains: an archive goes only when no
 * kept restore point needs it (an incremental needs the archives back to
 * its full, and what its INDEX names), and chain_want_full starts a new
 * chain by full_every (a duration or a count) or after a corrupt one. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn.h"

#include "unit.h"

#define DAY 86400
static const time_t T0 = 1767236100; /* 2026-01-01 03:15:00 UTC */

/* Snaps from a spec such as "F I I F I": day i is spec[i], oldest
 * first; names are "F0", "I1", ... */
static struct snap *mk(const char *spec, size_t *n, char names[][8])
{
	struct snap *s = calloc(strlen(spec) + 1, sizeof(*s));

	*n = 0;
	for (size_t i = 0; spec[i]; i++) {
		if (spec[i] == ' ')
			continue;
		snprintf(names[*n], 8, "%c%zu", spec[i], *n);
		s[*n].name = names[*n];
		s[*n].time = T0 + (time_t)*n * DAY;
		s[*n].incr = spec[i] == 'I';
		s[*n].needed = true; /* garbage the function must reset */
		(*n)++;
	}
	return s;
}

/* The needed names, oldest first, joined by ' '. */
static void needed(const struct snap *s, size_t n, char *out, size_t len)
{
	*out = '\0';
	for (size_t i = n; i-- > 0;)
		if (s[i].needed) {
			if (*out)
				strncat(out, " ", len - strlen(out) - 1);
			strncat(out, s[i].name, len - strlen(out) - 1);
		}
}

static void run(const char *what, const char *spec, struct policy p,
		const char *held, const char *want)
{
	char names[64][8], got[512];
	size_t n, cnt = 0;
	struct snap *s = mk(spec, &n, names);

	for (size_t i = 0; held && i < n; i++)
		s[i].held = !strcmp(s[i].name, held);
	retention_chains(s, n, &p);
	needed(s, n, got, sizeof(got));
	check(!strcmp(got, want), what, got);
	for (size_t i = 0; i < n; i++)
		cnt += s[i].needed;
	free(s);
	(void)cnt;
}

/* Every incremental left has its full and every night between. */
static bool chains_whole(const struct snap *s, size_t n, const bool *gone,
			 size_t days)
{
	(void)s;
	(void)n;
	for (size_t d = 0; d < days; d++) {
		if (gone[d] || !s[d].incr)
			continue;
		for (size_t k = d; k-- > 0;) {
			if (gone[k])
				return false;
			if (!s[k].incr)
				break;
			if (k == 0)
				return false; /* no full at all */
		}
	}
	return true;
}

/* 30 nightly runs: each night's kind by chain_want_full, then retention
 * deletes what no kept restore point needs, as cairn backup does. */
static void simulate(const char *what, struct full_every fe,
		     struct policy p, const char *want_kinds,
		     size_t want_max_left)
{
	enum { DAYS = 30 };
	struct snap all[DAYS] = { 0 }, live[DAYS];
	char names[DAYS][8], kinds[DAYS + 1] = "";
	bool gone[DAYS] = { false }, whole = true;
	size_t max_left = 0;

	for (size_t d = 0; d < DAYS; d++) {
		const char *why;
		size_t n = 0, left = 0;

		for (size_t k = 0; k < d; k++)
			if (!gone[k])
				live[n++] = all[k];
		all[d].time = T0 + (time_t)d * DAY + (d % 3) * 7; /* jitter */
		all[d].incr = !chain_want_full(live, n, all[d].time, &fe,
					       &why);
		snprintf(names[d], 8, "%c%zu", all[d].incr ? 'I' : 'F', d);
		all[d].name = names[d];
		kinds[d] = all[d].incr ? 'I' : 'F';
		live[n++] = all[d];
		retention_chains(live, n, &p);
		for (size_t k = 0; k < n; k++)
			if (!live[k].needed)
				gone[atoi(live[k].name + 1)] = true;
		whole &= chains_whole(all, DAYS, gone, d + 1);
		for (size_t k = 0; k <= d; k++)
			left += !gone[k];
		if (left > max_left)
			max_left = left;
	}
	kinds[DAYS] = '\0';
	check(!strcmp(kinds, want_kinds), what, kinds);
	check(whole, "  every kept incremental keeps its full and the nights "
	      "between", NULL);
	{
		char d[64];

		snprintf(d, sizeof(d), "%zu archives at most, want <= %zu",
			 max_left, want_max_left);
		check(max_left <= want_max_left, "  old chains are deleted",
		      d);
	}
	{
		size_t kept = 0;

		for (size_t k = DAYS - (size_t)p.last; k < DAYS; k++)
			kept += !gone[k];
		check(kept == (size_t)p.last, "  the newest keep_last nights "
		      "are all restorable", NULL);
	}
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();

	run("all fulls: retention as before", "F F F F F",
	    (struct policy){ .last = 2 }, NULL, "F3 F4");
	run("keep_last=1 on an incremental keeps its whole chain",
	    "F I I F I I", (struct policy){ .last = 1 }, NULL, "F3 I4 I5");
	run("keep_last=4 reaching into the older chain keeps it back to "
	    "its full", "F I I F I I", (struct policy){ .last = 4 }, NULL,
	    "F0 I1 I2 F3 I4 I5");
	run("keep_last=3 ending on a full needs nothing older",
	    "F I I F I I", (struct policy){ .last = 3 }, NULL, "F3 I4 I5");
	run("a held incremental keeps its chain", "F I I F I",
	    (struct policy){ .last = 1 }, "I1", "F0 I1 F3 I4");
	run("an incremental with no full keeps what there is",
	    "I I F I", (struct policy){ .last = 4 }, NULL, "I0 I1 F2 I3");
	run("keep_daily picks restore points, chains follow",
	    "F I I I F I I", (struct policy){ .daily = 2 }, NULL,
	    "F4 I5 I6");

	/* An INDEX naming an archive outside the chain by name. */
	{
		char names[64][8], got[256];
		size_t n;
		struct snap *s = mk("F I F I", &n, names);
		struct strv nd = { 0 };
		struct policy p = { .last = 1 };

		strv_push(&nd, "I1");
		s[3].needs = &nd;
		retention_chains(s, n, &p);
		needed(s, n, got, sizeof(got));
		check(!strcmp(got, "F0 I1 F2 I3"), "what an INDEX names is "
		      "kept, with its own chain", got);
		strv_free(&nd);
		free(s);
	}

	/* Duration: a new full every 7 days. */
	simulate("30 nights, full_every=7d, keep_last=7: a full each week",
		 (struct full_every){ .secs = 7 * DAY },
		 (struct policy){ .last = 7 },
		 "FIIIIIIFIIIIIIFIIIIIIFIIIIIIFI", 14);
	simulate("30 nights, full_every=3 (a count), keep_last=2",
		 (struct full_every){ .count = 3 },
		 (struct policy){ .last = 2 },
		 "FIIFIIFIIFIIFIIFIIFIIFIIFIIFII", 4);
	simulate("30 nights, full_every=7d, keep_last=3 keep_weekly=3",
		 (struct full_every){ .secs = 7 * DAY },
		 (struct policy){ .last = 3, .weekly = 3 },
		 "FIIIIIIFIIIIIIFIIIIIIFIIIIIIFI", 22);

	/* chain_want_full */
	{
		char names[64][8];
		size_t n;
		struct snap *s = mk("F I I", &n, names);
		struct full_every fe = { .secs = 7 * DAY };
		const char *why = NULL;

		check(chain_want_full(s, 0, T0, &fe, &why) && why,
		      "no archive yet: a full", why);
		check(!chain_want_full(s, n, T0 + 3 * DAY, &fe, &why),
		      "three days into a 7d chain: an incremental", NULL);
		check(chain_want_full(s, n, T0 + 7 * DAY, &fe, &why),
		      "seven days after the full: a full", NULL);
		check(chain_want_full(s, n, T0 + 7 * DAY - 60, &fe, &why),
		      "a minute early (timer jitter) still a full", NULL);
		check(!chain_want_full(s, n, T0 + 6 * DAY, &fe, &why),
		      "six days: an incremental", NULL);
		s[1].corrupt = true;
		check(chain_want_full(s, n, T0 + 3 * DAY, &fe, &why) &&
		      strstr(why, "verify"), "a corrupt archive in the chain: "
		      "a full", why);
		free(s);
		s = mk("F I F I", &n, names);
		s[1].corrupt = true;
		check(!chain_want_full(s, n, T0 + 4 * DAY, &fe, &why),
		      "a corrupt archive of an older chain does not matter",
		      NULL);
		s[0].incr = s[2].incr = true;
		check(chain_want_full(s, n, T0 + 4 * DAY, &fe, &why),
		      "incrementals only: a full", why);
		free(s);
	}

	/* prune --dry-run's chain lines */
	{
		char names[64][8];
		size_t n;
		struct snap *s = mk("F I I F I", &n, names);
		struct policy p = { .last = 1 };
		struct sbuf b = { 0 };

		retention_chains(s, n, &p);
		retention_describe(s, n, &b);
		check(b.s && strstr(b.s, "chain F0: full + 2 incrementals, 0 "
				    "restore points kept\n"),
		      "describe: the old chain", b.s);
		check(b.s && strstr(b.s, "  remove I2\n") &&
		      strstr(b.s, "chain F3: full + 1 incremental, 1 restore "
			     "point kept\n  keep   F3 (needed by I4)\n  keep"
			     "   I4 (restore point)\n"),
		      "describe: what goes, what stays and why", b.s);
		check(b.s && strstr(b.s, "chain F0") < strstr(b.s, "chain F3"),
		      "describe: oldest chain first", b.s);
		sb_free(&b);
		free(s);
	}
	printf("1..%d\n", ntests);
	return failures != 0;
}

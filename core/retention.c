/*
 * Retention with restic's semantics. Archives are walked newest first;
 * each rule (last, daily, weekly, monthly, yearly) keeps an archive when
 * its period (of UTC, like the names) differs from the last period that
 * rule kept, until the rule's count runs out. Periods without archives
 * do not count. An archive kept by any rule is kept; the newest is
 * always kept.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cairn.h"

static int newest_first(const void *a, const void *b)
{
	const struct snap *x = a, *y = b;

	if (x->time != y->time)
		return (x->time < y->time) - (x->time > y->time);
	return strcmp(y->name, x->name); /* as catalog_scan sorts */
}

/* The period an archive falls in, per rule; -1 never matches. */
static long period(int rule, time_t t, size_t index)
{
	struct tm tm;
	char wk[16];

	/* Days, weeks and months of UTC, as the names are: the same
	 * archives are kept whatever the caller's TZ. */
	gmtime_r(&t, &tm);
	switch (rule) {
	case 0:
		return (long)index; /* keep_last: every archive differs */
	case 1:
		return (tm.tm_year + 1900L) * 10000 + (tm.tm_mon + 1) * 100 +
		       tm.tm_mday;
	case 2:
		/* ISO 8601 week-based year and week, like restic. */
		strftime(wk, sizeof(wk), "%G%V", &tm);
		return strtol(wk, NULL, 10);
	case 3:
		return (tm.tm_year + 1900L) * 100 + tm.tm_mon + 1;
	default:
		return tm.tm_year + 1900L;
	}
}

size_t retention_select(struct snap *snaps, size_t n, const struct policy *p)
{
	return retention_select_tiers(snaps, n, p, NULL);
}

size_t retention_select_tiers(struct snap *snaps, size_t n,
			      const struct policy *p, unsigned *rules)
{
	long count[5] = { p->last, p->daily, p->weekly, p->monthly,
			  p->yearly };
	long last[5] = { -1, -1, -1, -1, -1 };
	size_t kept = 0;

	qsort(snaps, n, sizeof(*snaps), newest_first);
	for (size_t i = 0; i < n; i++) {
		snaps[i].keep = i == 0;
		if (rules)
			rules[i] = 0;
		for (int r = 0; r < 5; r++) {
			long v;

			if (count[r] <= 0)
				continue;
			v = period(r, snaps[i].time, i);
			if (v != last[r]) {
				snaps[i].keep = true;
				if (rules)
					rules[i] |= 1u << r;
				last[r] = v;
				count[r]--;
			}
		}
		kept += snaps[i].keep;
	}
	return kept;
}

/*
 * Chains. An incremental needs the archives before it back to, and
 * including, the newest full older than it: each night is made from the
 * one before, so no INDEX names anything older. Target retention sees
 * names only, and this needs nothing else; an INDEX's own list (needs)
 * adds to it, for archives made some other way.
 */
static void need(struct snap *s, const struct snap *by)
{
	if (s->needed)
		return;
	s->needed = true;
	s->needed_by = by ? by->name : NULL;
}

static size_t find_name(const struct snap *s, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s[i].name, name))
			return i;
	return n;
}

/* Mark what s[i] (needed, newest first) needs; returns whether an
 * archive newer than it was marked (the caller goes round again). */
static bool need_chain(struct snap *s, size_t n, size_t i)
{
	bool newer = false;

	for (size_t j = i + 1; s[i].incr && j < n; j++) {
		need(&s[j], &s[i]);
		if (!s[j].incr)
			break;
	}
	for (size_t k = 0; s[i].needs && k < s[i].needs->n; k++) {
		size_t j = find_name(s, n, s[i].needs->v[k]);

		if (j < n && !s[j].needed) {
			need(&s[j], &s[i]);
			newer |= j < i;
		}
	}
	return newer;
}

size_t retention_chains(struct snap *snaps, size_t n, const struct policy *p)
{
	size_t needed = 0;
	bool again = true;

	retention_select(snaps, n, p);
	for (size_t i = 0; i < n; i++) {
		snaps[i].needed = false;
		snaps[i].needed_by = NULL;
		if (snaps[i].keep || snaps[i].held)
			need(&snaps[i], NULL);
	}
	/* Newest first: what a needed archive needs is older, and is seen
	 * later in the same pass; only an INDEX may name a newer one. */
	while (again) {
		again = false;
		for (size_t i = 0; i < n; i++)
			if (snaps[i].needed)
				again |= need_chain(snaps, n, i);
	}
	for (size_t i = 0; i < n; i++)
		needed += snaps[i].needed;
	return needed;
}

bool chain_want_full(const struct snap *s, size_t n, time_t now,
		     const struct full_every *fe, const char **why)
{
	const struct snap *base = NULL;
	size_t incrs = 0;

	/* The chain the next night would extend: the newest full and the
	 * incrementals after it. */
	for (size_t i = 0; i < n; i++)
		if (!s[i].incr && (!base || s[i].time > base->time))
			base = &s[i];
	*why = "there is no full archive to build on";
	if (!base)
		return true;
	for (size_t i = 0; i < n; i++) {
		if (s[i].time < base->time)
			continue;
		if (s[i].corrupt) {
			*why = "an archive of the chain failed verify";
			return true;
		}
		incrs += s[i].incr;
	}
	*why = "the chain is full_every long";
	if (fe->count > 0)
		return incrs + 1 >= (size_t)fe->count;
	/* A timer a few minutes early still starts the new chain. */
	return now - base->time >= fe->secs - FULL_EVERY_SLACK;
}

/* Lines for `prune --dry-run`: each chain, oldest first, with what
 * happens to each archive and why. */
void retention_describe(const struct snap *s, size_t n, struct sbuf *out)
{
	for (size_t end = n; end > 0;) {
		size_t start = end - 1, kept = 0, incrs = 0;

		/* s is newest first: a chain is a full (or an orphan
		 * incremental) and the incrementals newer than it. */
		while (start > 0 && s[start - 1].incr)
			start--;
		for (size_t i = start; i < end; i++) {
			kept += s[i].keep;
			incrs += s[i].incr;
		}
		sb_printf(out, "chain %s: %s%zu incremental%s, %zu restore "
			  "point%s kept\n", s[end - 1].name,
			  s[end - 1].incr ? "no full (broken), " : "full + ",
			  incrs, incrs == 1 ? "" : "s", kept,
			  kept == 1 ? "" : "s");
		for (size_t i = end; i-- > start;) {
			const char *why = s[i].keep ? "restore point" :
					  s[i].held ? "held" : "needed by ";

			if (!s[i].needed)
				sb_printf(out, "  remove %s\n", s[i].name);
			else
				sb_printf(out, "  keep   %s (%s%s)\n",
					  s[i].name, why, s[i].keep ||
					  s[i].held ? "" : s[i].needed_by);
		}
		end = start;
	}
}

/*
 * Object Lock per tier: an archive stays locked as long as the longest
 * tier that keeps it (a monthly as long as lock_monthly), counted from the
 * archive's time. A tier counts once its period is over: until the month
 * ends, the month's newest archive changes every day, and locking each for
 * lock_monthly would keep every daily that long. Until then (and for the
 * newest, kept by no rule) the archive counts as a last.
 */
time_t retention_lock_until(const struct snap *s, unsigned rules,
			    const long lock[5], time_t now)
{
	long most = lock[0];

	if (!s->keep)
		return 0;
	for (int r = 1; r < 5; r++)
		if ((rules & (1u << r)) && lock[r] > most &&
		    period(r, s->time, 0) != period(r, now, 0))
			most = lock[r];
	return most > 0 ? s->time + most : 0;
}

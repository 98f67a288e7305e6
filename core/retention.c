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

#include "cairn.h"

static int newest_first(const void *a, const void *b)
{
	const struct snap *x = a, *y = b;

	return (x->time < y->time) - (x->time > y->time);
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

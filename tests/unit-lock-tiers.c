/* Unit tests for retention_lock_until: an archive is locked as long as
 * the longest tier that keeps it (lock_last, lock_daily, ...), from its
 * own time, once the tier's period is over; before that, and for the
 * newest, as a last; a pruned one gets no lock. */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "cairn.h"

#include "unit.h"

#define DAY 86400L

int main(void)
{
	/* Newest first: Mar 31, Mar 30, Feb 28, Jan 31 (03:15 UTC). */
	time_t t[4] = { 1774926900, 1774840500, 1772248500, 1769829300 };
	time_t april = 1776223800, mar31 = 1774958400; /* Apr 15, Mar 31 */
	struct snap s[4];
	unsigned r[4];
	struct policy p = { .last = 1, .daily = 2, .monthly = 3 };
	const long lock[5] = { 7 * DAY, 14 * DAY, 0, 400 * DAY, 0 };
	const long nolock[5] = { 0 };
	char d[64];

	for (int i = 0; i < 4; i++)
		s[i] = (struct snap){ .name = "a", .time = t[i] };
	retention_select_tiers(s, 4, &p, r);
	/* Mar 31, seen in April: last, daily and a closed monthly. */
	check(retention_lock_until(&s[0], r[0], lock, april) ==
		      t[0] + 400 * DAY, "March's monthly, in April", "400 d");
	/* The same on Mar 31 itself: neither day nor month is over. */
	check(retention_lock_until(&s[0], r[0], lock, mar31) ==
		      t[0] + 7 * DAY, "the month's newest, same day", "7 d");
	/* Mar 30: a daily only (March's monthly is the 31st). */
	check(retention_lock_until(&s[1], r[1], lock, mar31) ==
		      t[1] + 14 * DAY, "yesterday's daily", "14 d");
	snprintf(d, sizeof(d), "rules %x", r[2]);
	check(r[2] == 1u << 3 && retention_lock_until(&s[2], r[2], lock,
						      mar31) ==
					 t[2] + 400 * DAY,
	      "February's monthly", d);
	check(retention_lock_until(&s[2], r[2], nolock, mar31) == 0,
	      "no lock periods", "0");
	/* Only one archive kept, by no rule: the newest, as a last. */
	p = (struct policy){ .last = 0 };
	retention_select_tiers(s, 2, &p, r);
	check(s[0].keep && r[0] == 0 &&
		      retention_lock_until(&s[0], r[0], lock, april) ==
			      t[0] + 7 * DAY,
	      "newest kept by no rule counts as a last", "7 d");
	check(!s[1].keep && retention_lock_until(&s[1], r[1], lock, april) ==
				    0,
	      "a pruned archive gets no lock", "0");
	printf("1..%d\n", ntests);
	return failures ? 1 : 0;
}

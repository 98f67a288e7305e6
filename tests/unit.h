/* TAP-style checks shared by the unit tests. */
#ifndef CAIRN_UNIT_H
#define CAIRN_UNIT_H

#include <stdio.h>

static int ntests, failures;

/* Record one check; detail (may be NULL) is shown when it fails. */
static inline void check(int cond, const char *what, const char *detail)
{
	ntests++;
	if (!cond)
		failures++;
	printf("%s %d - %s", cond ? "ok" : "not ok", ntests, what);
	if (!cond && detail)
		printf(" (%s)", detail);
	putchar('\n');
}

#endif

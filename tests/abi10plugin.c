/*
 * A plugin as ABI 1.0 laid it out: the 8 bytes every major keeps
 * (abi_major 1, abi_minor 0, size), then 1.0's members. A 2.0 core must
 * refuse it by those bytes alone, naming both versions, and never call
 * into it: every function here aborts (tests/target-abi10.sh).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void never(void)
{
	fputs("abi10: called by a core of another ABI\n", stderr);
	abort();
}

struct ops10 {
	uint16_t abi_major, abi_minor;
	uint32_t size;
	const char *name, *version;
	const char *const *keys;
	void (*open)(void), (*put)(void), (*list)(void), (*get)(void);
	void (*del)(void), (*close)(void), (*check)(void);
};

static const char *const keys[] = { "path", NULL };

static const struct ops10 ops = {
	1, 0, sizeof(struct ops10), "abi10", "1.0", keys,
	never, never, never, never, never, never, never,
};

const struct ops10 *cairn_target_plugin(void);
const struct ops10 *cairn_target_plugin(void)
{
	return &ops;
}

/*
 * The local plugin as an ABI 1.0 build of it would present itself: its
 * ops struct ends before clean, the member 1.1 appended. The word after
 * it holds a function that must never run, so a core that reads past a
 * plugin's `size` crashes the test (tests/target-abi10.sh).
 */
#define cairn_target_plugin local_entry
#include "../plugins/local/local.c"
#undef cairn_target_plugin

#include <stdio.h>

const struct cairn_target_ops *cairn_target_plugin(void);

static int poison_clean(void *h, const char *prefix, struct cairn_error *err)
{
	(void)h;
	(void)prefix;
	(void)err;
	fputs("abi10: clean called past the ops size\n", stderr);
	abort();
}

static struct cairn_target_ops ops10;

const struct cairn_target_ops *cairn_target_plugin(void)
{
	ops10 = *local_entry();
	ops10.name = "abi10";
	ops10.abi_minor = 0;
	ops10.size = offsetof(struct cairn_target_ops, clean);
	ops10.clean = poison_clean;
	return &ops10;
}

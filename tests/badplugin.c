/* Deliberately broken plugins for the loader test: built four times
 * with BAD_MAJOR (an ABI 1.1 plugin: its first 8 bytes say so), BAD_MINOR,
 * BAD_SIZE or NO_ENTRY defined. */
#include "config.h"

#include <stddef.h>

#include "cairn/plugin.h"

static int nop_open(const struct cairn_host *host,
		    const struct cairn_target_config *c,
		    struct cairn_target_props *p, void **h,
		    struct cairn_error *e)
{
	(void)host;
	(void)c;
	(void)p;
	(void)h;
	return cairn_errf(e, CAIRN_EFAIL, "must never be called");
}

static const struct cairn_target_ops ops = {
#ifdef BAD_MAJOR
	.abi_major = 1,
#else
	.abi_major = CAIRN_ABI_MAJOR,
#endif
#if defined BAD_MINOR
	.abi_minor = CAIRN_ABI_MINOR + 1,
#elif defined BAD_MAJOR
	.abi_minor = 1,
#else
	.abi_minor = 0,
#endif
#ifdef BAD_SIZE
	.size = offsetof(struct cairn_target_ops, begin),
#else
	.size = sizeof(struct cairn_target_ops),
#endif
	.name = PLUGIN_NAME,
	.version = "0",
	.open = nop_open,
};

#ifdef NO_ENTRY
const struct cairn_target_ops *not_the_entry(void);
const struct cairn_target_ops *not_the_entry(void)
#else
const struct cairn_target_ops *cairn_target_plugin(void)
#endif
{
	return &ops;
}

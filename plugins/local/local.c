/* local target: archives copied into another directory, typically a
 * second disk. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/plugin.h"
#include "fileops.h"
#include "util.h"

struct local {
	const struct cairn_target_config *cfg;
	char *path;
};

static const char *const keys[] = { "path", NULL };

static int local_open(const struct cairn_target_config *cfg, void **h,
		      struct cairn_error *err)
{
	const char *path = cfg->get(cfg, "path");
	struct local *l;

	if (!path || *path != '/')
		return cairn_errf(err, CAIRN_ECONFIG,
				  "target %s: key 'path' must be an absolute "
				  "directory", cfg->name);
	if (mkdir_p(path, 0700))
		return errno_err(err, 0, errno, "target %s: cannot create %s",
				 cfg->name, path);
	l = xcalloc(1, sizeof(*l));
	l->cfg = cfg;
	l->path = xstrdup(path);
	*h = l;
	return CAIRN_OK;
}

static int local_put(void *h, const struct cairn_put_file *f,
		     struct cairn_error *err)
{
	struct local *l = h;
	long long avail = dir_free(l->path);
	unsigned long long need = put_need(l->path, f);

	/* Refuse up front when the sidecars would not fit after it: an
	 * archive alone is no restore point. */
	if (avail >= 0 && (unsigned long long)avail < need)
		return cairn_errf(err, CAIRN_ENOSPC,
				  "%s: %lld bytes free, %s and its sidecars "
				  "need %llu", l->path, avail, f->name, need);
	return dir_put(l->path, f, l->cfg, err);
}

static int local_clean(void *h, const char *prefix, struct cairn_error *err)
{
	struct local *l = h;

	return dir_clean(l->path, prefix, l->cfg, err);
}

static int local_list(void *h, cairn_list_cb cb, void *ctx,
		      struct cairn_error *err)
{
	return dir_list(((struct local *)h)->path, cb, ctx, err);
}

static int local_get(void *h, const char *name, const char *dest,
		     struct cairn_error *err)
{
	return dir_get(((struct local *)h)->path, name, dest, err);
}

static int local_del(void *h, const char *name, struct cairn_error *err)
{
	return dir_del(((struct local *)h)->path, name, err);
}

static int local_check(void *h, struct cairn_error *err)
{
	struct local *l = h;
	char sz[32];

	if (access(l->path, W_OK))
		return errno_err(err, 0, errno, "%s", l->path);
	fmt_bytes((uint64_t)dir_free(l->path), sz);
	cairn_errf(err, CAIRN_OK, "%s writable, %s free", l->path, sz);
	return CAIRN_OK;
}

static void local_close(void *h)
{
	struct local *l = h;

	if (l)
		free(l->path);
	free(l);
}

static const struct cairn_target_ops ops = {
	.abi_major = CAIRN_ABI_MAJOR,
	.abi_minor = CAIRN_ABI_MINOR,
	.size = sizeof(struct cairn_target_ops),
	.name = "local",
	.version = PACKAGE_VERSION,
	.keys = keys,
	.open = local_open,
	.put = local_put,
	.list = local_list,
	.get = local_get,
	.del = local_del,
	.close = local_close,
	.check = local_check,
	.clean = local_clean,
};

const struct cairn_target_ops *cairn_target_plugin(void)
{
	return &ops;
}

/* local target: archives copied into another directory, typically a
 * second disk. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/plugin.h"
#include "fileops.h"

static const struct cairn_key_spec keys[] = {
	CAIRN_KEY("path", CAIRN_KEY_PATH, NULL, CAIRN_KEY_REQUIRED,
		  "directory the archives are copied into"),
	CAIRN_KEY_END,
};

static int local_open(const struct cairn_host *host,
		      const struct cairn_target_config *cfg,
		      struct cairn_target_props *props, void **h,
		      struct cairn_error *err)
{
	const char *path = cfg->get_str(cfg, "path");
	struct dir_store *s;

	if (!path || *path != '/')
		return cairn_errf(err, CAIRN_ECONFIG,
				  "target %s: key 'path' must be an absolute "
				  "directory", cfg->name);
	if (dir_mkdir_p(path, 0700))
		return cairn_errnof(err, 0, errno, "target %s: cannot create "
				    "%s", cfg->name, path);
	if (!(s = calloc(1, sizeof(*s))) || !(s->dir = strdup(path))) {
		free(s);
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	}
	s->host = host;
	props->flags = CAIRN_PROP_RANGED_GET | CAIRN_PROP_ATOMIC_COMMIT |
		       CAIRN_PROP_SPACE;
	*h = s;
	return CAIRN_OK;
}

static int local_begin(void *h, const char *name, uint64_t size,
		       struct cairn_txn **txn, struct cairn_error *err)
{
	return dir_begin(h, name, size, txn, err);
}

static int local_get(void *h, const char *name, uint64_t off, uint64_t len,
		     const struct cairn_sink *sink, struct cairn_error *err)
{
	return dir_get(h, name, off, len, sink, err);
}

static int local_stat(void *h, const char *name, struct cairn_object *o,
		      struct cairn_error *err)
{
	return dir_stat(h, name, o, err);
}

static int local_list(void *h, cairn_list_cb cb, void *ctx,
		      struct cairn_error *err)
{
	return dir_list(h, cb, ctx, err);
}

static int local_del(void *h, const char *name, struct cairn_error *err)
{
	return dir_del(h, name, err);
}

static int local_clean(void *h, const char *prefix, struct cairn_error *err)
{
	return dir_clean(h, prefix, err);
}

static int local_space(void *h, struct cairn_space *sp,
		       struct cairn_error *err)
{
	return dir_space(h, sp, err);
}

static int local_check(void *h, struct cairn_error *err)
{
	struct dir_store *s = h;
	char sz[32];

	if (access(s->dir, W_OK))
		return cairn_errnof(err, 0, errno, "%s", s->dir);
	dir_fmt_bytes((uint64_t)dir_free(s->dir), sz);
	cairn_errf(err, CAIRN_OK, "%s writable, %s free", s->dir, sz);
	return CAIRN_OK;
}

static void local_close(void *h)
{
	struct dir_store *s = h;

	if (s)
		free(s->dir);
	free(s);
}

static const struct cairn_target_ops ops = {
	CAIRN_TARGET_OPS_HEAD,
	.name = "local",
	.version = PACKAGE_VERSION,
	.keys = keys,
	.open = local_open,
	.close = local_close,
	.begin = local_begin,
	.write = dir_write,
	.commit = dir_commit,
	.abort = dir_abort,
	.get = local_get,
	.stat = local_stat,
	.list = local_list,
	.del = local_del,
	.clean = local_clean,
	.check = local_check,
	.space = local_space,
};

const struct cairn_target_ops *cairn_target_plugin(void)
{
	return &ops;
}

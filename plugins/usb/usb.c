/*
 * usb target: a removable drive. Writing into an unmounted mount point
 * would fill the root file system with backups nobody can carry away,
 * so the target refuses unless the mount holding its directory is a file
 * system other than the root's and archive_dir's, optionally the one
 * with the configured UUID or label.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <blkid.h>
#include <libmount.h>

#include "cairn/plugin.h"
#include "fileops.h"

struct usb {
	struct dir_store s; /* first: the fileops ops take a usb handle */
	char *path;
	char *mount;
	char *dev;
};

/* path: where archives go; mount: optionally, the drive's mount point,
 * which must then be mounted (default: the mount holding path). */
static const struct cairn_key_spec keys[] = {
	CAIRN_KEY("path", CAIRN_KEY_PATH, NULL, CAIRN_KEY_REQUIRED,
		  "directory on the drive the archives go to"),
	CAIRN_KEY("mount", CAIRN_KEY_PATH, NULL, 0,
		  "the drive's mount point, which must be mounted"),
	CAIRN_KEY("uuid", CAIRN_KEY_STRING, NULL, 0,
		  "file system UUID the drive must carry"),
	CAIRN_KEY("label", CAIRN_KEY_STRING, NULL, 0,
		  "file system label the drive must carry"),
	CAIRN_KEY_END,
};

/* realpath of dir, or of its nearest existing ancestor (the directory
 * on the drive may not exist yet); NULL on another error. */
static char *real_ancestor(const char *dir)
{
	char *d = strdup(dir), *r = NULL, *slash;

	while (d && !(r = realpath(d, NULL)) &&
	       (errno == ENOENT || errno == ENOTDIR)) {
		slash = strrchr(d, '/');
		if (!slash)
			break;
		slash[slash == d] = '\0'; /* "/media" -> "/" */
	}
	free(d);
	return r;
}

/* The mount holding dir (the last one mounted on top), or NULL. */
static struct libmnt_fs *mount_of(struct libmnt_table *tb, const char *dir)
{
	struct libmnt_fs *fs;
	char *real = real_ancestor(dir);

	if (!real)
		return NULL;
	fs = mnt_table_find_mountpoint(tb, real, MNT_ITER_BACKWARD);
	free(real);
	return fs;
}

/*
 * Find the mount for u->path: exactly at `mount` when that is set, else
 * the one holding path. Refuse the root file system and archive_dir's:
 * there, an unplugged drive's empty directory would take the backups.
 */
static int find_mount(const struct cairn_target_config *cfg, struct usb *u,
		      const char *mount, struct cairn_error *err)
{
	const char *adir = cfg->get_str(cfg, "cairn.archive_dir");
	struct libmnt_table *tb;
	struct libmnt_fs *fs, *root, *afs = NULL;
	char *real = NULL;
	int rc = CAIRN_EUNAVAIL;

	tb = mnt_new_table_from_file("/proc/self/mountinfo");
	if (!tb)
		return cairn_errnof(err, CAIRN_EFAIL, errno ? errno : EIO,
				 "target %s: cannot read "
				 "/proc/self/mountinfo", cfg->name);
	if (mount) {
		real = realpath(mount, NULL);
		fs = real ? mnt_table_find_target(tb, real, MNT_ITER_BACKWARD)
			  : NULL;
		if (!fs) {
			cairn_errf(err, rc, "%s is not a mount point — is the "
				   "drive plugged in?", mount);
			goto out;
		}
	} else if (!(fs = mount_of(tb, u->path))) {
		cairn_errf(err, rc, "target %s: cannot find the mount "
			   "holding %s", cfg->name, u->path);
		goto out;
	}
	u->mount = strdup(mnt_fs_get_target(fs));
	u->dev = strdup(mnt_fs_get_source(fs) ? mnt_fs_get_source(fs) : "?");
	if (!u->mount || !u->dev) {
		rc = cairn_errf(err, CAIRN_EFAIL, "out of memory");
		goto out;
	}
	root = mount_of(tb, "/");
	if (adir)
		afs = mount_of(tb, adir);
	if (root && mnt_fs_get_devno(fs) == mnt_fs_get_devno(root))
		cairn_errf(err, rc, "%s is on %s, the root file system — is "
			   "the drive plugged in?", u->path, u->mount);
	else if (afs && mnt_fs_get_devno(fs) == mnt_fs_get_devno(afs))
		cairn_errf(err, rc, "%s is on %s, the file system of "
			   "archive_dir %s — is the drive plugged in?",
			   u->path, u->mount, adir);
	else
		rc = CAIRN_OK;
out:
	free(real);
	mnt_unref_table(tb);
	return rc;
}

static int probe_tag(const char *dev, const char *tag, char *out,
		     size_t n)
{
	blkid_probe pr = blkid_new_probe_from_filename(dev);
	const char *v = NULL;
	int rc = -1;

	if (!pr)
		return -1;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_UUID |
					  BLKID_SUBLKS_LABEL);
	if (blkid_do_safeprobe(pr) == 0 &&
	    blkid_probe_lookup_value(pr, tag, &v, NULL) == 0 && v) {
		snprintf(out, n, "%s", v);
		rc = 0;
	}
	blkid_free_probe(pr);
	return rc;
}

static int check_device(const struct cairn_target_config *cfg,
			struct usb *u, struct cairn_error *err)
{
	static const char *const tags[] = { "uuid", "UUID", "label", "LABEL" };

	for (size_t i = 0; i < 4; i += 2) {
		const char *want = cfg->get_str(cfg, tags[i]);
		char got[256];

		if (!want)
			continue;
		if (probe_tag(u->dev, tags[i + 1], got, sizeof(got)))
			return cairn_errf(err, CAIRN_EUNAVAIL,
					  "%s: cannot read the %s of %s",
					  u->mount, tags[i], u->dev);
		if (strcasecmp(got, want))
			return cairn_errf(err, CAIRN_EUNAVAIL,
					  "%s holds %s %s %s, not %s — is the "
					  "right drive plugged in?", u->mount,
					  u->dev, tags[i], got, want);
	}
	return CAIRN_OK;
}

static void usb_free(struct usb *u)
{
	if (!u)
		return;
	free(u->path);
	free(u->mount);
	free(u->dev);
	free(u);
}

static int usb_open(const struct cairn_host *host,
		    const struct cairn_target_config *cfg,
		    struct cairn_target_props *props, void **h,
		    struct cairn_error *err)
{
	const char *path = cfg->get_str(cfg, "path");
	const char *mount = cfg->get_str(cfg, "mount");
	struct usb *u;
	size_t ml;
	int rc;

	if (!path || *path != '/')
		return cairn_errf(err, CAIRN_ECONFIG,
				  "target %s: key 'path' must be an absolute "
				  "directory", cfg->name);
	ml = mount ? strlen(mount) : 0;
	if (mount && (strncmp(path, mount, ml) ||
		      (path[ml] && path[ml] != '/' && mount[ml - 1] != '/')))
		return cairn_errf(err, CAIRN_ECONFIG,
				  "target %s: path %s is not below mount %s",
				  cfg->name, path, mount);
	if (!(u = calloc(1, sizeof(*u))) || !(u->path = strdup(path))) {
		free(u);
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	}
	u->s.dir = u->path;
	u->s.host = host;
	if ((rc = find_mount(cfg, u, mount, err)) ||
	    (rc = check_device(cfg, u, err)))
		goto fail;
	if (dir_mkdir_p(u->path, 0700)) {
		rc = cairn_errnof(err, 0, errno, "target %s: cannot create %s",
				  cfg->name, u->path);
		goto fail;
	}
	props->flags = CAIRN_PROP_RANGED_GET | CAIRN_PROP_ATOMIC_COMMIT |
		       CAIRN_PROP_SPACE;
	*h = u;
	return CAIRN_OK;
fail:
	usb_free(u);
	return rc;
}

static int usb_begin(void *h, const char *name, uint64_t size,
		     struct cairn_txn **txn, struct cairn_error *err)
{
	return dir_begin(h, name, size, txn, err);
}

static int usb_get(void *h, const char *name, uint64_t off, uint64_t len,
		   const struct cairn_sink *sink, struct cairn_error *err)
{
	return dir_get(h, name, off, len, sink, err);
}

static int usb_stat(void *h, const char *name, struct cairn_object *o,
		    struct cairn_error *err)
{
	return dir_stat(h, name, o, err);
}

static int usb_list(void *h, cairn_list_cb cb, void *ctx,
		    struct cairn_error *err)
{
	return dir_list(h, cb, ctx, err);
}

static int usb_del(void *h, const char *name, struct cairn_error *err)
{
	return dir_del(h, name, err);
}

static int usb_clean(void *h, const char *prefix, struct cairn_error *err)
{
	return dir_clean(h, prefix, err);
}

static int usb_space(void *h, struct cairn_space *sp,
		     struct cairn_error *err)
{
	return dir_space(h, sp, err);
}

static int usb_check(void *h, struct cairn_error *err)
{
	struct usb *u = h;
	char sz[32];

	if (access(u->path, W_OK))
		return cairn_errnof(err, 0, errno, "%s", u->path);
	dir_fmt_bytes((uint64_t)dir_free(u->path), sz);
	cairn_errf(err, CAIRN_OK, "%s mounted from %s, %s free", u->mount,
		   u->dev, sz);
	return CAIRN_OK;
}

static void usb_close(void *h)
{
	usb_free(h);
}

static const struct cairn_target_ops ops = {
	CAIRN_TARGET_OPS_HEAD,
	.name = "usb",
	.version = PACKAGE_VERSION,
	.keys = keys,
	.open = usb_open,
	.close = usb_close,
	.begin = usb_begin,
	.write = dir_write,
	.commit = dir_commit,
	.abort = dir_abort,
	.get = usb_get,
	.stat = usb_stat,
	.list = usb_list,
	.del = usb_del,
	.clean = usb_clean,
	.check = usb_check,
	.space = usb_space,
};

const struct cairn_target_ops *cairn_target_plugin(void)
{
	return &ops;
}

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
#include "util.h"

struct usb {
	const struct cairn_target_config *cfg;
	char *path;
	char *mount;
	char *dev;
};

/* path: where archives go; mount: optionally, the drive's mount point,
 * which must then be mounted (default: the mount holding path). */
static const char *const keys[] = { "path", "mount", "uuid", "label", NULL };

/* realpath of dir, or of its nearest existing ancestor (the directory
 * on the drive may not exist yet); NULL on another error. */
static char *real_ancestor(const char *dir)
{
	char *d = xstrdup(dir), *r, *slash;

	while (!(r = realpath(d, NULL)) &&
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
	const char *adir = cfg->get(cfg, "cairn.archive_dir");
	struct libmnt_table *tb;
	struct libmnt_fs *fs, *root, *afs = NULL;
	char *real = NULL;
	int rc = CAIRN_EUNAVAIL;

	tb = mnt_new_table_from_file("/proc/self/mountinfo");
	if (!tb)
		return errno_err(err, CAIRN_EFAIL, errno ? errno : EIO,
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
	u->mount = xstrdup(mnt_fs_get_target(fs));
	u->dev = xstrdup(mnt_fs_get_source(fs) ? mnt_fs_get_source(fs) : "?");
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
		const char *want = cfg->get(cfg, tags[i]);
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

static int usb_open(const struct cairn_target_config *cfg, void **h,
		    struct cairn_error *err)
{
	const char *path = cfg->get(cfg, "path");
	const char *mount = cfg->get(cfg, "mount");
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
	u = xcalloc(1, sizeof(*u));
	u->cfg = cfg;
	u->path = xstrdup(path);
	if ((rc = find_mount(cfg, u, mount, err)) ||
	    (rc = check_device(cfg, u, err)))
		goto fail;
	if (mkdir_p(u->path, 0700)) {
		rc = errno_err(err, 0, errno, "target %s: cannot create %s",
			       cfg->name, u->path);
		goto fail;
	}
	*h = u;
	return CAIRN_OK;
fail:
	free(u->path);
	free(u->mount);
	free(u->dev);
	free(u);
	return rc;
}

static int usb_put(void *h, const struct cairn_put_file *f,
		   struct cairn_error *err)
{
	struct usb *u = h;
	long long avail = dir_free(u->path);
	unsigned long long bytes = put_need(u->path, f);
	char need[32], have[32];

	/* Refuse up front rather than fill the drive and fail, counting
	 * the sidecars that must follow the archive. */
	if (avail >= 0 && (unsigned long long)avail < bytes) {
		fmt_bytes(bytes, need);
		fmt_bytes((uint64_t)avail, have);
		return cairn_errf(err, CAIRN_ENOSPC,
				  "%s: %s free, %s and its sidecars need %s — "
				  "free space on the drive or lower keep_last",
				  u->path, have, f->name, need);
	}
	return dir_put(u->path, f, u->cfg, err);
}

static int usb_clean(void *h, const char *prefix, struct cairn_error *err)
{
	struct usb *u = h;

	return dir_clean(u->path, prefix, u->cfg, err);
}

static int usb_list(void *h, cairn_list_cb cb, void *ctx,
		    struct cairn_error *err)
{
	return dir_list(((struct usb *)h)->path, cb, ctx, err);
}

static int usb_get(void *h, const char *name, const char *dest,
		   struct cairn_error *err)
{
	return dir_get(((struct usb *)h)->path, name, dest, err);
}

static int usb_del(void *h, const char *name, struct cairn_error *err)
{
	return dir_del(((struct usb *)h)->path, name, err);
}

static int usb_check(void *h, struct cairn_error *err)
{
	struct usb *u = h;
	char sz[32];

	if (access(u->path, W_OK))
		return errno_err(err, 0, errno, "%s", u->path);
	fmt_bytes((uint64_t)dir_free(u->path), sz);
	cairn_errf(err, CAIRN_OK, "%s mounted from %s, %s free", u->mount,
		   u->dev, sz);
	return CAIRN_OK;
}

static void usb_close(void *h)
{
	struct usb *u = h;

	if (!u)
		return;
	free(u->path);
	free(u->mount);
	free(u->dev);
	free(u);
}

static const struct cairn_target_ops ops = {
	.abi_major = CAIRN_ABI_MAJOR,
	.abi_minor = CAIRN_ABI_MINOR,
	.size = sizeof(struct cairn_target_ops),
	.name = "usb",
	.version = PACKAGE_VERSION,
	.keys = keys,
	.open = usb_open,
	.put = usb_put,
	.list = usb_list,
	.get = usb_get,
	.del = usb_del,
	.close = usb_close,
	.check = usb_check,
	.clean = usb_clean,
};

const struct cairn_target_ops *cairn_target_plugin(void)
{
	return &ops;
}

/*
 * `cairn usb-rule TARGET`: a udev rule and a drop-in for the
 * cairn-usb@TARGET.service instance, so that plugging in the drive that
 * holds the target's path runs `cairn sync --target TARGET`. The drive
 * is named by its file system's UUID, read from the mounted drive now
 * (libmount finds the mount holding the path, libblkid its UUID): the
 * rule then matches that drive and no other.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#ifdef HAVE_LIBMOUNT
#include <blkid.h>
#include <libmount.h>
#endif

#include "cairn.h"

/* A path as `systemd-escape --path` spells it: a unit name. */
static char *unit_escape(const char *path)
{
	struct sbuf b = { 0 };
	const char *p = path;

	while (*p == '/')
		p++;
	if (!*p)
		return xstrdup("-");
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '/') {
			while (p[1] == '/')
				p++;
			if (p[1])
				sb_add(&b, "-", 1);
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == ':' || c == '_' ||
			   (c == '.' && b.len)) {
			sb_add(&b, (const char *)&c, 1);
		} else {
			sb_printf(&b, "\\x%02x", c);
		}
	}
	return b.s;
}

struct drive {
	char *mount; /* mount point holding the target's path */
	char *dev;   /* its source device */
	char *uuid;  /* its file system UUID */
};

static void drive_free(struct drive *d)
{
	free(d->mount);
	free(d->dev);
	free(d->uuid);
}

#ifdef HAVE_LIBMOUNT
/* realpath of dir or of its nearest existing ancestor. */
static char *real_ancestor(const char *dir)
{
	char *d = xstrdup(dir), *r, *slash;

	while (!(r = realpath(d, NULL)) &&
	       (errno == ENOENT || errno == ENOTDIR) &&
	       (slash = strrchr(d, '/')))
		slash[slash == d] = '\0';
	free(d);
	return r;
}

static char *fs_uuid(const char *dev)
{
	blkid_probe pr = blkid_new_probe_from_filename(dev);
	const char *v = NULL;
	char *uuid = NULL;

	if (!pr)
		return NULL;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_UUID);
	if (blkid_do_safeprobe(pr) == 0 &&
	    blkid_probe_lookup_value(pr, "UUID", &v, NULL) == 0 && v && *v)
		uuid = xstrdup(v);
	blkid_free_probe(pr);
	return uuid;
}

/* The drive holding path: a mount other than the root's, with a UUID. */
static int find_drive(const char *target, const char *path, struct drive *d,
		      struct cairn_error *err)
{
	struct libmnt_table *tb = mnt_new_table_from_file(
		"/proc/self/mountinfo");
	struct libmnt_fs *fs = NULL, *root = NULL;
	char *real = real_ancestor(path);
	int rc = CAIRN_EFAIL;

	if (!tb || !real) {
		rc = errno_err(err, CAIRN_EFAIL, errno, "target %s: cannot "
			       "find the mount holding %s", target, path);
		goto out;
	}
	fs = mnt_table_find_mountpoint(tb, real, MNT_ITER_BACKWARD);
	root = mnt_table_find_target(tb, "/", MNT_ITER_BACKWARD);
	if (!fs || (root && mnt_fs_get_devno(fs) == mnt_fs_get_devno(root))) {
		cairn_errf(err, CAIRN_EFAIL, "target %s: %s is on the root "
			   "file system; plug in and mount the drive first",
			   target, path);
		goto out;
	}
	d->mount = xstrdup(mnt_fs_get_target(fs));
	d->dev = xstrdup(mnt_fs_get_source(fs) ? mnt_fs_get_source(fs) : "");
	if (!(d->uuid = fs_uuid(d->dev))) {
		cairn_errf(err, CAIRN_EFAIL, "target %s: the file system on "
			   "%s (mounted at %s) has no UUID", target, d->dev,
			   d->mount);
		goto out;
	}
	rc = CAIRN_OK;
out:
	free(real);
	mnt_unref_table(tb);
	return rc;
}
#else
static int find_drive(const char *target, const char *path, struct drive *d,
		      struct cairn_error *err)
{
	(void)path;
	(void)d;
	return cairn_errf(err, CAIRN_EFAIL, "target %s: this cairn is built "
			  "without libmount and libblkid (--disable-usb)",
			  target);
}
#endif

/* The rule's and the drop-in's paths and contents. */
static void render(const char *name, const struct drive *d, char *files[4])
{
	char *dev = xasprintf("/dev/disk/by-uuid/%s", d->uuid);
	char *devu = unit_escape(dev), *mnt = unit_escape(d->mount);
	char *parent = xstrdup(d->mount), *slash = strrchr(parent, '/');

	if (slash)
		slash[slash == parent] = '\0';
	files[0] = xasprintf("/etc/udev/rules.d/90-cairn-usb-%s.rules", name);
	files[1] = xasprintf(
		"# cairn: run cairn-usb@%s.service when the drive of target "
		"%s\n# (file system UUID %s) appears.\n"
		"ACTION==\"add\", SUBSYSTEM==\"block\", "
		"ENV{ID_FS_UUID}==\"%s\", TAG+=\"systemd\", "
		"ENV{SYSTEMD_WANTS}+=\"cairn-usb@%s.service\"\n",
		name, name, d->uuid, d->uuid, name);
	files[2] = xasprintf("/etc/systemd/system/cairn-usb@%s.service.d/"
			     "drive.conf", name);
	files[3] = xasprintf(
		"# cairn: target %s is the drive with file system UUID\n"
		"# %s, mounted at %s.\n"
		"# Stop when it is unplugged; start once it is mounted.\n"
		"[Unit]\n"
		"BindsTo=%s.device\n"
		"After=%s.device %s.mount\n"
		"Wants=%s.mount\n"
		"\n[Service]\n"
		"ReadWritePaths=%s\n",
		name, d->uuid, d->mount, devu, devu, mnt, mnt, parent);
	free(dev);
	free(devu);
	free(mnt);
	free(parent);
}

static void print_files(const char *name, const struct drive *d,
			char *files[4], bool json)
{
	json_object *o, *arr;

	if (!json) {
		printf("%s %s\n%s\n%s %s\n%s", "#", files[0], files[1], "#",
		       files[2], files[3]);
		printf("# then: udevadm control --reload && "
		       "systemctl daemon-reload\n");
		return;
	}
	o = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(o, "schema", json_object_new_int(1));
	json_object_object_add(o, "target", json_object_new_string(name));
	json_object_object_add(o, "uuid", json_object_new_string(d->uuid));
	json_object_object_add(o, "device", json_object_new_string(d->dev));
	json_object_object_add(o, "mount", json_object_new_string(d->mount));
	for (int i = 0; i < 4; i += 2) {
		json_object *f = json_object_new_object();

		json_object_object_add(f, "path",
				       json_object_new_string(files[i]));
		json_object_object_add(f, "content",
				       json_object_new_string(files[i + 1]));
		json_object_array_add(arr, f);
	}
	json_object_object_add(o, "files", arr);
	printf("%s\n", json_object_to_json_string_ext(o,
	       JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int cmd_usb_rule(const struct config *cfg, const char *name, bool json)
{
	struct cairn_error err = { 0, "" };
	const struct target *t = config_target(cfg, name);
	const struct kv *path, *uuid;
	struct drive d = { 0 };
	char *files[4] = { 0 };
	int rc;

	if (!t) {
		log_error("usb-rule %s: no such target in %s", name,
			  cfg->path);
		return EXIT_USAGE;
	}
	path = section_get(t->sec, "path");
	if (strcmp(t->plugin, "usb") || !path) {
		log_error("usb-rule %s: target uses plugin '%s'%s; want a usb "
			  "target", name, t->plugin, path ? "" : " (no path)");
		return EXIT_USAGE;
	}
	if ((rc = find_drive(name, path->val, &d, &err)))
		goto out;
	/* A uuid the target pins must be the drive's, or the rule would
	 * start a sync the plugin then refuses. */
	uuid = section_get(t->sec, "uuid");
	if (uuid && *uuid->val && strcasecmp(uuid->val, d.uuid)) {
		rc = cairn_errf(&err, CAIRN_ECONFIG, "%s: target %s wants "
				"uuid %s, but %s is on %s (uuid %s)",
				uuid->where, name, uuid->val, path->val,
				d.dev, d.uuid);
		goto out;
	}
	render(name, &d, files);
	print_files(name, &d, files, json);
out:
	if (rc)
		log_error("%s", err.msg);
	for (int i = 0; i < 4; i++)
		free(files[i]);
	drive_free(&d);
	return rc_exit(rc);
}

/*
 * The plugin loader. A plugin runs with cairn's privileges, so a file or
 * directory others could write is refused before dlopen, and the ops
 * struct is checked (ABI major, size, mandatory operations) before any
 * of its functions is called.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cairn.h"

/* Everything ABI 2.0 defined: a smaller struct is not a 2.x plugin. */
#define OPS_MIN_SIZE \
	(offsetof(struct cairn_target_ops, retain) + sizeof(void *))
#define SPEC_MIN_SIZE \
	(offsetof(struct cairn_key_spec, help) + sizeof(const char *))

const char *plugin_dir(void)
{
	const char *d = getenv("CAIRN_PLUGIN_DIR");

	return d && *d ? d : PKGLIBDIR;
}

/* path (shown as `what` `shown`) must be owned by root or us and not
 * writable by group or others. */
static int check_owner(const char *path, const char *what,
		       const char *shown, struct cairn_error *err)
{
	struct stat st;

	if (stat(path, &st))
		return errno_err(err, CAIRN_ECONFIG, errno, "cannot use %s %s",
				 what, shown);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return cairn_errf(err, CAIRN_ECONFIG,
				  "refusing %s %s: writable by group or "
				  "others (chmod go-w)", what, shown);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return cairn_errf(err, CAIRN_ECONFIG,
				  "refusing %s %s: owned by uid %u, not root "
				  "or you", what, shown, (unsigned)st.st_uid);
	return CAIRN_OK;
}

/*
 * The directory that holds path, the file path resolves to and that
 * file's own directory: a symlink in a safe directory may lead into one
 * anybody can write.
 */
static int check_plugin_file(const char *path, const char *real,
			     struct cairn_error *err)
{
	char *dir = dir_of(path), *rdir = dir_of(real), *shown = NULL;
	int rc;

	if ((rc = check_owner(dir, "plugin directory", dir, err)))
		goto out;
	if (!strcmp(path, real)) {
		rc = check_owner(path, "plugin", path, err);
		goto out;
	}
	shown = xasprintf("%s (%s, resolved from %s)", rdir, real, path);
	if ((rc = check_owner(rdir, "plugin directory", shown, err)))
		goto out;
	free(shown);
	shown = xasprintf("%s (resolved from %s)", real, path);
	rc = check_owner(real, "plugin", shown, err);
out:
	free(shown);
	free(rdir);
	free(dir);
	return rc;
}

static bool key_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return false;
	return true;
}

/* Refuse a plugin whose key specs the core could not apply. */
int plugin_check_specs(const char *path, const struct cairn_key_spec *specs,
		       struct cairn_error *err)
{
	const uint32_t known = CAIRN_KEY_REQUIRED | CAIRN_KEY_SECRET;
	uint32_t step;

	if (!specs)
		return CAIRN_OK;
	step = specs->size;
	if (step < SPEC_MIN_SIZE)
		return cairn_errf(err, CAIRN_ECONFIG, "%s: key spec is %u "
				  "bytes, ABI %d.x needs at least %zu", path,
				  step, CAIRN_ABI_MAJOR,
				  (size_t)SPEC_MIN_SIZE);
	for (const struct cairn_key_spec *k = specs; k->name;
	     k = (const void *)((const char *)k + step)) {
		const char *why = NULL;
		int64_t num;
		char *str = NULL;

		if (k->size != step)
			why = "a size differing from the first spec's";
		else if (!key_name_ok(k->name))
			why = "a name that is not [a-z0-9_]";
		else if (config_is_core_target_key(k->name))
			why = "a name of the core's own target keys";
		else if (k->type < CAIRN_KEY_STRING ||
			 k->type > CAIRN_KEY_PATH)
			why = "an unknown type";
		else if (k->flags & ~known)
			why = "an unknown flag";
		else if ((k->flags & known) && k->def)
			why = "a default on a REQUIRED or SECRET key";
		else if (k->def && (config_parse_typed(k->type, k->def, &num,
						       &str) ||
				    (k->max > k->min &&
				     k->type != CAIRN_KEY_STRING &&
				     k->type != CAIRN_KEY_BOOL &&
				     k->type != CAIRN_KEY_PATH &&
				     (num < k->min || num > k->max))))
			why = "a default that does not parse or lies outside "
			      "its range";
		free(str);
		if (why)
			return cairn_errf(err, CAIRN_ECONFIG, "%s: key '%s' "
					  "has %s", path, k->name, why);
	}
	return CAIRN_OK;
}

int plugin_load_path(const char *path, struct plugin *pl,
		     struct cairn_error *err)
{
	const struct cairn_target_ops *ops;
	cairn_plugin_entry_fn entry;
	char *real = NULL;
	int rc;

	memset(pl, 0, sizeof(*pl));
	pl->path = xstrdup(path);
	if (!(real = realpath(path, NULL))) {
		rc = errno_err(err, CAIRN_ECONFIG, errno, "cannot use plugin "
			       "%s", path);
		goto out;
	}
	if ((rc = check_plugin_file(path, real, err)))
		goto out;
	rc = CAIRN_ECONFIG;
	/* The file checked, not whatever the link points to by now. */
	pl->dl = dlopen(real, RTLD_NOW | RTLD_LOCAL);
	if (!pl->dl) {
		cairn_errf(err, rc, "cannot load plugin: %s", dlerror());
		goto out;
	}
	entry = (cairn_plugin_entry_fn)dlsym(pl->dl, CAIRN_PLUGIN_ENTRY);
	if (!entry) {
		cairn_errf(err, rc, "%s: no %s symbol; not a cairn plugin",
			   path, CAIRN_PLUGIN_ENTRY);
		goto out;
	}
	ops = entry();
	if (!ops) {
		cairn_errf(err, rc, "%s: %s returned nothing", path,
			   CAIRN_PLUGIN_ENTRY);
		goto out;
	}
	/* A newer minor may read members this core does not provide. */
	if (ops->abi_major != CAIRN_ABI_MAJOR ||
	    ops->abi_minor > CAIRN_ABI_MINOR) {
		cairn_errf(err, rc, "%s: plugin ABI %u.%u, but cairn speaks "
			   "ABI %d.%d; rebuild the plugin", path,
			   ops->abi_major, ops->abi_minor, CAIRN_ABI_MAJOR,
			   CAIRN_ABI_MINOR);
		goto out;
	}
	if (ops->size < OPS_MIN_SIZE) {
		cairn_errf(err, rc, "%s: ops struct is %u bytes, ABI %d.x "
			   "needs at least %zu", path, ops->size,
			   CAIRN_ABI_MAJOR, (size_t)OPS_MIN_SIZE);
		goto out;
	}
	if (!ops->name || !ops->open || !ops->close || !ops->begin ||
	    !ops->write || !ops->commit || !ops->abort || !ops->get ||
	    !ops->stat || !ops->list || !ops->del) {
		cairn_errf(err, rc, "%s: plugin lacks a mandatory operation",
			   path);
		goto out;
	}
	if ((rc = plugin_check_specs(path, ops->keys, err)))
		goto out;
	pl->ops = ops;
	rc = CAIRN_OK;
out:
	free(real);
	if (rc)
		plugin_unload(pl);
	return rc;
}

int plugin_load(const char *name, struct plugin *pl, struct cairn_error *err)
{
	char *path;
	int rc;

	memset(pl, 0, sizeof(*pl));
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == '.')
			return cairn_errf(err, CAIRN_ECONFIG,
					  "bad plugin name '%s'", name);
	path = xasprintf("%s/%s.so", plugin_dir(), name);
	if (!path_exists(path)) {
		rc = cairn_errf(err, CAIRN_ECONFIG,
				"no plugin '%s' (looked for %s)", name, path);
		free(path);
		return rc;
	}
	rc = plugin_load_path(path, pl, err);
	free(path);
	if (!rc && strcmp(pl->ops->name, name)) {
		rc = cairn_errf(err, CAIRN_ECONFIG,
				"%s calls itself '%s', not '%s'", pl->path,
				pl->ops->name, name);
		plugin_unload(pl);
	}
	return rc;
}

void plugin_unload(struct plugin *pl)
{
	/* ASan reports leaks in unloaded code poorly; the process is
	 * short-lived, so plugins stay mapped until exit. */
	free(pl->path);
	memset(pl, 0, sizeof(*pl));
}

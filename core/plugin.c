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

/* Everything ABI 1.0 defined: a smaller struct is not a 1.x plugin. */
#define OPS_MIN_SIZE \
	(offsetof(struct cairn_target_ops, check) + sizeof(void *))

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
	if (!ops->name || !ops->open || !ops->put || !ops->list ||
	    !ops->get || !ops->del || !ops->close) {
		cairn_errf(err, rc, "%s: plugin lacks a mandatory operation",
			   path);
		goto out;
	}
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

/* One plugin file: printed, or added to the --json array. */
static void plugin_line(json_object *arr, const char *dir, const char *file)
{
	struct cairn_error err = { 0, "" };
	struct plugin pl;
	char *p = path_join(dir, file);
	int rc = plugin_load_path(p, &pl, &err);
	char abi[24];
	json_object *o;

	if (!arr) {
		if (rc)
			printf("  %-8s rejected: %s\n", file, err.msg);
		else
			printf("  %-8s %-8s ABI %u.%u  %s\n", pl.ops->name,
			       pl.ops->version ? pl.ops->version : "?",
			       pl.ops->abi_major, pl.ops->abi_minor, p);
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "file", json_object_new_string(file));
		json_object_object_add(o, "path", json_object_new_string(p));
		json_object_object_add(o, "ok", json_object_new_boolean(!rc));
		json_object_object_add(o, "name", json_str_or_null(rc ? NULL :
				       pl.ops->name));
		json_object_object_add(o, "version", json_str_or_null(rc ?
				       NULL : pl.ops->version));
		if (!rc)
			snprintf(abi, sizeof(abi), "%u.%u", pl.ops->abi_major,
				 pl.ops->abi_minor);
		json_object_object_add(o, "abi", json_str_or_null(rc ? NULL :
				       abi));
		json_object_object_add(o, "error", json_str_or_null(rc ?
				       err.msg : NULL));
		json_object_array_add(arr, o);
	}
	plugin_unload(&pl);
	free(p);
}

/* One target: opened and checked; *failed if an enabled one fails. */
static void target_line(json_object *arr, const struct config *cfg,
			const struct target *t, bool *failed)
{
	struct cairn_error err = { 0, "" };
	struct target_conn tc;
	json_object *o;
	int r;

	r = target_open(cfg, t, &tc, &err);
	if (!r && tc.pl.ops->check)
		r = tc.pl.ops->check(tc.h, &err);
	else if (!r)
		snprintf(err.msg, sizeof(err.msg), "opened (plugin has no "
			 "check)");
	target_close(&tc);
	*failed |= r && t->enabled;
	if (!arr) {
		printf("  %-8s plugin %-6s %s  %s: %s\n", t->name, t->plugin,
		       t->enabled ? "enabled " : "disabled", r ? "FAILED" :
		       "ok", *err.msg ? err.msg : "reachable");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(t->name));
	json_object_object_add(o, "plugin", json_object_new_string(t->plugin));
	json_object_object_add(o, "enabled",
			       json_object_new_boolean(t->enabled));
	json_object_object_add(o, "ok", json_object_new_boolean(!r));
	json_object_object_add(o, "message", json_object_new_string(
			       *err.msg ? err.msg : "reachable"));
	json_object_array_add(arr, o);
}

int cmd_plugins(const struct config *cfg, bool json)
{
	const char *dir = plugin_dir();
	struct strv names = { 0 };
	json_object *doc = json ? json_doc() : NULL;
	json_object *pa = json ? json_object_new_array() : NULL;
	json_object *ta = json ? json_object_new_array() : NULL;
	struct dirent *de;
	bool failed = false;
	DIR *d;
	int rc = EXIT_OK;

	if (!json)
		printf("plugins in %s:\n", dir);
	d = opendir(dir);
	if (!d) {
		if (!json)
			printf("  cannot read: %s\n", strerror(errno));
		rc = EXIT_FAILED;
	}
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l > 3 && !strcmp(de->d_name + l - 3, ".so"))
			strv_push(&names, de->d_name);
	}
	if (d)
		closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), strv_cmp);
	for (size_t i = 0; i < names.n; i++)
		plugin_line(pa, dir, names.v[i]);
	strv_free(&names);
	if (!json)
		printf("targets:\n%s", cfg->ntargets ? "" :
		       "  (none configured)\n");
	for (size_t i = 0; i < cfg->ntargets; i++)
		target_line(ta, cfg, &cfg->targets[i], &failed);
	if (failed && !rc)
		rc = EXIT_TARGET;
	if (json) {
		json_object_object_add(doc, "dir", json_object_new_string(dir));
		json_object_object_add(doc, "plugins", pa);
		json_object_object_add(doc, "targets", ta);
		json_emit(doc, false);
	}
	return rc;
}

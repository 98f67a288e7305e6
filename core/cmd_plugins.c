/* `cairn plugins`: the plugins found, and each target's health. Kept
 * apart from the loader so plugin.c and dispatch.c have no cycle. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cairn.h"

/* One loaded plugin and the keys it reads; never a value. */
static void print_plugin(const struct plugin *pl, const char *path)
{
	const struct cairn_key_spec *k = pl->ops->keys;
	static const char *const tn[] = { "?", "string", "bool", "int",
					  "size", "duration", "path" };

	printf("  %-8s %-8s ABI %u.%u  %s\n", pl->ops->name,
	       pl->ops->version ? pl->ops->version : "?", pl->ops->abi_major,
	       pl->ops->abi_minor, path);
	for (; k && k->name; k = (const void *)((const char *)k +
						 pl->ops->keys->size))
		printf("      %-14s %-8s%s%s%s%s  %s\n", k->name, tn[k->type],
		       k->flags & CAIRN_KEY_REQUIRED ? " required" : "",
		       k->flags & CAIRN_KEY_SECRET ? " secret" : "",
		       k->def ? " default " : "", k->def ? k->def : "",
		       k->help ? k->help : "");
}

/* One plugin file: as text, or into arr (--json). */
static void plugin_entry(json_object *arr, const char *dir,
			 const char *file)
{
	struct cairn_error err = { 0, "" }, nerr = { 0, "" };
	const struct cairn_notify_ops *nops = NULL;
	struct plugin pl;
	char *p = path_join(dir, file);
	bool bad = plugin_load_path(p, &pl, &err) &&
		   plugin_load_notify_path(p, &nops, &nerr);
	json_object *o;
	char abi[24] = "";

	if (!arr) {
		if (bad)
			printf("  %-8s rejected: %s\n", file, err.msg);
		else if (nops)
			printf("  %-8s %-8s ABI %u.%u  %s (notify)\n",
			       nops->name, nops->version ? nops->version :
			       "?", nops->abi_major, nops->abi_minor, p);
		else
			print_plugin(&pl, p);
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "file", json_object_new_string(file));
	json_object_object_add(o, "path", json_object_new_string(p));
	json_object_object_add(o, "ok", json_object_new_boolean(!bad));
	json_object_object_add(o, "kind", json_str_or_null(bad ? NULL :
			       nops ? "notify" : "target"));
	if (!bad)
		snprintf(abi, sizeof(abi), "%u.%u",
			 nops ? nops->abi_major : pl.ops->abi_major,
			 nops ? nops->abi_minor : pl.ops->abi_minor);
	json_object_object_add(o, "name", json_str_or_null(bad ? NULL :
			       nops ? nops->name : pl.ops->name));
	json_object_object_add(o, "abi", json_str_or_null(bad ? NULL : abi));
	json_object_object_add(o, "error", json_str_or_null(bad ? err.msg :
							    NULL));
	json_object_array_add(arr, o);
out:
	plugin_unload(&pl);
	free(p);
}

/* One target, opened and checked; true if an enabled one failed. */
static bool target_entry(json_object *arr, const struct config *cfg,
			 const struct target *t)
{
	struct cairn_error err = { 0, "" };
	const char *msg;
	struct backend b;
	json_object *o;
	int r;

	r = backend_open(&b, cfg, t, false, &err);
	if (!r)
		r = backend_check(&b, &err);
	backend_close(&b);
	msg = *err.msg ? err.msg : "reachable";
	if (!arr) {
		printf("  %-8s plugin %-6s %s  %s: %s\n", t->name, t->plugin,
		       t->enabled ? "enabled " : "disabled",
		       r ? "FAILED" : "ok", msg);
		return r && t->enabled;
	}
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(t->name));
	json_object_object_add(o, "plugin",
			       json_object_new_string(t->plugin));
	json_object_object_add(o, "enabled",
			       json_object_new_boolean(t->enabled));
	json_object_object_add(o, "ok", json_object_new_boolean(!r));
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_array_add(arr, o);
	return r && t->enabled;
}

int cmd_plugins(const struct config *cfg, bool json)
{
	const char *dir = plugin_dir();
	json_object *doc = json ? json_doc() : NULL;
	json_object *pa = json ? json_object_new_array() : NULL;
	json_object *ta = json ? json_object_new_array() : NULL;
	struct strv names = { 0 };
	struct dirent *de;
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
		plugin_entry(pa, dir, names.v[i]);
	strv_free(&names);
	if (!json)
		printf("targets:\n%s", cfg->ntargets ? "" :
		       "  (none configured)\n");
	for (size_t i = 0; i < cfg->ntargets; i++)
		if (target_entry(ta, cfg, &cfg->targets[i]) && !rc)
			rc = EXIT_TARGET;
	if (json) {
		json_object_object_add(doc, "dir", json_object_new_string(dir));
		json_object_object_add(doc, "plugins", pa);
		json_object_object_add(doc, "targets", ta);
		json_emit(doc, false);
	}
	return rc;
}

/* `cairn plugins`: the plugins found, and each target's health. Kept
 * apart from the loader so plugin.c and dispatch.c have no cycle. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cmd_plugins(const struct config *cfg)
{
	const char *dir = plugin_dir();
	struct strv names = { 0 };
	struct dirent *de;
	DIR *d;
	int rc = EXIT_OK;

	printf("plugins in %s:\n", dir);
	d = opendir(dir);
	if (!d) {
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
	for (size_t i = 0; i < names.n; i++) {
		struct cairn_error err = { 0, "" };
		struct plugin pl;
		char *p = path_join(dir, names.v[i]);

		if (plugin_load_path(p, &pl, &err))
			printf("  %-8s rejected: %s\n", names.v[i], err.msg);
		else
			print_plugin(&pl, p);
		plugin_unload(&pl);
		free(p);
	}
	strv_free(&names);
	printf("targets:\n");
	if (!cfg->ntargets)
		printf("  (none configured)\n");
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct target *t = &cfg->targets[i];
		struct cairn_error err = { 0, "" };
		struct backend b;
		int r;

		printf("  %-8s plugin %-6s %s", t->name, t->plugin,
		       t->enabled ? "enabled " : "disabled");
		r = backend_open(&b, cfg, t, false, &err);
		if (!r)
			r = backend_check(&b, &err);
		printf("  %s: %s\n", r ? "FAILED" : "ok",
		       *err.msg ? err.msg : "reachable");
		if (r && t->enabled)
			rc = EXIT_TARGET;
		backend_close(&b);
	}
	return rc;
}

/*
 * `cairn config check`: the config loaded (main.c refuses a bad one with
 * exit 2), then every target's plugin loaded, its keys checked and its
 * check run, as `plugins` does; then the effective config, each value
 * with its origin (FILE:LINE, the environment variable, or the default)
 * and secrets as "***". Exit 1 if any target fails.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cairn.h"

struct out {
	const struct config *cfg;
	json_object *arr;   /* --json: the settings */
	char last[300];     /* text: the section printed last */
};

/* Secret by the core's list, or by the flags of the target's plugin
 * (a key only a third-party plugin knows is secret). */
static bool secret(const struct config *cfg, const char *section,
		   const char *key)
{
	struct cairn_error err = { 0, "" };
	const struct target *t;
	struct plugin pl;
	bool s = false;

	if (config_key_is_secret(NULL, key))
		return true;
	if (strncmp(section, "target ", 7) ||
	    !(t = config_target(cfg, section + 7)) ||
	    plugin_load(t->plugin, &pl, &err))
		return false;
	s = config_key_is_secret(pl.ops->keys, key);
	plugin_unload(&pl);
	return s;
}

static void one_setting(void *ctx, const char *section, const char *key,
			const char *value, const char *origin)
{
	struct out *o = ctx;
	const char *v = secret(o->cfg, section, key) ? "***" : value;

	if (o->arr) {
		json_object *s = json_object_new_object();

		json_object_object_add(s, "section",
				       json_object_new_string(section));
		json_object_object_add(s, "key", json_object_new_string(key));
		json_object_object_add(s, "value", json_object_new_string(v));
		json_object_object_add(s, "origin",
				       json_object_new_string(origin));
		json_object_array_add(o->arr, s);
		return;
	}
	if (strcmp(o->last, section))
		printf("%s[%s]\n", *o->last ? "\n" : "", section);
	snprintf(o->last, sizeof(o->last), "%s", section);
	printf("%-16s = %-30s ; %s\n", key, v, origin);
}

/* Load the target's plugin (its keys checked) and, if it is enabled,
 * run its check; the verdict in err. */
static int check_target(const struct config *cfg, const struct target *t,
			struct cairn_error *err)
{
	struct backend b;
	int rc = backend_open(&b, cfg, t, false, err);

	if (!rc && t->enabled)
		rc = backend_check(&b, err);
	backend_close(&b);
	return rc;
}

static void target_verdict(json_object *arr, const struct target *t, int r,
			   const char *msg)
{
	json_object *j;

	if (!arr) {
		printf("target %s (plugin %s%s): %s%s%s\n", t->name,
		       t->plugin, t->enabled ? "" : ", disabled",
		       r ? "FAILED" : "ok", *msg ? ": " : "", msg);
		return;
	}
	j = json_object_new_object();
	json_object_object_add(j, "name", json_object_new_string(t->name));
	json_object_object_add(j, "plugin", json_object_new_string(t->plugin));
	json_object_object_add(j, "enabled",
			       json_object_new_boolean(t->enabled));
	json_object_object_add(j, "ok", json_object_new_boolean(!r));
	json_object_object_add(j, "error", json_str_or_null(r ? msg : NULL));
	json_object_array_add(arr, j);
}

int cmd_config_check(const struct config *cfg, bool json)
{
	struct out o = { .cfg = cfg };
	json_object *doc = json ? json_doc() : NULL;
	json_object *tg = json ? json_object_new_array() : NULL;
	int rc = EXIT_OK;

	if (!json)
		printf("config %s: loaded\n", cfg->path);
	for (size_t i = 0; i < cfg->ntargets; i++) {
		struct cairn_error err = { 0, "" };
		int r = check_target(cfg, &cfg->targets[i], &err);

		if (r)
			rc = EXIT_FAILED;
		target_verdict(tg, &cfg->targets[i], r, err.msg);
	}
	if (!json) {
		printf("\n");
		config_settings(cfg, one_setting, &o);
		return rc;
	}
	json_object_object_add(doc, "config",
			       json_object_new_string(cfg->path));
	json_object_object_add(doc, "ok", json_object_new_boolean(!rc));
	json_object_object_add(doc, "targets", tg);
	o.arr = json_object_new_array();
	config_settings(cfg, one_setting, &o);
	json_object_object_add(doc, "settings", o.arr);
	json_emit(doc, false);
	return rc;
}

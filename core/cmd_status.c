/* `cairn status`: the last run, every enabled target and the safety
 * nets, read back from state_dir; exit 1 if anything failed or is
 * stale. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cairn.h"

/* One reason for status to exit 1: said on stderr, kept for --json. */
static void problem(json_object *arr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void problem(json_object *arr, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_error("%s", line);
	json_object_array_add(arr, json_object_new_string(line));
}

/* Each enabled target's last result and newest copy. */
static json_object *status_targets(const struct config *cfg, long max_age,
				   bool text, json_object *probs)
{
	json_object *all = targets_load(cfg), *out = json_object_new_object();
	time_t now = time(NULL);

	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct target *tg = &cfg->targets[i];
		json_object *t = NULL, *copy;
		const char *st, *newest, *nt;
		time_t when;

		if (!tg->enabled)
			continue;
		json_object_object_get_ex(all, tg->name, &t);
		st = json_str(t, "status");
		newest = json_str(t, "newest_archive");
		nt = json_str(t, "newest_time");
		when = utc_parse(nt);
		if (text)
			printf("target %s:%*s%s%s%s; newest copy %s%s%s%s\n",
			       tg->name, (int)(strlen(tg->name) < 6 ?
			       6 - strlen(tg->name) : 1), "",
			       st ? st : "never run",
			       st ? " at " : "",
			       st ? json_str(t, "finished") : "",
			       newest ? newest : "none",
			       nt ? " (" : "", nt ? nt : "", nt ? ")" : "");
		if (st && !strcmp(st, "failure"))
			problem(probs, "target %s failed at %s: %s", tg->name,
				json_str(t, "finished") ?
				json_str(t, "finished") : "?",
				json_str(t, "error") ? json_str(t, "error") :
				"?");
		if (max_age >= 0 && !when)
			problem(probs, "target %s holds no copy from cairn",
				tg->name);
		else if (max_age >= 0 && now - when > max_age)
			problem(probs, "target %s: its newest copy %s is "
				"older than %lds", tg->name,
				newest ? newest : "?", max_age);
		copy = NULL;
		if (!t || json_object_deep_copy(t, &copy, NULL)) {
			copy = json_object_new_object();
			json_object_object_add(copy, "status",
					       json_object_new_string("never"));
		}
		json_object_object_add(out, tg->name, copy);
	}
	json_object_put(all);
	return out;
}

/* Safety nets: how many, how big; prune removes the old ones. */
static json_object *status_nets(const struct config *cfg, bool text)
{
	struct safety_nets sn;
	json_object *o = json_object_new_object(),
		    *paths = json_object_new_array();
	char sz[32], ts[32];

	safety_nets_scan(cfg, &sn);
	fmt_bytes(sn.bytes, sz);
	if (text && !sn.n)
		printf("safety nets:  none\n");
	else if (text) {
		char *d = dir_of(sn.v[0].path);

		fmt_utc(sn.v[0].time, ts);
		printf("safety nets:  %zu (%s), oldest %s in %s; 'cairn "
		       "prune' removes those older than %ld days\n", sn.n,
		       sz, ts, d, cfg->safety_net_days);
		free(d);
	}
	for (size_t i = 0; i < sn.n; i++)
		json_object_array_add(paths,
				      json_object_new_string(sn.v[i].path));
	json_object_object_add(o, "count", json_object_new_uint64(sn.n));
	json_object_object_add(o, "bytes", json_object_new_uint64(sn.bytes));
	json_object_object_add(o, "oldest",
			       sn.n ? json_time(sn.v[0].time) : NULL);
	json_object_object_add(o, "keep_days",
			       json_object_new_int64(cfg->safety_net_days));
	json_object_object_add(o, "paths", paths);
	safety_nets_free(&sn);
	return o;
}

int cmd_status(const struct config *cfg, long max_age, bool json)
{
	json_object *j = state_read(cfg), *probs = json_object_new_array();
	const char *status = json_str(j, "status");
	time_t ok = utc_parse(json_str(j, "last_success"));
	time_t now = time(NULL);
	int rc;

	if (!j) {
		if (!json)
			printf("no backup recorded in %s\n", cfg->state_dir);
		json_object_array_add(probs, json_object_new_string(
			"no backup recorded"));
		j = json_object_new_object();
		json_object_object_add(j, "status", NULL);
	} else {
		if (!json) {
			const char *e = json_str(j, "error");

			printf("last run:     %s, finished %s\n",
			       status ? status : "?", json_str(j, "finished") ?
			       json_str(j, "finished") : "?");
			printf("archive:      %s\n", json_str(j, "archive") ?
			       json_str(j, "archive") : "-");
			printf("last success: %s\n",
			       json_str(j, "last_success") ?
			       json_str(j, "last_success") : "never");
			if (e)
				printf("error:        %s\n", e);
		}
		if (!status || strcmp(status, "success"))
			problem(probs, "the last backup failed");
		else if (max_age >= 0 && (!ok || now - ok > max_age))
			problem(probs, "the last successful backup is older "
				"than %lds", max_age);
	}
	/* Every target, not only those of the last run. */
	json_object_object_add(j, "targets",
			       status_targets(cfg, max_age, !json, probs));
	json_object_object_add(j, "safety_nets", status_nets(cfg, !json));
	rc = json_object_array_length(probs) ? EXIT_FAILED : EXIT_OK;
	json_object_object_add(j, "problems", probs);
	if (json)
		printf("%s\n", json_object_to_json_string_ext(j,
			JSON_C_TO_STRING_PRETTY |
			JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
	return rc;
}

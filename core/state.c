/* What the last run did: last_backup.json (for people and scripts), the
 * Prometheus textfile metrics, and `cairn status` reading them back. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cairn.h"

static char *state_path(const struct config *cfg)
{
	return path_join(cfg->state_dir, "last_backup.json");
}

static json_object *jtime(time_t t)
{
	char ts[32];

	if (!t)
		return NULL;
	fmt_utc(t, ts);
	return json_object_new_string(ts);
}

time_t utc_parse(const char *s)
{
	struct tm tm = { 0 };
	char *end;

	if (!s || !(end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) || *end)
		return 0;
	return timegm(&tm);
}

json_object *json_read_state(const char *path)
{
	json_object *j = json_object_from_file(path);

	if (j && !json_object_is_type(j, json_type_object)) {
		json_object_put(j);
		j = NULL;
	}
	return j;
}

int json_write_state(const char *path, json_object *j,
		     struct cairn_error *err)
{
	const char *text = json_object_to_json_string_ext(j,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);

	return write_file_atomic(path, text, strlen(text), 0600, err);
}

/* The previous file, parsed; NULL when there is none or it is broken. */
static json_object *state_read(const struct config *cfg)
{
	char *p = state_path(cfg);
	json_object *j = json_object_from_file(p);

	free(p);
	return j;
}

const char *json_str(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static time_t last_success(const struct config *cfg,
			   const struct run_state *st)
{
	json_object *old;
	time_t t;

	if (st->success)
		return st->finished;
	old = state_read(cfg);
	t = utc_parse(json_str(old, "last_success"));
	json_object_put(old);
	return t;
}

int state_write(const struct config *cfg, const struct run_state *st,
		struct cairn_error *err)
{
	json_object *j = json_object_new_object(), *tg;
	char *path = state_path(cfg);
	const char *text;
	int rc;

	json_object_object_add(j, "status", json_object_new_string(
		st->success ? "success" : "failure"));
	json_object_object_add(j, "archive", st->archive ?
		json_object_new_string(st->archive) : NULL);
	json_object_object_add(j, "bytes", json_object_new_uint64(st->bytes));
	json_object_object_add(j, "sha256", *st->sha256 ?
		json_object_new_string(st->sha256) : NULL);
	json_object_object_add(j, "started", jtime(st->started));
	json_object_object_add(j, "finished", jtime(st->finished));
	json_object_object_add(j, "seconds",
			       json_object_new_double(st->seconds));
	json_object_object_add(j, "last_success",
			       jtime(last_success(cfg, st)));
	tg = json_object_new_object();
	for (size_t i = 0; i < st->ntargets; i++) {
		const struct target_result *r = &st->targets[i];
		json_object *t = json_object_new_object();

		json_object_object_add(t, "status", json_object_new_string(
			r->skipped ? "skipped" : r->rc ? "failure" :
			"success"));
		json_object_object_add(t, "error", r->rc ?
			json_object_new_string(r->error) : NULL);
		json_object_object_add(t, "bytes",
				       json_object_new_uint64(r->bytes));
		json_object_object_add(t, "seconds",
				       json_object_new_double(r->seconds));
		json_object_object_add(tg, r->name, t);
	}
	json_object_object_add(j, "targets", tg);
	json_object_object_add(j, "error", st->success && !*st->error ? NULL :
			       json_object_new_string(st->error));
	json_object_object_add(j, "version",
			       json_object_new_string(PACKAGE_VERSION));
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	rc = write_file_atomic(path, text, strlen(text), 0600, err);
	json_object_put(j);
	free(path);
	return rc;
}

int metrics_write(const struct config *cfg, const struct run_state *st,
		  size_t archives, struct cairn_error *err)
{
	struct sbuf b = { 0 };
	int rc;

	if (!cfg->metrics_file)
		return CAIRN_OK;
#define GAUGE(name, help) \
	sb_printf(&b, "# HELP cairn_" name " " help "\n" \
		      "# TYPE cairn_" name " gauge\n")
	GAUGE("last_run_timestamp_seconds", "End of the last run.");
	sb_printf(&b, "cairn_last_run_timestamp_seconds{name=\"%s\"} %lld\n",
		  cfg->name, (long long)st->finished);
	GAUGE("last_success_timestamp_seconds", "End of the last success.");
	sb_printf(&b, "cairn_last_success_timestamp_seconds{name=\"%s\"} "
		  "%lld\n", cfg->name, (long long)last_success(cfg, st));
	GAUGE("last_run_success", "1 if the last run succeeded.");
	sb_printf(&b, "cairn_last_run_success{name=\"%s\"} %d\n", cfg->name,
		  st->success);
	GAUGE("last_run_duration_seconds", "Duration of the last run.");
	sb_printf(&b, "cairn_last_run_duration_seconds{name=\"%s\"} %.3f\n",
		  cfg->name, st->seconds);
	GAUGE("last_archive_bytes", "Size of the last archive.");
	sb_printf(&b, "cairn_last_archive_bytes{name=\"%s\"} %llu\n",
		  cfg->name, (unsigned long long)st->bytes);
	GAUGE("archives", "Archives kept in archive_dir.");
	sb_printf(&b, "cairn_archives{name=\"%s\"} %zu\n", cfg->name,
		  archives);
	GAUGE("target_success", "1 if the last upload to a target succeeded.");
	for (size_t i = 0; i < st->ntargets; i++)
		sb_printf(&b, "cairn_target_success{name=\"%s\",target=\"%s\"}"
			  " %d\n", cfg->name, st->targets[i].name,
			  st->targets[i].rc == 0 && !st->targets[i].skipped);
	GAUGE("target_bytes", "Bytes sent to a target in the last run.");
	for (size_t i = 0; i < st->ntargets; i++)
		sb_printf(&b, "cairn_target_bytes{name=\"%s\",target=\"%s\"} "
			  "%llu\n", cfg->name, st->targets[i].name,
			  (unsigned long long)st->targets[i].bytes);
#undef GAUGE
	/* The textfile collector must be able to read it. */
	rc = write_file_atomic(cfg->metrics_file, b.s, b.len, 0644, err);
	sb_free(&b);
	return rc;
}

int cmd_status(const struct config *cfg, long max_age, bool json)
{
	json_object *j = state_read(cfg);
	const char *status = json_str(j, "status");
	time_t ok = utc_parse(json_str(j, "last_success"));
	time_t now = time(NULL);
	int rc = EXIT_FAILED;

	if (json) {
		printf("%s\n", j ? json_object_to_json_string_ext(j,
			JSON_C_TO_STRING_PRETTY |
			JSON_C_TO_STRING_NOSLASHESCAPE) : "null");
	}
	if (!j) {
		if (!json)
			printf("no backup recorded in %s\n", cfg->state_dir);
		goto out;
	}
	if (!json) {
		const char *e = json_str(j, "error");

		printf("last run:     %s, finished %s\n", status ? status : "?",
		       json_str(j, "finished") ? json_str(j, "finished") : "?");
		printf("archive:      %s\n", json_str(j, "archive") ?
		       json_str(j, "archive") : "-");
		printf("last success: %s\n", json_str(j, "last_success") ?
		       json_str(j, "last_success") : "never");
		if (e)
			printf("error:        %s\n", e);
	}
	if (!status || strcmp(status, "success")) {
		log_error("the last backup failed");
		goto out;
	}
	if (max_age >= 0 && (!ok || now - ok > max_age)) {
		log_error("the last successful backup is older than %lds",
			  max_age);
		goto out;
	}
	rc = EXIT_OK;
out:
	json_object_put(j);
	return rc;
}

/* What the last run did: last_backup.json (for people and scripts), the
 * Prometheus textfile metrics, targets.json; cmd_status.c reads them. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
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

json_object *json_time(time_t t)
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
json_object *state_read(const struct config *cfg)
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

/* state_dir/targets.json: each target's last result, merged across
 * runs, so a run with --target X keeps what Y did last. */
static char *targets_path(const struct config *cfg)
{
	return path_join(cfg->state_dir, "targets.json");
}

static json_object *jstr_copy(json_object *o, const char *key)
{
	const char *v = json_str(o, key);

	return v ? json_object_new_string(v) : NULL;
}

/* targets.json; before it existed, what last_backup.json says of the
 * targets of the last run (its archive is their newest copy). */
json_object *targets_load(const struct config *cfg)
{
	char *path = targets_path(cfg);
	json_object *all = json_read_state(path), *last, *tg;

	free(path);
	if (all)
		return all;
	all = json_object_new_object();
	last = state_read(cfg);
	if (last && json_object_object_get_ex(last, "targets", &tg) &&
	    json_object_is_type(tg, json_type_object)) {
		json_object_object_foreach(tg, name, r) {
			json_object *t = json_object_new_object();
			const char *st = json_str(r, "status"),
				   *a = json_str(last, "archive");
			bool ok = st && !strcmp(st, "success");

			json_object_object_add(t, "status", jstr_copy(r,
					       "status"));
			json_object_object_add(t, "error", jstr_copy(r,
					       "error"));
			json_object_object_add(t, "finished", jstr_copy(last,
					       "finished"));
			json_object_object_add(t, "newest_archive", ok && a ?
				json_object_new_string(base_of(a)) : NULL);
			json_object_object_add(t, "newest_time", ok ?
				jstr_copy(last, "started") : NULL);
			json_object_object_add(all, name, t);
		}
	}
	json_object_put(last);
	return all;
}

static int targets_record(const struct config *cfg,
			  const struct run_state *st, struct cairn_error *err)
{
	char *path;
	json_object *all;
	int rc;

	if (!st->ntargets)
		return CAIRN_OK;
	path = targets_path(cfg);
	all = targets_load(cfg);
	for (size_t i = 0; i < st->ntargets; i++) {
		const struct target_result *r = &st->targets[i];
		json_object *t = json_object_new_object(), *prev = NULL;
		bool ok = !r->rc && !r->skipped;
		time_t newest;

		json_object_object_get_ex(all, r->name, &prev);
		newest = utc_parse(json_str(prev, "newest_time"));
		json_object_object_add(t, "status", json_object_new_string(
			r->skipped ? "skipped" : r->rc ? "failure" :
			"success"));
		json_object_object_add(t, "error", r->rc ?
			json_object_new_string(r->error) : NULL);
		json_object_object_add(t, "finished", json_time(st->finished));
		json_object_object_add(t, "archive", st->archive ?
			json_object_new_string(base_of(st->archive)) : NULL);
		json_object_object_add(t, "bytes",
				       json_object_new_uint64(r->bytes));
		json_object_object_add(t, "seconds",
				       json_object_new_double(r->seconds));
		json_object_object_add(t, "last_success", ok ?
			json_time(st->finished) :
			jstr_copy(prev, "last_success"));
		/* The newest archive it took: the time in its name. */
		if (ok && st->archive && st->started >= newest) {
			json_object_object_add(t, "newest_archive",
				json_object_new_string(base_of(st->archive)));
			json_object_object_add(t, "newest_time",
					       json_time(st->started));
		} else {
			json_object_object_add(t, "newest_archive",
				jstr_copy(prev, "newest_archive"));
			json_object_object_add(t, "newest_time",
				jstr_copy(prev, "newest_time"));
		}
		json_object_object_add(all, r->name, t);
	}
	rc = json_write_state(path, all, err);
	json_object_put(all);
	free(path);
	return rc;
}

int state_write(const struct config *cfg, const struct run_state *st,
		struct cairn_error *err)
{
	json_object *j = json_object_new_object(), *tg;
	char *path = state_path(cfg);
	struct cairn_error terr = { 0, "" };
	const char *text;
	int rc, trc;

	json_object_object_add(j, "status", json_object_new_string(
		st->success ? "success" : "failure"));
	json_object_object_add(j, "archive", st->archive ?
		json_object_new_string(st->archive) : NULL);
	json_object_object_add(j, "bytes", json_object_new_uint64(st->bytes));
	json_object_object_add(j, "sha256", *st->sha256 ?
		json_object_new_string(st->sha256) : NULL);
	json_object_object_add(j, "started", json_time(st->started));
	json_object_object_add(j, "finished", json_time(st->finished));
	json_object_object_add(j, "seconds",
			       json_object_new_double(st->seconds));
	json_object_object_add(j, "last_success",
			       json_time(last_success(cfg, st)));
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
	json_object_object_add(j, "suspicious",
			       json_object_new_boolean(st->suspicious));
	json_object_object_add(j, "shrink", st->suspicious ?
			       json_object_new_string(st->shrink) : NULL);
	json_object_object_add(j, "version",
			       json_object_new_string(PACKAGE_VERSION));
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	trc = targets_record(cfg, st, &terr);
	rc = write_file_atomic(path, text, strlen(text), 0600, err);
	if (!rc && trc) {
		*err = terr;
		rc = trc;
	}
	json_object_put(j);
	free(path);
	return rc;
}

/* state_dir/drills.json: the last drill of each target and "local". */
json_object *drills_load(const struct config *cfg)
{
	char *p = path_join(cfg->state_dir, "drills.json");
	json_object *o = json_read_state(p);

	free(p);
	return o ? o : json_object_new_object();
}

static uint64_t json_u64(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ?
	       json_object_get_uint64(v) : 0;
}

static double json_dbl(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ?
	       json_object_get_double(v) : 0;
}

#define GAUGE(b, name, help) \
	sb_printf(b, "# HELP cairn_" name " " help "\n" \
		     "# TYPE cairn_" name " gauge\n")

/* The last run, from last_backup.json (written just before). */
static void metrics_run(const struct config *cfg, json_object *last,
			struct sbuf *b)
{
	const char *n = cfg->name, *status = json_str(last, "status");
	json_object *v;
	long long ok = (long long)utc_parse(json_str(last, "last_success"));
	bool susp = json_object_object_get_ex(last, "suspicious", &v) &&
		    json_object_get_boolean(v);
	struct catalog cat = { 0 };
	struct cairn_error e = { 0, "" };

	catalog_scan(cfg, &cat, &e);
	GAUGE(b, "last_run_timestamp_seconds", "End of the last run.");
	sb_printf(b, "cairn_last_run_timestamp_seconds{name=\"%s\"} %lld\n",
		  n, (long long)utc_parse(json_str(last, "finished")));
	GAUGE(b, "last_success_timestamp_seconds", "End of the last success.");
	sb_printf(b, "cairn_last_success_timestamp_seconds{name=\"%s\"} "
		  "%lld\n", n, ok);
	GAUGE(b, "last_run_success", "1 if the last run succeeded.");
	sb_printf(b, "cairn_last_run_success{name=\"%s\"} %d\n", n,
		  status && !strcmp(status, "success"));
	GAUGE(b, "last_run_duration_seconds", "Duration of the last run.");
	sb_printf(b, "cairn_last_run_duration_seconds{name=\"%s\"} %.3f\n",
		  n, json_dbl(last, "seconds"));
	GAUGE(b, "backup_duration_seconds", "Duration of the last backup.");
	sb_printf(b, "cairn_backup_duration_seconds{name=\"%s\"} %.3f\n",
		  n, json_dbl(last, "seconds"));
	GAUGE(b, "last_archive_bytes", "Size of the last archive.");
	sb_printf(b, "cairn_last_archive_bytes{name=\"%s\"} %llu\n", n,
		  (unsigned long long)json_u64(last, "bytes"));
	GAUGE(b, "backup_bytes", "Size of the last backup's archive.");
	sb_printf(b, "cairn_backup_bytes{name=\"%s\"} %llu\n", n,
		  (unsigned long long)json_u64(last, "bytes"));
	GAUGE(b, "backup_suspicious",
	      "1 if the shrink alarm went off in the last backup.");
	sb_printf(b, "cairn_backup_suspicious{name=\"%s\"} %d\n", n, susp);
	GAUGE(b, "archives", "Archives kept in archive_dir.");
	sb_printf(b, "cairn_archives{name=\"%s\"} %zu\n", n, cat.n);
	catalog_free(&cat);
}

/* Per target from targets.json and drills.json: a run with --target X
 * must not drop Y's series. "local" is archive_dir. */
static void metrics_targets(const struct config *cfg, json_object *last,
			    struct sbuf *b)
{
	json_object *all = targets_load(cfg), *dr = drills_load(cfg), *t;
	const char *n = cfg->name;

	GAUGE(b, "backup_last_success_timestamp_seconds",
	      "End of the last backup that reached the target.");
	sb_printf(b, "cairn_backup_last_success_timestamp_seconds{name=\"%s\","
		  "target=\"local\"} %lld\n", n,
		  (long long)utc_parse(json_str(last, "last_success")));
	for (size_t i = 0; i < cfg->ntargets; i++)
		if (json_object_object_get_ex(all, cfg->targets[i].name, &t))
			sb_printf(b, "cairn_backup_last_success_timestamp_"
				  "seconds{name=\"%s\",target=\"%s\"} %lld\n",
				  n, cfg->targets[i].name, (long long)
				  utc_parse(json_str(t, "last_success")));
	GAUGE(b, "target_success", "1 if the last upload to a target succeeded.");
	for (size_t i = 0; i < cfg->ntargets; i++)
		if (json_object_object_get_ex(all, cfg->targets[i].name, &t) &&
		    json_str(t, "status"))
			sb_printf(b, "cairn_target_success{name=\"%s\","
				  "target=\"%s\"} %d\n", n,
				  cfg->targets[i].name,
				  !strcmp(json_str(t, "status"), "success"));
	GAUGE(b, "target_newest_archive_timestamp_seconds",
	      "Time of the newest archive a target took.");
	for (size_t i = 0; i < cfg->ntargets; i++)
		if (json_object_object_get_ex(all, cfg->targets[i].name, &t))
			sb_printf(b, "cairn_target_newest_archive_timestamp_"
				  "seconds{name=\"%s\",target=\"%s\"} %lld\n",
				  n, cfg->targets[i].name, (long long)
				  utc_parse(json_str(t, "newest_time")));
	GAUGE(b, "target_bytes", "Bytes sent to a target in the last run.");
	for (size_t i = 0; i < cfg->ntargets; i++)
		if (json_object_object_get_ex(all, cfg->targets[i].name, &t))
			sb_printf(b, "cairn_target_bytes{name=\"%s\",target="
				  "\"%s\"} %llu\n", n, cfg->targets[i].name,
				  (unsigned long long)json_u64(t, "bytes"));
	GAUGE(b, "drill_last_success_timestamp_seconds",
	      "End of the last drill that restored the target's copy.");
	json_object_object_foreach(dr, where, d) {
		if (strcmp(where, "local") && !config_target(cfg, where))
			continue;
		sb_printf(b, "cairn_drill_last_success_timestamp_seconds{name="
			  "\"%s\",target=\"%s\"} %lld\n", n, where,
			  (long long)utc_parse(json_str(d, "last_success")));
	}
	json_object_put(all);
	json_object_put(dr);
}
#undef GAUGE

int metrics_write(const struct config *cfg, struct cairn_error *err)
{
	struct sbuf b = { 0 };
	json_object *last;
	int rc;

	if (!cfg->metrics_file)
		return CAIRN_OK;
	last = state_read(cfg);
	metrics_run(cfg, last, &b);
	metrics_targets(cfg, last, &b);
	/* The textfile collector must be able to read it. */
	rc = write_file_atomic(cfg->metrics_file, b.s, b.len, 0644, err);
	json_object_put(last);
	sb_free(&b);
	return rc;
}

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

/* "3d 4h" style age, for people. */
static void fmt_age(time_t when, time_t now, char buf[32])
{
	long d = (long)(now - when);

	if (!when)
		snprintf(buf, 32, "-");
	else if (d < 0)
		snprintf(buf, 32, "in the future");
	else if (d < 3600)
		snprintf(buf, 32, "%ldm", d / 60);
	else if (d < 2 * 86400)
		snprintf(buf, 32, "%ldh%02ldm", d / 3600, d % 3600 / 60);
	else
		snprintf(buf, 32, "%ldd%02ldh", d / 86400, d % 86400 / 3600);
}

/* The last drill of `where` ("local" or a target): a line for people,
 * its record in out, and the problems it makes. */
static void status_drill(json_object *drills, const char *where,
			 const struct status_opts *o, json_object *out,
			 json_object *probs)
{
	json_object *d = NULL, *copy = NULL;
	const char *st, *ok;
	time_t now = time(NULL), okt;
	char age[32];

	json_object_object_get_ex(drills, where, &d);
	st = json_str(d, "status");
	ok = json_str(d, "last_success");
	okt = utc_parse(ok);
	fmt_age(okt, now, age);
	if (!o->json && !st)
		printf("  last drill: never\n");
	else if (!o->json)
		printf("  last drill: %s at %s of %s; last good %s%s%s%s\n",
		       st, json_str(d, "finished") ? json_str(d, "finished") :
		       "?", json_str(d, "archive") ? json_str(d, "archive") :
		       "?", ok ? ok : "never", ok ? " (" : "", ok ? age : "",
		       ok ? " ago)" : "");
	if (st && strcmp(st, "success"))
		problem(probs, "drill (%s) failed at %s: %s", where,
			json_str(d, "finished") ? json_str(d, "finished") :
			"?", json_str(d, "error") ? json_str(d, "error") :
			"?");
	else if (st && o->max_drill_age >= 0 &&
		 now - okt > o->max_drill_age)
		problem(probs, "drill (%s): the last good one is older than "
			"%lds", where, o->max_drill_age);
	if (d && !json_object_deep_copy(d, &copy, NULL))
		json_object_object_add(out, "drill", copy);
	else
		json_object_object_add(out, "drill", NULL);
}

/* Each enabled target's last result, newest copy and last drill. */
static json_object *status_targets(const struct config *cfg,
				   const struct status_opts *o,
				   json_object *drills, json_object *probs)
{
	json_object *all = targets_load(cfg), *out = json_object_new_object();
	time_t now = time(NULL);

	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct target *tg = &cfg->targets[i];
		json_object *t = NULL, *copy;
		const char *st, *newest, *nt;
		time_t when;
		char age[32];

		if (!tg->enabled)
			continue;
		json_object_object_get_ex(all, tg->name, &t);
		st = json_str(t, "status");
		newest = json_str(t, "newest_archive");
		nt = json_str(t, "newest_time");
		when = utc_parse(nt);
		fmt_age(when, now, age);
		if (!o->json) {
			printf("target %s:%*s%s%s%s; newest copy %s", tg->name,
			       (int)(strlen(tg->name) < 6 ?
			       6 - strlen(tg->name) : 1), "",
			       st ? st : "never run", st ? " at " : "",
			       st ? json_str(t, "finished") : "",
			       newest ? newest : "none");
			if (nt)
				printf(" (%s, age %s)", nt, age);
			printf("\n");
		}
		if (st && !strcmp(st, "failure"))
			problem(probs, "target %s failed at %s: %s", tg->name,
				json_str(t, "finished") ?
				json_str(t, "finished") : "?",
				json_str(t, "error") ? json_str(t, "error") :
				"?");
		if (o->max_age >= 0 && !when)
			problem(probs, "target %s holds no copy from cairn",
				tg->name);
		else if (o->max_age >= 0 && now - when > o->max_age)
			problem(probs, "target %s: its newest copy %s is "
				"older than %lds", tg->name,
				newest ? newest : "?", o->max_age);
		copy = NULL;
		if (!t || json_object_deep_copy(t, &copy, NULL)) {
			copy = json_object_new_object();
			json_object_object_add(copy, "status",
					       json_object_new_string("never"));
		}
		json_object_object_add(copy, "offsite",
				       json_object_new_boolean(tg->offsite));
		status_drill(drills, tg->name, o, copy, probs);
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

/* archive_dir's newest verified archive and the last local drill. */
static json_object *status_local(const struct config *cfg,
				 const struct status_opts *o,
				 json_object *drills, json_object *probs)
{
	json_object *out = json_object_new_object();
	struct cairn_error err = { 0, "" };
	struct catalog cat = { 0 };
	const struct archive_info *a = NULL;
	char age[32];

	catalog_scan(cfg, &cat, &err);
	for (size_t i = 0; i < cat.n && !a; i++)
		if (cat.a[i].has_sidecar)
			a = &cat.a[i];
	fmt_age(a ? a->time : 0, time(NULL), age);
	if (!o->json)
		printf("local:        newest %s%s%s%s\n", a ? a->name : "none",
		       a ? " (age " : "", a ? age : "", a ? ")" : "");
	json_object_object_add(out, "newest_archive", a ?
			       json_object_new_string(a->name) : NULL);
	json_object_object_add(out, "newest_time",
			       a ? json_time(a->time) : NULL);
	status_drill(drills, "local", o, out, probs);
	catalog_free(&cat);
	return out;
}

/* The shrink alarm of the last run, and the archives it holds. */
static void status_shrink(const struct config *cfg, json_object *j,
			  bool text, json_object *probs)
{
	json_object *h = shrink_holds(cfg), *v;
	bool susp = json_object_object_get_ex(j, "suspicious", &v) &&
		    json_object_get_boolean(v);

	if (susp)
		problem(probs, "the last backup is suspicious: %s",
			json_str(j, "shrink") ? json_str(j, "shrink") : "?");
	if (h) {
		json_object_object_foreach(h, name, e) {
			if (text)
				printf("held:         %s (shrink alarm %s)\n",
				       name, json_str(e, "since") ?
				       json_str(e, "since") : "?");
			problem(probs, "retention holds %s since a shrink "
				"alarm (%s); 'cairn prune --accept-shrink' "
				"releases it", name, json_str(e, "reason") ?
				json_str(e, "reason") : "?");
		}
	}
	json_object_object_add(j, "held", h ? h : json_object_new_object());
}

/* The last run from last_backup.json, for people and problems. */
static void status_run(const struct status_opts *o, json_object *j,
		       json_object *probs)
{
	const char *status = json_str(j, "status"), *e = json_str(j, "error");
	time_t ok = utc_parse(json_str(j, "last_success"));

	if (!o->json) {
		printf("last run:     %s, finished %s\n",
		       status ? status : "?", json_str(j, "finished") ?
		       json_str(j, "finished") : "?");
		printf("archive:      %s\n", json_str(j, "archive") ?
		       json_str(j, "archive") : "-");
		printf("last success: %s\n", json_str(j, "last_success") ?
		       json_str(j, "last_success") : "never");
		if (e)
			printf("error:        %s\n", e);
		if (json_str(j, "shrink"))
			printf("suspicious:   %s\n", json_str(j, "shrink"));
	}
	if (!status || strcmp(status, "success"))
		problem(probs, "the last backup failed");
	else if (o->max_age >= 0 && (!ok || time(NULL) - ok > o->max_age))
		problem(probs, "the last successful backup is older than %lds",
			o->max_age);
}

/* status --copies: each restore point and the places holding it. */
struct holder {
	const char *where;
	bool offsite;
	struct strv names;
};

static int by_time_desc(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return strcmp(*y, *x); /* the UTC time in the name sorts */
}

/* The places (archive_dir and each enabled target) and what they hold;
 * *all is every restore point, newest first. */
static size_t copies_scan(const struct config *cfg, struct holder *h,
			  struct strv *all, json_object *errs)
{
	struct cairn_error err = { 0, "" };
	struct catalog cat = { 0 };
	size_t n = 1;

	h[0].where = "local";
	catalog_scan(cfg, &cat, &err);
	for (size_t i = 0; i < cat.n; i++)
		if (cat.a[i].has_sidecar)
			strv_push(&h[0].names, cat.a[i].name);
	catalog_free(&cat);
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct target *t = &cfg->targets[i];

		if (!t->enabled)
			continue;
		h[n].where = t->name;
		h[n].offsite = t->offsite;
		if (target_archives(cfg, t, &h[n].names, &err)) {
			log_warn("target %s: cannot list: %s", t->name,
				 err.msg);
			json_object_object_add(errs, t->name,
					       json_object_new_string(err.msg));
		}
		n++;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < h[i].names.n; k++) {
			bool dup = false;

			for (size_t m = 0; m < all->n && !dup; m++)
				dup = !strcmp(all->v[m], h[i].names.v[k]);
			if (!dup)
				strv_push(all, h[i].names.v[k]);
		}
	if (all->n)
		qsort(all->v, all->n, sizeof(char *), by_time_desc);
	return n;
}

/* One restore point: who holds it; warnings for the newest. */
static json_object *copies_point(const struct config *cfg,
				 const struct holder *h, size_t nh,
				 const char *name, bool newest, bool text,
				 json_object *warns)
{
	json_object *o = json_object_new_object(),
		    *by = json_object_new_array();
	size_t n = 0;
	bool off = false;
	char w[512];

	if (text)
		printf("  %-44s", name);
	for (size_t i = 0; i < nh; i++)
		for (size_t k = 0; k < h[i].names.n; k++)
			if (!strcmp(h[i].names.v[k], name)) {
				n++;
				off |= h[i].offsite;
				json_object_array_add(by,
					json_object_new_string(h[i].where));
				if (text)
					printf(" %s%s", h[i].where,
					       h[i].offsite ? "(offsite)" : "");
			}
	if (text)
		printf("\n");
	json_object_object_add(o, "archive", json_object_new_string(name));
	json_object_object_add(o, "held_by", by);
	json_object_object_add(o, "copies", json_object_new_uint64(n));
	json_object_object_add(o, "offsite", json_object_new_boolean(off));
	if (newest && n < (size_t)cfg->min_copies) {
		snprintf(w, sizeof(w), "the newest restore point %s has %zu "
			 "cop%s, fewer than min_copies = %ld", name, n,
			 n == 1 ? "y" : "ies", cfg->min_copies);
		json_object_array_add(warns, json_object_new_string(w));
	}
	if (newest && !off) {
		snprintf(w, sizeof(w), "the newest restore point %s has no "
			 "offsite copy (no target with offsite = yes holds "
			 "it)", name);
		json_object_array_add(warns, json_object_new_string(w));
	}
	return o;
}

static json_object *status_copies(const struct config *cfg,
				  const struct status_opts *o)
{
	struct holder *h = xcalloc(cfg->ntargets + 1, sizeof(*h));
	struct strv all = { 0 };
	json_object *out = json_object_new_object(),
		    *pts = json_object_new_array(),
		    *warns = json_object_new_array(),
		    *errs = json_object_new_object();
	size_t nh = copies_scan(cfg, h, &all, errs);
	enum { SHOWN = 5 };

	if (!o->json)
		printf("copies (newest restore points; min_copies %ld):\n",
		       cfg->min_copies);
	if (!o->json && !all.n)
		printf("  none\n");
	for (size_t i = 0; i < all.n && i < SHOWN; i++)
		json_object_array_add(pts, copies_point(cfg, h, nh, all.v[i],
					i == 0, !o->json, warns));
	if (!all.n)
		json_object_array_add(warns, json_object_new_string(
			"no restore point is held anywhere"));
	for (size_t i = 0; i < json_object_array_length(warns); i++)
		log_warn("warning: %s", json_object_get_string(
			json_object_array_get_idx(warns, i)));
	json_object_object_add(out, "min_copies",
			       json_object_new_int64(cfg->min_copies));
	json_object_object_add(out, "restore_points", pts);
	json_object_object_add(out, "warnings", warns);
	json_object_object_add(out, "errors", errs);
	for (size_t i = 0; i < nh; i++)
		strv_free(&h[i].names);
	free(h);
	strv_free(&all);
	return out;
}

/* --max-drill-age wants at least one good drill on record. */
static void drills_any(json_object *drills, const struct status_opts *o,
		       json_object *probs)
{
	bool any = false;

	json_object_object_foreach(drills, where, d) {
		(void)where;
		any |= json_str(d, "last_success") != NULL;
	}
	if (o->max_drill_age >= 0 && !any)
		problem(probs, "no successful drill recorded; run 'cairn "
			"drill'");
}

int cmd_status(const struct config *cfg, const struct status_opts *o)
{
	json_object *j = state_read(cfg), *probs = json_object_new_array();
	json_object *drills = drills_load(cfg);
	int rc;

	if (!j) {
		if (!o->json)
			printf("no backup recorded in %s\n", cfg->state_dir);
		json_object_array_add(probs, json_object_new_string(
			"no backup recorded"));
		j = json_object_new_object();
		json_object_object_add(j, "status", NULL);
	} else {
		status_run(o, j, probs);
	}
	json_object_object_add(j, "schema", json_object_new_int(1));
	status_shrink(cfg, j, !o->json, probs);
	json_object_object_add(j, "local", status_local(cfg, o, drills,
							probs));
	/* Every target, not only those of the last run. */
	json_object_object_add(j, "targets",
			       status_targets(cfg, o, drills, probs));
	drills_any(drills, o, probs);
	json_object_object_add(j, "safety_nets", status_nets(cfg, !o->json));
	if (o->copies)
		json_object_object_add(j, "copies", status_copies(cfg, o));
	rc = json_object_array_length(probs) ? EXIT_FAILED : EXIT_OK;
	json_object_object_add(j, "problems", probs);
	if (o->json)
		printf("%s\n", json_object_to_json_string_ext(j,
			JSON_C_TO_STRING_PRETTY |
			JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(drills);
	json_object_put(j);
	return rc;
}

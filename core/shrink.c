/*
 * The shrink alarm. Each backup compares every SQLite table's row count
 * and each files component's file count and bytes with the previous
 * archive's, kept in state_dir/counts.json (so the previous archive is
 * never unpacked). A drop beyond shrink_alarm marks the run suspicious
 * and holds the previous archive, the newest taken before the drop, in
 * state_dir/shrink.json: retention keeps every held archive until
 * `cairn prune --accept-shrink` releases them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cairn.h"

static char *counts_path(const struct config *cfg)
{
	return path_join(cfg->state_dir, "counts.json");
}

static char *holds_path(const struct config *cfg)
{
	return path_join(cfg->state_dir, "shrink.json");
}

static void put_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static bool get_u64(json_object *o, const char *k, uint64_t *v)
{
	json_object *x;

	if (!o || !json_object_object_get_ex(o, k, &x) ||
	    !json_object_is_type(x, json_type_int))
		return false;
	*v = json_object_get_uint64(x);
	return true;
}

/* This archive's counts, per component. */
static json_object *counts_of(const struct config *cfg,
			      const struct comp_stats *stats)
{
	json_object *comps = json_object_new_object();

	for (size_t i = 0; i < cfg->ncomps; i++) {
		const struct component *c = &cfg->comps[i];
		json_object *o = json_object_new_object();

		/* Trees: files and bytes; a database (replaced whole,
		 * its size moves with VACUUM): its tables' rows. */
		if (!comp_ops(c->type)->whole) {
			put_u64(o, "files", stats[i].files);
			put_u64(o, "bytes", stats[i].bytes);
		} else if (stats[i].db.rows.n) {
			json_object *rows = json_object_new_object();

			for (size_t j = 0; j < stats[i].db.rows.n; j++) {
				const char *r = stats[i].db.rows.v[j];
				const char *eq = strrchr(r, '=');
				char *t;

				if (!eq)
					continue;
				t = xasprintf("%.*s", (int)(eq - r), r);
				put_u64(rows, t, strtoull(eq + 1, NULL, 10));
				free(t);
			}
			json_object_object_add(o, "rows", rows);
		}
		json_object_object_add(comps, c->name, o);
	}
	return comps;
}

/* One count against the previous one; true (and a line in why) if it
 * fell by more than pct percent. */
static bool dropped(const char *comp, const char *what, uint64_t was,
		    uint64_t now, long pct, struct sbuf *why)
{
	double drop;

	if (!was || now >= was || pct >= 100)
		return false;
	drop = 100.0 * (double)(was - now) / (double)was;
	if (drop <= (double)pct)
		return false;
	sb_printf(why, "%scomponent %s: %s %llu, was %llu (-%.0f%%, "
		  "shrink_alarm %ld%%)", why->len ? "; " : "", comp, what,
		  (unsigned long long)now, (unsigned long long)was, drop, pct);
	return true;
}

static bool compare(const struct config *cfg, json_object *prev,
		    json_object *cur, struct sbuf *why)
{
	bool bad = false;

	for (size_t i = 0; i < cfg->ncomps; i++) {
		const struct component *c = &cfg->comps[i];
		long pct = c->shrink_alarm >= 0 ? c->shrink_alarm
						: cfg->shrink_alarm;
		json_object *p = NULL, *n = NULL, *pr, *nr;
		uint64_t a, b;

		if (!json_object_object_get_ex(prev, c->name, &p) ||
		    !json_object_object_get_ex(cur, c->name, &n))
			continue;
		if (get_u64(p, "files", &a) && get_u64(n, "files", &b))
			bad |= dropped(c->name, "files", a, b, pct, why);
		if (get_u64(p, "bytes", &a) && get_u64(n, "bytes", &b))
			bad |= dropped(c->name, "bytes", a, b, pct, why);
		if (!json_object_object_get_ex(p, "rows", &pr) ||
		    !json_object_object_get_ex(n, "rows", &nr))
			continue;
		json_object_object_foreach(pr, table, v) {
			char *what;

			(void)v;
			if (!get_u64(pr, table, &a))
				continue;
			b = 0; /* a table that is gone has no rows */
			get_u64(nr, table, &b);
			what = xasprintf("table %s rows", table);
			bad |= dropped(c->name, what, a, b, pct, why);
			free(what);
		}
	}
	return bad;
}

/* Hold archive `name` in shrink.json: retention keeps it. */
static int hold(const struct config *cfg, const char *name,
		const char *by, const char *why, struct cairn_error *err)
{
	char *p = holds_path(cfg);
	json_object *o = json_read_state(p), *h, *e;
	int rc;

	if (!o)
		o = json_object_new_object();
	if (!json_object_object_get_ex(o, "held", &h) ||
	    !json_object_is_type(h, json_type_object)) {
		h = json_object_new_object();
		json_object_object_add(o, "held", h);
	}
	e = json_object_new_object();
	json_object_object_add(e, "since", json_time(time(NULL)));
	json_object_object_add(e, "by", json_object_new_string(by));
	json_object_object_add(e, "reason", json_object_new_string(why));
	json_object_object_add(h, name, e);
	rc = json_write_state(p, o, err);
	json_object_put(o);
	free(p);
	return rc;
}

void shrink_check(const struct config *cfg, const struct comp_stats *stats,
		  struct run_state *st)
{
	struct cairn_error err = { 0, "" };
	char *p = counts_path(cfg);
	json_object *prev = json_read_state(p), *pc = NULL,
		    *cur = json_object_new_object();
	const char *pname = json_str(prev, "archive");
	struct sbuf why = { 0 };

	json_object_object_add(cur, "archive", json_object_new_string(
		base_of(st->archive)));
	json_object_object_add(cur, "time", json_time(st->started));
	json_object_object_add(cur, "components", counts_of(cfg, stats));
	if (pname && strcmp(pname, base_of(st->archive)) &&
	    json_object_object_get_ex(prev, "components", &pc) &&
	    compare(cfg, pc, json_object_object_get(cur, "components"),
		    &why)) {
		st->suspicious = true;
		snprintf(st->shrink, sizeof(st->shrink), "%s", why.s);
		log_warn("shrink alarm: %s; retention holds %s until 'cairn "
			 "prune --accept-shrink'", why.s, pname);
		if (hold(cfg, pname, base_of(st->archive), why.s, &err))
			log_error("%s", err.msg);
	}
	if (json_write_state(p, cur, &err))
		log_error("%s", err.msg);
	sb_free(&why);
	json_object_put(prev);
	json_object_put(cur);
	free(p);
}

json_object *shrink_holds(const struct config *cfg)
{
	char *p = holds_path(cfg);
	json_object *o = json_read_state(p), *h = NULL;

	free(p);
	if (o && json_object_object_get_ex(o, "held", &h) &&
	    json_object_is_type(h, json_type_object))
		json_object_get(h);
	else
		h = NULL;
	json_object_put(o);
	return h;
}

bool shrink_held(const struct config *cfg, const char *name)
{
	json_object *h = shrink_holds(cfg);
	bool held = h && json_object_object_get_ex(h, name, NULL);

	json_object_put(h);
	return held;
}

int shrink_accept(const struct config *cfg, struct cairn_error *err)
{
	char *p = holds_path(cfg);
	json_object *h = shrink_holds(cfg), *o;
	int rc;

	if (!h) {
		free(p);
		return CAIRN_OK;
	}
	json_object_object_foreach(h, name, v) {
		(void)v;
		log_info("shrink accepted: retention no longer holds %s",
			 name);
	}
	o = json_object_new_object();
	json_object_object_add(o, "held", json_object_new_object());
	rc = json_write_state(p, o, err);
	json_object_put(o);
	json_object_put(h);
	free(p);
	return rc;
}

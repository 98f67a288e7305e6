/*
 * `cairn sync --target NAME`: bring a target up to date with the local
 * restore points. Of the archives the target's retention would keep
 * among the local verified ones and those the target holds, send (oldest
 * first, sidecars after each archive) the local ones it lacks; then
 * apply its retention. A USB drive that was away for a week gets the
 * week's archives, not only tonight's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cairn.h"

struct sync_plan {
	struct snap *snaps;  /* local and remote, each name once */
	bool *local, *remote;
	size_t n;
	struct strv sent, failed;
	uint64_t bytes;
};

static bool strv_has(const struct strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], s))
			return true;
	return false;
}

static void add_snap(struct sync_plan *p, const struct config *cfg,
		     const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->snaps[i].name, name))
			return;
	p->snaps[p->n].name = name;
	archive_name_parse(cfg->name, name, &p->snaps[p->n++].time);
}

/* What the target's retention keeps of local and remote together
 * (snaps newest first), and where each is. */
static void plan_sync(const struct config *cfg, const struct target *t,
		      const struct catalog *cat, const struct strv *remote,
		      struct sync_plan *p)
{
	struct strv local = { 0 };
	size_t cap = cat->n + remote->n + 1;

	p->snaps = xcalloc(cap, sizeof(*p->snaps));
	p->local = xcalloc(cap, sizeof(bool));
	p->remote = xcalloc(cap, sizeof(bool));
	for (size_t i = 0; i < cat->n; i++)
		if (cat->a[i].has_sidecar) {
			add_snap(p, cfg, cat->a[i].name);
			strv_push(&local, cat->a[i].name);
		}
	for (size_t i = 0; i < remote->n; i++)
		add_snap(p, cfg, remote->v[i]);
	retention_select(p->snaps, p->n, &t->keep);
	for (size_t i = 0; i < p->n; i++) {
		p->local[i] = strv_has(&local, p->snaps[i].name);
		p->remote[i] = strv_has(remote, p->snaps[i].name);
	}
	strv_free(&local);
}

static int send_missing(const struct config *cfg, const struct target *t,
			struct sync_plan *p, size_t *have)
{
	int rc = CAIRN_OK;

	/* Oldest first: a drive pulled half way holds the older days. */
	for (size_t i = p->n; i-- > 0;) {
		struct target_result r = { 0 };
		char *path;

		if (!p->snaps[i].keep)
			continue;
		if (p->remote[i]) {
			(*have)++;
			continue;
		}
		if (!p->local[i] || stop_signal())
			continue;
		path = path_join(cfg->archive_dir, p->snaps[i].name);
		log_info("target %s: sending %s", t->name, p->snaps[i].name);
		if (target_send(cfg, t, path, &r)) {
			log_error("target %s: %s: %s", t->name,
				  p->snaps[i].name, r.error);
			strv_push(&p->failed, p->snaps[i].name);
			rc = r.rc;
		} else {
			strv_push(&p->sent, p->snaps[i].name);
			p->bytes += r.bytes;
		}
		free(path);
	}
	return rc;
}

static void sync_json(const struct target *t, const struct sync_plan *p,
		      size_t have, int rc, const char *msg)
{
	json_object *o = json_doc(), *a = json_object_new_array();
	json_object *f = json_object_new_array();

	for (size_t i = 0; i < p->sent.n; i++)
		json_object_array_add(a, json_object_new_string(p->sent.v[i]));
	for (size_t i = 0; i < p->failed.n; i++)
		json_object_array_add(f,
				      json_object_new_string(p->failed.v[i]));
	json_object_object_add(o, "target", json_object_new_string(t->name));
	json_object_object_add(o, "ok", json_object_new_boolean(!rc));
	json_object_object_add(o, "sent", a);
	json_object_object_add(o, "failed", f);
	json_object_object_add(o, "bytes", json_object_new_uint64(p->bytes));
	json_object_object_add(o, "already", json_object_new_uint64(have));
	json_object_object_add(o, "error", json_str_or_null(rc ? msg : NULL));
	json_emit(o, false);
}

/* targets.json, as a backup records a target: status shows a drive
 * that caught up as current. newest: the newest archive it now holds. */
static void record_sync(const struct config *cfg, const struct target *t,
			const struct sync_plan *p, const char *newest,
			int rc, const char *msg, double seconds)
{
	struct cairn_error e = { 0, "" };
	char *path = path_join(cfg->state_dir, "targets.json");
	json_object *all = targets_load(cfg), *r = json_object_new_object();
	json_object *prev = NULL;
	time_t now = time(NULL), nt = 0;

	json_object_object_get_ex(all, t->name, &prev);
	json_object_object_add(r, "status", json_object_new_string(rc ?
			       "failure" : "success"));
	json_object_object_add(r, "error", json_str_or_null(rc ? msg : NULL));
	json_object_object_add(r, "finished", json_time(now));
	json_object_object_add(r, "archive", json_str_or_null(p->sent.n ?
			       p->sent.v[p->sent.n - 1] : NULL));
	json_object_object_add(r, "bytes", json_object_new_uint64(p->bytes));
	json_object_object_add(r, "seconds", json_object_new_double(seconds));
	json_object_object_add(r, "last_success", rc ? json_str_or_null(
			       json_str(prev, "last_success")) :
			       json_time(now));
	if (!rc && newest && archive_name_parse(cfg->name, newest, &nt)) {
		json_object_object_add(r, "newest_archive",
				       json_object_new_string(newest));
		json_object_object_add(r, "newest_time", json_time(nt));
	} else {
		json_object_object_add(r, "newest_archive", json_str_or_null(
				       json_str(prev, "newest_archive")));
		json_object_object_add(r, "newest_time", json_str_or_null(
				       json_str(prev, "newest_time")));
	}
	json_object_object_add(all, t->name, r);
	if (json_write_state(path, all, &e))
		log_error("%s", e.msg);
	json_object_put(all);
	free(path);
}

/* The newest kept archive the target holds now (snaps: newest first). */
static const char *newest_held(const struct sync_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->snaps[i].keep && (p->remote[i] ||
		    strv_has(&p->sent, p->snaps[i].name)))
			return p->snaps[i].name;
	return NULL;
}

static int sync_run(const struct config *cfg, const struct target *t,
		    struct sync_plan *p, size_t *have, struct cairn_error *err)
{
	struct strv remote = { 0 };
	struct catalog cat = { 0 };
	double t0 = now_mono();
	char sz[32];
	int rc;

	if ((rc = catalog_scan(cfg, &cat, err)) ||
	    (rc = target_complete(cfg, t, &remote, err)))
		goto out;
	/* An encrypted archive_dir names its archives NAME.age, as the
	 * target holds them (a target lists them as NAME). */
	for (size_t i = 0; cfg->self && i < remote.n; i++)
		remote.v[i] = crypt_object(t->crypt, remote.v[i]);
	plan_sync(cfg, t, &cat, &remote, p);
	if ((rc = send_missing(cfg, t, p, have))) {
		cairn_errf(err, rc, "target %s: %zu of %zu archives not sent",
			   t->name, p->failed.n, p->failed.n + p->sent.n);
		goto out;
	}
	if ((rc = stop_check(err)) ||
	    (rc = target_prune(cfg, t, p->sent.n ? p->sent.v[p->sent.n - 1]
				: NULL, err)))
		goto out;
	fmt_bytes(p->bytes, sz);
	log_info("target %s: %zu archives sent (%s), %zu already there",
		 t->name, p->sent.n, sz, *have);
out:
	if (rc != CAIRN_ELOCKED && p->snaps)
		record_sync(cfg, t, p, newest_held(p), rc, err->msg,
			    now_mono() - t0);
	/* p->snaps names point into cat and remote; sent and failed are
	 * copies, for the report. */
	free(p->snaps);
	p->snaps = NULL;
	strv_free(&remote);
	catalog_free(&cat);
	return rc;
}

int cmd_sync(const struct config *cfg, const char *target, bool json)
{
	const struct target *t = target ? config_target(cfg, target) : NULL;
	struct cairn_error err = { 0, "" };
	struct sync_plan p = { 0 };
	struct lock lk = { -1, NULL };
	size_t have = 0;
	int rc;

	if (!t) {
		log_error("sync: %s", target ? "no such target" :
			  "which target? (--target NAME)");
		return EXIT_USAGE;
	}
	if ((rc = lock_acquire(cfg, &lk, &err)) ||
	    (rc = restore_recover(cfg, &err)))
		goto out;
	leftovers_clean(cfg);
	rc = sync_run(cfg, t, &p, &have, &err);
out:
	if (rc)
		log_error("%s", err.msg);
	if (json)
		sync_json(t, &p, have, rc, err.msg);
	strv_free(&p.sent);
	strv_free(&p.failed);
	free(p.local);
	free(p.remote);
	lock_release(&lk);
	return rc_exit(rc);
}

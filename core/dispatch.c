/*
 * Targets: send a verified archive and its sidecars to every selected
 * target, fetch one back, and apply each target's retention. The core
 * owns retries: a retryable error closes the connection, waits, and
 * tries again from a fresh open. One target's failure never stops the
 * others and never touches the local archive.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cairn.h"

enum { TRIES = 3 };

/* An optional op a plugin built against an older header does not have:
 * the core never reads past the plugin's `size`. */
#define OPS_HAS(ops, m) \
	((ops)->size >= offsetof(struct cairn_target_ops, m) + \
	 sizeof((ops)->m) && (ops)->m)

static const char *tc_get(const struct cairn_target_config *c,
			  const char *key)
{
	const struct target *t = c->core;
	const struct kv *kv = section_get(t->sec, key);

	return kv ? kv->val : NULL;
}

static void tc_log(const struct cairn_target_config *c, int level,
		   const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	logmsg(level, "target %s: %s", c->name, line);
}

static int tc_stopped(const struct cairn_target_config *c)
{
	(void)c;
	return stop_signal() != 0;
}

int target_open(const struct config *cfg, const struct target *t,
		struct target_conn *tc, struct cairn_error *err)
{
	int rc;

	(void)cfg;
	memset(tc, 0, sizeof(*tc));
	tc->t = t;
	if ((rc = plugin_load(t->plugin, &tc->pl, err)))
		return rc;
	if ((rc = config_check_target_keys(t, tc->pl.ops->keys, err)))
		return rc;
	tc->tc.name = t->name;
	tc->tc.core = (void *)t;
	tc->tc.get = tc_get;
	tc->tc.log = tc_log;
	tc->tc.stopped = tc_stopped;
	return tc->pl.ops->open(&tc->tc, &tc->h, err);
}

/* Open a target for a command that holds the config's lock (backup,
 * prune): temporaries of this config's killed runs can go, since no run
 * of it can be writing them. A failed clean costs only a warning. */
static int target_open_locked(const struct config *cfg,
			      const struct target *t, struct target_conn *tc,
			      struct cairn_error *err)
{
	struct cairn_error e = { 0, "" };
	char *prefix;
	int rc = target_open(cfg, t, tc, err);

	if (rc || !OPS_HAS(tc->pl.ops, clean))
		return rc;
	prefix = xasprintf("%s-backup-", cfg->name);
	if (tc->pl.ops->clean(tc->h, prefix, &e))
		log_warn("target %s: cannot remove leftovers of killed runs: "
			 "%s", t->name, e.msg);
	free(prefix);
	return CAIRN_OK;
}

void target_close(struct target_conn *tc)
{
	if (tc->h && tc->pl.ops)
		tc->pl.ops->close(tc->h);
	tc->h = NULL;
	plugin_unload(&tc->pl);
}

/* Backoff between tries: 1 s, then 4 s. CAIRN_RETRY_DELAY scales it for
 * tests that provoke failures. */
static void backoff(int attempt)
{
	const char *s = getenv("CAIRN_RETRY_DELAY");
	long base = 1;

	if (s)
		parse_int(s, 0, 60, &base);
	/* A stop signal cuts the sleep short (sleep is not restarted). */
	if (!stop_signal())
		sleep((unsigned)(base * (attempt == 1 ? 1 : 4)));
}

static bool selected(const struct backup_opts *o, const struct target *t)
{
	if (!o || !o->ntargets)
		return t->enabled;
	for (size_t i = 0; i < o->ntargets; i++)
		if (!strcmp(o->targets[i], t->name))
			return true;
	return false;
}

struct put_progress {
	struct progress bar;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;

	(void)total;
	if (done > p->done)
		progress_add(p, done - p->done);
}

static int put_one(struct target_conn *tc, const char *path,
		   uint64_t send_bytes, struct cairn_error *err)
{
	struct cairn_put_file f = { 0 };
	struct progress bar;
	char hex[65];
	uint64_t size;
	int rc;

	if (sha256_file(path, hex, &size))
		return errno_err(err, 0, errno, "cannot read %s", path);
	f.path = path;
	f.name = base_of(path);
	f.size = size;
	f.sha256 = hex;
	f.send_bytes = send_bytes > size ? send_bytes : size;
	progress_begin(&bar, tc->t->name, size);
	f.progress = on_progress;
	f.progress_ctx = &bar;
	rc = tc->pl.ops->put(tc->h, &f, err);
	progress_end(&bar);
	return rc;
}

/* A send that failed part way: remove every name of it, sidecars first,
 * so the target holds no archive without its sidecars (which would fill
 * it, and never be pruned since retention runs after a good send). */
static void unput(struct target_conn *tc, char *const names[], int n)
{
	for (int i = n; i-- > 0;) {
		struct cairn_error e = { 0, "" };
		const char *name = base_of(names[i]);
		int r = tc->pl.ops->del(tc->h, name, &e);

		if (r && r != CAIRN_ENOTFOUND)
			log_warn("target %s: cannot remove %s of the failed "
				 "send: %s", tc->t->name, name, e.msg);
		else if (!r)
			log_info("target %s: removed %s of the failed send",
				 tc->t->name, name);
	}
}

/* Archive first, sidecars after it: a listing that shows the .sha256
 * implies the archive is complete. Each put learns the bytes still to
 * come, so a plugin that knows free space refuses the archive when its
 * sidecars would not fit either. */
static int put_archive(struct target_conn *tc, const char *archive,
		       uint64_t *bytes, struct cairn_error *err)
{
	char *side[3] = { xstrdup(archive), sidecar_manifest(archive),
			  sidecar_sha(archive) };
	uint64_t size[3], left = 0;
	int rc = CAIRN_OK, i;

	*bytes = 0;
	for (i = 0; i < 3; i++) {
		struct stat st;

		if (stat(side[i], &st)) {
			rc = errno_err(err, 0, errno, "cannot read %s",
				       side[i]);
			goto out;
		}
		size[i] = (uint64_t)st.st_size;
		left += size[i];
	}
	for (i = 0; i < 3; i++) {
		if ((rc = stop_check(err)) ||
		    (rc = put_one(tc, side[i], left, err)))
			break;
		*bytes += size[i];
		left -= size[i];
	}
	if (rc && i > 0)
		unput(tc, side, 3);
out:
	for (i = 0; i < 3; i++)
		free(side[i]);
	return rc;
}

static int send_to(const struct config *cfg, const struct target *t,
		   const char *archive, struct target_result *r)
{
	struct cairn_error err = { 0, "" };
	double t0 = now_mono();
	int rc = CAIRN_EFAIL;

	for (int attempt = 1; attempt <= TRIES; attempt++) {
		struct target_conn tc = { 0 };

		err.code = 0;
		err.msg[0] = '\0';
		if (!(rc = stop_check(&err)))
			rc = target_open_locked(cfg, t, &tc, &err);
		if (!rc)
			rc = put_archive(&tc, archive, &r->bytes, &err);
		target_close(&tc);
		if (rc != CAIRN_ERETRY || attempt == TRIES || stop_signal())
			break;
		log_warn("target %s: %s; retrying (%d of %d)", t->name,
			 err.msg, attempt + 1, TRIES);
		backoff(attempt);
	}
	r->rc = rc;
	r->seconds = now_mono() - t0;
	if (rc)
		snprintf(r->error, sizeof(r->error), "%s", err.msg);
	return rc;
}

void dispatch_all(const struct config *cfg, const struct backup_opts *o,
		  struct run_state *st)
{
	st->targets = xcalloc(cfg->ntargets, sizeof(*st->targets));
	st->ntargets = 0;
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct target *t = &cfg->targets[i];
		struct target_result *r = &st->targets[st->ntargets];
		char sz[32];

		if (!selected(o, t))
			continue;
		st->ntargets++;
		r->name = xstrdup(t->name);
		log_info("target %s: sending %s", t->name,
			 base_of(st->archive));
		if (send_to(cfg, t, st->archive, r)) {
			log_error("target %s failed: %s", t->name, r->error);
			continue;
		}
		fmt_bytes(r->bytes, sz);
		log_info("target %s: sent %s in %.1f s (%.1f MB/s)", t->name,
			 sz, r->seconds,
			 r->seconds > 0 ? r->bytes / r->seconds / 1e6 : 0);
	}
}

/* Archives on a target, grouped by name: only those whose sidecar is
 * present count as complete. */
struct remote {
	const struct config *cfg;
	struct strv names;
	struct strv sides;
};

static int collect(void *ctx, const struct cairn_object *o)
{
	struct remote *rm = ctx;
	size_t l = strlen(o->name);

	if (archive_name_parse(rm->cfg->name, o->name, NULL))
		strv_push(&rm->names, o->name);
	else if (l > 7 && !strcmp(o->name + l - 7, ".sha256"))
		strv_push(&rm->sides, o->name);
	return 0;
}

static bool has_side(const struct remote *rm, const char *name)
{
	size_t l = strlen(name);

	for (size_t i = 0; i < rm->sides.n; i++)
		if (!strncmp(rm->sides.v[i], name, l) &&
		    !strcmp(rm->sides.v[i] + l, ".sha256"))
			return true;
	return false;
}

static int list_remote(struct target_conn *tc, struct remote *rm,
		       struct cairn_error *err)
{
	return tc->pl.ops->list(tc->h, collect, rm, err);
}

static void remote_free(struct remote *rm)
{
	strv_free(&rm->names);
	strv_free(&rm->sides);
}

/* Retention on one target. Only complete archives (with a sidecar)
 * count; `protect`, the archive this run sent, is never removed. */
static int prune_target(const struct config *cfg, const struct target *t,
			bool dry_run, const char *protect,
			struct cairn_error *err)
{
	struct remote rm = { .cfg = cfg };
	struct target_conn tc;
	struct snap *snaps = NULL;
	size_t n = 0;
	int rc;

	if ((rc = target_open_locked(cfg, t, &tc, err)))
		goto out;
	if ((rc = list_remote(&tc, &rm, err)))
		goto out;
	snaps = xcalloc(rm.names.n, sizeof(*snaps));
	for (size_t i = 0; i < rm.names.n; i++) {
		if (!has_side(&rm, rm.names.v[i]))
			continue;
		snaps[n].name = rm.names.v[i];
		archive_name_parse(cfg->name, rm.names.v[i], &snaps[n++].time);
	}
	retention_select(snaps, n, &t->keep);
	for (size_t i = 0; i < n; i++) {
		char *names[3];

		if (snaps[i].keep ||
		    (protect && !strcmp(protect, snaps[i].name)))
			continue;
		log_info("target %s: %s %s", t->name,
			 dry_run ? "would remove" : "removing", snaps[i].name);
		if (dry_run)
			continue;
		names[0] = sidecar_sha(snaps[i].name);
		names[1] = xstrdup(snaps[i].name);
		names[2] = sidecar_manifest(snaps[i].name);
		for (int k = 0; k < 3; k++) {
			int r = tc.pl.ops->del(tc.h, names[k], err);

			if (r && r != CAIRN_ENOTFOUND && !rc)
				rc = r;
			free(names[k]);
		}
		if (rc)
			goto out;
	}
	rc = CAIRN_OK;
out:
	free(snaps);
	remote_free(&rm);
	target_close(&tc);
	return rc;
}

void dispatch_prune(const struct config *cfg, const struct backup_opts *o,
		    struct run_state *st)
{
	for (size_t i = 0; i < st->ntargets; i++) {
		struct target_result *r = &st->targets[i];
		const struct target *t = config_target(cfg, r->name);
		struct cairn_error err = { 0, "" };

		(void)o;
		if (r->rc || !t)
			continue;
		if ((r->rc = prune_target(cfg, t, false,
					  base_of(st->archive), &err))) {
			snprintf(r->error, sizeof(r->error),
				 "retention failed: %s", err.msg);
			log_error("target %s: %s", t->name, r->error);
		}
	}
}

int prune_targets(const struct config *cfg, bool dry_run)
{
	int rc = CAIRN_OK;

	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct target *t = &cfg->targets[i];
		struct cairn_error err = { 0, "" };

		if (!t->enabled)
			continue;
		if (prune_target(cfg, t, dry_run, NULL, &err)) {
			log_error("target %s: %s", t->name, err.msg);
			rc = CAIRN_EFAIL;
		}
	}
	return rc;
}

/* Download one object into dir/name, retrying transient errors. */
static int get_one(const struct config *cfg, const struct target *t,
		   struct target_conn *tc, const char *name, const char *dir,
		   struct cairn_error *err)
{
	char *dest = path_join(dir, name);
	int rc = CAIRN_EFAIL;

	for (int attempt = 1; attempt <= TRIES; attempt++) {
		if (!tc->h && (rc = target_open(cfg, t, tc, err)))
			goto retry;
		rc = tc->pl.ops->get(tc->h, name, dest, err);
retry:
		if (rc != CAIRN_ERETRY || attempt == TRIES || stop_signal())
			break;
		target_close(tc);
		log_warn("target %s: %s; retrying", t->name, err->msg);
		backoff(attempt);
	}
	if (!rc)
		chmod(dest, 0600);
	free(dest);
	return rc;
}

int target_fetch(const struct config *cfg, const char *target,
		 const char *name, const char *dir, char **path,
		 struct cairn_error *err)
{
	const struct target *t = config_target(cfg, target);
	struct remote rm = { .cfg = cfg };
	struct target_conn tc = { 0 };
	const char *pick = NULL;
	time_t best = 0;
	int rc;

	*path = NULL;
	if (!t)
		return cairn_errf(err, CAIRN_ECONFIG, "no target '%s' "
				  "configured", target);
	if ((rc = target_open(cfg, t, &tc, err)) ||
	    (rc = list_remote(&tc, &rm, err)))
		goto out;
	for (size_t i = 0; i < rm.names.n; i++) {
		time_t tm;

		archive_name_parse(cfg->name, rm.names.v[i], &tm);
		if (name && strcmp(name, "latest")) {
			if (!strcmp(base_of(name), rm.names.v[i]))
				pick = rm.names.v[i];
		} else if (has_side(&rm, rm.names.v[i]) &&
			   (!pick || tm > best ||
			    (tm == best && strcmp(rm.names.v[i], pick) > 0))) {
			pick = rm.names.v[i];
			best = tm;
		}
	}
	if (!pick) {
		rc = cairn_errf(err, CAIRN_ENOTFOUND,
				"target %s holds no %s archive of '%s'",
				target, name && strcmp(name, "latest") ?
				name : "complete", cfg->name);
		goto out;
	}
	log_info("target %s: fetching %s", target, pick);
	{
		char *side = sidecar_sha(pick), *man = sidecar_manifest(pick);

		rc = get_one(cfg, t, &tc, side, dir, err);
		if (!rc)
			rc = get_one(cfg, t, &tc, man, dir, err);
		if (!rc)
			rc = get_one(cfg, t, &tc, pick, dir, err);
		free(side);
		free(man);
	}
	if (!rc)
		*path = path_join(dir, pick);
out:
	remote_free(&rm);
	target_close(&tc);
	return rc;
}

/* `cairn list --target NAME`. */
int list_target(const struct config *cfg, const char *target, bool json)
{
	const struct target *t = config_target(cfg, target);
	struct remote rm = { .cfg = cfg };
	struct cairn_error err = { 0, "" };
	struct target_conn tc = { 0 };
	json_object *arr = json ? json_object_new_array() : NULL;
	int rc;

	if (!t) {
		log_error("no target '%s' configured", target);
		json_object_put(arr);
		return EXIT_USAGE;
	}
	if ((rc = target_open(cfg, t, &tc, &err)) ||
	    (rc = list_remote(&tc, &rm, &err))) {
		log_error("target %s: %s", target, err.msg);
		goto out;
	}
	if (rm.names.n)
		qsort(rm.names.v, rm.names.n, sizeof(char *), strv_cmp);
	for (size_t i = rm.names.n; i-- > 0;) {
		const char *n = rm.names.v[i];
		bool ok = has_side(&rm, n);

		if (arr) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "name",
					       json_object_new_string(n));
			json_object_object_add(o, "status",
				json_object_new_string(ok ? "complete" :
						       "incomplete"));
			json_object_object_add(o, "where",
					       json_object_new_string(target));
			json_object_array_add(arr, o);
		} else {
			printf("%-44s %-10s %s\n", n,
			       ok ? "complete" : "incomplete", target);
		}
	}
	if (arr) {
		json_object *doc = json_doc();

		json_object_object_add(doc, "archives", arr);
		json_emit(doc, false);
		arr = NULL;
	}
out:
	json_object_put(arr);
	remote_free(&rm);
	target_close(&tc);
	return rc ? EXIT_FAILED : EXIT_OK;
}

/* For `cairn sync` -------------------------------------------------- */

int target_complete(const struct config *cfg, const struct target *t,
		    struct strv *names, struct cairn_error *err)
{
	struct remote rm = { .cfg = cfg };
	struct target_conn tc;
	int rc;

	if (!(rc = target_open_locked(cfg, t, &tc, err)) &&
	    !(rc = list_remote(&tc, &rm, err)))
		for (size_t i = 0; i < rm.names.n; i++)
			if (has_side(&rm, rm.names.v[i]))
				strv_push(names, rm.names.v[i]);
	remote_free(&rm);
	target_close(&tc);
	return rc;
}

int target_send(const struct config *cfg, const struct target *t,
		const char *archive, struct target_result *r)
{
	return send_to(cfg, t, archive, r);
}

int target_prune(const struct config *cfg, const struct target *t,
		 const char *protect, struct cairn_error *err)
{
	return prune_target(cfg, t, false, protect, err);
}

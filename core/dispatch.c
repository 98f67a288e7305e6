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

/* A send that failed part way: remove every name of it, sidecars first,
 * so the target holds no archive without its sidecars (which would fill
 * it, and never be pruned since retention runs after a good send). */
static void unput(struct backend *b, char *const names[], int n)
{
	for (int i = n; i-- > 0;) {
		struct cairn_error e = { 0, "" };
		const char *name = base_of(names[i]);
		int r = backend_del(b, name, &e);

		if (r && r != CAIRN_ENOTFOUND)
			log_warn("target %s: cannot remove %s of the failed "
				 "send: %s", b->t->name, name, e.msg);
		else if (!r)
			log_info("target %s: removed %s of the failed send",
				 b->t->name, name);
	}
}

/* One file, locked until `until` (0: no lock) from its put on: the lock
 * is armed first, and set again after it in case a retry's fresh handle
 * lost the armed one. */
static int put_locked(struct backend *b, const char *path, time_t until,
		      struct cairn_error *err)
{
	int rc;

	if ((rc = stop_check(err)) ||
	    (until && (rc = backend_retain(b, base_of(path), until, err))) ||
	    (rc = backend_put_file(b, path, err)))
		return rc;
	return until ? backend_retain(b, base_of(path), until, err) : rc;
}

/* The files of an archive in the order they are sent: the archive,
 * its sidecars, .sha256 last (a listing that shows it implies the rest
 * is complete); the .index only of a seekable archive. Their sizes into
 * size[]. Returns how many, 0 when one cannot be read (err set). */
static int send_list(const char *archive, char *side[4], uint64_t size[4],
		     struct cairn_error *err)
{
	int n = 4;

	side[0] = xstrdup(archive);
	side[1] = sidecar_manifest(archive);
	side[2] = index_sidecar(archive);
	side[3] = sidecar_sha(archive);
	if (!path_exists(side[2])) {
		free(side[2]);
		side[2] = side[3];
		side[3] = NULL;
		n = 3;
	}
	for (int i = 0; i < n; i++) {
		struct stat st;

		if (stat(side[i], &st)) {
			errno_err(err, 0, errno, "cannot read %s", side[i]);
			return 0;
		}
		size[i] = (uint64_t)st.st_size;
	}
	return n;
}

static void send_list_free(char *side[4])
{
	for (int i = 0; i < 4; i++)
		free(side[i]);
}

/* Send files side[from..n) to b, locked until `until` (0: none); on
 * failure remove every one of the n names again. */
static int send_rest(struct backend *b, char *side[4], const uint64_t *size,
		     int from, int n, time_t until, uint64_t *bytes,
		     struct cairn_error *err)
{
	int rc = CAIRN_OK, i;

	for (i = from; i < n; i++) {
		if ((rc = put_locked(b, side[i], until, err)))
			break;
		*bytes += size[i];
	}
	if (rc && i > 0)
		unput(b, side, n);
	return rc;
}

/* Archive first, sidecars after it. All must fit before the first
 * begins. */
static int put_archive(struct backend *b, const char *archive,
		       uint64_t *bytes, struct cairn_error *err)
{
	char *side[4];
	uint64_t size[4];
	int rc, n;

	/* encrypt = age: target_age.c; asis: the files are ciphertext */
	if (b->t->crypt->on && !b->t->crypt->asis)
		return age_put_archive(b, b->t->crypt, archive, bytes, err);
	*bytes = 0;
	if (!(n = send_list(archive, side, size, err)))
		rc = err->code ? err->code : CAIRN_EFAIL;
	else if (!(rc = backend_fits(b, size, n, err)))
		rc = send_rest(b, side, size, 0, n,
			       objlock_put_until(b, archive), bytes, err);
	send_list_free(side);
	return rc;
}

/* The archive streamed whole: its sidecars must fit (the archive's bytes
 * are on the target already), then commit it under the archive's sha256
 * and send the sidecars after it. */
static int commit_stream(struct tstream *s, const char *archive,
			 const char *hex, uint64_t *bytes,
			 struct cairn_error *err)
{
	char *side[4];
	uint64_t size[4];
	time_t until = objlock_put_until(&s->b, archive);
	int rc = CAIRN_OK, n;

	*bytes = 0;
	if (!(n = send_list(archive, side, size, err)))
		rc = err->code ? err->code : CAIRN_EFAIL;
	if (rc || (rc = backend_fits(&s->b, size + 1, n - 1, err)) ||
	    (rc = stop_check(err)) ||
	    (rc = backend_commit(&s->put, hex, err)))
		goto out;
	log_info("target %s: %s committed, streamed as it was written",
		 s->t->name, base_of(archive));
	*bytes = s->put.done;
	/* Armed at begin(); set again now for a store that ignores the
	 * lock of a multipart upload (Ceph RGW 16), before the sidecars
	 * make the archive complete. */
	if (until && (rc = backend_retain(&s->b, base_of(archive), until,
					  err)))
		unput(&s->b, side, 1);
	else
		rc = send_rest(&s->b, side, size, 1, n, until, bytes, err);
out:
	backend_abort(&s->put);
	send_list_free(side);
	return rc;
}

/* An encrypted stream: its ciphertext committed under its own hash,
 * then the encrypted copies of the manifest and index and the sidecar
 * (target_age.c), which removes the archive's object if they fail. */
static int commit_age(struct tstream *s, const char *archive,
		      uint64_t *bytes, struct cairn_error *err)
{
	uint64_t rest = 0;
	int rc;

	*bytes = 0;
	if (!(rc = stop_check(err)) &&
	    !(rc = backend_commit(&s->put, s->chex, err))) {
		log_info("target %s: %s committed, encrypted as it was "
			 "written", s->t->name, s->obj);
		*bytes = s->put.done;
		rc = age_put_streamed(&s->b, s->t->crypt, archive, s->chex,
				      &rest, err);
		*bytes += rest;
	}
	backend_abort(&s->put);
	return rc;
}

/* A target that streamed while the archive was written: commit, or, if
 * the stream failed, send the finished file through the retry layer:
 * the stream was its first attempt, so only CAIRN_ERETRY is repeated
 * (and CAIRN_ENOSPC, so that the space check says how much is missing);
 * a stream dropped for stalling the writer is sent afresh. An open that
 * failed (after its retries) is the target's failure. */
static int send_streamed(struct tstream *s, const char *archive,
			 const char *hex, uint64_t *bytes,
			 struct cairn_error *err)
{
	struct cairn_error e = { 0, "" };
	int rc = stream_finish(s, &e);

	if (!s->open_ok) {
		*err = e;
		return rc;
	}
	if (!rc) {
		rc = s->cp ? commit_age(s, archive, bytes, err)
			   : commit_stream(s, archive, hex, bytes, err);
		if (!rc || rc == CAIRN_ENOSPC || stop_signal())
			return rc;
		e = *err;
	}
	if (stop_signal())
		return stop_check(err);
	if (s->dropped || rc == CAIRN_ENOSPC) {
		log_warn("target %s: streaming failed (%s); sending %s",
			 s->t->name, e.msg, base_of(archive));
	} else if (!backend_retry_after(&s->b, rc, &e)) {
		*err = e;
		return stop_signal() ? stop_check(err) : rc;
	}
	return put_archive(&s->b, archive, bytes, err);
}

static int send_to(const struct config *cfg, const struct target *t,
		   const struct run_state *st, struct target_result *r)
{
	struct cairn_error err = { 0, "" };
	struct tstream *s = streams_find(st->streams, t);
	double t0 = now_mono();
	struct backend b;
	int rc;

	if (s) {
		rc = send_streamed(s, st->archive, st->sha256, &r->bytes,
				   &err);
	} else {
		if (!(rc = backend_open(&b, cfg, t, true, &err)))
			rc = put_archive(&b, st->archive, &r->bytes, &err);
		backend_close(&b);
	}
	if (rc && stop_signal())
		stop_check(&err);
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

		if (!target_selected(o, t))
			continue;
		st->ntargets++;
		r->name = xstrdup(t->name);
		log_info("target %s: sending %s", t->name,
			 base_of(st->archive));
		if (send_to(cfg, t, st, r)) {
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
	struct strv encs; /* names whose object is NAME.age */
};

static int collect(void *ctx, const struct cairn_object *o)
{
	struct remote *rm = ctx;
	char *name = crypt_plain_name(o->name); /* NAME.age: as NAME */
	size_t l = strlen(name);

	if (archive_name_parse(rm->cfg->name, name, NULL)) {
		strv_push(&rm->names, name);
		if (strcmp(name, o->name))
			strv_push(&rm->encs, name);
	}
	else if (l > 7 && !strcmp(name + l - 7, ".sha256"))
		strv_push(&rm->sides, name);
	free(name);
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

static int list_remote(struct backend *b, struct remote *rm,
		       struct cairn_error *err)
{
	return backend_list(b, collect, rm, err);
}

static void remote_free(struct remote *rm)
{
	strv_free(&rm->names);
	strv_free(&rm->sides);
	strv_free(&rm->encs);
}

/* A kept archive's lock, extended to its tier's period; a failure is
 * worth a warning, not the run. */
static void hold_tier(struct backend *b, const struct snap *s,
		      unsigned rules)
{
	struct cairn_error e = { 0, "" };
	long lock[5];
	time_t until;

	if (!backend_lockable(b))
		return;
	objlock_periods(b, lock);
	until = retention_lock_until(s, rules, lock, time(NULL));
	if (until && objlock_hold(b, s->name, until, &e))
		log_warn("target %s: cannot extend the lock of %s: %s",
			 b->t->name, s->name, e.msg);
}

/* Retention on one target. Only complete archives (with a sidecar)
 * count; `protect`, the archive this run sent, is never removed. */
static int prune_target(const struct config *cfg, const struct target *t,
			bool dry_run, const char *protect,
			struct cairn_error *err)
{
	struct remote rm = { .cfg = cfg };
	struct backend b;
	struct snap *snaps = NULL;
	unsigned *rules = NULL;
	bool held = false;
	size_t n = 0;
	int rc;

	if ((rc = backend_open(&b, cfg, t, true, err)))
		goto out;
	if ((rc = list_remote(&b, &rm, err)))
		goto out;
	snaps = xcalloc(rm.names.n, sizeof(*snaps));
	for (size_t i = 0; i < rm.names.n; i++) {
		if (!has_side(&rm, rm.names.v[i]))
			continue;
		snaps[n].name = rm.names.v[i];
		snaps[n].incr = archive_name_is_incr(rm.names.v[i]);
		snaps[n].held = (protect && !strcmp(protect, rm.names.v[i])) ||
				shrink_held(cfg, rm.names.v[i]);
		archive_name_parse(cfg->name, rm.names.v[i], &snaps[n++].time);
	}
	/* Restore points by the target's policy, and every archive one
	 * of them needs (its chain, by name); rules: the tiers keeping
	 * each, for Object Lock. */
	retention_chains(snaps, n, &t->keep);
	rules = xcalloc(n ? n : 1, sizeof(*rules));
	retention_select_tiers(snaps, n, &t->keep, rules);
	if (dry_run) {
		char *where = xasprintf("target %s: ", t->name);

		prune_show_chains(where, snaps, n);
		free(where);
	}
	for (size_t i = 0; i < n; i++) {
		char *names[4];

		if (snaps[i].keep && !dry_run)
			hold_tier(&b, &snaps[i], rules[i]);
		if (snaps[i].needed)
			continue;
		log_info("target %s: %s %s", t->name,
			 dry_run ? "would remove" : "removing", snaps[i].name);
		if (dry_run)
			continue;
		names[0] = crypt_object(t->crypt, sidecar_sha(snaps[i].name));
		names[1] = crypt_object(t->crypt, xstrdup(snaps[i].name));
		names[2] = crypt_object(t->crypt,
					sidecar_manifest(snaps[i].name));
		names[3] = crypt_object(t->crypt,
					index_sidecar(snaps[i].name));
		for (int k = 0; k < 4; k++) {
			int r = rc || held ? CAIRN_OK
					   : backend_del(&b, names[k], err);

			/* Object Lock refused: the next prune tries again;
			 * no failure of the run. */
			if (r == CAIRN_EPERM && backend_lockable(&b)) {
				log_info("target %s: %s", t->name, err->msg);
				held = true;
			} else if (r && r != CAIRN_ENOTFOUND && !rc) {
				rc = r;
			}
			free(names[k]);
		}
		held = false;
		if (rc)
			goto out;
	}
	rc = CAIRN_OK;
out:
	free(rules);
	free(snaps);
	remote_free(&rm);
	backend_close(&b);
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

/* Download one object into dir/name (0600). */
static int get_one(struct backend *b, const char *name, const char *dir,
		   struct cairn_error *err)
{
	char *dest = path_join(dir, name);
	int rc = backend_get_file(b, name, dest, err);

	free(dest);
	return rc;
}

/* The bytes of object name on b's target, from a listing. */
struct obj_size {
	const char *name;
	uint64_t bytes;
	bool found;
};

static int size_cb(void *ctx, const struct cairn_object *o)
{
	struct obj_size *z = ctx;

	if (strcmp(o->name, z->name))
		return 0;
	z->bytes = o->bytes;
	z->found = true;
	return 1;
}

/* Ranged: the archive stays on the target, read by *rd (which takes the
 * open backend) when the target has ranged gets and the archive an
 * index; else *rd stays NULL and the caller fetches it whole. An
 * encrypted archive is read through its decryption (target_age.c). */
static int fetch_ranged(struct backend **bp, const char *pick,
			const char *dir, struct reader **rd,
			struct cairn_error *err)
{
	const struct crypt *c = (*bp)->t->crypt;
	char *obj = crypt_object(c, xstrdup(pick)); /* NAME.age, or NAME */
	struct obj_size z = { obj, 0, false };
	char *name = index_sidecar(pick), *ix = path_join(dir, name);
	int rc = CAIRN_OK;

	if (path_exists(ix) &&
	    ((*bp)->props.flags & CAIRN_PROP_RANGED_GET) &&
	    !(rc = backend_list(*bp, size_cb, &z, err)) && z.found) {
		if (c->on)
			rc = age_reader_open(*bp, c, pick, z.bytes, rd, err);
		else
			*rd = reader_open_target(*bp, pick, z.bytes);
		*bp = NULL;
	}
	free(obj);
	free(name);
	free(ix);
	return rc;
}

/* The sidecars and the archive (!whole: not if there is an index);
 * older archives have no index (the sidecar says if one is missing). */
static int fetch_plain(struct backend *b, const char *pick, const char *dir,
		       bool whole, struct cairn_error *err)
{
	char *names[4] = { sidecar_sha(pick), sidecar_manifest(pick),
			   index_sidecar(pick), xstrdup(pick) };
	int rc = CAIRN_OK;

	for (int i = 0; i < 4 && !rc; i++) {
		if ((rc = get_one(b, names[i], dir, err)) == CAIRN_ENOTFOUND &&
		    i == 2)
			whole = true; /* no index: the archive is needed */
		if (rc == CAIRN_ENOTFOUND && i == 2)
			rc = CAIRN_OK;
		else if (!rc && i == 2 && !whole)
			break;
	}
	for (int i = 0; i < 4; i++)
		free(names[i]);
	return rc;
}

/* An encrypted archive's objects; !whole: its index, and the archive
 * only when it has none. */
static int fetch_age(struct backend *b, const char *pick, const char *dir,
		     bool whole, struct cairn_error *err)
{
	char *ix = index_sidecar(pick), *p = path_join(dir, ix);
	int rc = age_fetch(b, b->t->crypt, dir, pick, whole, err);

	if (!rc && !whole && !path_exists(p))
		rc = age_fetch(b, b->t->crypt, dir, pick, true, err);
	free(ix);
	free(p);
	return rc;
}

static int fetch(const struct config *cfg, const char *target,
		 const char *name, const char *dir, bool whole, char **path,
		 struct reader **rd, struct cairn_error *err)
{
	const struct target *t = config_read_target(cfg, target);
	struct remote rm = { .cfg = cfg };
	struct backend *b;
	const char *pick = NULL;
	char *want = NULL;
	time_t best = 0;
	int rc;

	*path = NULL;
	if (!t)
		return cairn_errf(err, CAIRN_ECONFIG, "no target '%s' "
				  "configured", target ? target : "");
	b = xcalloc(1, sizeof(*b));
	if ((rc = backend_open(b, cfg, t, false, err)) ||
	    (rc = list_remote(b, &rm, err)))
		goto out;
	/* NAME.age (as archive_dir lists it) is archive NAME */
	want = name ? crypt_plain_name(base_of(name)) : NULL;
	for (size_t i = 0; i < rm.names.n; i++) {
		time_t tm;

		archive_name_parse(cfg->name, rm.names.v[i], &tm);
		if (name && strcmp(name, "latest")) {
			if (!strcmp(want, rm.names.v[i]))
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
				t->name, name && strcmp(name, "latest") ?
				name : "complete", cfg->name);
		goto out;
	}
	log_info("target %s: fetching %s%s", t->name, pick,
		 rd ? " (its index, then what it needs)" : "");
	if (t->crypt->on) /* decrypted as it arrives: target_age.c */
		rc = fetch_age(b, pick, dir, whole && !rd, err);
	else
		rc = fetch_plain(b, pick, dir, whole && !rd, err);
	if (!rc && rd)
		rc = fetch_ranged(&b, pick, dir, rd, err);
	if (!rc && rd && !*rd) { /* no ranged reads: the archive whole */
		char *got = path_join(dir, pick);

		if (!path_exists(got))
			rc = t->crypt->on ? fetch_age(b, pick, dir, true, err)
					  : get_one(b, pick, dir, err);
		free(got);
	}
	if (!rc)
		*path = path_join(dir, pick);
out:
	free(want);
	remote_free(&rm);
	if (b)
		backend_close(b);
	free(b);
	return rc;
}

int target_fetch(const struct config *cfg, const char *target,
		 const char *name, const char *dir, char **path,
		 struct cairn_error *err)
{
	return fetch(cfg, target, name, dir, true, path, NULL, err);
}

int target_fetch_ranged(const struct config *cfg, const char *target,
			const char *name, const char *dir, char **path,
			struct reader **rd, struct cairn_error *err)
{
	*rd = NULL;
	return fetch(cfg, target, name, dir, true, path, rd, err);
}

int target_fetch_index(const struct config *cfg, const char *target,
		       const char *name, const char *dir, char **path,
		       struct cairn_error *err)
{
	return fetch(cfg, target, name, dir, false, path, NULL, err);
}

/* `cairn list --target NAME`. */
int list_target(const struct config *cfg, const char *target, bool json)
{
	const struct target *t = config_target(cfg, target);
	struct remote rm = { .cfg = cfg };
	struct cairn_error err = { 0, "" };
	struct backend b = { 0 };
	json_object *arr = json ? json_object_new_array() : NULL;
	int rc;

	if (!t) {
		log_error("no target '%s' configured", target);
		json_object_put(arr);
		return EXIT_USAGE;
	}
	if ((rc = backend_open(&b, cfg, t, false, &err)) ||
	    (rc = list_remote(&b, &rm, &err))) {
		log_error("target %s: %s", target, err.msg);
		goto out;
	}
	if (rm.names.n)
		qsort(rm.names.v, rm.names.n, sizeof(char *), strv_cmp);
	for (size_t i = rm.names.n; i-- > 0;) {
		const char *n = rm.names.v[i];
		bool ok = has_side(&rm, n), enc = false;

		for (size_t k = 0; k < rm.encs.n && !enc; k++)
			enc = !strcmp(rm.encs.v[k], n);
		if (arr) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "name",
					       json_object_new_string(n));
			json_object_object_add(o, "status",
				json_object_new_string(ok ? "complete" :
						       "incomplete"));
			json_object_object_add(o, "where",
					       json_object_new_string(target));
			json_object_object_add(o, "encrypted",
					       json_object_new_boolean(enc));
			json_object_array_add(arr, o);
		} else {
			printf("%-44s %-10s %s%s\n", n,
			       ok ? "complete" : "incomplete", target,
			       enc ? " (encrypted)" : "");
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
	backend_close(&b);
	return rc ? EXIT_FAILED : EXIT_OK;
}

/* status --copies: the complete archives (with a sidecar) t holds. */
int target_archives(const struct config *cfg, const struct target *t,
		    struct strv *names, struct cairn_error *err)
{
	struct remote rm = { .cfg = cfg };
	struct backend b;
	int rc;

	if (!(rc = backend_open(&b, cfg, t, false, err)) &&
	    !(rc = list_remote(&b, &rm, err)))
		for (size_t i = 0; i < rm.names.n; i++)
			if (has_side(&rm, rm.names.v[i]))
				strv_push(names, rm.names.v[i]);
	remote_free(&rm);
	backend_close(&b);
	return rc;
}

/* ---- list --all-hosts -------------------------------------------- */

struct hosts {
	const struct config *cfg;
	struct strv names; /* "HOST\tNAME" of archives */
	struct strv sides; /* "HOST\tNAME" of .sha256 sidecars */
};

static int collect_host(void *ctx, const struct cairn_object *o)
{
	struct hosts *hs = ctx;
	const char *host = CAIRN_HAS(o, struct cairn_object, host) &&
				   o->host ? o->host : "";
	size_t l = strlen(o->name);

	char *hn = NULL;

	if (archive_name_parse(hs->cfg->name, o->name, NULL)) {
		hn = xasprintf("%s\t%s", host, o->name);
		strv_push(&hs->names, hn);
	} else if (l > 7 && !strcmp(o->name + l - 7, ".sha256")) {
		hn = xasprintf("%s\t%.*s", host, (int)(l - 7), o->name);
		strv_push(&hs->sides, hn);
	}
	free(hn);
	return 0;
}

static void print_host(json_object *arr, const char *hn, bool ok,
		       const char *target)
{
	const char *tab = strchr(hn, '\t');
	char *host = xasprintf("%.*s", (int)(tab - hn), hn);

	if (arr) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "host", json_object_new_string(host));
		json_object_object_add(o, "name",
				       json_object_new_string(tab + 1));
		json_object_object_add(o, "status", json_object_new_string(
					ok ? "complete" : "incomplete"));
		json_object_object_add(o, "where",
				       json_object_new_string(target));
		json_object_array_add(arr, o);
	} else {
		printf("%-16s %-44s %-10s %s\n", host, tab + 1,
		       ok ? "complete" : "incomplete", target);
	}
	free(host);
}

int list_target_hosts(const struct config *cfg, const char *target,
		      bool json)
{
	const struct target *t = config_target(cfg, target);
	struct hosts hs = { .cfg = cfg };
	struct cairn_error err = { 0, "" };
	struct backend b = { 0 };
	json_object *arr = NULL;
	int rc;

	if (!t) {
		log_error("no target '%s' configured", target);
		return EXIT_USAGE;
	}
	config_target_set(t, "all_hosts", "yes", "--all-hosts");
	if ((rc = backend_open(&b, cfg, t, false, &err)) ||
	    (rc = backend_list(&b, collect_host, &hs, &err))) {
		log_error("target %s: %s", target, err.msg);
		goto out;
	}
	arr = json ? json_object_new_array() : NULL;
	if (hs.names.n)
		qsort(hs.names.v, hs.names.n, sizeof(char *), strv_cmp);
	for (size_t i = 0; i < hs.names.n; i++) {
		bool ok = false;

		for (size_t k = 0; k < hs.sides.n && !ok; k++)
			ok = !strcmp(hs.sides.v[k], hs.names.v[i]);
		print_host(arr, hs.names.v[i], ok, target);
	}
	if (arr)
		printf("%s\n", json_object_to_json_string_ext(arr,
		       JSON_C_TO_STRING_PRETTY |
		       JSON_C_TO_STRING_NOSLASHESCAPE));
out:
	json_object_put(arr);
	strv_free(&hs.names);
	strv_free(&hs.sides);
	backend_close(&b);
	return rc ? EXIT_FAILED : EXIT_OK;
}

/* For `cairn sync` -------------------------------------------------- */

int target_complete(const struct config *cfg, const struct target *t,
		    struct strv *names, struct cairn_error *err)
{
	return target_archives(cfg, t, names, err);
}

int target_send(const struct config *cfg, const struct target *t,
		const char *archive, struct target_result *r)
{
	struct run_state st = { .archive = (char *)archive };

	return send_to(cfg, t, &st, r);
}

int target_prune(const struct config *cfg, const struct target *t,
		 const char *protect, struct cairn_error *err)
{
	return prune_target(cfg, t, false, protect, err);
}

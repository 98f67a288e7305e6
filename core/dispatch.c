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

static bool selected(const struct backup_opts *o, const struct target *t)
{
	if (!o || !o->ntargets)
		return t->enabled;
	for (size_t i = 0; i < o->ntargets; i++)
		if (!strcmp(o->targets[i], t->name))
			return true;
	return false;
}

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

/* Archive first, sidecars after it: a listing that shows the .sha256
 * implies the archive is complete. All three must fit before the first
 * begins. */
static int put_archive(struct backend *b, const char *archive,
		       uint64_t *bytes, struct cairn_error *err)
{
	/* The .index of a seekable archive (older ones have none). */
	char *side[4] = { xstrdup(archive), sidecar_manifest(archive),
			  index_sidecar(archive), sidecar_sha(archive) };
	uint64_t size[4];
	int rc = CAIRN_OK, i, n = 4;

	*bytes = 0;
	if (!path_exists(side[2])) {
		free(side[2]);
		side[2] = side[3];
		n = 3;
	}
	for (i = 0; i < n; i++) {
		struct stat st;

		if (stat(side[i], &st)) {
			rc = errno_err(err, 0, errno, "cannot read %s",
				       side[i]);
			goto out;
		}
		size[i] = (uint64_t)st.st_size;
	}
	if ((rc = backend_fits(b, size, n, err)))
		goto out;
	for (i = 0; i < n; i++) {
		if ((rc = stop_check(err)) ||
		    (rc = backend_put_file(b, side[i], err)))
			break;
		*bytes += size[i];
	}
	if (rc && i > 0)
		unput(b, side, n);
out:
	for (i = 0; i < n; i++)
		free(side[i]);
	return rc;
}

static int send_to(const struct config *cfg, const struct target *t,
		   const char *archive, struct target_result *r)
{
	struct cairn_error err = { 0, "" };
	double t0 = now_mono();
	struct backend b;
	int rc;

	if (!(rc = backend_open(&b, cfg, t, true, &err)))
		rc = put_archive(&b, archive, &r->bytes, &err);
	backend_close(&b);
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

static int list_remote(struct backend *b, struct remote *rm,
		       struct cairn_error *err)
{
	return backend_list(b, collect, rm, err);
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
	struct backend b;
	struct snap *snaps = NULL;
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
		archive_name_parse(cfg->name, rm.names.v[i], &snaps[n++].time);
	}
	retention_select(snaps, n, &t->keep);
	for (size_t i = 0; i < n; i++) {
		char *names[4];

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
		names[3] = index_sidecar(snaps[i].name);
		for (int k = 0; k < 4; k++) {
			int r = backend_del(&b, names[k], err);

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

int target_fetch(const struct config *cfg, const char *target,
		 const char *name, const char *dir, char **path,
		 struct cairn_error *err)
{
	const struct target *t = config_target(cfg, target);
	struct remote rm = { .cfg = cfg };
	struct backend b;
	const char *pick = NULL;
	time_t best = 0;
	int rc;

	*path = NULL;
	if (!t)
		return cairn_errf(err, CAIRN_ECONFIG, "no target '%s' "
				  "configured", target);
	if ((rc = backend_open(&b, cfg, t, false, err)) ||
	    (rc = list_remote(&b, &rm, err)))
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

		char *ix = index_sidecar(pick);

		rc = get_one(&b, side, dir, err);
		if (!rc)
			rc = get_one(&b, man, dir, err);
		/* Older archives have no index; the sidecar says if one
		 * is missing. */
		if (!rc && (rc = get_one(&b, ix, dir, err)) ==
		    CAIRN_ENOTFOUND)
			rc = CAIRN_OK;
		if (!rc)
			rc = get_one(&b, pick, dir, err);
		free(side);
		free(man);
		free(ix);
	}
	if (!rc)
		*path = path_join(dir, pick);
out:
	remote_free(&rm);
	backend_close(&b);
	return rc;
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
	backend_close(&b);
	return rc ? EXIT_FAILED : EXIT_OK;
}

/* For `cairn sync` -------------------------------------------------- */

int target_complete(const struct config *cfg, const struct target *t,
		    struct strv *names, struct cairn_error *err)
{
	struct remote rm = { .cfg = cfg };
	struct backend b;
	int rc;

	if (!(rc = backend_open(&b, cfg, t, true, err)) &&
	    !(rc = list_remote(&b, &rm, err)))
		for (size_t i = 0; i < rm.names.n; i++)
			if (has_side(&rm, rm.names.v[i]))
				strv_push(names, rm.names.v[i]);
	remote_free(&rm);
	backend_close(&b);
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

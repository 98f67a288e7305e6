/* `cairn verify`, `cairn list` and `cairn prune`: looking at archives
 * already made. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cairn.h"

/* Load ARCHIVE.manifest (covered by the sidecar just verified). */
int manifest_load(const char *archive, struct manifest *m,
		  struct cairn_error *err)
{
	char *p = sidecar_manifest(archive), *text;
	size_t len, bad = 0;
	int rc = CAIRN_OK;

	memset(m, 0, sizeof(*m));
	text = read_file(p, &len);
	if (!text)
		rc = errno_err(err, CAIRN_EINTEGRITY, errno, "cannot read %s",
			       p);
	else if (manifest_parse(text, len, m, &bad))
		rc = cairn_errf(err, CAIRN_EINTEGRITY,
				"%s:%zu: not a sha256sum line", p, bad);
	free(text);
	free(p);
	return rc;
}

/* Test-restore every component the way restore stages it, into a
 * private scratch dir: every member against the manifest (and the
 * archive's own MANIFEST.sha256 against the manifest copy), the same
 * refusals of hostile paths and links, SQLite integrity_check. */
static int deep_check(const struct config *cfg, const char *path,
		      const struct manifest *man, size_t *members,
		      size_t *dbs, struct cairn_error *err)
{
	const struct component **comps = NULL;
	struct stage s = { .archive = path, .man = man,
			   .every_member = true };
	char *tmpdir = xasprintf("%s/.cairn-verify.XXXXXX", cfg->state_dir);
	int lock = -1, rc;

	*members = *dbs = 0;
	if (mkdir_p(cfg->state_dir, 0700) || !mkdtemp(tmpdir)) {
		rc = errno_err(err, 0, errno, "cannot create %s", tmpdir);
		free(tmpdir);
		return rc;
	}
	lock = scratch_lock(tmpdir);
	if ((rc = restore_components(cfg, "full", &comps, &s.ncomps, err)))
		goto out;
	s.comps = comps;
	s.dir = tmpdir;
	rc = stage_run(&s, err);
	*members = s.files;
	*dbs = s.dbs;
out:
	rm_rf(tmpdir);
	if (lock >= 0)
		close(lock);
	stage_free(&s);
	free(comps);
	free(tmpdir);
	return rc;
}

/* state_dir/verify.json: the last check of each archive, keyed by name,
 * with the size and ctime it had then (a changed file voids the record:
 * any write moves ctime, to the nanosecond, and nobody can set it back).
 * `list` shows it, so a failed verify is never hidden behind the sidecar
 * that says the archive was fine when it was made. */
static char *verify_state_path(const struct config *cfg)
{
	return path_join(cfg->state_dir, "verify.json");
}

static int64_t ctime_ns(const struct stat *st)
{
	return (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

/* The record of archive `name` (in o), or NULL if none or stale. */
static json_object *verify_entry(json_object *o, const struct config *cfg,
				 const char *name)
{
	json_object *e, *v;
	char *p = path_join(cfg->archive_dir, name);
	struct stat st;
	bool same;

	if (!o || !json_object_object_get_ex(o, name, &e) || stat(p, &st)) {
		free(p);
		return NULL;
	}
	free(p);
	same = json_object_object_get_ex(e, "size", &v) &&
	       json_object_get_int64(v) == (int64_t)st.st_size &&
	       json_object_object_get_ex(e, "ctime_ns", &v) &&
	       json_object_get_int64(v) == ctime_ns(&st);
	return same ? e : NULL;
}

static void verify_record(const struct config *cfg, const char *path,
			  int rc, bool deep, const char *msg)
{
	struct cairn_error err = { 0, "" };
	char *p = verify_state_path(cfg), *mine = NULL, ts[32];
	json_object *o = json_read_state(p), *e, *old;
	struct catalog cat = { 0 };
	const char *name = base_of(path);
	struct stat st;

	/* Only archives of archive_dir, and only a verdict on them. */
	mine = path_join(cfg->archive_dir, name);
	if ((rc && rc != CAIRN_EINTEGRITY) || strcmp(mine, path) ||
	    stat(path, &st) || catalog_scan(cfg, &cat, &err))
		goto out;
	if (!o)
		o = json_object_new_object();
	/* Forget archives that are gone (pruned). */
	{
		struct strv gone = { 0 };

		json_object_object_foreach(o, k, v) {
			bool found = false;

			(void)v;
			for (size_t i = 0; i < cat.n && !found; i++)
				found = !strcmp(cat.a[i].name, k);
			if (!found)
				strv_push(&gone, k);
		}
		for (size_t i = 0; i < gone.n; i++)
			json_object_object_del(o, gone.v[i]);
		strv_free(&gone);
	}
	old = verify_entry(o, cfg, name);
	e = json_object_new_object();
	fmt_utc(time(NULL), ts);
	json_object_object_add(e, "status", json_object_new_string(
		rc ? "corrupt" : "ok"));
	json_object_object_add(e, "checked", json_object_new_string(ts));
	json_object_object_add(e, "deep", json_object_new_boolean(deep));
	json_object_object_add(e, "error", rc ? json_object_new_string(msg)
					       : NULL);
	json_object_object_add(e, "last_ok", rc ?
		(json_str(old, "last_ok") ? json_object_new_string(
			json_str(old, "last_ok")) : NULL) :
		json_object_new_string(ts));
	json_object_object_add(e, "size", json_object_new_int64(st.st_size));
	json_object_object_add(e, "ctime_ns",
			       json_object_new_int64(ctime_ns(&st)));
	json_object_object_add(o, name, e);
	if (mkdir_p(cfg->state_dir, 0700) || json_write_state(p, o, &err))
		log_warn("cannot record the verify of %s in %s: %s", name, p,
			 err.msg[0] ? err.msg : strerror(errno));
out:
	catalog_free(&cat);
	json_object_put(o);
	free(mine);
	free(p);
}

int cmd_verify(const struct config *cfg, const char *which, bool deep)
{
	struct cairn_error err = { 0, "" };
	struct manifest man = { 0 };
	char *path = NULL;
	size_t members = 0, dbs = 0;
	int rc;

	if ((rc = catalog_resolve(cfg, which, &path, &err)))
		goto out;
	rc = verify_sidecar(path, &err);
	if (!rc && deep && !(rc = manifest_load(path, &man, &err)))
		rc = deep_check(cfg, path, &man, &members, &dbs, &err);
	verify_record(cfg, path, rc, deep, err.msg);
	if (rc)
		goto out;
	if (deep)
		printf("%s: OK (checksums, %zu members against the manifest, "
		       "%zu SQLite databases pass integrity_check)\n",
		       base_of(path), members, dbs);
	else
		printf("%s: OK (checksums match %s.sha256)\n", base_of(path),
		       base_of(path));
out:
	if (rc)
		log_error("%s", err.msg);
	manifest_free(&man);
	free(path);
	return rc_exit(rc);
}

/* When an archive last passed a check: its last verify, else the time
 * its sidecar was written (a backup verifies from disk first). 0: never.
 */
static time_t last_verified(const struct config *cfg,
			    const struct archive_info *a, json_object *e)
{
	char *p, *side;
	struct stat st;
	time_t t;

	if (e)
		return utc_parse(json_str(e, "last_ok"));
	if (!a->has_sidecar)
		return 0;
	p = path_join(cfg->archive_dir, a->name);
	side = sidecar_sha(p);
	t = stat(side, &st) ? 0 : st.st_mtime;
	free(side);
	free(p);
	return t;
}

static json_object *jstr_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

int cmd_list(const struct config *cfg, const char *target, bool json)
{
	struct cairn_error err = { 0, "" };
	struct catalog cat;
	json_object *arr, *vs;
	char *vp;

	if (target)
		return list_target(cfg, target, json);
	if (catalog_scan(cfg, &cat, &err)) {
		log_error("%s", err.msg);
		return EXIT_FAILED;
	}
	vp = verify_state_path(cfg);
	vs = json_read_state(vp);
	free(vp);
	arr = json ? json_object_new_array() : NULL;
	if (!json && !cat.n)
		printf("no archives in %s\n", cfg->archive_dir);
	for (size_t i = 0; i < cat.n; i++) {
		const struct archive_info *a = &cat.a[i];
		json_object *e = verify_entry(vs, cfg, a->name);
		const char *vst = json_str(e, "status");
		bool corrupt = vst && !strcmp(vst, "corrupt");
		const char *status = corrupt ? "CORRUPT" : a->has_sidecar ?
				     "verified" : "incomplete";
		time_t vt = last_verified(cfg, a, e);
		char ts[32], sz[32], vts[32] = "-";

		fmt_utc(a->time, ts);
		fmt_bytes(a->size, sz);
		if (vt)
			fmt_utc(vt, vts);
		if (arr) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "name",
					       json_object_new_string(a->name));
			json_object_object_add(o, "time",
					       json_object_new_string(ts));
			json_object_object_add(o, "bytes",
					       json_object_new_uint64(a->size));
			json_object_object_add(o, "status",
					       json_object_new_string(status));
			json_object_object_add(o, "verified", vt ?
				json_object_new_string(vts) : NULL);
			json_object_object_add(o, "checked",
				jstr_or_null(json_str(e, "checked")));
			json_object_object_add(o, "verify_error",
				jstr_or_null(json_str(e, "error")));
			json_object_object_add(o, "where",
					       json_object_new_string("local"));
			json_object_array_add(arr, o);
		} else {
			printf("%-44s %s %10s  %-10s %-20s local\n", a->name,
			       ts, sz, status, vts);
		}
	}
	if (arr) {
		printf("%s\n", json_object_to_json_string_ext(arr,
		       JSON_C_TO_STRING_PRETTY |
		       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	}
	json_object_put(vs);
	catalog_free(&cat);
	return EXIT_OK;
}

/* Safety nets: what restores replaced, in SOURCE.pre-restore/STAMP, or
 * SOURCE/.cairn.pre-restore/STAMP when the source is a mount point (the
 * two places restore.c's beside() picks). */
static uint64_t tree_bytes(const char *path)
{
	struct stat st;
	struct dirent *de;
	uint64_t n = 0;
	DIR *d;

	if (lstat(path, &st))
		return 0;
	if (!S_ISDIR(st.st_mode))
		return (uint64_t)st.st_size;
	if (!(d = opendir(path)))
		return 0;
	while ((de = readdir(d))) {
		char *p;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = path_join(path, de->d_name);
		n += tree_bytes(p);
		free(p);
	}
	closedir(d);
	return n;
}

/* The safety net a pending restore.journal names (rollback needs it). */
static char *net_in_use(const struct config *cfg)
{
	char *p = path_join(cfg->state_dir, "restore.journal"), *text, *net;
	size_t len;

	text = read_file(p, &len);
	free(p);
	if (!text)
		return NULL;
	net = strstr(text, "\nnet ");
	if (net) {
		net += 5;
		net[strcspn(net, "\n")] = '\0';
		net = xstrdup(net);
	}
	free(text);
	return net;
}

static int net_by_time(const void *a, const void *b)
{
	const struct safety_net *x = a, *y = b;

	return (x->time > y->time) - (x->time < y->time);
}

void safety_nets_scan(const struct config *cfg, struct safety_nets *sn)
{
	char *bases[2], *busy = net_in_use(cfg);

	memset(sn, 0, sizeof(*sn));
	bases[0] = xasprintf("%s.pre-restore", cfg->source);
	bases[1] = xasprintf("%s/.cairn.pre-restore", cfg->source);
	for (size_t b = 0; b < ARRAY_SIZE(bases); b++) {
		DIR *d = opendir(bases[b]);
		struct dirent *de;

		while (d && (de = readdir(d))) {
			struct safety_net *n;
			struct stat st;
			char *p;

			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			p = path_join(bases[b], de->d_name);
			if (lstat(p, &st) || !S_ISDIR(st.st_mode)) {
				free(p);
				continue;
			}
			sn->v = xrealloc(sn->v, (sn->n + 1) * sizeof(*sn->v));
			n = &sn->v[sn->n++];
			n->path = p;
			n->time = st.st_mtime;
			n->bytes = tree_bytes(p);
			n->in_use = busy && !strcmp(busy, p);
			sn->bytes += n->bytes;
		}
		if (d)
			closedir(d);
	}
	if (sn->n)
		qsort(sn->v, sn->n, sizeof(*sn->v), net_by_time);
	sn->dirs[0] = bases[0];
	sn->dirs[1] = bases[1];
	free(busy);
}

void safety_nets_free(struct safety_nets *sn)
{
	for (size_t i = 0; i < sn->n; i++)
		free(sn->v[i].path);
	free(sn->v);
	free(sn->dirs[0]);
	free(sn->dirs[1]);
	memset(sn, 0, sizeof(*sn));
}

/* Remove safety nets older than safety_net_days; *n is how many. */
static int prune_nets(const struct config *cfg, bool dry_run, size_t *n)
{
	struct safety_nets sn;
	time_t now = time(NULL);
	int rc = CAIRN_OK;

	*n = 0;
	safety_nets_scan(cfg, &sn);
	for (size_t i = 0; i < sn.n; i++) {
		const struct safety_net *s = &sn.v[i];
		char sz[32], ts[32];

		if (s->in_use || now - s->time < cfg->safety_net_days * 86400)
			continue;
		(*n)++;
		fmt_bytes(s->bytes, sz);
		fmt_utc(s->time, ts);
		log_info("%s safety net %s (%s, from %s)", dry_run ?
			 "would remove" : "removing", s->path, sz, ts);
		if (!dry_run && rm_rf(s->path) && errno != ENOENT) {
			log_error("cannot remove safety net %s: %s", s->path,
				  strerror(errno));
			rc = CAIRN_EFAIL;
		}
	}
	/* The holder goes once empty (rmdir refuses otherwise). */
	for (size_t b = 0; !dry_run && *n && b < ARRAY_SIZE(sn.dirs); b++)
		rmdir(sn.dirs[b]);
	safety_nets_free(&sn);
	return rc;
}

int cmd_prune(const struct config *cfg, bool dry_run)
{
	struct cairn_error err = { 0, "" };
	struct lock lk;
	size_t local = 0, nets = 0, targets = 0;
	int rc;

	if ((rc = lock_acquire(cfg, &lk, &err))) {
		log_error("%s", err.msg);
		return rc_exit(rc);
	}
	if (!(rc = restore_recover(cfg, &err))) {
		if (!dry_run)
			leftovers_clean(cfg);
		rc = prune_local_n(cfg, dry_run, NULL, &local, &err);
	}
	if (rc) {
		log_error("%s", err.msg);
		goto out;
	}
	if (prune_nets(cfg, dry_run, &nets))
		rc = CAIRN_EFAIL;
	for (size_t i = 0; i < cfg->ntargets; i++)
		targets += cfg->targets[i].enabled;
	if (prune_targets(cfg, dry_run))
		rc = CAIRN_EFAIL;
	/* Targets say what they remove themselves. */
	if (!rc && !local && !nets)
		log_info("nothing to prune%s", targets ? " locally" : "");
out:
	lock_release(&lk);
	return rc_exit(rc);
}

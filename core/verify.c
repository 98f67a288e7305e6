/* Checking archives already made: the deep check (a test-restore into
 * scratch) and state_dir/verify.json, the record of each archive's last
 * check that `list` shows. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cairn.h"

/* Test-restore every component the way restore stages it, into a
 * private scratch dir: every member against the manifest (and the
 * archive's own MANIFEST.sha256 against the manifest copy), the same
 * refusals of hostile paths and links, SQLite integrity_check. */
int verify_deep(const struct config *cfg, const char *path,
		const struct manifest *man, size_t *members, size_t *dbs,
		struct cairn_error *err)
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
json_object *verify_entry(json_object *o, const struct config *cfg,
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

void verify_record(const struct config *cfg, const char *path, int rc,
		   bool deep, const char *msg)
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


json_object *verify_state_read(const struct config *cfg)
{
	char *p = verify_state_path(cfg);
	json_object *o = json_read_state(p);

	free(p);
	return o;
}

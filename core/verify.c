/* `cairn verify`, `cairn list` and `cairn prune`: looking at archives
 * already made. */
#include "config.h"

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

int cmd_verify(const struct config *cfg, const char *which, bool deep)
{
	struct cairn_error err = { 0, "" };
	struct manifest man = { 0 };
	char *path = NULL;
	size_t members = 0, dbs = 0;
	int rc;

	if ((rc = catalog_resolve(cfg, which, &path, &err)) ||
	    (rc = verify_sidecar(path, &err)))
		goto out;
	if (deep && !(rc = manifest_load(path, &man, &err)))
		rc = deep_check(cfg, path, &man, &members, &dbs, &err);
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

int cmd_list(const struct config *cfg, const char *target, bool json)
{
	struct cairn_error err = { 0, "" };
	struct catalog cat;
	json_object *arr;

	if (target)
		return list_target(cfg, target, json);
	if (catalog_scan(cfg, &cat, &err)) {
		log_error("%s", err.msg);
		return EXIT_FAILED;
	}
	arr = json ? json_object_new_array() : NULL;
	for (size_t i = 0; i < cat.n; i++) {
		const struct archive_info *a = &cat.a[i];
		const char *status = a->has_sidecar ? "verified"
						    : "incomplete";
		char ts[32], sz[32];

		fmt_utc(a->time, ts);
		fmt_bytes(a->size, sz);
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
			json_object_object_add(o, "where",
					       json_object_new_string("local"));
			json_object_array_add(arr, o);
		} else {
			printf("%-44s %s %10s  %-10s local\n", a->name, ts,
			       sz, status);
		}
	}
	if (arr) {
		printf("%s\n", json_object_to_json_string_ext(arr,
		       JSON_C_TO_STRING_PRETTY |
		       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	}
	catalog_free(&cat);
	return EXIT_OK;
}

int cmd_prune(const struct config *cfg, bool dry_run)
{
	struct cairn_error err = { 0, "" };
	struct lock lk;
	int rc;

	if ((rc = lock_acquire(cfg, &lk, &err))) {
		log_error("%s", err.msg);
		return rc_exit(rc);
	}
	if (!(rc = restore_recover(cfg, &err)))
		rc = prune_local(cfg, dry_run, NULL, &err);
	if (rc)
		log_error("%s", err.msg);
	else if (prune_targets(cfg, dry_run))
		rc = CAIRN_EFAIL;
	lock_release(&lk);
	return rc_exit(rc);
}

/* `cairn verify [NAME|latest] [--deep]`. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "cairn.h"

/* --json: the verdict, also when it is a failure. */
static void verify_json(const char *path, int rc, bool deep, size_t members,
			size_t dbs, const char *msg)
{
	json_object *o = json_doc();

	json_object_object_add(o, "archive", json_str_or_null(path ?
			       base_of(path) : NULL));
	json_object_object_add(o, "ok", json_object_new_boolean(!rc));
	json_object_object_add(o, "deep", json_object_new_boolean(deep));
	json_object_object_add(o, "members", deep && !rc ?
			       json_object_new_uint64(members) : NULL);
	json_object_object_add(o, "databases", deep && !rc ?
			       json_object_new_uint64(dbs) : NULL);
	json_object_object_add(o, "error", json_str_or_null(rc ? msg : NULL));
	json_emit(o, false);
}

int cmd_verify(const struct config *cfg, const char *which, bool deep,
	       bool json)
{
	struct cairn_error err = { 0, "" };
	struct manifest man = { 0 };
	char *path = NULL;
	size_t members = 0, dbs = 0, chain = 0;
	uint64_t indexed = 0;
	int rc;

	if ((rc = catalog_resolve(cfg, which, &path, &err)))
		goto out;
	rc = verify_sidecar(path, &err);
	if (!rc && !cfg->self) /* encrypted, the index is only hashed */
		rc = verify_index(path, &indexed, &err);
	if (!rc && deep && !(rc = manifest_load(path, &man, &err)))
		rc = verify_deep(cfg, path, &man, &members, &dbs, &err);
	/* An incremental is only as good as the archives it needs. */
	if (!rc)
		rc = incr_verify_chain(cfg, path, deep, &chain, &err);
	verify_record(cfg, path, rc, deep, err.msg);
	if (rc)
		goto out;
	if (chain && !json)
		printf("%s: %zu older archive%s it needs: OK\n",
		       base_of(path), chain, chain == 1 ? "" : "s");
	if (json)
		verify_json(path, rc, deep, members, dbs, NULL);
	else if (deep)
		printf("%s: OK (checksums, %zu members against the manifest, "
		       "%zu SQLite databases pass integrity_check)\n",
		       base_of(path), members, dbs);
	else
		printf("%s: OK (checksums match %s.sha256)\n", base_of(path),
		       base_of(path));
	if (indexed && !json)
		printf("%s: index matches the archive (%llu members)\n",
		       base_of(path), (unsigned long long)indexed);
out:
	if (rc && json)
		verify_json(path, rc, deep, 0, 0, err.msg);
	if (rc)
		log_error("%s", err.msg);
	manifest_free(&man);
	free(path);
	return rc_exit(rc);
}

/* ---- `cairn verify --target NAME` -------------------------------- */

static json_object *tverdict_json(const struct tverdict *v)
{
	json_object *o = json_object_new_object();
	json_object *p = json_object_new_array();
	bool ok = !v->problems.n;

	for (size_t i = 0; i < v->problems.n; i++)
		json_object_array_add(p, json_object_new_string(
					      v->problems.v[i]));
	json_object_object_add(o, "archive", json_object_new_string(v->name));
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "objects",
			       json_object_new_uint64(v->objects));
	json_object_object_add(o, "locks", json_object_new_boolean(v->locks));
	json_object_object_add(o, "deep", json_object_new_boolean(v->deep));
	json_object_object_add(o, "members", v->deep ?
			       json_object_new_uint64(v->members) : NULL);
	json_object_object_add(o, "databases", v->deep ?
			       json_object_new_uint64(v->dbs) : NULL);
	json_object_object_add(o, "problems", p);
	return o;
}

static void tverdict_text(const char *target, const struct tverdict *v)
{
	char extra[160] = "";

	for (size_t i = 0; i < v->problems.n; i++)
		log_error("target %s: %s", target, v->problems.v[i]);
	if (v->problems.n) {
		printf("target %s: %s: FAILED (%zu problem%s)\n", target,
		       v->name, v->problems.n,
		       v->problems.n == 1 ? "" : "s");
		return;
	}
	if (v->deep)
		snprintf(extra, sizeof(extra), "; %zu members against the "
			 "manifest, %zu SQLite databases pass "
			 "integrity_check", v->members, v->dbs);
	printf("target %s: %s: OK (%zu objects match its sidecar%s%s)\n",
	       target, v->name, v->objects,
	       v->locks ? ", locked as its retention wants" : "", extra);
}

int cmd_verify_target(const struct config *cfg, const char *target,
		      const char *which, bool deep, bool json)
{
	const struct target *t = config_read_target(cfg, target);
	struct cairn_error err = { 0, "" };
	struct tverify tv = { 0 };
	json_object *doc = NULL, *arr;
	size_t bad = 0;
	int rc;

	if (!t) {
		log_error("no target '%s' configured", target);
		return EXIT_USAGE;
	}
	rc = verify_target(cfg, t, which, deep, &tv, &err);
	if (json) {
		doc = json_doc();
		arr = json_object_new_array();
		json_object_object_add(doc, "target",
				       json_object_new_string(target));
		json_object_object_add(doc, "deep",
				       json_object_new_boolean(deep));
		json_object_object_add(doc, "archives", arr);
	}
	for (size_t i = 0; i < tv.n; i++) {
		bad += tv.v[i].problems.n != 0;
		if (json)
			json_object_array_add(arr, tverdict_json(&tv.v[i]));
		else
			tverdict_text(target, &tv.v[i]);
	}
	if (rc)
		log_error("target %s: %s", target, err.msg);
	else if (!json)
		printf("target %s: %zu archive%s checked, %zu with problems\n",
		       target, tv.n, tv.n == 1 ? "" : "s", bad);
	if (json) {
		json_object_object_add(doc, "ok",
				       json_object_new_boolean(!rc && !bad));
		json_object_object_add(doc, "error",
				       json_str_or_null(rc ? err.msg : NULL));
		json_emit(doc, false);
	}
	tverify_free(&tv);
	return rc ? rc_exit(rc) : bad ? EXIT_FAILED : EXIT_OK;
}

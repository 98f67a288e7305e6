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
	if (!rc)
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

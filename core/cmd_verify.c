/* `cairn verify [NAME|latest] [--deep]`. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cairn.h"

int cmd_verify(const struct config *cfg, const char *which, bool deep)
{
	struct cairn_error err = { 0, "" };
	struct manifest man = { 0 };
	char *path = NULL;
	size_t members = 0, dbs = 0;
	uint64_t indexed = 0;
	int rc;

	if ((rc = catalog_resolve(cfg, which, &path, &err)))
		goto out;
	rc = verify_sidecar(path, &err);
	if (!rc)
		rc = verify_index(path, &indexed, &err);
	if (!rc && deep && !(rc = manifest_load(path, &man, &err)))
		rc = verify_deep(cfg, path, &man, &members, &dbs, &err);
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
	if (indexed)
		printf("%s: index matches the archive (%llu members)\n",
		       base_of(path), (unsigned long long)indexed);
out:
	if (rc)
		log_error("%s", err.msg);
	manifest_free(&man);
	free(path);
	return rc_exit(rc);
}

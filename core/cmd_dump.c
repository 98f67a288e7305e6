/* `cairn dump ARCHIVE PATH`: one member's bytes to stdout (like restic
 * dump), read from its frame alone and checked against its hash. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn.h"

int cmd_dump(const struct config *cfg, char **ops, int nops)
{
	struct cairn_error err = { 0, "" };
	struct index_rec r = { 0 }, t = { 0 };
	char *path = NULL, *holder = NULL;
	int rc;

	if ((rc = ls_archive(cfg, ops, &nops, &path, &err)))
		goto out;
	if (nops != 1) {
		rc = cairn_errf(&err, CAIRN_ECONFIG, "dump: which member? "
				"(cairn dump ARCHIVE PATH)");
		goto out;
	}
	while (!strncmp(ops[0], "./", 2))
		ops[0] += 2;
	if ((rc = members_find(path, ops[0], &r, &err)))
		goto out;
	/* A hard link's bytes are its first name's. */
	if (r.type == 'h' && (rc = members_find(path, r.link, &t, &err)))
		goto out;
	if (r.type == 'd' || r.type == 'l') {
		rc = cairn_errf(&err, CAIRN_ECONFIG, "%s: a %s in %s, not a "
				"file; see 'cairn restore --path %s --to DIR'",
				r.path, r.type == 'd' ? "directory"
				: "symbolic link", base_of(path), r.path);
		goto out;
	}
	if (isatty(STDOUT_FILENO))
		log_warn("%s: writing %llu bytes to a terminal", r.path,
			 (unsigned long long)r.size);
	/* An incremental's unchanged file: from the archive holding it. */
	if (!(rc = members_holder(path, r.type == 'h' ? &t : &r, &holder,
				  &err)))
		rc = members_dump(holder, r.type == 'h' ? &t : &r,
				  STDOUT_FILENO, &err);
out:
	free(holder);
	if (rc)
		log_error("%s", err.msg);
	index_rec_free(&r);
	index_rec_free(&t);
	free(path);
	return rc_exit(rc);
}

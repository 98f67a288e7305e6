/* `cairn dump ARCHIVE PATH [--target NAME]`: one member's bytes to
 * stdout (like restic dump), read from its frame alone and checked
 * against its hash; with --target, from a target's copy (fetched). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn.h"

int cmd_dump(const struct config *cfg, char **ops, int nops,
	     const char *target)
{
	struct cairn_error err = { 0, "" };
	struct index_rec r = { 0 }, t = { 0 };
	char *path = NULL, *dir = NULL;
	int rc = target ? ls_target(cfg, target, true, ops, &nops, &dir,
				    &path, &err)
			: ls_archive(cfg, ops, &nops, &path, &err);

	if (rc)
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
	rc = members_dump(path, r.type == 'h' ? &t : &r, STDOUT_FILENO, &err);
out:
	if (rc)
		log_error("%s", err.msg);
	index_rec_free(&r);
	index_rec_free(&t);
	if (dir) /* --target: the fetched copy */
		rm_rf(dir);
	free(dir);
	free(path);
	return rc_exit(rc);
}

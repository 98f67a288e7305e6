/*
 * `cairn restore MODE`: which components, whether it may run (--yes,
 * --to), the lock, an interrupted restore rolled back, the archive
 * found or fetched (--from) and its sidecar checksum verified; then
 * restore.c stages, checks and swaps. A fetched archive that checks out
 * is kept in archive_dir.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn.h"

static int check_to(const char *to, struct cairn_error *err)
{
	struct stat st;
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	if (stat(to, &st))
		return CAIRN_OK;
	if ((d = opendir(to))) {
		while ((de = readdir(d)))
			n += strcmp(de->d_name, ".") &&
			     strcmp(de->d_name, "..");
		closedir(d);
	}
	if (!S_ISDIR(st.st_mode) || n)
		return cairn_errf(err, CAIRN_ECONFIG, "--to %s: not an empty "
				  "directory", to);
	return CAIRN_OK;
}

/* Keep a verified fetched archive in archive_dir: after losing the disk,
 * the next restore need not fetch it again. */
static void keep_fetched(const struct config *cfg, const char *dir,
			 const char *archive, bool ok)
{
	if (ok && archive) {
		char *names[3] = { xstrdup(base_of(archive)),
				   sidecar_manifest(base_of(archive)),
				   sidecar_sha(base_of(archive)) };

		for (int i = 0; i < 3; i++) {
			char *from = path_join(dir, names[i]);
			char *to = path_join(cfg->archive_dir, names[i]);

			if (!path_exists(to))
				rename(from, to);
			free(from);
			free(to);
			free(names[i]);
		}
		fsync_dir(cfg->archive_dir);
	}
	rm_rf(dir);
}

/* The archive to restore: in archive_dir, or fetched from --from into a
 * scratch dir *fetch_dir (held by *fetch_fd). */
static int get_archive(const struct config *cfg, const struct restore_opts *o,
		       char **archive, char **fetch_dir, int *fetch_fd,
		       struct cairn_error *err)
{
	if (!o->from)
		return catalog_resolve(cfg, o->archive, archive, err);
	if (mkdir_p(cfg->archive_dir, 0700))
		return errno_err(err, 0, errno, "cannot create %s",
				 cfg->archive_dir);
	*fetch_dir = xasprintf("%s/.cairn-fetch.XXXXXX", cfg->archive_dir);
	if (!mkdtemp(*fetch_dir)) {
		int rc = errno_err(err, 0, errno, "cannot create %s",
				   *fetch_dir);

		free(*fetch_dir);
		*fetch_dir = NULL;
		return rc;
	}
	*fetch_fd = scratch_lock(*fetch_dir);
	return target_fetch(cfg, o->from, o->archive, *fetch_dir, archive,
			    err);
}

int cmd_restore(const struct config *cfg, const struct restore_opts *o)
{
	const struct component **comps = NULL;
	struct cairn_error err = { 0, "" };
	struct lock lk = { -1, NULL };
	char *archive = NULL, *fetch_dir = NULL;
	size_t ncomps = 0;
	bool touched = false;
	int fetch_fd = -1, rc;

	if ((rc = restore_components(cfg, o->mode, &comps, &ncomps, &err)))
		goto out;
	if (!o->to && !o->dry_run && !o->yes && !isatty(STDIN_FILENO)) {
		rc = cairn_errf(&err, CAIRN_ECONFIG,
				"restore replaces live data; pass --yes");
		goto out;
	}
	if (o->to && (rc = check_to(o->to, &err)))
		goto out;
	if ((rc = lock_acquire(cfg, &lk, &err)) ||
	    (rc = restore_recover(cfg, &err)))
		goto out;
	if (!o->dry_run)
		leftovers_clean(cfg);
	if ((rc = get_archive(cfg, o, &archive, &fetch_dir, &fetch_fd,
			      &err)))
		goto out;
	log_info("verifying %s", archive);
	if ((rc = verify_sidecar(archive, &err))) {
		snprintf(err.msg + strlen(err.msg),
			 sizeof(err.msg) - strlen(err.msg),
			 "; refusing to restore, live data untouched");
		goto out;
	}
	if (o->from && (rc = incr_fetch_chain(cfg, o->from, archive,
					      fetch_dir, &err)))
		goto out;
	rc = restore_archive(cfg, o, comps, ncomps, archive, &touched, &err);
out:
	if (rc && rc != CAIRN_ECONFIG && !touched &&
	    !strstr(err.msg, "untouched"))
		snprintf(err.msg + strlen(err.msg),
			 sizeof(err.msg) - strlen(err.msg),
			 "; nothing was restored");
	if (rc)
		log_error("%s", err.msg);
	if (fetch_dir)
		keep_fetched(cfg, fetch_dir, archive, rc == CAIRN_OK);
	if (fetch_fd >= 0)
		close(fetch_fd);
	free(fetch_dir);
	free(archive);
	free(comps);
	lock_release(&lk);
	return rc_exit(rc);
}

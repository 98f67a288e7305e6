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
#include <fnmatch.h>
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
	/* Sidecars without their archive (a ranged restore) stay out;
	 * so does a plaintext beside an encrypted archive_dir's. */
	if (ok && archive && path_exists(archive) && !cfg->self) {
		char *names[4] = { xstrdup(base_of(archive)),
				   sidecar_manifest(base_of(archive)),
				   index_sidecar(base_of(archive)),
				   sidecar_sha(base_of(archive)) };

		for (int i = 0; i < 4; i++) {
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
 * scratch dir *fetch_dir (held by *fetch_fd): whole for `full`, else
 * its index and sidecars only, o->rd reading the frames it needs from
 * the target. */
static int get_archive(const struct config *cfg, struct restore_opts *o,
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
	/* An encrypted archive_dir is read in place, even for full: its
	 * plaintext is never on disk. */
	if (!o->npaths && !strcmp(o->mode, "full") && !cfg->self)
		return target_fetch(cfg, o->from, o->archive, *fetch_dir,
				    archive, err);
	return target_fetch_ranged(cfg, o->from, o->archive, *fetch_dir,
				   archive, &o->rd, err);
}

/* What a ranged restore fetched, against the archive's size. */
static void ranged_report(const struct restore_opts *o, const char *archive)
{
	char a[32], b[32];

	uint64_t n;

	if (!o->rd)
		return;
	n = reader_fetched(o->rd);
	fmt_bytes(n, a);
	fmt_bytes(o->rd->size, b);
	log_info("target %s: read %s of %s's %s by ranged gets "
		 "(%llu bytes)", o->from, a, base_of(archive), b,
		 (unsigned long long)n);
	if ((n = readers_fetched(&o->chain))) {
		fmt_bytes(n, a);
		log_info("target %s: read %s of %zu older archives by ranged "
			 "gets (%llu bytes)", o->from, a, o->chain.n,
			 (unsigned long long)n);
	}
}

/* A seek over the target failed its checks, nothing touched: fetch the
 * whole archive; the restore runs again on it, its hash checked. */
static int fetch_whole(const struct config *cfg, struct restore_opts *o,
		       const char *archive, const char *dir,
		       struct cairn_error *err)
{
	char *got = NULL;
	int rc;

	log_warn("%s; fetching the whole archive", err->msg);
	ranged_report(o, archive);
	reader_close(o->rd);
	o->rd = NULL;
	o->yes = true; /* asked once already */
	readers_free(&o->chain);
	rc = target_fetch(cfg, o->from, base_of(archive), dir, &got, err);
	if (!rc)
		rc = incr_fetch_chain(cfg, o->from, archive, dir, err);
	free(got);
	return rc;
}

/* restore --path: '/' sorts first, so a path's subtree follows it. */
static int path_order(const void *a, const void *b)
{
	const unsigned char *x = *(const unsigned char *const *)a;
	const unsigned char *y = *(const unsigned char *const *)b;

	for (; *x && *x == *y; x++, y++)
		;
	return (*x == '/' ? 1 : *x + 1) - (*y == '/' ? 1 : *y + 1);
}

/* The member or directory a pattern selects `path` through: the pattern
 * itself, or (a glob) the shortest leading part of path it matches. */
static char *root_of(const char *pat, const char *path)
{
	char *p = xstrdup(path);

	if (!strpbrk(pat, "*?["))
		return strcpy(p, pat);
	for (char *s = p;; s++)
		if (*s == '/' || !*s) {
			char c = *s;

			*s = '\0';
			if (!fnmatch(pat, p, 0))
				return p;
			if (!(*s = c))
				break;
		}
	return p;
}

/* The operator's paths as they name members: no "./", no trailing '/'. */
static void clean_paths(const struct restore_opts *o, struct strv *pats)
{
	for (size_t i = 0; i < o->npaths; i++) {
		const char *q = o->paths[i];
		size_t l;

		while (!strncmp(q, "./", 2))
			q += 2;
		strv_push(pats, q);
		l = strlen(pats->v[i]);
		while (l > 1 && pats->v[i][l - 1] == '/')
			pats->v[i][--l] = '\0';
	}
}

/* Each pattern's roots among the archive's members. */
static int path_roots(const char *archive, const char *index,
		      const struct strv *pats, struct strv *roots,
		      struct cairn_error *err)
{
	bool *hit = xcalloc(pats->n + 1, sizeof(bool));
	const struct index_rec *r;
	struct members m;
	size_t k = 0;
	int got, rc;

	/* The sidecar is checked: the index if it passed, else headers. */
	if ((rc = members_open_trusted(&m, archive, index, err)))
		goto out;
	while ((got = members_next(&m, &r, err)) > 0)
		for (size_t i = 0; i < pats->n; i++)
			if (index_match(pats->v[i], r->path)) {
				hit[i] = true;
				strv_push(roots, "");
				free(roots->v[roots->n - 1]);
				roots->v[roots->n - 1] =
					root_of(pats->v[i], r->path);
			}
	members_close(&m);
	rc = got < 0 ? -got : CAIRN_OK;
	for (size_t i = 0; !rc && i < pats->n; i++)
		if (!hit[i])
			rc = cairn_errf(err, CAIRN_ENOTFOUND, "%s: not in %s; "
					"see 'cairn ls %s'", pats->v[i],
					base_of(archive), base_of(archive));
	/* Each once, none inside another. */
	if (roots->n)
		qsort(roots->v, roots->n, sizeof(char *), path_order);
	for (size_t i = 0; i < roots->n; i++) {
		size_t l = k ? strlen(roots->v[k - 1]) : 0;

		if (k && !strncmp(roots->v[i], roots->v[k - 1], l) &&
		    (!roots->v[i][l] || roots->v[i][l] == '/'))
			free(roots->v[i]);
		else
			roots->v[k++] = roots->v[i];
	}
	roots->n = k;
out:
	free(hit);
	return rc;
}

/*
 * The components of restore --path: the roots as one files component,
 * but a database (or dump) is restored as its own component, whole and
 * checked; a directory holding one is refused (its live -wal would be
 * applied to the restored file).
 */
static int path_components(const struct config *cfg, const char *archive,
			   const struct restore_opts *o,
			   struct component *pc,
			   const struct component ***comps, size_t *n,
			   struct cairn_error *err)
{
	struct strv pats = { 0 }, roots = { 0 };
	int rc;

	clean_paths(o, &pats);
	if ((rc = path_roots(archive, o->seek_index, &pats, &roots, err)))
		goto out;
	*comps = xcalloc(roots.n + 1, sizeof(**comps));
	comp_paths_init(pc);
	for (size_t i = 0; !rc && i < roots.n; i++) {
		const char *rt = roots.v[i];
		const struct component *w = NULL;

		for (size_t j = 0; j < cfg->ncomps && !w; j++) {
			const struct component *c = &cfg->comps[j];
			size_t l = strlen(rt);

			if (!comp_ops(c->type)->whole)
				continue;
			if (!strcmp(c->paths.v[0], rt))
				w = c;
			else if (!strncmp(c->paths.v[0], rt, l) &&
				 c->paths.v[0][l] == '/')
				rc = cairn_errf(err, CAIRN_ECONFIG, "--path "
						"%s holds %s of component %s; "
						"restore that with its mode",
						rt, c->paths.v[0], c->name);
		}
		if (w)
			(*comps)[(*n)++] = w;
		else
			strv_push(&pc->paths, rt);
	}
	if (!rc && pc->paths.n)
		(*comps)[(*n)++] = pc;
out:
	strv_free(&pats);
	strv_free(&roots);
	return rc;
}

/*
 * The sidecar's checksums. A seekable archive's index and manifest are
 * checked now and the archive's own hash only if it is read whole (an
 * index that fails its checksum is not used; the archive is read
 * whole). o->seek_index is set when the index may be used.
 */
static int verify_for_seek(const char *archive, struct restore_opts *o,
			   struct cairn_error *err)
{
	char *ix = index_sidecar(archive);
	int rc;

	if (!path_exists(ix)) {
		free(ix);
		return verify_sidecar(archive, err);
	}
	if (!(rc = verify_sidecar_part(archive, base_of(archive), err))) {
		o->seek_index = ix;
		return CAIRN_OK;
	}
	if (rc == CAIRN_EINTEGRITY) {
		log_warn("%s; reading the whole archive", err->msg);
		rc = verify_sidecar_part(archive, base_of(ix), err);
	}
	free(ix);
	return rc;
}

int cmd_restore(const struct config *cfg, const struct restore_opts *o)
{
	const struct component **comps = NULL;
	struct cairn_error err = { 0, "" };
	struct lock lk = { -1, NULL };
	struct restore_opts ro = *o;
	struct component pc = { 0 };
	char *archive = NULL, *fetch_dir = NULL;
	size_t ncomps = 0;
	bool touched = false;
	int fetch_fd = -1, rc;

	kept_enable(); /* the index and manifest: read once, as checked */
	if (!o->npaths &&
	    (rc = restore_components(cfg, o->mode, &comps, &ncomps, &err)))
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
	if ((rc = get_archive(cfg, &ro, &archive, &fetch_dir, &fetch_fd,
			      &err)))
		goto out;
	log_info("verifying %s", archive);
	rc = verify_for_seek(archive, &ro, &err);
	/* Over a target, an index or manifest failing its checksum is not
	 * used: the whole archive, checked as a whole. */
	if (rc == CAIRN_EINTEGRITY && ro.rd &&
	    !(rc = fetch_whole(cfg, &ro, archive, fetch_dir, &err)))
		rc = verify_for_seek(archive, &ro, &err);
	if (rc) {
		snprintf(err.msg + strlen(err.msg),
			 sizeof(err.msg) - strlen(err.msg),
			 "; refusing to restore, live data untouched");
		goto out;
	}
	if (o->from && (rc = ro.rd ?
			incr_fetch_chain_ranged(cfg, o->from, archive,
						fetch_dir, &ro.chain, &err) :
			incr_fetch_chain(cfg, o->from, archive, fetch_dir,
					 &err)))
		goto out;
	if (o->npaths && (rc = path_components(cfg, archive, &ro, &pc, &comps,
					       &ncomps, &err)))
		goto out;
	rc = restore_archive(cfg, &ro, comps, ncomps, archive, &touched,
			     &err);
	if (rc == CAIRN_EINTEGRITY && ro.rd && !touched &&
	    !(rc = fetch_whole(cfg, &ro, archive, fetch_dir, &err)))
		rc = restore_archive(cfg, &ro, comps, ncomps, archive,
				     &touched, &err);
	ranged_report(&ro, archive);
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
	free((char *)ro.seek_index);
	reader_close(ro.rd);
	readers_free(&ro.chain);
	free(comps);
	strv_free(&pc.paths);
	lock_release(&lk);
	return rc_exit(rc);
}

/*
 * type = files: directory trees under source. A backup walks them
 * (names sorted, so archives of the same tree are alike); a restore
 * merges each path the archive holds into the live tree, or with
 * --exact moves what the archive lacks to the safety net.
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

/* Backup ------------------------------------------------------------ */

/* Not archived with this component: our own dirs, its excludes, and
 * what another component owns beside its path (a live SQLite file
 * belongs to its component's snapshot; a raw copy, and its -wal, would
 * be torn). */
static bool excluded(const struct comp_plan *p, const char *rel,
		     const struct stat *st)
{
	const struct component *c = p->c;

	for (size_t i = 0; i < p->nskip; i++)
		if (st->st_dev == p->skip_dev[i] &&
		    st->st_ino == p->skip_ino[i])
			return true;
	for (size_t i = 0; i < c->excludes.n; i++)
		if (!fnmatch(c->excludes.v[i], rel, 0) ||
		    !fnmatch(c->excludes.v[i], base_of(rel), 0))
			return true;
	for (size_t i = 0; i < p->cfg->ncomps; i++) {
		const struct component *o = &p->cfg->comps[i];
		size_t l;

		if (!o->siblings)
			continue;
		l = strlen(o->paths.v[0]);
		if (strncmp(rel, o->paths.v[0], l))
			continue;
		if (!rel[l])
			return true;
		for (const char *const *sb = o->siblings; *sb; sb++)
			if (!strcmp(rel + l, *sb))
				return true;
	}
	return false;
}

/* Depth-first, names sorted, so archives of the same tree are alike. */
static int walk(struct comp_plan *p, const char *rel, struct cairn_error *err)
{
	char *abs = path_join(p->cfg->source, rel);
	struct strv names = { 0 };
	struct dirent *de;
	struct stat st;
	int rc = CAIRN_EFAIL;
	DIR *d;

	if (lstat(abs, &st)) {
		if (errno == ENOENT) { /* vanished since readdir */
			rc = CAIRN_OK;
			goto out;
		}
		rc = errno_err(err, 0, errno, "cannot read %s", abs);
		goto out;
	}
	if (excluded(p, rel, &st)) {
		rc = CAIRN_OK;
		goto out;
	}
	plan_add(p, rel, NULL, &st);
	p->stats->files += !S_ISDIR(st.st_mode);
	if (!S_ISDIR(st.st_mode)) {
		rc = CAIRN_OK;
		goto out;
	}
	d = opendir(abs);
	if (!d) {
		rc = errno_err(err, 0, errno, "cannot read directory %s", abs);
		goto out;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strv_push(&names, de->d_name);
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), strv_cmp);
	for (size_t i = 0; i < names.n; i++) {
		char *sub = path_join(rel, names.v[i]);

		rc = walk(p, sub, err);
		free(sub);
		if (rc)
			goto out;
	}
	rc = CAIRN_OK;
out:
	strv_free(&names);
	free(abs);
	return rc;
}

static int files_plan(struct comp_plan *p, struct cairn_error *err)
{
	for (size_t i = 0; i < p->c->paths.n; i++) {
		const char *rel = p->c->paths.v[i];
		char *abs = path_join(p->cfg->source, rel);
		bool missing = !path_exists(abs);
		int rc;

		free(abs);
		if (missing) {
			char *note;

			if (p->c->required)
				return cairn_errf(err, CAIRN_ENOTFOUND,
						  "component %s: path not "
						  "found: %s/%s", p->c->name,
						  p->cfg->source, rel);
			note = xasprintf("%s: missing (required = no)", rel);
			strv_push(&p->stats->notes, note);
			log_info("component %s: %s", p->c->name, note);
			free(note);
			continue;
		}
		if ((rc = walk(p, rel, err)))
			return rc;
	}
	return CAIRN_OK;
}

/* Restore ----------------------------------------------------------- */

/* Files (anything but a directory) in an archive subtree, listed. */
static size_t tree_files(struct rplan *r, const struct node *n,
			 const char *rel, const char *what)
{
	size_t c = 0;

	if (!node_is_dir(n)) {
		rplan_note(r, what, rel);
		return 1;
	}
	for (size_t i = 0; i < n->nkids; i++) {
		char *sub = tree_kid_path(rel, &n->kids[i]);

		c += tree_files(r, &n->kids[i], sub, what);
		free(sub);
	}
	return c;
}

/* The same, of a live subtree. */
static size_t live_files(struct rplan *r, const char *abs,
			 const char *rel, const char *what)
{
	struct dirent *de;
	struct stat st;
	size_t c = 0;
	DIR *d;

	if (lstat(abs, &st))
		return 0;
	if (!S_ISDIR(st.st_mode)) {
		rplan_note(r, what, rel);
		return 1;
	}
	if (!(d = opendir(abs)))
		return 0;
	while ((de = readdir(d))) {
		char *a, *s;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		a = path_join(abs, de->d_name);
		s = path_join(rel, de->d_name);
		c += live_files(r, a, s, what);
		free(a);
		free(s);
	}
	closedir(d);
	return c;
}

/* A live path that is not this component's to touch: excluded from its
 * backups, another component's, or cairn's own. */
static bool not_ours(const struct rplan *r, const struct component *c,
		     const char *rel, const char *abs)
{
	if (!strcmp(abs, r->staging) ||
	    (r->net_base && !strcmp(abs, r->net_base)))
		return true;
	for (size_t i = 0; i < c->excludes.n; i++)
		if (!fnmatch(c->excludes.v[i], rel, 0) ||
		    !fnmatch(c->excludes.v[i], base_of(rel), 0))
			return true;
	for (size_t i = 0; i < r->cfg->ncomps; i++) {
		const struct component *o = &r->cfg->comps[i];

		for (size_t j = 0; o != c && j < o->paths.n; j++) {
			size_t l = strlen(o->paths.v[j]);

			if (!strncmp(rel, o->paths.v[j], l) &&
			    (!rel[l] || rel[l] == '/'))
				return true;
		}
		for (const char *const *sb = o->siblings; sb && *sb; sb++) {
			size_t l = strlen(o->paths.v[0]);

			if (!strncmp(rel, o->paths.v[0], l) &&
			    !strcmp(rel + l, *sb))
				return true;
		}
	}
	return false;
}

/* A live path the archive does not hold. */
static void plan_extra(struct rplan *r, const char *rel, const char *abs)
{
	if (r->o->exact) {
		r->cnt[N_REMOVE] += live_files(r, abs, rel, "remove");
		rplan_move(r, rel, true, false);
	} else {
		r->cnt[N_KEEP] += live_files(r, abs, rel, "keep");
		strv_push(&r->kept, rel);
	}
}

static int plan_node(struct rplan *r, const struct component *c,
		     const char *rel, const struct node *n,
		     struct cairn_error *err)
{
	char *abs = live_path(r->live, rel);
	struct stat st;
	int rc = CAIRN_OK;

	if (lstat(abs, &st)) {
		if (errno != ENOENT) {
			rc = errno_err(err, 0, errno, "cannot read %s", abs);
			goto out;
		}
		r->cnt[N_ADD] += tree_files(r, n, rel, "add");
		rplan_move(r, rel, false, true);
	} else if (node_is_dir(n) && S_ISDIR(st.st_mode)) {
		struct dirent *de;
		DIR *d;

		/* Merge into the live directory, and give it the
		 * archived metadata once done. */
		if (n->e) {
			struct swap *w = rplan_op(r, SWAP_ATTR, rel);

			w->mode = st.st_mode;
			w->uid = st.st_uid;
			w->gid = st.st_gid;
			w->mtime = st.st_mtim;
			rplan_fix(r, rel, n->e->mode, n->e->uid, n->e->gid,
				&n->e->mtime);
		}
		for (size_t i = 0; i < n->nkids && !rc; i++) {
			char *sub = tree_kid_path(rel, &n->kids[i]);

			rc = plan_node(r, c, sub, &n->kids[i], err);
			free(sub);
		}
		if (rc || !(d = opendir(abs))) {
			if (!rc)
				rc = errno_err(err, 0, errno, "cannot read "
					       "directory %s", abs);
			goto out;
		}
		while ((de = readdir(d))) {
			char *sub, *sa;

			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, "..") ||
			    tree_kid(n, de->d_name, strlen(de->d_name)))
				continue;
			sub = path_join(rel, de->d_name);
			sa = path_join(abs, de->d_name);
			if (!not_ours(r, c, sub, sa))
				plan_extra(r, sub, sa);
			free(sub);
			free(sa);
		}
		closedir(d);
	} else {
		rplan_note(r, "replace", rel);
		r->cnt[N_REPLACE]++;
		rplan_move(r, rel, true, true);
	}
out:
	free(abs);
	return rc;
}

static int files_restore_plan(struct rplan *r, const struct component *c,
			      struct cairn_error *err)
{
	for (size_t j = 0; j < c->paths.n; j++) {
		const char *rel = c->paths.v[j];
		const struct node *n = tree_find(&r->root, rel);
		char *abs = path_join(r->live, rel);
		size_t before[N_COUNTS];
		int rc = CAIRN_OK;

		memcpy(before, r->cnt, sizeof(before));
		if (!rplan_overlaps(r, rel)) {
			if (!n && path_exists(abs)) {
				/* (required = no, missing at backup) */
				plan_extra(r, rel, abs);
			} else if (n) {
				rplan_parents(r, rel);
				rc = plan_node(r, c, rel, n, err);
			}
			rplan_count(r, c, rel, before);
		}
		free(abs);
		if (rc)
			return rc;
	}
	return CAIRN_OK;
}

const struct comp_ops comp_files_ops = {
	.whole = false,
	.plan = files_plan,
	.restore_plan = files_restore_plan,
};

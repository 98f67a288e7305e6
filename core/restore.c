/*
 * Restoring a verified archive (cmd_restore.c checks its sidecar
 * first): stage, check, plan, swap.
 *
 * Nothing live is touched until the archive's sidecar checksum matches,
 * every staged file matches the manifest and every staged database
 * passes integrity_check (stage.c). A files component is merged like
 * the runbook's `tar -x`: each path the archive holds replaces the live
 * one, live files it does not hold stay (--exact moves them to the
 * safety net); a database is replaced whole. Every replaced path goes
 * to the safety net first, with a journal in state_dir written before
 * the first change (journal.c): a run stopped by a signal rolls back at
 * once, a killed one is rolled back by the next cairn command.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn.h"

/* The archive's tree of the mode's members. */
struct node {
	const char *name; /* into an entry's path; not NUL-terminated */
	size_t nlen;
	const struct staged_entry *e; /* NULL: implied by a deeper member */
	struct node *kids;
	size_t nkids, cap;
};

/* Metadata to set once every rename is done (renames change mtimes). */
struct fix {
	char *rel;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
	bool has_time;
};

enum { N_ADD, N_REPLACE, N_KEEP, N_REMOVE, N_COUNTS };

struct restore {
	const struct config *cfg;
	const struct restore_opts *o;
	const struct component **comps;
	size_t ncomps;
	char *archive;
	char *live;     /* where files go: source, or --to */
	char *staging;  /* same file system as live */
	char *net_base; /* beside live (or inside, on a mount point) */
	char *net;      /* this restore's safety net; made when needed */
	int staging_lock;
	struct manifest man;
	struct stage st;
	struct node root;
	struct journal j;
	size_t cap;     /* of j.sw */
	struct fix *fix;
	size_t nfix;
	struct strv planned; /* component paths, each planned once */
	size_t cnt[N_COUNTS];
	struct sbuf summary, detail;
	struct strv kept;
	bool swapping; /* live data may have been touched */
};

/* Tree -------------------------------------------------------------- */

/* Byte order with '/' lowest: a directory's subtree follows it. */
static int path_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = *a == '/' ? 1 : (unsigned char)*a;
		int cb = *b == '/' ? 1 : (unsigned char)*b;

		if (ca != cb || !ca)
			return ca - cb;
	}
}

static int entry_cmp(const void *x, const void *y)
{
	const struct staged_entry *a = *(const struct staged_entry *const *)x;
	const struct staged_entry *b = *(const struct staged_entry *const *)y;
	int c = path_cmp(a->path, b->path);

	/* The same name twice: the later member is the one on disk. */
	return c ? c : (a > b) - (a < b);
}

static bool node_dir(const struct node *n)
{
	return !n->e || S_ISDIR(n->e->mode);
}

static int tree_add(struct node *root, const struct staged_entry *e,
		    struct cairn_error *err)
{
	struct node *n = root;

	for (const char *p = e->path; *p;) {
		size_t l = strcspn(p, "/");
		struct node *k = n->nkids ? &n->kids[n->nkids - 1] : NULL;

		if (!node_dir(n))
			return cairn_errf(err, CAIRN_EINTEGRITY, "refusing "
					  "archive member '%s': written "
					  "through the link or file '%s'",
					  e->path, n->e->path);
		if (!k || k->nlen != l || strncmp(k->name, p, l)) {
			if (n->nkids == n->cap) {
				n->cap = n->cap ? 2 * n->cap : 4;
				n->kids = xrealloc(n->kids, n->cap *
						   sizeof(*n->kids));
			}
			k = &n->kids[n->nkids++];
			memset(k, 0, sizeof(*k));
			k->name = p;
			k->nlen = l;
		}
		n = k;
		p += l + (p[l] == '/');
	}
	n->e = e;
	return CAIRN_OK;
}

static int tree_build(struct restore *r, struct cairn_error *err)
{
	const struct staged_entry **v = xcalloc(r->st.n + 1, sizeof(*v));
	int rc = CAIRN_OK;

	for (size_t i = 0; i < r->st.n; i++)
		v[i] = &r->st.e[i];
	qsort(v, r->st.n, sizeof(*v), entry_cmp);
	for (size_t i = 0; i < r->st.n && !rc; i++)
		rc = tree_add(&r->root, v[i], err);
	free(v);
	return rc;
}

static void tree_free(struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		tree_free(&n->kids[i]);
	free(n->kids);
}

static const struct node *find_kid(const struct node *n, const char *name,
				   size_t len)
{
	size_t lo = 0, hi = n->nkids;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct node *k = &n->kids[mid];
		int c = memcmp(k->name, name, k->nlen < len ? k->nlen : len);

		if (!c)
			c = (k->nlen > len) - (k->nlen < len);
		if (!c)
			return k;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct node *tree_find(const struct node *n, const char *rel)
{
	for (const char *p = rel; n && *p;) {
		size_t l = strcspn(p, "/");

		n = find_kid(n, p, l);
		p += l + (p[l] == '/');
	}
	return n;
}

static char *kid_path(const char *rel, const struct node *k)
{
	return xasprintf("%s/%.*s", rel, (int)k->nlen, k->name);
}

/* Plan -------------------------------------------------------------- */

static void note(struct restore *r, const char *what, const char *rel)
{
	if (r->o->dry_run && log_verbosity >= 2)
		sb_printf(&r->detail, "    %-7s %s\n", what, rel);
}

/* Files (anything but a directory) in an archive subtree, listed. */
static size_t tree_files(struct restore *r, const struct node *n,
			 const char *rel, const char *what)
{
	size_t c = 0;

	if (!node_dir(n)) {
		note(r, what, rel);
		return 1;
	}
	for (size_t i = 0; i < n->nkids; i++) {
		char *sub = kid_path(rel, &n->kids[i]);

		c += tree_files(r, &n->kids[i], sub, what);
		free(sub);
	}
	return c;
}

/* The same, of a live subtree. */
static size_t live_files(struct restore *r, const char *abs,
			 const char *rel, const char *what)
{
	struct dirent *de;
	struct stat st;
	size_t c = 0;
	DIR *d;

	if (lstat(abs, &st))
		return 0;
	if (!S_ISDIR(st.st_mode)) {
		note(r, what, rel);
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

static struct swap *add_op(struct restore *r, enum swap_kind kind,
			   const char *rel)
{
	struct swap *w;

	if (r->j.n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->j.sw = xrealloc(r->j.sw, r->cap * sizeof(*r->j.sw));
	}
	w = &r->j.sw[r->j.n++];
	memset(w, 0, sizeof(*w));
	w->kind = kind;
	w->rel = xstrdup(rel);
	return w;
}

static void add_move(struct restore *r, const char *rel, bool had_live,
		     bool staged)
{
	struct swap *w = add_op(r, SWAP_MOVE, rel);

	w->had_live = had_live;
	w->staged = staged;
}

static void add_fix(struct restore *r, const char *rel, mode_t mode,
		    uid_t uid, gid_t gid, const struct timespec *mtime)
{
	struct fix *f;

	r->fix = xrealloc(r->fix, (r->nfix + 1) * sizeof(*r->fix));
	f = &r->fix[r->nfix++];
	f->rel = xstrdup(rel);
	f->mode = mode;
	f->uid = uid;
	f->gid = gid;
	f->has_time = mtime != NULL;
	if (mtime)
		f->mtime = *mtime;
}

/* A live path that is not this component's to touch: excluded from its
 * backups, another component's, or cairn's own. */
static bool not_ours(const struct restore *r, const struct component *c,
		     const char *rel, const char *abs)
{
	static const char *const db_side[] = { "", "-wal", "-shm",
					       "-journal" };

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
		for (size_t k = 0; o->type == COMP_SQLITE &&
				   k < ARRAY_SIZE(db_side); k++) {
			char *s = xasprintf("%s%s", o->paths.v[0], db_side[k]);
			bool same = !strcmp(rel, s);

			free(s);
			if (same)
				return true;
		}
	}
	return false;
}

/* A live path the archive does not hold. */
static void plan_extra(struct restore *r, const char *rel, const char *abs)
{
	if (r->o->exact) {
		r->cnt[N_REMOVE] += live_files(r, abs, rel, "remove");
		add_move(r, rel, true, false);
	} else {
		r->cnt[N_KEEP] += live_files(r, abs, rel, "keep");
		strv_push(&r->kept, rel);
	}
}

static int plan_node(struct restore *r, const struct component *c,
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
		add_move(r, rel, false, true);
	} else if (node_dir(n) && S_ISDIR(st.st_mode)) {
		struct dirent *de;
		DIR *d;

		/* Merge into the live directory, and give it the
		 * archived metadata once done. */
		if (n->e) {
			struct swap *w = add_op(r, SWAP_ATTR, rel);

			w->mode = st.st_mode;
			w->uid = st.st_uid;
			w->gid = st.st_gid;
			w->mtime = st.st_mtim;
			add_fix(r, rel, n->e->mode, n->e->uid, n->e->gid,
				&n->e->mtime);
		}
		for (size_t i = 0; i < n->nkids && !rc; i++) {
			char *sub = kid_path(rel, &n->kids[i]);

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
			    find_kid(n, de->d_name, strlen(de->d_name)))
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
		note(r, "replace", rel);
		r->cnt[N_REPLACE]++;
		add_move(r, rel, true, true);
	}
out:
	free(abs);
	return rc;
}

static const struct staged_entry *parent_entry(const struct restore *r,
					       const char *rel)
{
	for (size_t i = 0; i < r->st.nparents; i++)
		if (!strcmp(r->st.parents[i].path, rel))
			return &r->st.parents[i];
	return NULL;
}

static bool mkdir_planned(const struct restore *r, const char *rel)
{
	for (size_t i = 0; i < r->j.n; i++)
		if (r->j.sw[i].kind == SWAP_MKDIR &&
		    !strcmp(r->j.sw[i].rel, rel))
			return true;
	return false;
}

/* A directory the restore must create for `rel`: the archive's entry
 * for it if there is one; else the source root 0755, and a directory
 * inside it like the root, so the application can reach its files. */
static void plan_mkdir(struct restore *r, const char *rel)
{
	const struct staged_entry *e = parent_entry(r, rel);
	mode_t mode = S_IFDIR | 0755;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct swap *w;
	struct stat st;

	if (e) {
		mode = e->mode;
		uid = e->uid;
		gid = e->gid;
		add_fix(r, rel, e->mode, e->uid, e->gid, &e->mtime);
	} else if (strcmp(rel, ".") && !lstat(r->live, &st)) {
		mode = st.st_mode;
		uid = st.st_uid;
		gid = st.st_gid;
	} else if (strcmp(rel, ".") && r->j.n &&
		   r->j.sw[0].kind == SWAP_MKDIR &&
		   !strcmp(r->j.sw[0].rel, ".")) {
		mode = r->j.sw[0].mode; /* the root's, planned first */
		uid = r->j.sw[0].uid;
		gid = r->j.sw[0].gid;
	}
	w = add_op(r, SWAP_MKDIR, rel);
	w->mode = mode;
	w->uid = uid;
	w->gid = gid;
}

/* The live directories above a component path that do not exist. */
static void plan_parents(struct restore *r, const char *rel)
{
	char *p = xstrdup(rel);

	if (!path_exists(r->live) && !mkdir_planned(r, "."))
		plan_mkdir(r, ".");
	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		char *abs;

		*s = '\0';
		abs = path_join(r->live, p);
		if (!path_exists(abs) && !mkdir_planned(r, p))
			plan_mkdir(r, p);
		free(abs);
		*s = '/';
	}
	free(p);
}

/* A component path planned once, even if two components name it. */
static bool overlaps(struct restore *r, const char *rel)
{
	for (size_t i = 0; i < r->planned.n; i++) {
		const char *p = r->planned.v[i];
		size_t a = strlen(p), b = strlen(rel), l = a < b ? a : b;

		if (!strncmp(p, rel, l) && (a == b || (a < b ? rel[a] : p[b])
						     == '/')) {
			log_warn("%s: already restored as %s", rel, p);
			return true;
		}
	}
	strv_push(&r->planned, rel);
	return false;
}

static void count_line(struct restore *r, const struct component *c,
		       const char *rel, const size_t *before)
{
	sb_printf(&r->summary, "  %s: %s: add %zu, replace %zu, keep %zu, "
		  "remove %zu\n", c->name, rel, r->cnt[N_ADD] - before[N_ADD],
		  r->cnt[N_REPLACE] - before[N_REPLACE],
		  r->cnt[N_KEEP] - before[N_KEEP],
		  r->cnt[N_REMOVE] - before[N_REMOVE]);
}

/* The database and its -wal, -shm and -journal (a leftover WAL would
 * corrupt the restored file) are replaced whole. */
static void plan_sqlite(struct restore *r, const struct component *c)
{
	static const char *const side[] = { "-wal", "-shm", "-journal" };
	const char *rel = c->paths.v[0];
	char *abs = path_join(r->live, rel);
	bool had = path_exists(abs);
	size_t before[N_COUNTS];

	memcpy(before, r->cnt, sizeof(before));
	plan_parents(r, rel);
	note(r, had ? "replace" : "add", rel);
	r->cnt[had ? N_REPLACE : N_ADD]++;
	add_move(r, rel, had, true);
	for (size_t k = 0; k < ARRAY_SIZE(side); k++) {
		char *s = xasprintf("%s%s", rel, side[k]);
		char *a = path_join(r->live, s);

		if (path_exists(a)) {
			note(r, "remove", s);
			r->cnt[N_REMOVE]++;
			add_move(r, s, true, false);
		}
		free(a);
		free(s);
	}
	count_line(r, c, rel, before);
	free(abs);
}

static int plan_files(struct restore *r, const struct component *c,
		      struct cairn_error *err)
{
	for (size_t j = 0; j < c->paths.n; j++) {
		const char *rel = c->paths.v[j];
		const struct node *n = tree_find(&r->root, rel);
		char *abs = path_join(r->live, rel);
		size_t before[N_COUNTS];
		int rc = CAIRN_OK;

		memcpy(before, r->cnt, sizeof(before));
		if (!overlaps(r, rel)) {
			if (!n && path_exists(abs)) {
				/* (required = no, missing at backup) */
				plan_extra(r, rel, abs);
			} else if (n) {
				plan_parents(r, rel);
				rc = plan_node(r, c, rel, n, err);
			}
			count_line(r, c, rel, before);
		}
		free(abs);
		if (rc)
			return rc;
	}
	return CAIRN_OK;
}

static int plan(struct restore *r, struct cairn_error *err)
{
	int rc;

	if ((rc = tree_build(r, err)))
		return rc;
	for (size_t i = 0; i < r->ncomps; i++) {
		const struct component *c = r->comps[i];

		if (c->type == COMP_FILES) {
			if ((rc = plan_files(r, c, err)))
				return rc;
		} else if (c->type == COMP_SQLITE) {
			if (!overlaps(r, c->paths.v[0]))
				plan_sqlite(r, c);
		} else if (r->o->to) {
			/* --to: the dump itself; live: its restore command. */
			plan_parents(r, c->file);
			r->cnt[N_ADD]++;
			add_move(r, c->file, false, true);
		} else {
			sb_printf(&r->summary, "  %s: run its restore command "
				  "on %s\n", c->name, c->file);
		}
	}
	return CAIRN_OK;
}

/* A mode whose components the archive lacks would replace live data
 * with nothing. `full` skips optional ones missing at backup time. */
static int check_components(struct restore *r, struct cairn_error *err)
{
	bool full = !strcmp(r->o->mode, "full");
	size_t k = 0;

	for (size_t i = 0; i < r->ncomps; i++) {
		const struct component *c = r->comps[i];

		if (r->st.seen[i]) {
			r->comps[k++] = c;
		} else if (full && !c->required) {
			log_info("component %s: not in %s (required = no); "
				 "left as it is", c->name,
				 base_of(r->archive));
		} else {
			return cairn_errf(err, CAIRN_ENOTFOUND, "%s holds no "
					  "member of component %s (%s); "
					  "nothing was restored",
					  base_of(r->archive), c->name,
					  c->paths.v[0]);
		}
	}
	r->ncomps = k;
	return CAIRN_OK;
}

/* Swap -------------------------------------------------------------- */

static void swap_pause(void)
{
	const char *s = getenv("CAIRN_SWAP_PAUSE");
	long v = 0;

	/* Testing aid: widen the window a crash or a stop must not harm. */
	if (s && parse_int(s, 0, 3600, &v))
		for (long i = 0; i < v * 10 && !stop_signal(); i++)
			usleep(100000);
}

/* rename, never over an existing path. */
static int move_new(const char *from, const char *to)
{
	if (!renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE))
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (path_exists(to)) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

static int do_op(struct restore *r, const struct swap *w,
		 struct cairn_error *err)
{
	char *l = live_path(r->live, w->rel), *s = NULL, *o = NULL;
	int rc = CAIRN_OK;

	if (w->kind == SWAP_MKDIR) {
		if (mkdir(l, 0700) && errno != EEXIST)
			rc = errno_err(err, 0, errno, "cannot create %s", l);
		else
			apply_meta(l, w->mode, w->uid, w->gid, NULL);
		goto out;
	}
	if (w->kind != SWAP_MOVE)
		goto out;
	s = path_join(r->staging, w->rel);
	if (w->had_live) {
		char *od;

		o = path_join(r->net, w->rel);
		od = dir_of(o);
		if (mkdir_p(od, 0700) || move_new(l, o))
			rc = errno_err(err, 0, errno, "cannot move %s to %s",
				       l, o);
		free(od);
		swap_pause();
	}
	if (!rc && w->staged && move_new(s, l))
		rc = errno_err(err, 0, errno, "cannot move %s to %s", s, l);
out:
	free(l);
	free(s);
	free(o);
	return rc;
}

static int swap_in(struct restore *r, struct cairn_error *err)
{
	int rc = CAIRN_OK;

	for (size_t i = 0; i < r->j.n && !rc; i++)
		if (!(rc = stop_check(err)))
			rc = do_op(r, &r->j.sw[i], err);
	if (rc)
		return rc;
	/* Children before parents: the plan is top-down. */
	for (size_t i = r->nfix; i-- > 0;) {
		char *l = live_path(r->live, r->fix[i].rel);

		apply_meta(l, r->fix[i].mode, r->fix[i].uid, r->fix[i].gid,
			   r->fix[i].has_time ? &r->fix[i].mtime : NULL);
		free(l);
	}
	fsync_dir(r->live);
	return stop_check(err);
}

static bool replaces(const struct restore *r)
{
	for (size_t i = 0; i < r->j.n; i++)
		if (r->j.sw[i].kind == SWAP_MOVE && r->j.sw[i].had_live)
			return true;
	return false;
}

/* The safety net, made only when something goes into it. */
static int make_net(struct restore *r, struct cairn_error *err)
{
	if (!replaces(r))
		return CAIRN_OK;
	if (mkdir_p(r->net_base, 0700) || mkdir(r->net, 0700))
		return errno_err(err, 0, errno, "cannot create %s", r->net);
	return CAIRN_OK;
}

static void drop_net(struct restore *r)
{
	if (r->net)
		prune_empty(r->net);
	if (r->net_base)
		rmdir(r->net_base);
}

static int run_commands(struct restore *r, struct cairn_error *err)
{
	for (size_t i = 0; i < r->ncomps; i++) {
		const struct component *c = r->comps[i];
		char *p;
		int rc;

		if (c->type != COMP_COMMAND)
			continue;
		p = path_join(r->staging, c->file);
		rc = command_restore(c, p, err);
		free(p);
		if (rc)
			return rc;
	}
	return CAIRN_OK;
}

/* Directories ------------------------------------------------------- */

/* Missing directories above the source, as `mkdir -p` with umask 022
 * would make them. */
static int mkdirs_0755(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; !rc; s++) {
		if (*s && *s != '/')
			continue;
		{
			char c = *s;

			*s = '\0';
			if (!mkdir(p, 0755))
				chmod(p, 0755);
			else if (errno != EEXIST)
				rc = -1;
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return rc;
}

/* Staging beside live on its file system (inside it on a mount point,
 * where a rename cannot cross), locked while we use it; the safety
 * net's name, beside it too. */
static int prepare_dirs(struct restore *r, struct cairn_error *err)
{
	char *parent = dir_of(r->live), ts[32];
	struct stat a, b;
	bool inside = true;
	struct tm tm;
	time_t now = time(NULL);
	int rc = CAIRN_OK;

	if (r->o->to) {
		if (mkdir_p(r->live, 0700))
			rc = errno_err(err, 0, errno, "cannot create %s",
				       r->live);
	} else if (stat(r->live, &a)) {
		inside = false;
		if (mkdirs_0755(parent))
			rc = errno_err(err, 0, errno, "cannot create %s",
				       parent);
	} else {
		inside = stat(parent, &b) || a.st_dev != b.st_dev;
	}
	if (rc)
		goto out;
	r->staging = inside ? path_join(r->live, ".cairn-staging.XXXXXX")
			    : xasprintf("%s.cairn-staging.XXXXXX", r->live);
	if (!mkdtemp(r->staging)) {
		rc = errno_err(err, 0, errno, "cannot create %s", r->staging);
		free(r->staging);
		r->staging = NULL;
		goto out;
	}
	r->staging_lock = scratch_lock(r->staging);
	if (r->o->to)
		goto out; /* no safety net for --to */
	r->net_base = inside ? path_join(r->live, ".cairn.pre-restore")
			     : xasprintf("%s.pre-restore", r->live);
	/* UTC, like archive names. */
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d_%H%M%S", &tm);
	/* Never share a safety net with an earlier restore. */
	for (int i = 1; !r->net; i++) {
		r->net = i == 1 ? xasprintf("%s/%s", r->net_base, ts)
				: xasprintf("%s/%s.%d", r->net_base, ts, i);
		if (path_exists(r->net) && i < 100) {
			free(r->net);
			r->net = NULL;
		}
	}
out:
	free(parent);
	r->j.live = r->live;
	r->j.staging = r->staging;
	r->j.net = r->net;
	return rc;
}

/* Output ------------------------------------------------------------ */

static void print_plan(struct restore *r)
{
	char sz[32];

	printf("restore mode %s from %s into %s (%s)\n", r->o->mode,
	       base_of(r->archive), r->live, r->o->exact ? "exact: what the "
	       "archive lacks goes to the safety net" : "merge: files the "
	       "archive lacks stay; --exact moves them aside");
	fputs(r->summary.s ? r->summary.s : "", stdout);
	fputs(r->detail.s ? r->detail.s : "", stdout);
	fmt_bytes(r->st.bytes, sz);
	printf("  total: add %zu, replace %zu, keep %zu, remove %zu; %s from "
	       "the archive\n", r->cnt[N_ADD], r->cnt[N_REPLACE],
	       r->cnt[N_KEEP], r->cnt[N_REMOVE], sz);
}

static void print_done(struct restore *r)
{
	for (size_t i = 0; i < r->kept.n; i++)
		printf("kept (not in the archive): %s\n", r->kept.v[i]);
	printf("restored mode %s from %s: %zu added, %zu replaced, %zu kept, "
	       "%zu removed", r->o->mode, base_of(r->archive), r->cnt[N_ADD],
	       r->cnt[N_REPLACE], r->cnt[N_KEEP], r->cnt[N_REMOVE]);
	if (!r->o->to && replaces(r))
		printf("; replaced files are in %s\n", r->net);
	else
		printf("; into %s\n", r->live);
}

static bool confirm(const struct restore *r)
{
	char line[16];

	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };

	fprintf(stderr, "Restore mode %s from %s into %s (%s)? [y/N] ",
		r->o->mode, base_of(r->archive), r->live,
		r->o->exact ? "exact" : "merge");
	/* Reads restart after a signal: poll, so Ctrl-C ends the prompt. */
	while (!stop_signal() && poll(&pfd, 1, 200) == 0)
		;
	if (stop_signal() || !fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

/* Run --------------------------------------------------------------- */

static char *hook_env(const char *k, const char *v)
{
	return xasprintf("%s=%s", k, v ? v : "");
}

/* After a failure or a stop: put the old data back. */
static void undo(struct restore *r, char **env, struct cairn_error *err)
{
	const struct config *cfg = r->cfg;
	char msg[512], *jp = journal_path(cfg);

	if (stop_signal())
		stop_check(err); /* a hook killed by the stop: say why */
	snprintf(msg, sizeof(msg), "%s", err->msg);
	if (journal_rollback(&r->j)) {
		cairn_errf(err, CAIRN_EFAIL, "%s; ROLLBACK INCOMPLETE, see %s "
			   "and %s", msg, r->net, jp);
	} else {
		cairn_errf(err, CAIRN_EFAIL, "%s; rolled back, the previous "
			   "data is in place again", msg);
		/* Done: a later run must not roll back again. */
		journal_done(cfg);
		drop_net(r);
	}
	/* Let the app come back up on the old data. */
	if (cfg->hooks[HOOK_POST_RESTORE] && !stop_signal()) {
		struct cairn_error e2 = { 0, "" };

		free(env[3]);
		env[3] = hook_env("CAIRN_STATUS", "rolled-back");
		run_hook(cfg, HOOK_POST_RESTORE, env, &e2);
	}
	free(jp);
}

static int restore_live(struct restore *r, struct cairn_error *err)
{
	const struct config *cfg = r->cfg;
	char *env[5];
	int rc;

	env[0] = hook_env("CAIRN_ARCHIVE", r->archive);
	env[1] = hook_env("CAIRN_MODE", r->o->mode);
	env[2] = hook_env("CAIRN_SAFETY_NET", r->net);
	env[3] = hook_env("CAIRN_STATUS", "restoring");
	env[4] = NULL;
	if ((rc = run_hook(cfg, HOOK_PRE_RESTORE, env, err))) {
		if (stop_signal())
			stop_check(err);
		goto out;
	}
	if ((rc = stop_check(err)) || (rc = make_net(r, err)))
		goto out;
	r->swapping = true;
	if ((rc = journal_write(cfg, &r->j, err))) {
		drop_net(r);
		goto out;
	}
	rc = swap_in(r, err);
	if (!rc)
		rc = run_commands(r, err);
	if (!rc)
		rc = run_hook(cfg, HOOK_POST_RESTORE, env, err);
	if (!rc && (rc = run_hook(cfg, HOOK_VERIFY_RESTORE, env, err)))
		snprintf(err->msg + strlen(err->msg),
			 sizeof(err->msg) - strlen(err->msg),
			 "; verification failed");
	if (!rc)
		rc = stop_check(err);
	if (rc) {
		undo(r, env, err);
		rc = CAIRN_EFAIL;
		goto out;
	}
	journal_done(cfg);
out:
	for (int i = 0; i < 4; i++)
		free(env[i]);
	return rc;
}

static int restore_to(struct restore *r, struct cairn_error *err)
{
	int rc;

	r->swapping = true;
	rc = swap_in(r, err);

	if (rc)
		journal_rollback(&r->j); /* --to holds nothing else */
	return rc;
}

/* Stage (or, for --dry-run, read), check and plan. */
static int stage_and_plan(struct restore *r, struct cairn_error *err)
{
	int rc;

	r->st.archive = r->archive;
	r->st.man = &r->man;
	r->st.comps = r->comps;
	r->st.ncomps = r->ncomps;
	r->st.dir = r->o->dry_run ? NULL : r->staging;
	if (!r->o->dry_run)
		log_info("staging mode %s in %s", r->o->mode, r->staging);
	if ((rc = stage_run(&r->st, err)) ||
	    (rc = check_components(r, err)) || (rc = plan(r, err)))
		return rc;
	return stop_check(err);
}

static void restore_free(struct restore *r)
{
	for (size_t i = 0; i < r->j.n; i++)
		free(r->j.sw[i].rel);
	free(r->j.sw);
	for (size_t i = 0; i < r->nfix; i++)
		free(r->fix[i].rel);
	free(r->fix);
	tree_free(&r->root);
	stage_free(&r->st);
	strv_free(&r->planned);
	strv_free(&r->kept);
	sb_free(&r->summary);
	sb_free(&r->detail);
	manifest_free(&r->man);
	free(r->archive);
	free(r->live);
	free(r->staging);
	free(r->net_base);
	free(r->net);
}


int restore_archive(const struct config *cfg, const struct restore_opts *o,
		    const struct component **comps, size_t ncomps,
		    const char *archive, bool *touched,
		    struct cairn_error *err)
{
	struct restore r = { .cfg = cfg, .o = o, .comps = comps,
			     .ncomps = ncomps, .staging_lock = -1 };
	int rc;

	r.archive = xstrdup(archive);
	if ((rc = manifest_load(r.archive, &r.man, err)))
		goto out;
	r.live = xstrdup(o->to ? o->to : cfg->source);
	for (size_t l = strlen(r.live); l > 1 && r.live[l - 1] == '/';)
		r.live[--l] = '\0';
	if (o->dry_run) {
		r.staging = xstrdup("");
		if (!(rc = stage_and_plan(&r, err)))
			print_plan(&r);
		goto out;
	}
	if (!o->to && !o->yes && !confirm(&r)) {
		rc = stop_signal() ? stop_check(err)
				   : cairn_errf(err, CAIRN_ECONFIG,
						"restore cancelled");
		goto out;
	}
	if ((rc = prepare_dirs(&r, err)) || (rc = stage_and_plan(&r, err)))
		goto out;
	rc = o->to ? restore_to(&r, err) : restore_live(&r, err);
	if (!rc)
		print_done(&r);
out:
	*touched = r.swapping;
	/* A pending journal still needs the staging dir and the net. */
	if (r.staging && *r.staging && (rc == CAIRN_OK ||
					!journal_pending(cfg)))
		rm_rf(r.staging);
	if (r.staging_lock >= 0)
		close(r.staging_lock);
	if (r.net_base && (rc == CAIRN_OK || !journal_pending(cfg))) {
		if (r.net)
			rmdir(r.net); /* only if nothing went into it */
		rmdir(r.net_base);
	}
	restore_free(&r);
	return rc;
}

/*
 * Plans the component types (comp_*.c) fill: the members a backup
 * archives, and the swap a restore makes — the archive's tree of the
 * mode's members, the journal's operations in order, the metadata to
 * set afterwards, and the counts and lines the operator is shown.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cairn.h"

/* Backup ------------------------------------------------------------ */

void plan_add(struct comp_plan *p, const char *rel, const char *data,
	      const struct stat *st)
{
	struct item *it;

	p->items = xrealloc(p->items, (p->n + 1) * sizeof(*p->items));
	it = &p->items[p->n++];
	it->rel = xstrdup(rel);
	it->data = data ? xstrdup(data) : NULL;
	it->st = *st;
	if (S_ISREG(st->st_mode))
		p->bytes += (uint64_t)st->st_size;
}

void plan_free(struct comp_plan *p)
{
	for (size_t j = 0; j < p->n; j++) {
		free(p->items[j].rel);
		free(p->items[j].data);
	}
	free(p->items);
	p->items = NULL;
	p->n = 0;
}

/* Restore ----------------------------------------------------------- */

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

bool node_is_dir(const struct node *n)
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

		if (!node_is_dir(n))
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

int tree_build(struct node *root, const struct staged_entry *e, size_t n,
	       struct cairn_error *err)
{
	const struct staged_entry **v = xcalloc(n + 1, sizeof(*v));
	int rc = CAIRN_OK;

	for (size_t i = 0; i < n; i++)
		v[i] = &e[i];
	qsort(v, n, sizeof(*v), entry_cmp);
	for (size_t i = 0; i < n && !rc; i++)
		rc = tree_add(root, v[i], err);
	free(v);
	return rc;
}

void tree_free(struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		tree_free(&n->kids[i]);
	free(n->kids);
}

const struct node *tree_kid(const struct node *n, const char *name,
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

const struct node *tree_find(const struct node *n, const char *rel)
{
	for (const char *p = rel; n && *p;) {
		size_t l = strcspn(p, "/");

		n = tree_kid(n, p, l);
		p += l + (p[l] == '/');
	}
	return n;
}

char *tree_kid_path(const char *rel, const struct node *k)
{
	return xasprintf("%s/%.*s", rel, (int)k->nlen, k->name);
}

void rplan_note(struct rplan *r, const char *what, const char *rel)
{
	if (r->o->dry_run && r->o->json) {
		json_object *o = json_object_new_object();

		if (!r->jpaths)
			r->jpaths = json_object_new_array();
		json_object_object_add(o, "action",
				       json_object_new_string(what));
		json_object_object_add(o, "path", json_object_new_string(rel));
		json_object_array_add(r->jpaths, o);
	} else if (r->o->dry_run && log_verbosity >= 2) {
		sb_printf(&r->detail, "    %-7s %s\n", what, rel);
	}
}

struct swap *rplan_op(struct rplan *r, enum swap_kind kind,
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

void rplan_move(struct rplan *r, const char *rel, bool had_live,
		bool staged)
{
	struct swap *w = rplan_op(r, SWAP_MOVE, rel);

	w->had_live = had_live;
	w->staged = staged;
}

void rplan_fix(struct rplan *r, const char *rel, mode_t mode,
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

static const struct staged_entry *parent_entry(const struct rplan *r,
					       const char *rel)
{
	for (size_t i = 0; i < r->nparents; i++)
		if (!strcmp(r->parents[i].path, rel))
			return &r->parents[i];
	return NULL;
}

static bool mkdir_planned(const struct rplan *r, const char *rel)
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
static void plan_mkdir(struct rplan *r, const char *rel)
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
		rplan_fix(r, rel, e->mode, e->uid, e->gid, &e->mtime);
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
	w = rplan_op(r, SWAP_MKDIR, rel);
	w->mode = mode;
	w->uid = uid;
	w->gid = gid;
}

/* The live directories above a component path that do not exist. */
void rplan_parents(struct rplan *r, const char *rel)
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
bool rplan_overlaps(struct rplan *r, const char *rel)
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

static void rplan_count_json(struct rplan *r, const struct component *c,
			     const char *rel, const size_t *before)
{
	static const char *const names[N_COUNTS] = { "add", "replace", "keep",
						     "remove" };
	json_object *o = json_object_new_object();

	if (!r->jcounts)
		r->jcounts = json_object_new_array();
	json_object_object_add(o, "component", json_object_new_string(c->name));
	json_object_object_add(o, "path", json_object_new_string(rel));
	for (int i = 0; i < N_COUNTS; i++)
		json_object_object_add(o, names[i], json_object_new_uint64(
				       r->cnt[i] - before[i]));
	json_object_array_add(r->jcounts, o);
}

void rplan_count(struct rplan *r, const struct component *c,
		 const char *rel, const size_t *before)
{
	if (r->o->json)
		rplan_count_json(r, c, rel, before);
	sb_printf(&r->summary, "  %s: %s: add %zu, replace %zu, keep %zu, "
		  "remove %zu\n", c->name, rel, r->cnt[N_ADD] - before[N_ADD],
		  r->cnt[N_REPLACE] - before[N_REPLACE],
		  r->cnt[N_KEEP] - before[N_KEEP],
		  r->cnt[N_REMOVE] - before[N_REMOVE]);
}

void rplan_free(struct rplan *r)
{
	for (size_t i = 0; i < r->j.n; i++)
		free(r->j.sw[i].rel);
	free(r->j.sw);
	for (size_t i = 0; i < r->nfix; i++)
		free(r->fix[i].rel);
	free(r->fix);
	tree_free(&r->root);
	strv_free(&r->planned);
	strv_free(&r->kept);
	sb_free(&r->summary);
	sb_free(&r->detail);
	json_object_put(r->jcounts);
	json_object_put(r->jpaths);
	free(r->live);
	free(r->staging);
	free(r->net_base);
}

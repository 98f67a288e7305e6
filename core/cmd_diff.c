/* `cairn diff A B [--json]`: what B adds, removes and changes compared
 * with A, from their indexes (older archives: their headers and
 * manifests). A's records are held (path, type, size, hash), B's are
 * streamed. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cairn.h"

struct dent {
	char *path, *link;
	char type;
	uint64_t size;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	char sha256[65];
	bool seen;
};

/* What one side's archive holds: file bytes in it, and in its tree. */
struct side {
	uint64_t held, tree, disk;
};

struct diff {
	struct dent *v;
	size_t n, cap;
	struct side sa, sb;
	size_t count[4]; /* added, removed, changed, metadata */
	json_object *lists[4];
};

static const char *const kinds[4] = { "added", "removed", "changed",
				      "metadata" };
static const char marks[4] = { '+', '-', 'M', 'U' };

static int dent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->path,
		      ((const struct dent *)b)->path);
}

static void count(struct side *s, const struct index_rec *r)
{
	if (r->type != 'f')
		return;
	s->tree += r->size;
	if (!r->archive || !*r->archive)
		s->held += r->size;
}

static int load(struct diff *d, const char *archive, struct cairn_error *err)
{
	const struct index_rec *r;
	struct members m;
	int got, rc;

	if ((rc = members_open(&m, archive, err)))
		return rc;
	while ((got = members_next(&m, &r, err)) > 0) {
		struct dent *e;

		if (d->n == d->cap) {
			d->cap = d->cap ? 2 * d->cap : 256;
			d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
		}
		count(&d->sa, r);
		e = &d->v[d->n++];
		*e = (struct dent){ xstrdup(r->path), xstrdup(r->link),
				    r->type, r->size, r->mode, r->uid, r->gid,
				    "", false };
		memcpy(e->sha256, r->sha256, 65);
	}
	members_close(&m);
	if (d->n)
		qsort(d->v, d->n, sizeof(*d->v), dent_cmp);
	return got < 0 ? -got : CAIRN_OK;
}

static void report(struct diff *d, int kind, const char *path, char type,
		   uint64_t a, uint64_t b)
{
	d->count[kind]++;
	if (d->lists[kind]) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "path", json_object_new_string(path));
		json_object_object_add(o, "type", json_object_new_string(
					       index_type_name(type)));
		if (kind != 0)
			json_object_object_add(o, kind == 1 ? "size" : "size_a",
					       json_object_new_int64(
						       (int64_t)a));
		if (kind != 1)
			json_object_object_add(o, kind == 0 ? "size" : "size_b",
					       json_object_new_int64(
						       (int64_t)b));
		json_object_array_add(d->lists[kind], o);
	} else if (kind == 2) {
		printf("M %s (%llu -> %llu bytes)\n", path,
		       (unsigned long long)a, (unsigned long long)b);
	} else {
		printf("%c %s (%llu bytes)\n", marks[kind], path,
		       (unsigned long long)(kind == 1 ? a : b));
	}
}

static void compare(struct diff *d, const struct index_rec *r)
{
	struct dent key = { .path = r->path }, *a;

	a = bsearch(&key, d->v, d->n, sizeof(*d->v), dent_cmp);
	if (!a) {
		report(d, 0, r->path, r->type, 0, r->size);
		return;
	}
	a->seen = true;
	if (a->type != r->type || a->size != r->size ||
	    strcmp(a->sha256, r->sha256) || strcmp(a->link, r->link))
		report(d, 2, r->path, r->type, a->size, r->size);
	else if (a->mode != r->mode || a->uid != r->uid || a->gid != r->gid)
		report(d, 3, r->path, r->type, a->size, r->size);
}

static int run(struct diff *d, const char *pa, const char *pb,
	       struct cairn_error *err)
{
	const struct index_rec *r;
	struct members m;
	int got, rc;

	if ((rc = load(d, pa, err)) || (rc = members_open(&m, pb, err)))
		return rc;
	while ((got = members_next(&m, &r, err)) > 0) {
		count(&d->sb, r);
		compare(d, r);
	}
	members_close(&m);
	if (got < 0)
		return -got;
	for (size_t i = 0; i < d->n; i++)
		if (!d->v[i].seen)
			report(d, 1, d->v[i].path, d->v[i].type,
			       d->v[i].size, 0);
	return CAIRN_OK;
}

static const char *kind_of(const char *path)
{
	return archive_name_is_incr(base_of(path)) ? "incr" : "full";
}

/* The archive's bytes on disk (an encrypted one's are in archive_dir,
 * as NAME.age). */
static uint64_t size_of(const struct config *cfg, const char *path)
{
	char *p = cfg->self ? xasprintf("%s/%s.age", cfg->archive_dir,
					base_of(path)) : xstrdup(path);
	struct stat st;
	uint64_t n = stat(p, &st) ? 0 : (uint64_t)st.st_size;

	free(p);
	return n;
}

static json_object *side_json(const char *path, const struct side *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(
				       base_of(path)));
	json_object_object_add(o, "kind", json_object_new_string(
				       kind_of(path)));
	json_object_object_add(o, "bytes", json_object_new_uint64(
				       s->disk));
	json_object_object_add(o, "holds_bytes",
			       json_object_new_uint64(s->held));
	json_object_object_add(o, "tree_bytes",
			       json_object_new_uint64(s->tree));
	return o;
}

/* a: NAME  full  329.4 MB on disk, holds 388.0 MB of 388.0 MB */
static void side_print(const char *tag, const char *path,
		       const struct side *s)
{
	char sz[32], held[32], tree[32];

	fmt_bytes(s->disk, sz);
	fmt_bytes(s->held, held);
	fmt_bytes(s->tree, tree);
	printf("%s: %s  %s  %s on disk, holds %s of %s\n", tag,
	       base_of(path), kind_of(path), sz, held, tree);
}

static void print_json(struct diff *d, const char *pa, const char *pb)
{
	json_object *o = json_object_new_object();
	json_object *sides = json_object_new_object();

	json_object_object_add(o, "schema", json_object_new_int(1));
	json_object_object_add(o, "a", json_object_new_string(base_of(pa)));
	json_object_object_add(o, "b", json_object_new_string(base_of(pb)));
	json_object_object_add(sides, "a", side_json(pa, &d->sa));
	json_object_object_add(sides, "b", side_json(pb, &d->sb));
	json_object_object_add(o, "archives", sides);
	for (int k = 0; k < 4; k++) {
		json_object_object_add(o, kinds[k], d->lists[k]);
		d->lists[k] = NULL;
	}
	printf("%s\n", json_object_to_json_string_ext(
		       o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* An archive's path; an encrypted archive_dir's index is decrypted
 * into *dir (the path names the archive there). */
static int resolve(const struct config *cfg, char *which, char **path,
		   char **dir, struct cairn_error *err)
{
	int n = 1;

	if (!cfg->self)
		return catalog_resolve(cfg, which, path, err);
	return ls_target(cfg, cfg->self->name, false, &which, &n, dir, path,
			 err);
}

int cmd_diff(const struct config *cfg, char **ops, int nops, bool json)
{
	struct cairn_error err = { 0, "" };
	struct diff d = { 0 };
	char *pa = NULL, *pb = NULL, *da = NULL, *db = NULL;
	int rc;

	if (nops != 2) {
		rc = cairn_errf(&err, CAIRN_ECONFIG, "diff: which archives? "
				"(cairn diff ARCHIVE ARCHIVE)");
		goto out;
	}
	for (int k = 0; json && k < 4; k++)
		d.lists[k] = json_object_new_array();
	if ((rc = resolve(cfg, ops[0], &pa, &da, &err)) ||
	    (rc = resolve(cfg, ops[1], &pb, &db, &err)) ||
	    (rc = run(&d, pa, pb, &err)))
		goto out;
	d.sa.disk = size_of(cfg, pa);
	d.sb.disk = size_of(cfg, pb);
	if (json) {
		print_json(&d, pa, pb);
	} else {
		side_print("a", pa, &d.sa);
		side_print("b", pb, &d.sb);
		printf("%zu added, %zu removed, %zu changed, %zu metadata "
		       "only\n", d.count[0], d.count[1], d.count[2],
		       d.count[3]);
	}
out:
	if (rc)
		log_error("%s", err.msg);
	for (size_t i = 0; i < d.n; i++) {
		free(d.v[i].path);
		free(d.v[i].link);
	}
	for (int k = 0; k < 4; k++)
		json_object_put(d.lists[k]);
	free(d.v);
	free(pa);
	free(pb);
	for (int k = 0; k < 2; k++) {
		char *dir = k ? db : da;

		if (dir)
			rm_rf(dir);
		free(dir);
	}
	return rc_exit(rc);
}

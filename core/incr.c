/*
 * Incremental nights ([cairn] incremental = yes). A night is a full
 * archive or an incremental; chain_want_full (retention.c) says which.
 * An incremental holds the files whose size, mtime, ctime, inode, mode
 * or owner differ from the previous archive's INDEX record (the index
 * is the truth, not the clock), every directory and link, the whole
 * databases and dumps, and an INDEX of the whole tree naming, for each
 * file, the archive that holds its bytes. Deletions are paths the INDEX
 * lacks. The previous index is streamed, one reader per component (a
 * component's records are sorted by path, as its members are), never
 * held whole.
 *
 * A restore from an incremental stages each file from the archive its
 * INDEX names (older archives first, filtered to those files, then the
 * incremental itself, which holds every directory), after checking
 * each of those archives against its sidecar.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cairn.h"

/* Does component c hold member path? */
static bool comp_owns(const struct component *c, const char *path)
{
	for (size_t j = 0; j < c->paths.n; j++) {
		size_t l = strlen(c->paths.v[j]);

		if (!strncmp(path, c->paths.v[j], l) &&
		    (!path[l] || path[l] == '/'))
			return true;
	}
	return false;
}

/* ARCHIVE.index must be there and what the .sha256 sidecar says (the
 * sidecar covers it, as verify checks; the archive itself is not read:
 * its INDEX member is the same bytes). */
static int index_trusted(const char *archive, struct cairn_error *err)
{
	char *idx = index_sidecar(archive);
	int rc;

	if (!path_exists(idx))
		rc = cairn_errf(err, CAIRN_ENOTFOUND, "%s: no index",
				base_of(idx));
	else
		rc = verify_sidecar_part(archive, base_of(archive), err);
	free(idx);
	return rc;
}

/* Every archive the previous INDEX names is here, with its sidecar. */
static int holders_present(const char *prev, struct cairn_error *err)
{
	struct index_reader rd;
	const struct index_rec *r;
	char *idx = index_sidecar(prev), *dir = dir_of(prev), *last = NULL;
	int rc, k;

	if ((rc = index_open(&rd, idx, err)))
		goto out;
	while ((k = index_next(&rd, &r, err)) == 1) {
		char *p, *side;
		bool ok;

		if (!*r->archive || (last && !strcmp(last, r->archive)))
			continue;
		free(last);
		last = xstrdup(r->archive);
		p = path_join(dir, r->archive);
		side = sidecar_sha(p);
		ok = !strchr(r->archive, '/') && path_exists(p) &&
		     path_exists(side);
		free(p);
		free(side);
		if (!ok) {
			rc = cairn_errf(err, CAIRN_ENOTFOUND, "%s, which %s "
					"builds on, is missing", r->archive,
					base_of(prev));
			break;
		}
	}
	if (!rc && k < 0)
		rc = -k;
	index_close(&rd);
out:
	free(last);
	free(dir);
	free(idx);
	return rc;
}

/* The verified archives as restore points, newest first, for
 * chain_want_full; *prev: the one this night builds on. */
static struct snap *chain_snaps(const struct config *cfg,
				const struct catalog *cat, size_t *n,
				char **prev)
{
	struct json_object *vs = verify_state_read(cfg);
	struct snap *s = xcalloc(cat->n + 1, sizeof(*s));
	char *latest = catalog_latest(cfg);

	*n = 0;
	*prev = latest;
	for (size_t i = 0; i < cat->n; i++) {
		struct json_object *e;
		const char *st;

		if (!cat->a[i].has_sidecar)
			continue;
		e = verify_entry(vs, cfg, cat->a[i].name);
		st = json_str(e, "status");
		s[*n].name = cat->a[i].name;
		s[*n].time = cat->a[i].time;
		s[*n].incr = cat->a[i].incr;
		s[*n].corrupt = st && !strcmp(st, "corrupt");
		if (!*prev)
			*prev = path_join(cfg->archive_dir, cat->a[i].name);
		(*n)++;
	}
	json_object_put(vs);
	return s;
}

int incr_begin(const struct config *cfg, bool force_full, time_t now,
	       struct incr *inc, struct cairn_error *err)
{
	struct catalog cat;
	struct cairn_error e2 = { 0, "" };
	struct snap *s;
	const char *why = "--full";
	size_t n;
	int rc;

	memset(inc, 0, sizeof(*inc));
	inc->cfg = cfg;
	if (!(inc->indexing = cfg->incremental))
		return CAIRN_OK;
	if ((rc = catalog_scan(cfg, &cat, err)))
		return rc;
	s = chain_snaps(cfg, &cat, &n, &inc->prev);
	if (!force_full && !chain_want_full(s, n, now, &cfg->full_every,
					    &why)) {
		why = e2.msg;
		if (!index_trusted(inc->prev, &e2) &&
		    !holders_present(inc->prev, &e2))
			inc->on = true;
	}
	if (inc->on)
		log_info("incremental on top of %s", base_of(inc->prev));
	else
		log_info("a full archive: %s", why);
	free(s);
	catalog_free(&cat);
	return CAIRN_OK;
}

static int by_rel(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return strcmp(x->rel, y->rel);
}

void incr_sort_plan(const struct incr *inc, struct comp_plan *p)
{
	/* Parents still come before their children ("a" < "a/b"). */
	if (inc->indexing && !comp_ops(p->c->type)->whole)
		qsort(p->items, p->n, sizeof(*p->items), by_rel);
}

/* The previous record for `rel` in component c, or NULL: the reader
 * moves forward only, over c's records (sorted by path). */
static const struct index_rec *prev_rec(struct incr *inc,
					const struct component *c,
					const char *rel)
{
	struct cairn_error err = { 0, "" };
	const struct index_rec *r;
	int k;

	if (inc->comp != c) {
		char *idx = index_sidecar(inc->prev);

		if (inc->rd_open)
			index_close(&inc->rd);
		index_rec_free(&inc->cur);
		inc->have_cur = inc->eof = false;
		inc->comp = c;
		inc->rd_open = !index_open(&inc->rd, idx, &err);
		inc->eof = !inc->rd_open;
		free(idx);
	}
	while (!inc->eof && (!inc->have_cur ||
			     strcmp(inc->cur.path, rel) < 0)) {
		if ((k = index_next(&inc->rd, &r, &err)) != 1) {
			inc->eof = true;
			break;
		}
		if (!comp_owns(c, r->path))
			continue;
		index_rec_free(&inc->cur);
		index_rec_copy(&inc->cur, r);
		inc->have_cur = true;
	}
	if (inc->have_cur && !strcmp(inc->cur.path, rel))
		return &inc->cur;
	return NULL;
}

static int64_t ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

bool incr_unchanged(struct incr *inc, struct awriter *w,
		    const struct comp_plan *p, const struct item *it)
{
	const struct index_rec *r;
	const struct stat *st = &it->st;
	struct index_rec copy;

	if (!inc->on || comp_ops(p->c->type)->whole || it->data ||
	    !S_ISREG(st->st_mode) || st->st_nlink != 1)
		return false;
	r = prev_rec(inc, p->c, it->rel);
	if (!r || r->type != 'f' || r->size != (uint64_t)st->st_size ||
	    r->mtime_ns != ns(&st->st_mtim) ||
	    r->ctime_ns != ns(&st->st_ctim) ||
	    r->ino != (uint64_t)st->st_ino ||
	    r->mode != (st->st_mode & 07777) || r->uid != st->st_uid ||
	    r->gid != st->st_gid)
		return false;
	/* Held where the previous record says, or by the previous archive
	 * itself. */
	copy = *r;
	if (!*r->archive)
		copy.archive = (char *)base_of(inc->prev);
	aw_index_carry(w, &copy);
	inc->skipped++;
	inc->skipped_bytes += r->size;
	return true;
}

/* A whole member (a database, a dump) is always in the incremental; if
 * the previous archive holds it in a frame, that frame is offered to
 * the writer, which copies it when the bytes are the same. */
void incr_offer_frame(struct incr *inc, struct awriter *w,
		      const struct comp_plan *p, const struct item *it)
{
	const struct index_rec *r;

	memset(&w->reuse, 0, sizeof(w->reuse));
	if (!inc->on || !comp_ops(p->c->type)->whole || !it->data ||
	    !S_ISREG(it->st.st_mode))
		return;
	if (!(r = prev_rec(inc, p->c, it->rel)) || *r->archive)
		return;
	w->reuse.archive = inc->prev;
	w->reuse.rec = r;
	w->reuse.compression = inc->rd.compression;
	w->reuse.frame_size = inc->rd.frame_size;
}

void incr_finish(const struct incr *inc)
{
	char sz[32];

	if (!inc->on)
		return;
	fmt_bytes(inc->skipped_bytes, sz);
	log_info("%llu unchanged files (%s) stay in older archives",
		 (unsigned long long)inc->skipped, sz);
}

void incr_free(struct incr *inc)
{
	if (inc->rd_open)
		index_close(&inc->rd);
	index_rec_free(&inc->cur);
	free(inc->prev);
	memset(inc, 0, sizeof(*inc));
}

/* What an archive holds, from its index: the files whose bytes are in
 * it, those of its whole restore point, and the older archives it
 * needs. CAIRN_ENOTFOUND: no index (an archive from before indexes). */
int incr_holdings(const char *path, struct holdings *h,
		  struct cairn_error *err)
{
	struct index_reader rd;
	const struct index_rec *r;
	char *idx = index_sidecar(path);
	int rc, k;

	memset(h, 0, sizeof(*h));
	if (!path_exists(idx)) {
		rc = cairn_errf(err, CAIRN_ENOTFOUND, "%s: no index",
				base_of(path));
		goto out;
	}
	if ((rc = index_open(&rd, idx, err)))
		goto out;
	while ((k = index_next(&rd, &r, err)) == 1) {
		bool known = false;

		if (r->type != 'f')
			continue;
		h->files++;
		h->tree += r->size;
		if (!*r->archive) {
			h->files_held++;
			h->held += r->size;
			continue;
		}
		for (size_t i = h->needs.n; i > 0 && !known; i--)
			known = !strcmp(h->needs.v[i - 1], r->archive);
		if (!known)
			strv_push(&h->needs, r->archive);
	}
	if (!rc && k < 0)
		rc = -k;
	index_close(&rd);
	if (rc)
		strv_free(&h->needs);
	else if (h->needs.n)
		qsort(h->needs.v, h->needs.n, sizeof(char *), strv_cmp);
out:
	free(idx);
	return rc;
}

/* Restore ------------------------------------------------------------ */

/* One older archive and the files an INDEX says it holds. */
struct holder {
	char *name;
	struct strv paths; /* sorted, for stage's bsearch */
};

static struct holder *holder_get(struct holder **h, size_t *n,
				 const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*h)[i].name, name))
			return &(*h)[i];
	*h = xrealloc(*h, (*n + 1) * sizeof(**h));
	memset(&(*h)[*n], 0, sizeof(**h));
	(*h)[*n].name = xstrdup(name);
	return &(*h)[(*n)++];
}

/* Which older archives hold which files of s's components. */
static int holders_of(const struct stage *s, struct holder **h, size_t *n,
		      struct cairn_error *err)
{
	struct index_reader rd;
	const struct index_rec *r;
	char *idx = index_sidecar(s->archive);
	int rc, k;

	/* The .index sidecar is the INDEX member's bytes, covered by the
	 * .sha256 sidecar. */
	if (!path_exists(idx)) {
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: an incremental "
				"without its index", base_of(s->archive));
		goto out;
	}
	if ((rc = verify_sidecar_part(s->archive, base_of(s->archive),
				      err)) ||
	    (rc = index_open(&rd, idx, err)))
		goto out;
	while ((k = index_next(&rd, &r, err)) == 1) {
		bool mine = false;

		if (!*r->archive)
			continue;
		for (size_t i = 0; i < s->ncomps && !mine; i++)
			mine = comp_owns(s->comps[i], r->path);
		if (!mine)
			continue;
		if (strchr(r->archive, '/') || *r->archive == '.') {
			rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: INDEX "
					"names archive '%s'",
					base_of(s->archive), r->archive);
			break;
		}
		strv_push(&holder_get(h, n, r->archive)->paths, r->path);
	}
	if (!rc && k < 0)
		rc = -k;
	index_close(&rd);
	for (size_t i = 0; i < *n; i++)
		qsort((*h)[i].paths.v, (*h)[i].paths.n, sizeof(char *),
		      strv_cmp);
out:
	free(idx);
	return rc;
}

/* Stage the files holder h holds into s->dir, checked against its own
 * sidecar and manifest; its entries join s's. */
static int stage_holder(struct stage *s, const struct holder *h,
			bool *seen, struct cairn_error *err)
{
	char *dir = dir_of(s->archive), *path = path_join(dir, h->name);
	char *ix = index_sidecar(path);
	struct manifest man = { 0 };
	struct stage hs = { .rd = readers_find(s->chain, h->name) };
	int rc;

	if (!hs.rd && !path_exists(path)) {
		rc = cairn_errf(err, CAIRN_ENOTFOUND, "%s, which %s needs "
				"for %zu files, is missing", h->name,
				base_of(s->archive), h->paths.n);
		goto out;
	}
	/* With its index, only the frames of h's files are read (and the
	 * archive's hash is checked only if that fails, as restore --path
	 * does). */
	if (path_exists(ix)) {
		hs.index = ix;
		hs.unverified = true;
		rc = verify_sidecar_part(path, h->name, err);
	} else {
		rc = verify_sidecar(path, err);
	}
	if (rc || (rc = manifest_load(path, &man, err)))
		goto out;
	hs.archive = path;
	hs.man = &man;
	hs.comps = s->comps;
	hs.ncomps = s->ncomps;
	hs.dir = s->dir;
	hs.only = &h->paths;
	if ((rc = stage_run(&hs, err))) {
		s->need_whole |= hs.need_whole;
		goto out;
	}
	s->e = xrealloc(s->e, (s->n + hs.n + 1) * sizeof(*s->e));
	memcpy(s->e + s->n, hs.e, hs.n * sizeof(*s->e));
	s->n += hs.n;
	s->ecap = s->n;
	hs.n = 0;
	s->files += hs.files;
	s->bytes += hs.bytes;
	for (size_t i = 0; i < s->ncomps; i++)
		seen[i] |= hs.seen[i];
out:
	stage_free(&hs);
	manifest_free(&man);
	free(ix);
	free(path);
	free(dir);
	return rc;
}

/* The incremental's directories get their archived metadata once more:
 * a directory the older archives' files created first does not always
 * keep the time the incremental's entry gave it. */
static void dirs_again(const struct stage *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct staged_entry *e = &s->e[i];
		char *p;

		if (!S_ISDIR(e->mode))
			continue;
		p = path_join(s->dir, e->path);
		apply_meta(p, e->mode, e->uid, e->gid, &e->mtime);
		free(p);
	}
}

int incr_stage(struct stage *s, struct cairn_error *err)
{
	struct holder *h = NULL;
	size_t n = 0;
	bool *seen = xcalloc(s->ncomps + 1, sizeof(bool));
	int rc;

	if (!archive_name_is_incr(base_of(s->archive))) {
		rc = stage_run(s, err);
		goto out;
	}
	/* Every archive the chain needs is named and checked before a
	 * byte is staged; the incremental itself comes last: it holds
	 * every directory, whose times it sets. */
	if ((rc = holders_of(s, &h, &n, err)))
		goto out;
	for (size_t i = 0; i < n && !rc; i++) {
		char *dir = dir_of(s->archive), *p = path_join(dir, h[i].name);

		if (!readers_find(s->chain, h[i].name) && !path_exists(p))
			rc = cairn_errf(err, CAIRN_ENOTFOUND, "%s, which %s "
					"needs for %zu files, is missing",
					h[i].name, base_of(s->archive),
					h[i].paths.n);
		free(p);
		free(dir);
	}
	for (size_t i = 0; i < n && !rc; i++) {
		log_info("reading %zu files from %s", h[i].paths.n,
			 h[i].name);
		rc = stage_holder(s, &h[i], seen, err);
	}
	if (!rc && !(rc = stage_run(s, err)))
		for (size_t i = 0; i < s->ncomps; i++)
			s->seen[i] |= seen[i];
	if (!rc && s->dir)
		dirs_again(s);
out:
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		strv_free(&h[i].paths);
	}
	free(h);
	free(seen);
	return rc;
}

/* Verify ----------------------------------------------------------- */

/* Check one archive the incremental needs: there, its sidecar, and
 * with deep its members; its own verdict is recorded too. */
static int verify_holder(const struct config *cfg, const char *incr,
			 const struct holder *h, bool deep,
			 struct cairn_error *err)
{
	char *dir = dir_of(incr), *p = path_join(dir, h->name);
	struct manifest man = { 0 };
	size_t members, dbs;
	int rc;

	if (!path_exists(p)) {
		rc = cairn_errf(err, CAIRN_ENOTFOUND, "%s, which %s needs "
				"for %zu files, is missing", h->name,
				base_of(incr), h->paths.n);
		goto out;
	}
	rc = verify_sidecar(p, err);
	if (!rc && deep && !(rc = manifest_load(p, &man, err)))
		rc = verify_deep(cfg, p, &man, &members, &dbs, err);
	verify_record(cfg, p, rc, deep, err->msg);
	if (rc) {
		char why[sizeof(err->msg)];

		snprintf(why, sizeof(why), "%s", err->msg);
		cairn_errf(err, rc, "%s needs %s: %s", base_of(incr),
			   h->name, why);
	}
out:
	manifest_free(&man);
	free(p);
	free(dir);
	return rc;
}

int incr_verify_chain(const struct config *cfg, const char *path, bool deep,
		      size_t *checked, struct cairn_error *err)
{
	const struct component **comps = NULL;
	struct manifest man = { 0 };
	struct stage s = { .archive = path, .man = &man };
	struct holder *h = NULL;
	size_t n = 0;
	int rc;

	*checked = 0;
	if (!archive_name_is_incr(base_of(path)))
		return CAIRN_OK;
	if ((rc = manifest_load(path, &man, err)) ||
	    (rc = restore_components(cfg, "full", &comps, &s.ncomps, err)))
		goto out;
	s.comps = comps;
	if ((rc = holders_of(&s, &h, &n, err)))
		goto out;
	for (size_t i = 0; i < n && !rc; i++) {
		log_info("checking %s, which holds %zu of its files",
			 h[i].name, h[i].paths.n);
		if (!(rc = verify_holder(cfg, path, &h[i], deep, err)))
			(*checked)++;
	}
out:
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		strv_free(&h[i].paths);
	}
	free(h);
	free(comps);
	manifest_free(&man);
	return rc;
}

/* Each archive the incremental at path needs, from the target into
 * dir: whole, or (rs) its sidecars and index with a reader in *rs. */
static int fetch_chain(const struct config *cfg, const char *target,
		       const char *path, const char *dir, struct readers *rs,
		       struct cairn_error *err)
{
	const struct component **comps = NULL;
	struct manifest man = { 0 };
	struct stage s = { .archive = path, .man = &man };
	struct holder *h = NULL;
	size_t n = 0;
	int rc;

	if (!archive_name_is_incr(base_of(path)))
		return CAIRN_OK;
	if ((rc = manifest_load(path, &man, err)) ||
	    (rc = restore_components(cfg, "full", &comps, &s.ncomps, err)))
		goto out;
	s.comps = comps;
	if ((rc = holders_of(&s, &h, &n, err)))
		goto out;
	/* Beside the incremental, where incr_stage looks for them (and
	 * checks each against its sidecar). */
	for (size_t i = 0; i < n && !rc; i++) {
		struct reader *rd = NULL;
		char *got = NULL;

		log_info("fetching %s, which holds %zu of its files",
			 h[i].name, h[i].paths.n);
		rc = rs ? target_fetch_ranged(cfg, target, h[i].name, dir,
					      &got, &rd, err)
			: target_fetch(cfg, target, h[i].name, dir, &got, err);
		if (rd)
			readers_add(rs, h[i].name, rd);
		free(got);
	}
out:
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		strv_free(&h[i].paths);
	}
	free(h);
	free(comps);
	manifest_free(&man);
	return rc;
}

int incr_fetch_chain(const struct config *cfg, const char *target,
		     const char *path, const char *dir,
		     struct cairn_error *err)
{
	return fetch_chain(cfg, target, path, dir, NULL, err);
}

int incr_fetch_chain_ranged(const struct config *cfg, const char *target,
			    const char *path, const char *dir,
			    struct readers *rs, struct cairn_error *err)
{
	return fetch_chain(cfg, target, path, dir, rs, err);
}

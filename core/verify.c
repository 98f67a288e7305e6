/* Checking archives already made: the deep check (a test-restore into
 * scratch) and state_dir/verify.json, the record of each archive's last
 * check that `list` shows. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cairn.h"

/* Test-restore every component the way restore stages it, into a
 * private scratch dir: every member against the manifest (and the
 * archive's own MANIFEST.sha256 against the manifest copy), the same
 * refusals of hostile paths and links, SQLite integrity_check. */
int verify_deep(const struct config *cfg, const char *path,
		const struct manifest *man, size_t *members, size_t *dbs,
		struct cairn_error *err)
{
	const struct component **comps = NULL;
	struct stage s = { .archive = path, .man = man,
			   .every_member = true };
	char *tmpdir = xasprintf("%s/.cairn-verify.XXXXXX", cfg->state_dir);
	int lock = -1, rc;

	*members = *dbs = 0;
	if (mkdir_p(cfg->state_dir, 0700) || !mkdtemp(tmpdir)) {
		rc = errno_err(err, 0, errno, "cannot create %s", tmpdir);
		free(tmpdir);
		return rc;
	}
	lock = scratch_lock(tmpdir);
	if ((rc = restore_components(cfg, "full", &comps, &s.ncomps, err)))
		goto out;
	s.comps = comps;
	s.dir = tmpdir;
	rc = stage_run(&s, err);
	*members = s.files;
	*dbs = s.dbs;
out:
	rm_rf(tmpdir);
	if (lock >= 0)
		close(lock);
	stage_free(&s);
	free(comps);
	free(tmpdir);
	return rc;
}

/*
 * The index against the archive: frames one after the other from the
 * start of the file, each decompressing alone and ending where the index
 * says, holding exactly its records' members (path, type, size) at their
 * offsets; after them the frame of INDEX, the sidecar's bytes.
 */
struct ixcheck {
	const char *archive;
	enum compression comp;
	uint64_t coff, uoff;     /* where the next frame must start */
	uint64_t members, frames;
	struct index_rec *grp;   /* the records of one frame */
	size_t n, cap;
};

static int ix_bad(const struct ixcheck *c, const char *what,
		  struct cairn_error *err)
{
	return cairn_errf(err, CAIRN_EINTEGRITY, "%s: the index does not "
			  "match the archive: %s", base_of(c->archive), what);
}

static char entry_type(struct archive_entry *e)
{
	mode_t t = archive_entry_filetype(e);

	return archive_entry_hardlink(e) ? 'h' : t == AE_IFDIR ? 'd'
	       : t == AE_IFLNK ? 'l' : 'f';
}

/* One frame: its members are the group's, in order. */
static int check_frame(struct ixcheck *c, struct cairn_error *err)
{
	const struct index_rec *g = c->grp;
	struct ar_frame f = { g->frame_off, g->frame_len };
	struct archive_entry *e;
	struct archive *a;
	char what[256];
	size_t i = 0;
	int k, rc;

	if (g->frame_off != c->coff || g->frame_uoff != c->uoff) {
		snprintf(what, sizeof(what), "frame of %.150s at %llu, want "
			 "%llu", g->path, (unsigned long long)g->frame_off,
			 (unsigned long long)c->coff);
		return ix_bad(c, what, err);
	}
	if ((rc = ar_open_frames(c->archive, c->comp, &f, 1, NULL, &a, err)))
		return rc;
	while ((k = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		size_t l = strlen(p);

		while (l > 1 && p[l - 1] == '/')
			l--;
		if (i == c->n || strncmp(p, g[i].path, l) || g[i].path[l] ||
		    entry_type(e) != g[i].type ||
		    (uint64_t)archive_entry_size(e) != g[i].size ||
		    (uint64_t)archive_read_header_position(a) + c->uoff !=
		    g[i].hdr_off)
			break;
		i++;
	}
	if (k == ARCHIVE_EOF && i == c->n) {
		c->uoff += (uint64_t)archive_filter_bytes(a, -1);
		c->coff += g->frame_len;
		c->members += c->n;
		c->frames++;
	} else {
		snprintf(what, sizeof(what), "%.200s", k == ARCHIVE_OK ?
			 archive_entry_pathname(e) : archive_error_string(a));
		rc = ix_bad(c, i < c->n ? g[i].path : what, err);
	}
	archive_read_free(a);
	return rc;
}

/* The rest of the file: INDEX, the sidecar's bytes, and the end. */
static int check_tail(struct ixcheck *c, const char *ix,
		      struct cairn_error *err)
{
	struct archive_entry *e;
	struct archive *a;
	struct ar_frame f = { c->coff, 0 };
	struct stat st;
	char got[65], want[65];
	int rc;

	if (stat(c->archive, &st) || (uint64_t)st.st_size <= c->coff)
		return ix_bad(c, "no INDEX after the last frame", err);
	f.len = (uint64_t)st.st_size - c->coff;
	if ((rc = ar_open_frames(c->archive, c->comp, &f, 1, NULL, &a, err)))
		return rc;
	if (archive_read_next_header(a, &e) != ARCHIVE_OK ||
	    strcmp(archive_entry_pathname(e), "INDEX"))
		rc = ix_bad(c, "no INDEX after the last frame", err);
	else if (!(rc = ar_copy_data(a, -1, "INDEX", got, NULL, err)) &&
		 (sha256_file(ix, want, NULL) || strcmp(got, want)))
		rc = ix_bad(c, "INDEX is not the .index sidecar", err);
	if (!rc && archive_read_next_header(a, &e) != ARCHIVE_EOF)
		rc = ix_bad(c, "members after INDEX", err);
	archive_read_free(a);
	return rc;
}

/* The next record of a member this archive holds (an incremental's
 * records of other archives' files are checked with those). */
static int next_own(struct index_reader *r, const struct index_rec **x,
		    struct cairn_error *err)
{
	int got;

	while ((got = index_next(r, x, err)) == 1 && *(*x)->archive)
		;
	if (got <= 0)
		*x = NULL;
	return got;
}

static int next_group(struct ixcheck *c, struct index_reader *r,
		      const struct index_rec **x, struct cairn_error *err)
{
	int got = 1;

	for (size_t i = 0; i < c->n; i++)
		index_rec_free(&c->grp[i]);
	c->n = 0;
	while (*x && (!c->n || (*x)->frame_off == c->grp[0].frame_off)) {
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 64;
			c->grp = xrealloc(c->grp, c->cap * sizeof(*c->grp));
		}
		index_rec_copy(&c->grp[c->n++], *x);
		got = next_own(r, x, err);
	}
	return got < 0 ? -got : CAIRN_OK;
}

int verify_index(const char *archive, uint64_t *members,
		 struct cairn_error *err)
{
	char *ix = index_sidecar(archive);
	struct ixcheck c = { .archive = archive };
	struct index_reader r;
	const struct index_rec *x = NULL;
	int got, rc = CAIRN_OK;

	*members = 0;
	if (!path_exists(ix))
		goto out_free; /* an older archive */
	if ((rc = index_open(&r, ix, err)))
		goto out_free;
	c.comp = !strcmp(r.compression, "zstd") ? COMP_ZSTD
		 : !strcmp(r.compression, "gzip") ? COMP_GZIP : COMP_NONE;
	if ((got = next_own(&r, &x, err)) < 0)
		rc = -got;
	while (!rc && x && !(rc = next_group(&c, &r, &x, err)) &&
	       !(rc = stop_check(err)))
		rc = check_frame(&c, err);
	if (!rc && !(rc = next_group(&c, &r, &x, err)))
		rc = check_tail(&c, ix, err);
	*members = c.members;
	for (size_t i = 0; i < c.n; i++)
		index_rec_free(&c.grp[i]);
	free(c.grp);
	index_close(&r);
out_free:
	free(ix);
	return rc;
}

/* state_dir/verify.json: the last check of each archive, keyed by name,
 * with the size and ctime it had then (a changed file voids the record:
 * any write moves ctime, to the nanosecond, and nobody can set it back).
 * `list` shows it, so a failed verify is never hidden behind the sidecar
 * that says the archive was fine when it was made. */
static char *verify_state_path(const struct config *cfg)
{
	return path_join(cfg->state_dir, "verify.json");
}

static int64_t ctime_ns(const struct stat *st)
{
	return (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

/* The record of archive `name` (in o), or NULL if none or stale. */
json_object *verify_entry(json_object *o, const struct config *cfg,
			  const char *name)
{
	json_object *e, *v;
	char *p = path_join(cfg->archive_dir, name);
	struct stat st;
	bool same;

	if (!o || !json_object_object_get_ex(o, name, &e) || stat(p, &st)) {
		free(p);
		return NULL;
	}
	free(p);
	same = json_object_object_get_ex(e, "size", &v) &&
	       json_object_get_int64(v) == (int64_t)st.st_size &&
	       json_object_object_get_ex(e, "ctime_ns", &v) &&
	       json_object_get_int64(v) == ctime_ns(&st);
	return same ? e : NULL;
}

void verify_record(const struct config *cfg, const char *path, int rc,
		   bool deep, const char *msg)
{
	struct cairn_error err = { 0, "" };
	char *p = verify_state_path(cfg), *mine = NULL, ts[32];
	json_object *o = json_read_state(p), *e, *old;
	struct catalog cat = { 0 };
	const char *name = base_of(path);
	struct stat st;

	/* Only archives of archive_dir, and only a verdict on them. */
	mine = path_join(cfg->archive_dir, name);
	if ((rc && rc != CAIRN_EINTEGRITY) || strcmp(mine, path) ||
	    stat(path, &st) || catalog_scan(cfg, &cat, &err))
		goto out;
	if (!o)
		o = json_object_new_object();
	/* Forget archives that are gone (pruned). */
	{
		struct strv gone = { 0 };

		json_object_object_foreach(o, k, v) {
			bool found = false;

			(void)v;
			for (size_t i = 0; i < cat.n && !found; i++)
				found = !strcmp(cat.a[i].name, k);
			if (!found)
				strv_push(&gone, k);
		}
		for (size_t i = 0; i < gone.n; i++)
			json_object_object_del(o, gone.v[i]);
		strv_free(&gone);
	}
	old = verify_entry(o, cfg, name);
	e = json_object_new_object();
	fmt_utc(time(NULL), ts);
	json_object_object_add(e, "status", json_object_new_string(
		rc ? "corrupt" : "ok"));
	json_object_object_add(e, "checked", json_object_new_string(ts));
	json_object_object_add(e, "deep", json_object_new_boolean(deep));
	json_object_object_add(e, "error", rc ? json_object_new_string(msg)
					       : NULL);
	json_object_object_add(e, "last_ok", rc ?
		(json_str(old, "last_ok") ? json_object_new_string(
			json_str(old, "last_ok")) : NULL) :
		json_object_new_string(ts));
	json_object_object_add(e, "size", json_object_new_int64(st.st_size));
	json_object_object_add(e, "ctime_ns",
			       json_object_new_int64(ctime_ns(&st)));
	json_object_object_add(o, name, e);
	if (mkdir_p(cfg->state_dir, 0700) || json_write_state(p, o, &err))
		log_warn("cannot record the verify of %s in %s: %s", name, p,
			 err.msg[0] ? err.msg : strerror(errno));
out:
	catalog_free(&cat);
	json_object_put(o);
	free(mine);
	free(p);
}


json_object *verify_state_read(const struct config *cfg)
{
	char *p = verify_state_path(cfg);
	json_object *o = json_read_state(p);

	free(p);
	return o;
}

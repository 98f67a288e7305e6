/* `cairn dump ARCHIVE PATH [--target NAME]`: one member's bytes to
 * stdout (like restic dump), read from its frame alone and checked
 * against its hash; a directory's subtree as a tar; with --target, from
 * a target's copy (fetched). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "cairn.h"

/* Directory dump ------------------------------------------------------ */

/* One archive holding members of the subtree, and their frames. */
struct src {
	char *name; /* "" this archive, else the older one an INDEX names */
	struct ar_frame *f;
	size_t nf;
	struct strv paths; /* sorted: the members it gives */
};

static struct src *src_get(struct src **v, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i].name, name))
			return &(*v)[i];
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[*n].name = xstrdup(name);
	return &(*v)[(*n)++];
}

/* The subtree's members by the archive holding them (the index's
 * records; an older archive without one: all of it, read in order). */
static int tree_sources(const char *archive, const char *dir,
			struct src **v, size_t *n, bool *indexed,
			struct cairn_error *err)
{
	const struct index_rec *r;
	struct members m;
	int got, rc;

	if ((rc = members_open(&m, archive, err)))
		return rc;
	*indexed = m.indexed;
	while ((got = members_next(&m, &r, err)) > 0) {
		struct src *s;

		if (!index_match(dir, r->path))
			continue;
		s = src_get(v, n, m.indexed ? r->archive : "");
		strv_push(&s->paths, r->path);
		if (!m.indexed || (s->nf && s->f[s->nf - 1].off ==
				   r->frame_off))
			continue;
		s->f = xrealloc(s->f, (s->nf + 1) * sizeof(*s->f));
		s->f[s->nf++] = (struct ar_frame){ r->frame_off,
						   r->frame_len };
	}
	members_close(&m);
	for (size_t i = 0; i < *n; i++)
		qsort((*v)[i].paths.v, (*v)[i].paths.n, sizeof(char *),
		      strv_cmp);
	return got < 0 ? -got : CAIRN_OK;
}

/* Copy the members of s found in archive a into the tar writer out. */
static int copy_members(struct archive *a, struct archive *out,
			const struct src *s, const char *what,
			struct cairn_error *err)
{
	struct archive_entry *e;
	size_t left = s->paths.n;
	int k;

	while (left && (k = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		char *copy = xstrdup(name + (strncmp(name, "./", 2) ? 0 : 2));
		size_t l = strlen(copy);
		bool mine;

		while (l > 1 && copy[l - 1] == '/')
			copy[--l] = '\0';
		mine = bsearch(&copy, s->paths.v, s->paths.n, sizeof(char *),
			       strv_cmp) != NULL;
		free(copy);
		if (!mine)
			continue;
		left--;
		if (archive_write_header(out, e) != ARCHIVE_OK)
			return cairn_errf(err, CAIRN_EFAIL, "cannot write the "
					  "tar: %s", archive_error_string(out));
		for (;;) {
			const void *buf;
			size_t len;
			la_int64_t off;
			int r = archive_read_data_block(a, &buf, &len, &off);

			if (r == ARCHIVE_EOF)
				break;
			if (r != ARCHIVE_OK)
				return cairn_errf(err, CAIRN_EINTEGRITY, "%s: "
						  "archive damaged: %s", what,
						  archive_error_string(a));
			if (archive_write_data(out, buf, len) < 0)
				return cairn_errf(err, CAIRN_EFAIL, "cannot "
						  "write the tar: %s",
						  archive_error_string(out));
		}
	}
	if (left)
		return cairn_errf(err, CAIRN_EINTEGRITY, "%s: %zu members are "
				  "not where the index says", what, left);
	return CAIRN_OK;
}

static int dump_source(const char *archive, const struct src *s,
		       bool indexed, struct archive *out,
		       struct cairn_error *err)
{
	struct index_rec r = { .archive = s->name, .path = s->paths.v[0] };
	struct index_reader h;
	struct archive *a = NULL;
	enum compression comp = COMP_NONE;
	char *holder = NULL, *ix;
	int rc;

	if ((rc = members_holder(archive, &r, &holder, err)))
		return rc;
	ix = index_sidecar(holder);
	if (!indexed) {
		rc = ar_open_read(holder, &a, err);
	} else if (!(rc = index_open(&h, ix, err))) {
		comp = !strcmp(h.compression, "zstd") ? COMP_ZSTD
		       : !strcmp(h.compression, "gzip") ? COMP_GZIP
						       : COMP_NONE;
		index_close(&h);
		rc = ar_open_frames(holder, comp, s->f, s->nf, NULL, &a, err);
	}
	if (!rc)
		rc = copy_members(a, out, s, base_of(holder), err);
	if (a)
		archive_read_free(a);
	free(ix);
	free(holder);
	return rc;
}

/* A directory: a tar of its subtree to stdout (like restic dump), each
 * member from the archive holding it, read from its frames. Member
 * bytes are not hashed here: `cairn restore --path` checks them. */
static int dump_tree(const char *archive, const char *dir,
		     struct cairn_error *err)
{
	struct archive *out = archive_write_new();
	struct src *v = NULL;
	size_t n = 0;
	bool indexed = false;
	int rc;

	archive_write_set_format_pax(out);
	if ((rc = tree_sources(archive, dir, &v, &n, &indexed, err)))
		goto out;
	if (archive_write_open_fd(out, STDOUT_FILENO) != ARCHIVE_OK) {
		rc = cairn_errf(err, CAIRN_EFAIL, "cannot write to stdout: %s",
				archive_error_string(out));
		goto out;
	}
	/* This archive first: an incremental holds every directory. */
	for (size_t i = 0; i < n && !rc; i++)
		if (!*v[i].name)
			rc = dump_source(archive, &v[i], indexed, out, err);
	for (size_t i = 0; i < n && !rc; i++)
		if (*v[i].name)
			rc = dump_source(archive, &v[i], indexed, out, err);
	if (!rc && archive_write_close(out) != ARCHIVE_OK)
		rc = cairn_errf(err, CAIRN_EFAIL, "cannot write the tar: %s",
				archive_error_string(out));
out:
	archive_write_free(out);
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].f);
		strv_free(&v[i].paths);
	}
	free(v);
	return rc;
}

int cmd_dump(const struct config *cfg, char **ops, int nops,
	     const char *target)
{
	struct cairn_error err = { 0, "" };
	struct index_rec r = { 0 }, t = { 0 };
	char *path = NULL, *holder = NULL, *dir = NULL;
	int rc;

	kept_enable(); /* the index and manifest: read once, as checked */
	rc = target ? ls_target(cfg, target, true, ops, &nops, &dir, &path,
				&err)
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
	for (size_t l = strlen(ops[0]); l > 1 && ops[0][l - 1] == '/';)
		ops[0][--l] = '\0'; /* "Sounds/": the directory */
	if ((rc = members_find(path, ops[0], &r, &err)))
		goto out;
	/* A hard link's bytes are its first name's. */
	if (r.type == 'h' && (rc = members_find(path, r.link, &t, &err)))
		goto out;
	if (r.type == 'd') {
		if (isatty(STDOUT_FILENO))
			rc = cairn_errf(&err, CAIRN_ECONFIG, "%s: a directory; "
					"its tar goes to a pipe or a file, "
					"not a terminal", r.path);
		else
			rc = dump_tree(path, r.path, &err);
		goto out;
	}
	if (r.type == 'l') {
		rc = cairn_errf(&err, CAIRN_ECONFIG, "%s: a symbolic link in "
				"%s, not a file; see 'cairn restore --path %s "
				"--to DIR'", r.path, base_of(path), r.path);
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
	if (dir) /* --target: the fetched copy */
		rm_rf(dir);
	free(dir);
	free(path);
	return rc_exit(rc);
}

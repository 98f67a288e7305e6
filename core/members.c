/*
 * The members of one archive, for ls, dump, diff, find and restore
 * --path: from its index when it has one (checked against the .sha256
 * sidecar, the archive itself not read), else from its tar headers (an
 * older archive), one record at a time either way. One member's bytes
 * come from its frame alone and are checked against the index's hash.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn.h"

/* An older archive: records made from the tar headers. */
static int open_headers(struct members *m, struct cairn_error *err)
{
	int rc;

	if ((rc = verify_sidecar(m->archive, err)) ||
	    (rc = manifest_load(m->archive, &m->man, err)))
		return rc;
	return ar_open_read(m->archive, &m->a, err);
}

int members_open(struct members *m, const char *archive,
		 struct cairn_error *err)
{
	char *ix = index_sidecar(archive);
	int rc;

	memset(m, 0, sizeof(*m));
	m->archive = xstrdup(archive);
	if (!path_exists(ix)) {
		rc = open_headers(m, err);
	} else {
		/* The index and manifest lines of the sidecar; not the
		 * archive. */
		rc = verify_sidecar_part(archive, base_of(archive), err);
		if (!rc)
			rc = index_open(&m->ix, ix, err);
		if (!rc)
			m->indexed = true;
	}
	if (rc)
		members_close(m);
	free(ix);
	return rc;
}

int members_open_trusted(struct members *m, const char *archive,
			 const char *index, struct cairn_error *err)
{
	int rc;

	memset(m, 0, sizeof(*m));
	m->archive = xstrdup(archive);
	if (!index) {
		if (!(rc = manifest_load(archive, &m->man, err)))
			rc = ar_open_read(archive, &m->a, err);
		return rc;
	}
	if (!(rc = index_open(&m->ix, index, err)))
		m->indexed = true;
	return rc;
}

static char rec_type(struct archive_entry *e)
{
	mode_t t = archive_entry_filetype(e);

	return archive_entry_hardlink(e) ? 'h' : t == AE_IFDIR ? 'd'
	       : t == AE_IFLNK ? 'l' : 'f';
}

static int next_header(struct members *m, const struct index_rec **out,
		       struct cairn_error *err)
{
	struct archive_entry *e;
	struct index_rec *r = &m->rec;
	const struct manifest_entry *me;
	int k;

	do {
		k = archive_read_next_header(m->a, &e);
		if (k == ARCHIVE_EOF)
			return 0;
		if (k != ARCHIVE_OK)
			return -cairn_errf(err, CAIRN_EINTEGRITY, "%s: archive "
					   "damaged: %s", base_of(m->archive),
					   archive_error_string(m->a));
		free(m->path);
		m->path = xstrdup(archive_entry_pathname(e));
		for (size_t l = strlen(m->path); l > 1 &&
		     m->path[l - 1] == '/';)
			m->path[--l] = '\0';
	} while (!strcmp(m->path, "INDEX"));
	memset(r, 0, sizeof(*r));
	r->type = rec_type(e);
	r->path = m->path + (strncmp(m->path, "./", 2) ? 0 : 2);
	r->size = (uint64_t)archive_entry_size(e);
	r->mode = archive_entry_perm(e);
	r->uid = (uid_t)archive_entry_uid(e);
	r->gid = (gid_t)archive_entry_gid(e);
	r->uname = (char *)(archive_entry_uname(e) ? archive_entry_uname(e)
			    : "");
	r->gname = (char *)(archive_entry_gname(e) ? archive_entry_gname(e)
			    : "");
	r->mtime_ns = (int64_t)archive_entry_mtime(e) * 1000000000 +
		      archive_entry_mtime_nsec(e);
	r->link = (char *)(archive_entry_hardlink(e) ? archive_entry_hardlink(e)
			   : archive_entry_symlink(e) ? archive_entry_symlink(e)
			   : "");
	r->archive = (char *)"";
	if (r->type == 'f' && (me = manifest_find(&m->man, r->path)))
		memcpy(r->sha256, me->hex, 65);
	*out = r;
	return 1;
}

int members_next(struct members *m, const struct index_rec **r,
		 struct cairn_error *err)
{
	if (m->indexed)
		return index_next(&m->ix, r, err);
	return next_header(m, r, err);
}

void members_close(struct members *m)
{
	if (m->indexed)
		index_close(&m->ix);
	if (m->a)
		archive_read_free(m->a);
	manifest_free(&m->man);
	free(m->path);
	free(m->archive);
	memset(m, 0, sizeof(*m));
}

/* Find a member's record (a copy); CAIRN_ENOTFOUND names it. */
int members_find(const char *archive, const char *path,
		 struct index_rec *out, struct cairn_error *err)
{
	struct members m;
	const struct index_rec *r;
	int got, rc;

	memset(out, 0, sizeof(*out));
	if ((rc = members_open(&m, archive, err)))
		return rc;
	rc = CAIRN_ENOTFOUND;
	while (rc && (got = members_next(&m, &r, err)) > 0)
		if (!strcmp(r->path, path)) {
			index_rec_copy(out, r);
			rc = CAIRN_OK;
		}
	if (rc && got < 0)
		rc = -got;
	else if (rc)
		cairn_errf(err, CAIRN_ENOTFOUND, "%s: not in %s; see 'cairn "
			   "ls %s'", path, base_of(archive), base_of(archive));
	members_close(&m);
	return rc;
}

/* The member's bytes to fd, from its frame (an older archive: reading
 * up to it), checked against its hash. */
int members_dump(const char *archive, const struct index_rec *r, int fd,
		 struct cairn_error *err)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	struct ar_frame f = { r->frame_off, r->frame_len };
	char hex[65], *ix = index_sidecar(archive), *name;
	struct index_reader h;
	enum compression comp = COMP_NONE;
	int k, rc;

	if (path_exists(ix) && !(rc = index_open(&h, ix, err))) {
		comp = !strcmp(h.compression, "zstd") ? COMP_ZSTD
		       : !strcmp(h.compression, "gzip") ? COMP_GZIP
						       : COMP_NONE;
		index_close(&h);
		rc = ar_open_frames(archive, comp, &f, 1, NULL, &a, err);
	} else {
		rc = ar_open_read(archive, &a, err);
	}
	free(ix);
	if (rc)
		return rc;
	while ((k = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		name = (char *)archive_entry_pathname(e);
		name += strncmp(name, "./", 2) ? 0 : 2;
		if (strcmp(name, r->path))
			continue;
		if ((rc = ar_copy_data(a, fd, r->path, hex, NULL, err)))
			goto out;
		if (*r->sha256 && strcmp(hex, r->sha256))
			rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: %s does "
					"not match its checksum",
					base_of(archive), r->path);
		goto out;
	}
	rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: %s is not where the "
			"index says", base_of(archive), r->path);
out:
	archive_read_free(a);
	return rc;
}

/* The archive holding r's bytes: archive itself, or the older one an
 * incremental's INDEX names beside it, which must be there and match
 * its sidecar (index and manifest; its own hash only if read whole). */
int members_holder(const char *archive, const struct index_rec *r,
		   char **holder, struct cairn_error *err)
{
	char *dir;
	int rc;

	*holder = NULL;
	if (!r->archive || !*r->archive) {
		*holder = xstrdup(archive);
		return CAIRN_OK;
	}
	if (strchr(r->archive, '/') || *r->archive == '.')
		return cairn_errf(err, CAIRN_EINTEGRITY, "%s: INDEX names "
				  "archive '%s'", base_of(archive), r->archive);
	dir = dir_of(archive);
	*holder = path_join(dir, r->archive);
	free(dir);
	if (!path_exists(*holder))
		rc = cairn_errf(err, CAIRN_ENOTFOUND, "%s, which %s needs for "
				"%s, is missing", r->archive, base_of(archive),
				r->path);
	else
		rc = verify_sidecar_part(*holder, r->archive, err);
	if (rc) {
		free(*holder);
		*holder = NULL;
	}
	return rc;
}

/*
 * The archive index: where each member of a seekable archive lives.
 * Written as the ARCHIVE.index sidecar and as the archive's last member
 * INDEX (the same bytes), read one record at a time so that an index of
 * any size is scanned in constant memory.
 *
 * Format (version 1), text, one record per line, fields separated by a
 * TAB, readable with cut -f / awk -F'\t':
 *
 *   cairn-index 1 compression=zstd frame_size=4194304
 *   #type path size mode uid gid uname gname mtime_ns ctime_ns ino dev
 *    sha256 link hdr_off data_off frame_off frame_len frame_uoff archive
 *   f	data/sound_machine.db	8192	0644	0	0	root	root	...
 *   ...
 *   end	RECORDS
 *
 * type is f (regular file), d (directory), l (symbolic link) or h (hard
 * link to an earlier member, named in link). Numbers are decimal but
 * mode (octal, permission bits); times are nanoseconds since the epoch.
 * sha256 is the data's hash as in MANIFEST.sha256 (empty unless f or h).
 * hdr_off is the offset of the member's first tar header block (a pax
 * header if it has one) in the uncompressed tar stream, data_off that of
 * its data; frame_off and frame_len locate the compressed frame holding
 * the member in the archive file, frame_uoff is where that frame starts
 * in the uncompressed stream (compression = none: the same run of
 * bytes, frame_off = frame_uoff). archive names the archive holding the
 * member's bytes; empty means this one (an incremental's INDEX names
 * the older archive that holds an unchanged file; the offsets and frame
 * are then that archive's). A frame holds whole members, from a first
 * header block to the end of a last member's padding, so any frames,
 * decompressed and concatenated in order, are a tar stream.
 * Text fields escape backslash, TAB, LF and CR as \\ \t \n \r and any
 * other control byte as \xHH; other bytes are kept as they are.
 * Lines starting with '#' are comments; the "end" line counts the
 * records, so a truncated index is detected. Readers ignore extra
 * fields at the end of a record (later minor additions).
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn.h"

#define INDEX_MAGIC "cairn-index 1"

enum { NFIELDS = 20 };

static const char columns[] =
	"#type\tpath\tsize\tmode\tuid\tgid\tuname\tgname\tmtime_ns\t"
	"ctime_ns\tino\tdev\tsha256\tlink\thdr_off\tdata_off\tframe_off\t"
	"frame_len\tframe_uoff\tarchive\n";

char *index_sidecar(const char *archive)
{
	return sidecar_named(archive, "index");
}

void index_escape(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char x[5];

		switch (c) {
		case '\\': sb_add(b, "\\\\", 2); break;
		case '\t': sb_add(b, "\\t", 2); break;
		case '\n': sb_add(b, "\\n", 2); break;
		case '\r': sb_add(b, "\\r", 2); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(x, sizeof(x), "\\x%02x", c);
				sb_add(b, x, 4);
			} else {
				sb_add(b, s, 1);
			}
		}
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* In place; false on a bad escape or an escaped NUL. */
bool index_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s != '\\') {
			*o++ = *s;
			continue;
		}
		switch (*++s) {
		case '\\': *o++ = '\\'; break;
		case 't': *o++ = '\t'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 'x': {
			int h = hexval(s[1]), l = h < 0 ? -1 : hexval(s[2]);

			if (l < 0 || (h == 0 && l == 0))
				return false;
			*o++ = (char)(h * 16 + l);
			s += 2;
			break;
		}
		default:
			return false;
		}
	}
	*o = '\0';
	return true;
}

void index_header(struct sbuf *b, const char *compression,
		  uint64_t frame_size)
{
	sb_printf(b, INDEX_MAGIC " compression=%s frame_size=%" PRIu64 "\n",
		  compression, frame_size);
	sb_add(b, columns, sizeof(columns) - 1);
}

void index_format(struct sbuf *b, const struct index_rec *r)
{
	sb_printf(b, "%c\t", r->type);
	index_escape(b, r->path);
	sb_printf(b, "\t%" PRIu64 "\t%04o\t%lu\t%lu\t", r->size,
		  (unsigned)(r->mode & 07777), (unsigned long)r->uid,
		  (unsigned long)r->gid);
	index_escape(b, r->uname ? r->uname : "");
	sb_add(b, "\t", 1);
	index_escape(b, r->gname ? r->gname : "");
	sb_printf(b, "\t%" PRId64 "\t%" PRId64 "\t%" PRIu64 "\t%" PRIu64
		  "\t%s\t", r->mtime_ns, r->ctime_ns, r->ino, r->dev,
		  r->sha256);
	index_escape(b, r->link ? r->link : "");
	sb_printf(b, "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
		  "\t%" PRIu64 "\t", r->hdr_off, r->data_off, r->frame_off,
		  r->frame_len, r->frame_uoff);
	index_escape(b, r->archive ? r->archive : "");
	sb_add(b, "\n", 1);
}

void index_trailer(struct sbuf *b, uint64_t records)
{
	sb_printf(b, "end\t%" PRIu64 "\n", records);
}

/* Writer: records go to a FILE as they come (never all in memory). */
void index_writer_open(struct index_writer *w, FILE *f,
		       const char *compression, uint64_t frame_size)
{
	struct sbuf b = { 0 };

	memset(w, 0, sizeof(*w));
	w->f = f;
	index_header(&b, compression, frame_size);
	w->failed = fwrite(b.s, 1, b.len, f) != b.len;
	sb_free(&b);
}

void index_writer_add(struct index_writer *w, const struct index_rec *r)
{
	w->line.len = 0;
	index_format(&w->line, r);
	if (fwrite(w->line.s, 1, w->line.len, w->f) != w->line.len)
		w->failed = true;
	w->n++;
}

int index_writer_close(struct index_writer *w, const char *what,
		       struct cairn_error *err)
{
	int rc = CAIRN_OK;

	w->line.len = 0;
	index_trailer(&w->line, w->n);
	if (fwrite(w->line.s, 1, w->line.len, w->f) != w->line.len)
		w->failed = true;
	if (fflush(w->f) || w->failed || ferror(w->f))
		rc = errno_err(err, 0, errno ? errno : EIO,
			       "cannot write index %s", what);
	sb_free(&w->line);
	return rc;
}

/* Reader. */
int index_open_fp(struct index_reader *r, FILE *f, const char *what,
		  struct cairn_error *err)
{
	ssize_t n;

	memset(r, 0, sizeof(*r));
	r->f = f;
	r->what = xstrdup(what);
	n = getline(&r->line, &r->cap, f);
	r->lineno = 1;
	if (n < 0 || strncmp(r->line, INDEX_MAGIC, sizeof(INDEX_MAGIC) - 1) ||
	    (r->line[sizeof(INDEX_MAGIC) - 1] != ' ' &&
	     r->line[sizeof(INDEX_MAGIC) - 1] != '\n')) {
		int rc = cairn_errf(err, CAIRN_EINTEGRITY,
				    "%s: not a cairn index (version 1)",
				    what);

		index_close(r);
		return rc;
	}
	{
		const char *c = strstr(r->line, " compression=");
		const char *fs = strstr(r->line, " frame_size=");

		if (c) {
			size_t l = strcspn(c + 13, " \n");

			snprintf(r->compression, sizeof(r->compression),
				 "%.*s", (int)l, c + 13);
		}
		if (fs)
			r->frame_size = strtoull(fs + 12, NULL, 10);
	}
	return CAIRN_OK;
}

int index_open(struct index_reader *r, const char *path,
	       struct cairn_error *err)
{
	size_t len;
	const char *kept = kept_get(path, &len); /* as it was checked */
	FILE *f = kept ? fmemopen((void *)kept, len, "r") : fopen(path, "re");
	int rc;

	if (!f)
		return errno_err(err, CAIRN_EINTEGRITY, errno,
				 "cannot read index %s", path);
	rc = index_open_fp(r, f, path, err);
	if (rc)
		fclose(f);
	else
		r->own = true;
	return rc;
}

static bool num(const char *s, uint64_t *v, int base)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	*v = strtoull(s, &end, base);
	return !*end && !errno;
}

static bool snum(const char *s, int64_t *v)
{
	char *end;

	if (!*s || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return !*end && !errno;
}

static bool hex64(const char *s)
{
	if (!*s)
		return true;
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (hexval(*s) < 0 || (*s >= 'A' && *s <= 'F'))
			return false;
	return true;
}

/* Split the line into fields and fill r->rec; 0 or the bad field. */
static int parse_rec(struct index_reader *r, char **f, size_t nf)
{
	struct index_rec *x = &r->rec;
	uint64_t u[8];
	bool ok = true;

	if (nf < NFIELDS || strlen(f[0]) != 1 || !strchr("fdlh", f[0][0]))
		return 1;
	x->type = f[0][0];
	for (int i = 1; i < NFIELDS; i++)
		if ((i == 1 || i == 6 || i == 7 || i == 13 || i == 19) &&
		    !index_unescape(f[i]))
			return i + 1;
	x->path = f[1];
	if (!*x->path)
		return 2;
	ok = num(f[2], &u[0], 10) && num(f[3], &u[1], 8) && u[1] <= 07777 &&
	     num(f[4], &u[2], 10) && num(f[5], &u[3], 10);
	if (!ok)
		return 3;
	x->size = u[0];
	x->mode = (mode_t)u[1];
	x->uid = (uid_t)u[2];
	x->gid = (gid_t)u[3];
	x->uname = f[6];
	x->gname = f[7];
	if (!snum(f[8], &x->mtime_ns) || !snum(f[9], &x->ctime_ns) ||
	    !num(f[10], &x->ino, 10) || !num(f[11], &x->dev, 10))
		return 9;
	if (!hex64(f[12]))
		return 13;
	snprintf(x->sha256, sizeof(x->sha256), "%s", f[12]);
	x->link = f[13];
	for (int i = 0; i < 5; i++)
		if (!num(f[14 + i], &u[i], 10))
			return 15 + i;
	x->hdr_off = u[0];
	x->data_off = u[1];
	x->frame_off = u[2];
	x->frame_len = u[3];
	x->frame_uoff = u[4];
	x->archive = f[19];
	if (x->data_off < x->hdr_off || x->hdr_off < x->frame_uoff)
		return 15;
	return 0;
}

static int bad(struct index_reader *r, struct cairn_error *err,
	       const char *what)
{
	r->failed = true;
	return -cairn_errf(err, CAIRN_EINTEGRITY, "%s:%zu: %s", r->what,
			   r->lineno, what);
}

/* The end line: the count must match and nothing may follow. */
static int at_end(struct index_reader *r, const char *count,
		  struct cairn_error *err)
{
	uint64_t n;

	if (!num(count, &n, 10) || n != r->n)
		return bad(r, err, "record count does not match");
	if (getline(&r->line, &r->cap, r->f) >= 0)
		return bad(r, err, "data after the end line");
	r->ended = true;
	return 0;
}

int index_next(struct index_reader *r, const struct index_rec **rec,
	       struct cairn_error *err)
{
	char *f[NFIELDS + 1];
	ssize_t len;
	size_t nf;
	int field;

	*rec = NULL;
	if (r->ended || r->failed)
		return r->failed ? -CAIRN_EINTEGRITY : 0;
	do {
		len = getline(&r->line, &r->cap, r->f);
		r->lineno++;
		if (len < 0)
			return bad(r, err, ferror(r->f)
				   ? "cannot read" : "truncated (no end line)");
	} while (r->line[0] == '#');
	if (len == 0 || r->line[len - 1] != '\n')
		return bad(r, err, "truncated line");
	r->line[--len] = '\0';
	if ((size_t)len != strlen(r->line))
		return bad(r, err, "NUL byte in a record");
	f[0] = r->line;
	for (nf = 1; nf <= NFIELDS && (f[nf] = strchr(f[nf - 1], '\t'));
	     nf++)
		*f[nf]++ = '\0';
	if (nf == 2 && !strcmp(f[0], "end"))
		return at_end(r, f[1], err);
	if ((field = parse_rec(r, f, nf))) {
		char m[64];

		snprintf(m, sizeof(m), "bad index record (field %d)", field);
		return bad(r, err, m);
	}
	r->n++;
	*rec = &r->rec;
	return 1;
}

void index_close(struct index_reader *r)
{
	if (r->own && r->f)
		fclose(r->f);
	free(r->line);
	free(r->what);
	memset(r, 0, sizeof(*r));
}

/* Lookup helpers. */
void index_rec_copy(struct index_rec *dst, const struct index_rec *src)
{
	*dst = *src;
	dst->path = xstrdup(src->path);
	dst->uname = xstrdup(src->uname ? src->uname : "");
	dst->gname = xstrdup(src->gname ? src->gname : "");
	dst->link = xstrdup(src->link ? src->link : "");
	dst->archive = xstrdup(src->archive ? src->archive : "");
}

void index_rec_free(struct index_rec *r)
{
	free(r->path);
	free(r->uname);
	free(r->gname);
	free(r->link);
	free(r->archive);
	memset(r, 0, sizeof(*r));
}

int index_find(const char *index_path, const char *member,
	       struct index_rec *out, struct cairn_error *err)
{
	struct index_reader r;
	const struct index_rec *x;
	int rc, got;

	memset(out, 0, sizeof(*out));
	if ((rc = index_open(&r, index_path, err)))
		return rc;
	rc = CAIRN_ENOTFOUND;
	while ((got = index_next(&r, &x, err)) > 0)
		if (!strcmp(x->path, member) && rc == CAIRN_ENOTFOUND) {
			index_rec_copy(out, x);
			rc = CAIRN_OK;
		}
	if (got < 0) {
		index_rec_free(out);
		rc = -got;
	} else if (rc) {
		cairn_errf(err, CAIRN_ENOTFOUND, "%s is not in the archive; "
			   "see cairn ls", member);
	}
	index_close(&r);
	return rc;
}

/*
 * Does member path `path` fall under the operator's `pattern`: the same
 * path, a path below it (a directory), or a glob (as tar --wildcards:
 * '*' also matches '/') matching it or a directory above it. A trailing
 * '/' and a leading "./" in the pattern are ignored.
 */
bool index_match(const char *pattern, const char *path)
{
	size_t pl, l = strlen(path);
	char *p, *cut;
	bool m = false;

	while (!strncmp(pattern, "./", 2))
		pattern += 2;
	p = xstrdup(pattern);
	pl = strlen(p);
	while (pl > 1 && p[pl - 1] == '/')
		p[--pl] = '\0';
	if (!strcmp(p, ".") || (!strncmp(path, p, pl) &&
				(path[pl] == '\0' || path[pl] == '/'))) {
		m = true;
		goto out;
	}
	if (!strpbrk(p, "*?["))
		goto out;
	cut = xstrdup(path);
	for (size_t i = l;; i--) {
		if (i == l || cut[i] == '/') {
			cut[i] = '\0';
			if (!fnmatch(p, cut, 0)) {
				m = true;
				break;
			}
		}
		if (i == 0)
			break;
	}
	free(cut);
out:
	free(p);
	return m;
}

const char *index_type_name(char type)
{
	switch (type) {
	case 'f': return "file";
	case 'd': return "dir";
	case 'l': return "symlink";
	case 'h': return "hardlink";
	default: return "other";
	}
}

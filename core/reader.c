/*
 * Readers: an archive's bytes read at offsets (pread), whether the
 * archive is a local file or an object on a target (ranged gets through
 * backend.c). The seek path (ar_open_frames) reads frames through one,
 * so a restore from a target fetches only the frames it needs. Readers
 * stack: a reader may read through another (age decryption over a
 * target's ciphertext), through reader_new() with its own ops.
 *
 * A hint says which range the next reads fall in (a run of frames): a
 * target reader fetches up to that range's end in one get, never past
 * it, and at most WINDOW bytes at a time; without a hint it reads ahead
 * at most READAHEAD bytes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn.h"

#define WINDOW (8u << 20)
#define READAHEAD (1u << 20)

struct reader *reader_new(const struct reader_ops *ops, void *ctx,
			  uint64_t size, const char *what)
{
	struct reader *r = xcalloc(1, sizeof(*r));

	r->ops = ops;
	r->ctx = ctx;
	r->size = size;
	r->what = xstrdup(what);
	return r;
}

int reader_pread(struct reader *r, uint64_t off, void *buf, size_t len,
		 size_t *got, struct cairn_error *err)
{
	int rc;

	*got = 0;
	if (r->size != CAIRN_SIZE_UNKNOWN) {
		if (off >= r->size)
			return CAIRN_OK;
		if (len > r->size - off)
			len = (size_t)(r->size - off);
	}
	if (!len)
		return CAIRN_OK;
	rc = r->ops->pread(r->ctx, off, buf, len, got, err);
	r->delivered += *got;
	return rc;
}

int reader_read_at(void *rd, uint64_t off, size_t len, uint8_t *buf,
		   struct cairn_error *err)
{
	struct reader *r = rd;

	for (size_t done = 0, got; done < len; done += got) {
		int rc = reader_pread(r, off + done, buf + done, len - done,
				      &got, err);

		if (rc)
			return rc;
		if (!got)
			return cairn_errf(err, CAIRN_EINTEGRITY, "%s: ends at "
					  "%llu, before %llu", r->what,
					  (unsigned long long)(off + done),
					  (unsigned long long)(off + len));
	}
	return CAIRN_OK;
}

void reader_hint(struct reader *r, uint64_t off, uint64_t len)
{
	if (r->ops->hint)
		r->ops->hint(r->ctx, off, len);
}

uint64_t reader_fetched(const struct reader *r)
{
	return r->ops->fetched ? r->ops->fetched(r->ctx) : r->delivered;
}

void reader_close(struct reader *r)
{
	if (!r)
		return;
	if (r->ops->close)
		r->ops->close(r->ctx);
	free(r->what);
	free(r);
}

/* A local file ------------------------------------------------------ */

struct file_rd {
	int fd;
	char *path;
};

static int file_pread(void *ctx, uint64_t off, void *buf, size_t len,
		      size_t *got, struct cairn_error *err)
{
	struct file_rd *f = ctx;
	ssize_t n;

	do
		n = pread(f->fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno_err(err, CAIRN_EINTEGRITY, errno,
				 "cannot read %s", f->path);
	*got = (size_t)n;
	return CAIRN_OK;
}

static void file_close(void *ctx)
{
	struct file_rd *f = ctx;

	close(f->fd);
	free(f->path);
	free(f);
}

static const struct reader_ops file_ops = { file_pread, NULL, NULL,
					    file_close };

int reader_open_file(const char *path, struct reader **r,
		     struct cairn_error *err)
{
	struct file_rd *f;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*r = NULL;
	if (fd < 0 || fstat(fd, &st)) {
		int rc = errno_err(err, CAIRN_EINTEGRITY, errno,
				   "cannot read %s", path);

		if (fd >= 0)
			close(fd);
		return rc;
	}
	f = xcalloc(1, sizeof(*f));
	f->fd = fd;
	f->path = xstrdup(path);
	*r = reader_new(&file_ops, f, (uint64_t)st.st_size, path);
	return CAIRN_OK;
}

/* An object on a target ---------------------------------------------- */

struct target_rd {
	struct backend *b;  /* owned: closed with the reader */
	char *name;
	uint8_t *buf;       /* bytes [boff, boff + blen) of the object */
	uint64_t boff;
	size_t blen;
	uint64_t hoff, hend; /* the hinted range, hend 0: none */
	uint64_t fetched;    /* bytes the target delivered */
	size_t gets;
};

static int target_pread(void *ctx, uint64_t off, void *buf, size_t len,
			size_t *got, struct cairn_error *err)
{
	struct target_rd *t = ctx;
	uint64_t end;
	size_t want;
	int rc;

	if (off < t->boff || off >= t->boff + t->blen) {
		/* One get up to the hinted end, never past it. */
		end = off + (len > READAHEAD ? len : READAHEAD);
		if (t->hend && off >= t->hoff && off < t->hend)
			end = t->hend;
		if (end - off > WINDOW)
			end = off + (len > WINDOW ? len : WINDOW);
		want = (size_t)(end - off);
		t->buf = xrealloc(t->buf, want);
		t->boff = off;
		t->blen = 0;
		rc = backend_get_range(t->b, t->name, off, want, t->buf,
				       &t->blen, err);
		t->fetched += t->blen;
		t->gets++;
		if (rc)
			return rc;
	}
	want = (size_t)(t->boff + t->blen - off);
	*got = want < len ? want : len;
	memcpy(buf, t->buf + (off - t->boff), *got);
	return CAIRN_OK;
}

static void target_hint(void *ctx, uint64_t off, uint64_t len)
{
	struct target_rd *t = ctx;

	t->hoff = off;
	t->hend = off + len;
}

static uint64_t target_fetched(void *ctx)
{
	return ((struct target_rd *)ctx)->fetched;
}

static void target_close(void *ctx)
{
	struct target_rd *t = ctx;

	log_debug("target %s: %zu ranged gets of %s, %llu bytes",
		  t->b->t->name, t->gets, t->name,
		  (unsigned long long)t->fetched);
	backend_close(t->b);
	free(t->b);
	free(t->buf);
	free(t->name);
	free(t);
}

static const struct reader_ops target_ops = { target_pread, target_hint,
					      target_fetched, target_close };

struct reader *reader_open_target(struct backend *b, const char *name,
				  uint64_t size)
{
	struct target_rd *t = xcalloc(1, sizeof(*t));
	char *what = xasprintf("target %s: %s", b->t->name, name);
	struct reader *r;

	t->b = b;
	t->name = xstrdup(name);
	r = reader_new(&target_ops, t, size, what);
	free(what);
	return r;
}

/* Named readers (an incremental's older archives on a target) -------- */

void readers_add(struct readers *rs, const char *name, struct reader *r)
{
	rs->rd = xrealloc(rs->rd, (rs->n + 1) * sizeof(*rs->rd));
	rs->rd[rs->n] = r;
	strv_push(&rs->names, name);
	rs->n++;
}

struct reader *readers_find(const struct readers *rs, const char *name)
{
	for (size_t i = 0; rs && i < rs->n; i++)
		if (!strcmp(rs->names.v[i], name))
			return rs->rd[i];
	return NULL;
}

uint64_t readers_fetched(const struct readers *rs)
{
	uint64_t n = 0;

	for (size_t i = 0; rs && i < rs->n; i++)
		n += reader_fetched(rs->rd[i]);
	return n;
}

void readers_free(struct readers *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		reader_close(rs->rd[i]);
	free(rs->rd);
	strv_free(&rs->names);
	memset(rs, 0, sizeof(*rs));
}

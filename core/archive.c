/*
 * The archive writer. One pass over the data: each member is read once,
 * hashed into the manifest as it goes into libarchive, and the compressed
 * stream is hashed as it goes to disk. zstd compresses on its own worker
 * threads, so reading, hashing and compressing overlap.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>
#include <zstd.h>

#include "cairn.h"

enum { BUFSZ = 1 << 20, PEND_MAX = 4096 };

static const char *compression_name(enum compression c)
{
	return c == COMP_ZSTD ? "zstd" : c == COMP_GZIP ? "gzip" : "none";
}

/* What goes to disk: to the file and every tee. */
static int to_disk(void *ctx, const void *buf, size_t len)
{
	struct awriter *w = ctx;

	if (write_all(w->fd, buf, len)) {
		w->werrno = errno;
		return -1;
	}
	w->disk_bytes += len;
	for (int i = 0; i < w->ntees; i++) {
		struct aw_tee *t = &w->tees[i];

		if (t->rc == CAIRN_OK)
			t->rc = t->write(t->ctx, buf, len);
	}
	return 0;
}

/* The compressed bytes: counted (frame offsets are theirs), then hashed
 * and to disk, or through age when the archive is sealed (whose hash is
 * the ciphertext's). */
static int emit(struct awriter *w, const void *buf, size_t len)
{
	w->out_bytes += len;
	if (!w->cp) {
		EVP_DigestUpdate(w->sha, buf, len);
		return to_disk(w, buf, len);
	}
	if (crypt_put_write(w->cp, buf, len)) {
		if (!w->werrno)
			snprintf(w->cerr, sizeof(w->cerr), "%.*s",
				 (int)sizeof(w->cerr) - 1,
				 w->cp->enc.err.msg);
		return -1;
	}
	return 0;
}

int aw_seal(struct awriter *w, const struct age_recipients *r,
	    struct cairn_error *err)
{
	w->cp = xcalloc(1, sizeof(*w->cp));
	w->seal = r;
	return crypt_put_begin(w->cp, r, to_disk, w, err);
}

/*
 * Compress len bytes of the tar stream; `end` closes the frame (a zstd
 * frame, a gzip member), so the next byte starts an independent one
 * that a reader can decompress from its own offset.
 */
static int squeeze_zstd(struct awriter *w, const void *buf, size_t len,
			bool end)
{
	ZSTD_inBuffer in = { buf, len, 0 };
	size_t r;

	do {
		ZSTD_outBuffer out = { w->obuf, BUFSZ, 0 };

		r = ZSTD_compressStream2(w->zc, &out, &in,
					 end ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(r)) {
			snprintf(w->cerr, sizeof(w->cerr), "zstd: %s",
				 ZSTD_getErrorName(r));
			return -1;
		}
		if (out.pos && emit(w, w->obuf, out.pos))
			return -1;
	} while (end ? r != 0 : in.pos < in.size);
	return 0;
}

static int squeeze_gzip(struct awriter *w, const void *buf, size_t len,
			bool end)
{
	z_stream *z = w->gz;
	int r;

	z->next_in = (Bytef *)buf;
	z->avail_in = (uInt)len;
	do {
		z->next_out = w->obuf;
		z->avail_out = BUFSZ;
		r = deflate(z, end ? Z_FINISH : Z_NO_FLUSH);
		if (r == Z_STREAM_ERROR) {
			snprintf(w->cerr, sizeof(w->cerr), "zlib: %s",
				 z->msg ? z->msg : "deflate failed");
			return -1;
		}
		if (BUFSZ - z->avail_out &&
		    emit(w, w->obuf, BUFSZ - z->avail_out))
			return -1;
	} while (end ? r != Z_STREAM_END : z->avail_in || !z->avail_out);
	if (end && deflateReset(z) != Z_OK)
		return -1;
	return 0;
}

static int squeeze(struct awriter *w, const void *buf, size_t len,
		   bool end)
{
	switch (w->comp) {
	case COMP_ZSTD:
		return squeeze_zstd(w, buf, len, end);
	case COMP_GZIP:
		return squeeze_gzip(w, buf, len, end);
	case COMP_NONE:
		break;
	}
	return len ? emit(w, buf, len) : 0;
}

/* libarchive writes the tar format, unblocked, into the compressor. A
 * failure is kept in w (failed, with werrno or cerr), not returned:
 * libarchive in its FATAL state would never close its output filter,
 * whose buffers would leak; every call into it checks w->failed. */
static ssize_t on_write(struct archive *a, void *ctx, const void *buf,
			size_t len)
{
	struct awriter *w = ctx;

	(void)a;
	if (!w->failed && squeeze(w, buf, len, false))
		w->failed = true;
	if (!w->failed)
		w->in_bytes += len;
	return (ssize_t)len;
}

static int ar_err(struct awriter *w, struct cairn_error *err,
		  const char *what)
{
	int e = w->werrno ? w->werrno : archive_errno(w->a);

	if (w->werrno)
		return errno_err(err, 0, e, "%s", what);
	return cairn_errf(err, CAIRN_EFAIL, "%s: %s", what,
			  w->cerr[0] ? w->cerr : archive_error_string(w->a));
}

/*
 * End the open frame (if it holds anything): its members' index records
 * get its place and go to the index.
 */
static void pend_flush(struct awriter *w)
{
	for (size_t i = 0; i < w->npend; i++) {
		struct index_rec *r = &w->pend[i];

		if (!*r->archive) { /* carried ones keep their frame */
			r->frame_off = w->f_coff;
			r->frame_len = w->out_bytes - w->f_coff;
			r->frame_uoff = w->f_uoff;
		}
		index_writer_add(&w->ix, r);
		index_rec_free(r);
	}
	w->npend = 0;
}

static int frame_end(struct awriter *w, struct cairn_error *err)
{
	if (w->in_bytes == w->f_uoff) {
		pend_flush(w); /* only carried records */
		return CAIRN_OK;
	}
	/* A copied frame came complete: nothing to end. */
	if (!w->f_copied && squeeze(w, NULL, 0, true))
		return ar_err(w, err, "cannot write archive");
	pend_flush(w);
	w->f_copied = false;
	w->f_coff = w->out_bytes;
	w->f_uoff = w->in_bytes;
	w->nframes++;
	w->f_big = false;
	return CAIRN_OK;
}

/* Before a member of `size` bytes: a big member starts (and fills) its
 * own frame; small ones share a frame up to frame_size. */
static int frame_cut(struct awriter *w, uint64_t size,
		     struct cairn_error *err)
{
	uint64_t used = w->in_bytes - w->f_uoff;
	int rc = CAIRN_OK;

	/* Many records waiting (an incremental's unchanged files behind a
	 * small member) end the frame early: they are not held by the
	 * thousand. */
	if (used && (w->f_big || size >= w->frame_size ||
		     used + size > w->frame_size || w->npend >= PEND_MAX))
		rc = frame_end(w, err);
	w->f_big = size >= w->frame_size;
	return rc;
}

/* zstd's default job (8 MiB at level 3) is larger than a frame, so a
 * frame would go to one worker while the other idles, and the job
 * buffers would take most of the memory (42 MiB RSS on the bench tree,
 * 23 MiB with 1 MiB jobs, for 0.03% more bytes). A quarter frame it is,
 * and never below zstd's minimum. */
static void zstd_jobs(ZSTD_CCtx *zc, long frame_size)
{
	long job = frame_size / 4;

	if (job < 512 * 1024)
		job = 512 * 1024;
	ZSTD_CCtx_setParameter(zc, ZSTD_c_jobSize, (int)job);
}

static int compressor_open(struct awriter *w, const struct config *cfg,
			   struct cairn_error *err)
{
	long threads = cfg->threads ? cfg->threads
				    : sysconf(_SC_NPROCESSORS_ONLN);
	size_t r = 0;

	w->comp = cfg->compression;
	if (w->comp == COMP_ZSTD) {
		if (!(w->zc = ZSTD_createCCtx()))
			return cairn_errf(err, CAIRN_EFAIL, "out of memory");
		r = ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel,
					   (int)cfg->level);
		if (!ZSTD_isError(r))
			r = ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag,
						   1);
		/* A libzstd built without threads refuses workers: then
		 * one thread it is. */
		if (!ZSTD_isError(r) && threads > 1 &&
		    !ZSTD_isError(ZSTD_CCtx_setParameter(w->zc,
				ZSTD_c_nbWorkers, (int)threads)))
			zstd_jobs(w->zc, cfg->frame_size);
		if (ZSTD_isError(r))
			return cairn_errf(err, CAIRN_EFAIL, "cannot set up "
					  "compression: zstd: %s",
					  ZSTD_getErrorName(r));
	} else if (w->comp == COMP_GZIP) {
		w->gz = xcalloc(1, sizeof(z_stream));
		if (deflateInit2(w->gz, (int)cfg->level, Z_DEFLATED, 15 + 16,
				 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			free(w->gz);
			w->gz = NULL;
			return cairn_errf(err, CAIRN_EFAIL, "cannot set up "
					  "compression: zlib");
		}
	}
	return CAIRN_OK;
}

int aw_open(struct awriter *w, int afd, const struct config *cfg,
	    struct cairn_error *err)
{
	int rc, fd;

	memset(w, 0, sizeof(*w));
	w->fd = afd;
	w->sha = EVP_MD_CTX_new();
	w->msha = EVP_MD_CTX_new();
	w->buf = xmalloc(BUFSZ);
	w->obuf = xmalloc(BUFSZ);
	w->a = archive_write_new();
	w->last_uid = (uid_t)-1;
	w->last_gid = (gid_t)-1;
	w->frame_size = (uint64_t)cfg->frame_size;
	if (!w->sha || !w->msha || !w->a ||
	    !EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL))
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	if ((rc = compressor_open(w, cfg, err)))
		return rc;
	/* The index is spooled, never held in the heap; for a sealed
	 * archive in a memfd (memory, swap at worst), as its plaintext
	 * must not reach the disk. */
	fd = cfg->self ? memfd_create("cairn-index", MFD_CLOEXEC) : -1;
	if (!(w->ixf = fd >= 0 ? fdopen(fd, "w+") : cfg->self ? NULL
						       : tmpfile())) {
		if (fd >= 0)
			close(fd);
		return errno_err(err, 0, errno, "cannot create the index");
	}
	index_writer_open(&w->ix, w->ixf, compression_name(cfg->compression),
			  w->frame_size);
	/* pax restricted: plain ustar unless a name or size needs pax. */
	archive_write_set_format_pax_restricted(w->a);
	/* Unblocked: every byte reaches on_write as it is written, so the
	 * offset there is the stream's and frames end where members do. */
	archive_write_set_bytes_per_block(w->a, 0);
	archive_write_set_bytes_in_last_block(w->a, 1);
	if (archive_write_open2(w->a, w, NULL, on_write, NULL, NULL))
		return ar_err(w, err, "cannot start archive");
	w->links = archive_entry_linkresolver_new();
	archive_entry_linkresolver_set_strategy(w->links,
						archive_format(w->a));
	return CAIRN_OK;
}

/* Owner names as GNU tar stores them; cached, lookups are slow. */
static void set_owner(struct awriter *w, struct archive_entry *e,
		      const struct stat *st)
{
	if (st->st_uid != w->last_uid) {
		struct passwd *pw = getpwuid(st->st_uid);

		free(w->uname);
		w->uname = pw ? xstrdup(pw->pw_name) : NULL;
		w->last_uid = st->st_uid;
	}
	if (st->st_gid != w->last_gid) {
		struct group *gr = getgrgid(st->st_gid);

		free(w->gname);
		w->gname = gr ? xstrdup(gr->gr_name) : NULL;
		w->last_gid = st->st_gid;
	}
	if (w->uname)
		archive_entry_set_uname(e, w->uname);
	if (w->gname)
		archive_entry_set_gname(e, w->gname);
}

/*
 * ARCHIVE_WARN is a header written: a name that is not valid in the
 * locale's charset (Linux names are any bytes) goes out as pax
 * hdrcharset=BINARY, the exact bytes, which libarchive and GNU tar read
 * back unchanged.
 */
static int write_header(struct awriter *w, struct archive_entry *e,
			const char *member, struct cairn_error *err)
{
	int r = archive_write_header(w->a, e);

	if ((r != ARCHIVE_OK && r != ARCHIVE_WARN) || w->failed)
		return ar_err(w, err, "cannot write archive");
	if (r == ARCHIVE_WARN)
		log_debug("%s: %s", member, archive_error_string(w->a));
	return CAIRN_OK;
}

/* Copy exactly `size` bytes of fd into the current entry, hashing them.
 * A file that shrank is padded with zeros (the header is already out),
 * one that grew is cut: the manifest hashes what the archive holds. */
static int copy_data(struct awriter *w, int fd, uint64_t size,
		     const char *path, char hex[65], struct cairn_error *err)
{
	unsigned char md[32];
	uint64_t left = size;
	bool short_read = false;
	int rc;

	EVP_DigestInit_ex(w->msha, EVP_sha256(), NULL);
	while (left) {
		size_t want = left < BUFSZ ? (size_t)left : BUFSZ;
		ssize_t n = short_read ? 0 : read(fd, w->buf, want);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno_err(err, 0, errno, "cannot read %s",
					 path);
		}
		if (n == 0) {
			if (!short_read)
				log_warn("%s: file shrank while being read; "
					 "padded with zeros", path);
			short_read = true;
			memset(w->buf, 0, want);
			n = (ssize_t)want;
		}
		EVP_DigestUpdate(w->msha, w->buf, (size_t)n);
		if (archive_write_data(w->a, w->buf, (size_t)n) != n ||
		    w->failed)
			return ar_err(w, err, "cannot write archive");
		left -= (uint64_t)n;
		if (w->prog)
			progress_add(w->prog, (uint64_t)n);
		/* A big file must not hold up a stop. */
		if ((rc = stop_check(err)))
			return rc;
	}
	if (!short_read && read(fd, w->buf, 1) > 0)
		log_warn("%s: file changed as we read it", path);
	EVP_DigestFinal_ex(w->msha, md, NULL);
	hex_encode(md, 32, hex);
	return CAIRN_OK;
}

/* Open a regular file's bytes; st gets the size as opened now. A live
 * file may go (-1, *skipped); our own snapshot or dump must not (the
 * component would be missing from the archive). */
static int open_data(const char *path, const char *data_path,
		     struct stat *st, bool *skipped, struct cairn_error *err)
{
	const char *src = data_path ? data_path : path;
	struct stat now;
	int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOATIME);

	if (fd < 0 && errno == EPERM)
		fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && !data_path) {
		log_warn("%s: file removed before we read it", path);
		*skipped = true;
		return -1;
	}
	if (fd < 0) {
		errno_err(err, 0, errno, "cannot read %s", src);
		return -1;
	}
	if (!fstat(fd, &now)) {
		if (data_path)
			st->st_size = now.st_size;
		else
			*st = now;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return fd;
}

static int64_t ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* The index record of the member whose header is about to go out. */
static void rec_begin(struct awriter *w, struct index_rec *r,
		      struct archive_entry *e, const struct stat *st)
{
	const char *hl = archive_entry_hardlink(e);
	const char *sl = archive_entry_symlink(e);

	memset(r, 0, sizeof(*r));
	r->type = hl ? 'h' : S_ISDIR(st->st_mode) ? 'd'
	       : S_ISLNK(st->st_mode) ? 'l' : 'f';
	r->path = xstrdup(archive_entry_pathname(e));
	r->mode = st->st_mode & 07777;
	r->uid = st->st_uid;
	r->gid = st->st_gid;
	r->uname = xstrdup(archive_entry_uname(e) ? archive_entry_uname(e)
			   : "");
	r->gname = xstrdup(archive_entry_gname(e) ? archive_entry_gname(e)
			   : "");
	r->mtime_ns = ns(&st->st_mtim);
	r->ctime_ns = ns(&st->st_ctim);
	r->ino = st->st_ino;
	r->dev = st->st_dev;
	r->link = xstrdup(hl ? hl : sl ? sl : "");
	r->archive = xstrdup("");
	r->hdr_off = w->in_bytes;
}

/* The member is out, padding and all: its record waits for its frame. */
static void pend_push(struct awriter *w, const struct index_rec *r)
{
	if (w->npend == w->pcap) {
		w->pcap = w->pcap ? 2 * w->pcap : 64;
		w->pend = xrealloc(w->pend, w->pcap * sizeof(*w->pend));
	}
	w->pend[w->npend++] = *r;
}

static int rec_end(struct awriter *w, struct index_rec *r, const char *hex,
		   struct cairn_error *err)
{
	if (archive_write_finish_entry(w->a) != ARCHIVE_OK || w->failed) {
		index_rec_free(r);
		return ar_err(w, err, "cannot write archive");
	}
	if (hex)
		memcpy(r->sha256, hex, 65);
	pend_push(w, r);
	return CAIRN_OK;
}

/*
 * Frame reuse. A whole member (a database snapshot) that an incremental
 * holds again, with the same bytes and header fields as in the archive
 * it builds on, where it filled a frame of its own: that frame is
 * copied as it is instead of compressed again. It is checked first: it
 * must decompress (zstd checks its content checksum) to one plain ustar
 * header, exactly the bytes the member has now and zero padding, and
 * the copy must be the bytes checked. Anything else: compressed anew.
 */
enum { USTAR = 512 };

/* len bytes, or fewer at the end of the file; -1 on an error. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static uint64_t pad512(uint64_t n)
{
	return (n + 511) & ~(uint64_t)511;
}

static bool reuse_fits(const struct awriter *w, struct archive_entry *e,
		       const struct stat *st)
{
	const struct aw_reuse *o = &w->reuse;
	const struct index_rec *r = o->rec;
	const char *un = archive_entry_uname(e);
	const char *gn = archive_entry_gname(e);

	return r && w->comp == COMP_ZSTD && o->compression &&
	       !strcmp(o->compression, "zstd") && w->frame_size &&
	       o->frame_size && r->type == 'f' && !*r->archive &&
	       r->size == (uint64_t)st->st_size &&
	       r->size >= w->frame_size && r->size >= o->frame_size &&
	       r->frame_uoff == r->hdr_off &&
	       r->data_off - r->hdr_off == USTAR &&
	       !strcmp(r->path, archive_entry_pathname(e)) &&
	       r->mode == (st->st_mode & 07777) && r->uid == st->st_uid &&
	       r->gid == st->st_gid && r->mtime_ns == ns(&st->st_mtim) &&
	       !strcmp(r->uname, un ? un : "") &&
	       !strcmp(r->gname, gn ? gn : "");
}

/* Decompressed bytes [u, u + len) of the frame against the member: past
 * its header, the bytes fd reads next, then zeros. */
static bool reuse_cmp(struct awriter *w, int fd, const unsigned char *b,
		      size_t len, uint64_t u, uint64_t size)
{
	uint64_t dend = USTAR + size, end = USTAR + pad512(size);

	if (u + len > end)
		return false;
	for (size_t i = 0; i < len;) {
		uint64_t at = u + i;
		size_t k;

		if (at < USTAR) {
			i += (size_t)(USTAR - at) < len - i
			     ? (size_t)(USTAR - at) : len - i;
			continue;
		}
		if (at >= dend) {
			for (; i < len; i++)
				if (b[i])
					return false;
			break;
		}
		k = dend - at < len - i ? (size_t)(dend - at) : len - i;
		if (read_full(fd, w->buf, k) != (ssize_t)k ||
		    memcmp(w->buf, b + i, k))
			return false;
		EVP_DigestUpdate(w->msha, w->buf, k);
		i += k;
	}
	return true;
}

/* Pass one: does the frame at r in afd stand for fd's bytes? c gets
 * the SHA-256 of the compressed frame. */
static bool reuse_check(struct awriter *w, int afd, int fd,
			unsigned char *in, unsigned char *out, void *c)
{
	const struct index_rec *r = w->reuse.rec;
	ZSTD_DCtx *dz = ZSTD_createDCtx();
	uint64_t off = 0, u = 0;
	bool fits = dz != NULL, ended = false;

	EVP_DigestInit_ex(w->msha, EVP_sha256(), NULL);
	while (fits && off < r->frame_len) {
		uint64_t left = r->frame_len - off;
		ssize_t n = pread(afd, in, left < BUFSZ ? (size_t)left : BUFSZ,
				  (off_t)(r->frame_off + off));
		ZSTD_inBuffer ib = { in, n > 0 ? (size_t)n : 0, 0 };
		ZSTD_outBuffer ob;

		if (n < 0 && errno == EINTR)
			continue;
		if ((fits = n > 0 && !ended)) {
			EVP_DigestUpdate(c, in, (size_t)n);
			off += (uint64_t)n;
		}
		do {
			size_t z;

			ob = (ZSTD_outBuffer){ out, BUFSZ, 0 };
			z = ZSTD_decompressStream(dz, &ob, &ib);
			fits = fits && !ZSTD_isError(z) &&
			       reuse_cmp(w, fd, out, ob.pos, u, r->size);
			u += ob.pos;
			ended = fits && z == 0;
		} while (fits && !ended &&
			 (ib.pos < ib.size || ob.pos == ob.size));
		fits = fits && (!ended || ib.pos == ib.size);
	}
	ZSTD_freeDCtx(dz);
	return fits && ended && off == r->frame_len &&
	       u == USTAR + pad512(r->size) && read(fd, w->buf, 1) == 0;
}

/* Pass two: the same bytes into this archive. */
static int reuse_copy(struct awriter *w, int afd, unsigned char *in,
		      void *c, struct cairn_error *err)
{
	const struct index_rec *r = w->reuse.rec;
	EVP_MD_CTX *c2 = EVP_MD_CTX_new();
	unsigned char md[32], md2[32];
	uint64_t off = 0;
	int rc = CAIRN_OK;

	if (!c2 || !EVP_DigestInit_ex(c2, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(c2);
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	}
	while (!rc && off < r->frame_len) {
		uint64_t left = r->frame_len - off;
		ssize_t n = pread(afd, in, left < BUFSZ ? (size_t)left : BUFSZ,
				  (off_t)(r->frame_off + off));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = errno_err(err, CAIRN_EINTEGRITY, n ? errno : EIO,
				       "cannot read %s", w->reuse.archive);
		else if (emit(w, in, (size_t)n))
			rc = ar_err(w, err, "cannot write archive");
		else
			EVP_DigestUpdate(c2, in, (size_t)n);
		off += n > 0 ? (uint64_t)n : 0;
	}
	EVP_DigestFinal_ex(c, md, NULL);
	EVP_DigestFinal_ex(c2, md2, NULL);
	if (!rc && memcmp(md, md2, 32))
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s changed while a "
				"frame was copied from it", w->reuse.archive);
	EVP_MD_CTX_free(c2);
	return rc;
}

/* Copy the offered frame for the member if it fits (*done); r is the
 * member's record, hex gets its hash. */
static int reuse_frame(struct awriter *w, struct index_rec *r,
		       struct archive_entry *e, const struct stat *st, int fd,
		       char hex[65], bool *done, struct cairn_error *err)
{
	const struct index_rec *o = w->reuse.rec;
	unsigned char *in = NULL, *out = NULL, md[32];
	EVP_MD_CTX *c = NULL;
	int afd = -1, rc = CAIRN_OK;

	*done = false;
	if (!reuse_fits(w, e, st) ||
	    (afd = open(w->reuse.archive, O_RDONLY | O_CLOEXEC)) < 0 ||
	    !(c = EVP_MD_CTX_new()) ||
	    !EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		goto out;
	in = xmalloc(BUFSZ);
	out = xmalloc(BUFSZ);
	if (!reuse_check(w, afd, fd, in, out, c))
		goto out;
	EVP_DigestFinal_ex(w->msha, md, NULL);
	hex_encode(md, 32, hex);
	if (strcmp(hex, o->sha256))
		goto out;
	if ((rc = reuse_copy(w, afd, in, c, err)))
		goto out;
	r->size = o->size;
	r->data_off = w->in_bytes + USTAR;
	w->in_bytes += USTAR + pad512(o->size);
	w->f_copied = *done = true;
	w->reused++;
	w->reused_bytes += o->size;
	if (w->prog)
		progress_add(w->prog, o->size);
out:
	/* Not copied: the member is read again from its start. */
	if (!*done && !rc && lseek(fd, 0, SEEK_SET))
		rc = errno_err(err, 0, errno, "cannot read %s",
			       archive_entry_pathname(e));
	if (afd >= 0)
		close(afd);
	EVP_MD_CTX_free(c);
	free(in);
	free(out);
	return rc;
}

/* Header and bytes of one member, with its manifest line and index
 * record. */
static int put_member(struct awriter *w, struct archive_entry *e,
		      const struct stat *st, int fd, const char *path,
		      const char *member, struct cairn_error *err)
{
	const char *hl = archive_entry_hardlink(e);
	const struct manifest_entry *m = NULL;
	struct index_rec r;
	char hex[65];
	int rc;

	if ((rc = frame_cut(w, (uint64_t)archive_entry_size(e), err)))
		return rc;
	rec_begin(w, &r, e, st);
	if (fd >= 0 && !hl && w->reuse.rec) {
		bool done;

		if ((rc = reuse_frame(w, &r, e, st, fd, hex, &done, err))) {
			index_rec_free(&r);
			return rc;
		}
		if (done) {
			manifest_add(&w->man, hex, member);
			memcpy(r.sha256, hex, 65);
			pend_push(w, &r);
			return CAIRN_OK;
		}
	}
	if ((rc = write_header(w, e, member, err))) {
		index_rec_free(&r);
		return rc;
	}
	r.size = (uint64_t)archive_entry_size(e);
	r.data_off = w->in_bytes;
	if (fd >= 0 && hl) {
		/* A second name of a file already stored: same bytes. */
		if ((m = manifest_find(&w->man, hl)))
			manifest_add(&w->man, m->hex, member);
	} else if (fd >= 0) {
		rc = copy_data(w, fd, (uint64_t)st->st_size, path, hex, err);
		if (rc) {
			index_rec_free(&r);
			return rc;
		}
		manifest_add(&w->man, hex, member);
	}
	return rec_end(w, &r, m ? m->hex : fd >= 0 && !hl ? hex : NULL,
		       err);
}

int aw_add(struct awriter *w, const char *path, const char *data_path,
	   const char *member, const struct stat *st0, bool *skipped,
	   struct cairn_error *err)
{
	struct archive_entry *e = archive_entry_new(), *spare = NULL;
	struct stat st = *st0;
	char target[4096];
	int fd = -1, rc = CAIRN_EFAIL;
	ssize_t tl;

	*skipped = false;
	if (S_ISREG(st.st_mode)) {
		fd = open_data(path, data_path, &st, skipped, err);
		if (fd < 0) {
			rc = *skipped ? CAIRN_OK : err->code;
			goto out;
		}
	} else if (S_ISLNK(st.st_mode)) {
		tl = readlink(path, target, sizeof(target) - 1);
		if (tl < 0) {
			rc = errno_err(err, 0, errno, "cannot read link %s",
				       path);
			goto out;
		}
		target[tl] = '\0';
		archive_entry_set_symlink(e, target);
	} else if (!S_ISDIR(st.st_mode)) {
		/* Sockets, fifos, devices: not application data. */
		log_warn("%s: not a regular file, directory or link; skipped",
			 path);
		*skipped = true;
		rc = CAIRN_OK;
		goto out;
	}
	archive_entry_copy_stat(e, &st);
	archive_entry_copy_pathname(e, member);
	set_owner(w, e, &st);
	if (!data_path)
		archive_entry_linkify(w->links, &e, &spare);
	rc = put_member(w, e, &st, fd, path, member, err);
out:
	memset(&w->reuse, 0, sizeof(w->reuse)); /* one member's offer */
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	archive_entry_free(spare);
	return rc;
}

/* A generated member's bytes: from memory, or (data NULL) read from f,
 * a spool, a buffer at a time. */
static int put_bytes(struct awriter *w, const char *data, FILE *f,
		     size_t len)
{
	if (data)
		return archive_write_data(w->a, data, len) == (la_ssize_t)len
		       && !w->failed ? 0 : -1;
	while (len) {
		size_t k = len < BUFSZ ? len : BUFSZ;

		if (fread(w->buf, 1, k, f) != k ||
		    archive_write_data(w->a, w->buf, k) != (la_ssize_t)k ||
		    w->failed)
			return -1;
		len -= k;
	}
	return 0;
}

static int add_buffer(struct awriter *w, const char *member,
		      const char *data, FILE *f, size_t len, const char *hex,
		      struct cairn_error *err)
{
	struct archive_entry *e = archive_entry_new();
	struct index_rec r;
	struct stat st;
	int rc = CAIRN_EFAIL;

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0600;
	st.st_mtim.tv_sec = time(NULL);
	st.st_uid = geteuid();
	st.st_gid = getegid();
	archive_entry_copy_stat(e, &st);
	archive_entry_set_pathname(e, member);
	archive_entry_set_size(e, (la_int64_t)len);
	if ((rc = frame_cut(w, len, err)))
		goto out;
	rec_begin(w, &r, e, &st);
	if ((rc = write_header(w, e, member, err))) {
		index_rec_free(&r);
		goto out;
	}
	r.size = len;
	r.data_off = w->in_bytes;
	if (put_bytes(w, data, f, len)) {
		index_rec_free(&r);
		rc = ar_err(w, err, "cannot write archive");
		goto out;
	}
	rc = rec_end(w, &r, hex, err);
out:
	archive_entry_free(e);
	return rc;
}

int aw_add_buffer(struct awriter *w, const char *member, const char *data,
		  size_t len, bool in_manifest, struct cairn_error *err)
{
	unsigned char md[32];
	char hex[65];

	EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
	hex_encode(md, 32, hex);
	if (in_manifest)
		manifest_add(&w->man, hex, member);
	return add_buffer(w, member, data, NULL, len, hex, err);
}

void aw_index_add(struct awriter *w, const struct index_rec *r)
{
	index_writer_add(&w->ix, r);
}

/* A record of a file another archive holds (an incremental's unchanged
 * file, r->archive naming it): it takes its place among this archive's
 * records, in member order, with that archive's offsets and frame. */
void aw_index_carry(struct awriter *w, const struct index_rec *r)
{
	struct cairn_error err;
	struct index_rec c;

	index_rec_copy(&c, r);
	pend_push(w, &c);
	/* Nothing of this archive's own waits for the open frame: no need
	 * to hold the record. */
	if (w->in_bytes == w->f_uoff) {
		pend_flush(w);
		return;
	}
	/* An unchanged tree behind one small changed file would still pile
	 * up here until the next member of our own: end the frame now. A
	 * failure sticks in werrno and fails aw_close. */
	if (w->npend >= PEND_MAX && frame_end(w, &err) && !w->werrno)
		w->werrno = EIO;
}

/* The index, complete, as the last member INDEX in a frame of its own
 * (records of every earlier frame are in it). */
static int write_index_member(struct awriter *w, struct cairn_error *err)
{
	long len;
	int rc;

	if ((rc = frame_end(w, err)) ||
	    (rc = index_writer_close(&w->ix, "INDEX", err)))
		return rc;
	w->ix_done = true;
	/* Streamed from the spool: an index of any size, never whole in
	 * memory. */
	if ((len = ftell(w->ixf)) < 0 || fseek(w->ixf, 0, SEEK_SET))
		return errno_err(err, 0, errno, "cannot read the index");
	rc = add_buffer(w, "INDEX", NULL, w->ixf, (size_t)len, NULL, err);
	if (!rc) {
		w->npend = 0; /* INDEX has no record of its own */
		index_rec_free(&w->pend[0]);
	}
	return rc;
}

int aw_close(struct awriter *w, char hex[65], struct cairn_error *err)
{
	unsigned char md[32];
	int rc;

	if (w->werrno || w->failed)
		return ar_err(w, err, "cannot write archive");
	if ((rc = write_index_member(w, err)))
		return rc;
	if (archive_write_close(w->a) != ARCHIVE_OK || w->failed)
		return ar_err(w, err, "cannot finish archive");
	if (squeeze(w, NULL, 0, true))
		return ar_err(w, err, "cannot finish archive");
	if (!w->cp) {
		EVP_DigestFinal_ex(w->sha, md, NULL);
		hex_encode(md, 32, hex);
	} else if (crypt_put_end(w->cp, hex, err)) {
		return w->werrno ? ar_err(w, err, "cannot write archive")
				 : err->code;
	}
	return CAIRN_OK;
}

/* n bytes of the index to its file: hashed, or through age. */
static int index_put(struct awriter *w, struct crypt_put *cp, void *c,
		     int fd, size_t n, const char *path,
		     struct cairn_error *err)
{
	if (w->cp)
		return crypt_put_buf(cp, w->buf, n, path, err);
	EVP_DigestUpdate(c, w->buf, n);
	return write_all(fd, w->buf, n) ? errno_err(err, 0, errno, "cannot "
						   "write %s", path)
					: CAIRN_OK;
}

int aw_index_save(struct awriter *w, const char *path, char hex[65],
		  struct cairn_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	struct crypt_put cp = { .fd = -1 };
	unsigned char md[32];
	size_t n;
	int rc = CAIRN_OK;

	if (fd < 0 || !c || !w->ix_done || fseek(w->ixf, 0, SEEK_SET) ||
	    !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		rc = errno_err(err, 0, errno, "cannot write %s", path);
		goto out;
	}
	if (w->cp)
		rc = crypt_put_fd(&cp, w->seal, fd, err);
	while (!rc && (n = fread(w->buf, 1, BUFSZ, w->ixf)) > 0)
		rc = index_put(w, &cp, c, fd, n, path, err);
	if (!rc && ferror(w->ixf))
		rc = errno_err(err, 0, errno, "cannot read the index");
	/* the file's hash: the ciphertext's when sealed */
	if (!rc && w->cp) {
		rc = crypt_put_end(&cp, hex, err);
	} else if (!rc) {
		EVP_DigestFinal_ex(c, md, NULL);
		hex_encode(md, 32, hex);
	}
	if (!rc && fsync(fd))
		rc = errno_err(err, 0, errno, "cannot write %s", path);
out:
	if (fd >= 0 && close(fd) && !rc)
		rc = errno_err(err, 0, errno, "cannot write %s", path);
	if (w->cp)
		crypt_put_free(&cp);
	EVP_MD_CTX_free(c);
	return rc;
}

void aw_free(struct awriter *w)
{
	if (w->a)
		archive_write_free(w->a);
	if (w->links)
		archive_entry_linkresolver_free(w->links);
	EVP_MD_CTX_free(w->sha);
	EVP_MD_CTX_free(w->msha);
	manifest_free(&w->man);
	if (w->zc)
		ZSTD_freeCCtx(w->zc);
	if (w->gz) {
		deflateEnd(w->gz);
		free(w->gz);
	}
	for (size_t i = 0; i < w->npend; i++)
		index_rec_free(&w->pend[i]);
	free(w->pend);
	sb_free(&w->ix.line);
	if (w->ixf)
		fclose(w->ixf);
	if (w->cp)
		crypt_put_free(w->cp);
	free(w->cp);
	free(w->obuf);
	free(w->buf);
	free(w->uname);
	free(w->gname);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

int ar_open_read(const char *path, struct archive **ap,
		 struct cairn_error *err)
{
	struct archive *a = archive_read_new();

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_filename(a, path, 1 << 20) != ARCHIVE_OK) {
		int rc = cairn_errf(err, CAIRN_EINTEGRITY, "cannot read %s: %s",
				    path, archive_error_string(a));

		archive_read_free(a);
		*ap = NULL;
		return rc;
	}
	*ap = a;
	return CAIRN_OK;
}

int ar_copy_data(struct archive *a, int fd, const char *what, char hex[65],
		 uint64_t *bytes, struct cairn_error *err)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char md[32];
	uint64_t total = 0;
	int rc = CAIRN_EFAIL;

	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		rc = cairn_errf(err, CAIRN_EFAIL, "out of memory");
		goto out;
	}
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(a, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			rc = cairn_errf(err, CAIRN_EINTEGRITY,
					"%s: archive damaged: %s", what,
					archive_error_string(a));
			goto out;
		}
		/* tar has no holes unless sparse; keep offsets honest. */
		if ((uint64_t)off != total) {
			rc = cairn_errf(err, CAIRN_EINTEGRITY,
					"%s: sparse member not supported",
					what);
			goto out;
		}
		EVP_DigestUpdate(c, buf, len);
		total += len;
		for (const char *p = buf; fd >= 0 && len;) {
			ssize_t n = write(fd, p, len);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rc = errno_err(err, 0, errno,
					       "cannot write %s", what);
				goto out;
			}
			p += n;
			len -= (size_t)n;
		}
	}
	EVP_DigestFinal_ex(c, md, NULL);
	hex_encode(md, 32, hex);
	if (bytes)
		*bytes = total;
	rc = CAIRN_OK;
out:
	EVP_MD_CTX_free(c);
	return rc;
}

/*
 * Reading frames: a tar stream made of some frames of an archive file,
 * each decompressed on its own, one after the other. A frame must end
 * exactly at its length: the index and the file agree, or it is an
 * integrity error.
 */
struct fsrc {
	struct reader *rd;
	bool own;             /* rd is closed with the source */
	enum compression comp;
	struct ar_frame *f;
	size_t n, i;
	uint64_t used;        /* compressed bytes of frame i consumed */
	bool ended;           /* the decompressor saw frame i end */
	ZSTD_DCtx *dz;
	z_stream *gz;
	unsigned char *in, *out;
	size_t in_len, in_pos;
	uint64_t *read_bytes; /* compressed bytes read, if counted */
};

static void fsrc_free(struct fsrc *s)
{
	if (s->dz)
		ZSTD_freeDCtx(s->dz);
	if (s->gz) {
		inflateEnd(s->gz);
		free(s->gz);
	}
	if (s->own)
		reader_close(s->rd);
	free(s->f);
	free(s->in);
	free(s->out);
	free(s);
}

static int fsrc_close(struct archive *a, void *ctx)
{
	(void)a;
	fsrc_free(ctx);
	return ARCHIVE_OK;
}

/* "frame at OFF: why" (why NULL: the frame is not len bytes long);
 * libarchive's own printf knows no %llu. */
static void frame_error(struct archive *a, const struct ar_frame *f,
			const char *why)
{
	char m[600];

	if (why)
		snprintf(m, sizeof(m), "frame at %llu: %s",
			 (unsigned long long)f->off, why);
	else
		snprintf(m, sizeof(m), "frame at %llu does not end at its "
			 "%llu bytes", (unsigned long long)f->off,
			 (unsigned long long)f->len);
	archive_set_error(a, EIO, "%s", m);
}

/* The run of adjacent frames from frame i: the reader may fetch it in
 * one go. */
static void fsrc_hint(struct fsrc *s)
{
	uint64_t end = s->f[s->i].off + s->f[s->i].len;

	for (size_t j = s->i + 1; j < s->n && s->f[j].off == end; j++)
		end += s->f[j].len;
	reader_hint(s->rd, s->f[s->i].off, end - s->f[s->i].off);
}

/* More compressed input of frame i; false on a read error. */
static bool fsrc_fill(struct archive *a, struct fsrc *s)
{
	const struct ar_frame *f = &s->f[s->i];
	uint64_t left = f->len - s->used;
	size_t want = left < BUFSZ ? (size_t)left : BUFSZ, n = 0;
	struct cairn_error e = { 0, "" };

	if (!s->used)
		fsrc_hint(s);
	if (reader_pread(s->rd, f->off + s->used, s->in, want, &n, &e) ||
	    !n) {
		frame_error(a, f, n || *e.msg ? e.msg : "file too short");
		return false;
	}
	s->in_len = (size_t)n;
	s->in_pos = 0;
	s->used += (uint64_t)n;
	if (s->read_bytes)
		*s->read_bytes += (uint64_t)n;
	return true;
}

/* Decompress some input into out; the count, or -1. */
static ssize_t fsrc_inflate(struct archive *a, struct fsrc *s)
{
	if (s->comp == COMP_ZSTD) {
		ZSTD_inBuffer in = { s->in, s->in_len, s->in_pos };
		ZSTD_outBuffer out = { s->out, BUFSZ, 0 };
		size_t r = ZSTD_decompressStream(s->dz, &out, &in);

		if (ZSTD_isError(r)) {
			archive_set_error(a, EIO, "zstd: %s",
					  ZSTD_getErrorName(r));
			return -1;
		}
		s->in_pos = in.pos;
		s->ended = r == 0;
		return (ssize_t)out.pos;
	}
	if (s->comp == COMP_GZIP) {
		int r;

		s->gz->next_in = s->in + s->in_pos;
		s->gz->avail_in = (uInt)(s->in_len - s->in_pos);
		s->gz->next_out = s->out;
		s->gz->avail_out = BUFSZ;
		r = inflate(s->gz, Z_NO_FLUSH);
		if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) {
			archive_set_error(a, EIO, "gzip: %s", s->gz->msg ?
					  s->gz->msg : "bad data");
			return -1;
		}
		s->in_pos = s->in_len - s->gz->avail_in;
		s->ended = r == Z_STREAM_END;
		return (ssize_t)(BUFSZ - s->gz->avail_out);
	}
	memcpy(s->out, s->in + s->in_pos, s->in_len - s->in_pos);
	s->ended = s->used == s->f[s->i].len;
	{
		size_t n = s->in_len - s->in_pos;

		s->in_pos = s->in_len;
		return (ssize_t)n;
	}
}

/* The next frame: the decompressor starts afresh. */
static void fsrc_next(struct fsrc *s)
{
	s->i++;
	s->used = 0;
	s->in_len = s->in_pos = 0;
	s->ended = false;
	if (s->dz)
		ZSTD_DCtx_reset(s->dz, ZSTD_reset_session_only);
	if (s->gz)
		inflateReset(s->gz);
}

static la_ssize_t fsrc_read(struct archive *a, void *ctx,
			    const void **buf)
{
	struct fsrc *s = ctx;

	*buf = s->out;
	while (s->i < s->n) {
		const struct ar_frame *f = &s->f[s->i];
		ssize_t got;

		if (s->ended) {
			if (s->in_pos < s->in_len || s->used < f->len) {
				frame_error(a, f, NULL);
				return -1;
			}
			fsrc_next(s);
			continue;
		}
		if (s->in_pos == s->in_len && s->used < f->len &&
		    !fsrc_fill(a, s))
			return -1;
		if ((got = fsrc_inflate(a, s)) < 0)
			return -1;
		if (got)
			return got;
		/* All its bytes in, nothing more out, and no end. */
		if (!s->ended && s->in_pos == s->in_len &&
		    s->used == f->len) {
			frame_error(a, f, NULL);
			return -1;
		}
	}
	return 0;
}

static int open_frames(struct reader *rd, bool own, enum compression comp,
		       const struct ar_frame *f, size_t n,
		       uint64_t *read_bytes, struct archive **ap,
		       struct cairn_error *err)
{
	struct fsrc *s = xcalloc(1, sizeof(*s));
	struct archive *a;

	*ap = NULL;
	s->own = own;
	s->comp = comp;
	s->f = xmalloc((n ? n : 1) * sizeof(*f));
	if (n) /* none: a component with nothing in this archive */
		memcpy(s->f, f, n * sizeof(*f));
	s->n = n;
	s->in = xmalloc(BUFSZ);
	s->out = xmalloc(BUFSZ);
	s->read_bytes = read_bytes;
	s->rd = rd;
	if (comp == COMP_ZSTD)
		s->dz = ZSTD_createDCtx();
	if (comp == COMP_GZIP) {
		s->gz = xcalloc(1, sizeof(z_stream));
		if (inflateInit2(s->gz, 15 + 16) != Z_OK) {
			free(s->gz);
			s->gz = NULL;
		}
	}
	if ((comp == COMP_ZSTD && !s->dz) || (comp == COMP_GZIP && !s->gz)) {
		fsrc_free(s);
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	}
	a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open2(a, s, NULL, fsrc_read, NULL, fsrc_close)) {
		int rc = cairn_errf(err, CAIRN_EINTEGRITY, "cannot read %s: "
				    "%s", rd->what, archive_error_string(a));

		archive_read_free(a);
		return rc;
	}
	*ap = a;
	return CAIRN_OK;
}

int ar_open_frames_rd(struct reader *rd, enum compression comp,
		      const struct ar_frame *f, size_t n,
		      uint64_t *read_bytes, struct archive **ap,
		      struct cairn_error *err)
{
	return open_frames(rd, false, comp, f, n, read_bytes, ap, err);
}

/* The local file path's frames: a file reader, closed with *ap. */
int ar_open_frames(const char *path, enum compression comp,
		   const struct ar_frame *f, size_t n, uint64_t *read_bytes,
		   struct archive **ap, struct cairn_error *err)
{
	struct reader *rd;
	int rc;

	*ap = NULL;
	if ((rc = reader_open_file(path, &rd, err)))
		return rc;
	return open_frames(rd, true, comp, f, n, read_bytes, ap, err);
}

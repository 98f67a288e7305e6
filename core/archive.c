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
#include <unistd.h>

#include <openssl/evp.h>

#include "cairn.h"

enum { BUFSZ = 1 << 20 };

static ssize_t on_write(struct archive *a, void *ctx, const void *buf,
			size_t len)
{
	struct awriter *w = ctx;
	const char *p = buf;
	size_t left = len;

	while (left) {
		ssize_t n = write(w->fd, p, left);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			w->werrno = errno;
			archive_set_error(a, errno, "%s", strerror(errno));
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	EVP_DigestUpdate(w->sha, buf, len);
	w->out_bytes += len;
	for (int i = 0; i < w->ntees; i++) {
		struct aw_tee *t = &w->tees[i];

		if (t->rc == CAIRN_OK)
			t->rc = t->write(t->ctx, buf, len);
	}
	return (ssize_t)len;
}

static int ar_err(struct awriter *w, struct cairn_error *err,
		  const char *what)
{
	int e = w->werrno ? w->werrno : archive_errno(w->a);

	if (w->werrno)
		return errno_err(err, 0, e, "%s", what);
	return cairn_errf(err, CAIRN_EFAIL, "%s: %s", what,
			  archive_error_string(w->a));
}

int aw_open(struct awriter *w, int fd, const struct config *cfg,
	    struct cairn_error *err)
{
	char opt[32];
	int r = ARCHIVE_OK;

	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->sha = EVP_MD_CTX_new();
	w->msha = EVP_MD_CTX_new();
	w->buf = xmalloc(BUFSZ);
	w->a = archive_write_new();
	w->last_uid = (uid_t)-1;
	w->last_gid = (gid_t)-1;
	if (!w->sha || !w->msha || !w->a ||
	    !EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL))
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	/* pax restricted: plain ustar unless a name or size needs pax. */
	archive_write_set_format_pax_restricted(w->a);
	switch (cfg->compression) {
	case COMP_ZSTD:
		r = archive_write_add_filter_zstd(w->a);
		snprintf(opt, sizeof(opt), "%ld", cfg->level);
		if (r == ARCHIVE_OK)
			r = archive_write_set_filter_option(
				w->a, "zstd", "compression-level", opt);
		snprintf(opt, sizeof(opt), "%ld",
			 cfg->threads ? cfg->threads
				      : sysconf(_SC_NPROCESSORS_ONLN));
		if (r == ARCHIVE_OK)
			r = archive_write_set_filter_option(w->a, "zstd",
							    "threads", opt);
		break;
	case COMP_GZIP:
		r = archive_write_add_filter_gzip(w->a);
		snprintf(opt, sizeof(opt), "%ld", cfg->level);
		if (r == ARCHIVE_OK)
			r = archive_write_set_filter_option(
				w->a, "gzip", "compression-level", opt);
		break;
	case COMP_NONE:
		break;
	}
	if (r != ARCHIVE_OK)
		return ar_err(w, err, "cannot set up compression");
	/* Compressed output needs no padding to a 10 KiB tape block. */
	archive_write_set_bytes_in_last_block(w->a, 1);
	/* 1 MiB writes instead of 10 KiB: fewer syscalls, a faster fsync
	 * and a smaller compressor backlog (measured in bench/). */
	archive_write_set_bytes_per_block(w->a, 1 << 20);
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

	if (r == ARCHIVE_WARN)
		log_debug("%s: %s", member, archive_error_string(w->a));
	else if (r != ARCHIVE_OK)
		return ar_err(w, err, "cannot write archive");
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
		if (archive_write_data(w->a, w->buf, (size_t)n) != n)
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

int aw_add(struct awriter *w, const char *path, const char *data_path,
	   const char *member, const struct stat *st0, bool *skipped,
	   struct cairn_error *err)
{
	struct archive_entry *e = archive_entry_new(), *spare = NULL;
	struct stat st = *st0;
	char target[4096], hex[65];
	int fd = -1, rc = CAIRN_EFAIL;
	ssize_t tl;

	*skipped = false;
	if (S_ISREG(st.st_mode)) {
		const char *src = data_path ? data_path : path;

		fd = open(src, O_RDONLY | O_CLOEXEC | O_NOATIME);
		if (fd < 0 && errno == EPERM)
			fd = open(src, O_RDONLY | O_CLOEXEC);
		/* A live file may go; our own snapshot or dump must not
		 * (the component would be missing from the archive). */
		if (fd < 0 && errno == ENOENT && !data_path) {
			log_warn("%s: file removed before we read it", path);
			*skipped = true;
			rc = CAIRN_OK;
			goto out;
		}
		if (fd < 0) {
			rc = errno_err(err, 0, errno, "cannot read %s", src);
			goto out;
		}
		/* The size we will store is the size as opened now. */
		struct stat now;

		if (!fstat(fd, &now)) {
			if (data_path) {
				st.st_size = now.st_size;
			} else {
				st = now;
			}
		}
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
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
	if ((rc = write_header(w, e, member, err)))
		goto out;
	if (fd >= 0 && archive_entry_hardlink(e)) {
		/* A second name of a file already stored: same bytes. */
		const struct manifest_entry *m =
			manifest_find(&w->man, archive_entry_hardlink(e));

		if (m)
			manifest_add(&w->man, m->hex, member);
	} else if (fd >= 0) {
		rc = copy_data(w, fd, (uint64_t)st.st_size, path, hex, err);
		if (rc)
			goto out;
		manifest_add(&w->man, hex, member);
	}
	rc = CAIRN_OK;
out:
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	archive_entry_free(spare);
	return rc;
}

int aw_add_buffer(struct awriter *w, const char *member, const char *data,
		  size_t len, bool in_manifest, struct cairn_error *err)
{
	struct archive_entry *e = archive_entry_new();
	unsigned char md[32];
	char hex[65];
	int rc = CAIRN_EFAIL;

	archive_entry_set_pathname(e, member);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, time(NULL), 0);
	if ((rc = write_header(w, e, member, err)))
		goto out;
	if (archive_write_data(w->a, data, len) != (la_ssize_t)len) {
		rc = ar_err(w, err, "cannot write archive");
		goto out;
	}
	if (in_manifest) {
		EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
		hex_encode(md, 32, hex);
		manifest_add(&w->man, hex, member);
	}
	rc = CAIRN_OK;
out:
	archive_entry_free(e);
	return rc;
}

int aw_close(struct awriter *w, char hex[65], struct cairn_error *err)
{
	unsigned char md[32];

	if (archive_write_close(w->a) != ARCHIVE_OK)
		return ar_err(w, err, "cannot finish archive");
	EVP_DigestFinal_ex(w->sha, md, NULL);
	hex_encode(md, 32, hex);
	return CAIRN_OK;
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

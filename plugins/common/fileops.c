/* Archive storage in a directory, shared by the local and usb targets. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fileops.h"

struct cairn_txn {
	struct dir_store *s;
	int fd;
	char *tmp, *final;
	uint64_t size, done;
};

static bool name_ok(const char *name)
{
	return *name && *name != '.' && !strchr(name, '/') &&
	       strlen(name) <= 255;
}

static bool stopped(const struct dir_store *s)
{
	return s->host && s->host->stopped && s->host->stopped(s->host);
}

static char *join(const char *dir, const char *pre, const char *name,
		  const char *post)
{
	char *p;

	if (asprintf(&p, "%s/%s%s%s", dir, pre, name, post) < 0)
		return NULL;
	return p;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int dir_mkdir_p(const char *path, unsigned mode)
{
	char *p = strdup(path);
	int rc = 0;

	if (!p)
		return -1;
	for (char *s = p + 1; ; s++) {
		if (*s && *s != '/')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, mode) && errno != EEXIST) {
			rc = -1;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return rc;
}

void dir_fmt_bytes(uint64_t n, char out[32])
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(out, 32, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

int dir_begin(struct dir_store *s, const char *name, uint64_t size,
	      struct cairn_txn **txn, struct cairn_error *err)
{
	struct cairn_txn *t;

	if (!name_ok(name))
		return cairn_errf(err, CAIRN_EFAIL, "bad object name %s",
				  name);
	if (!(t = calloc(1, sizeof(*t))))
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	t->s = s;
	t->size = size;
	t->tmp = join(s->dir, ".", name, ".partial");
	t->final = join(s->dir, "", name, "");
	if (!t->tmp || !t->final) {
		dir_abort(t);
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	}
	t->fd = open(t->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (t->fd < 0) {
		int rc = cairn_errnof(err, 0, errno, "cannot write %s",
				      t->tmp);

		free(t->tmp);
		t->tmp = NULL;
		dir_abort(t);
		return rc;
	}
	*txn = t;
	return CAIRN_OK;
}

int dir_write(struct cairn_txn *t, const void *buf, size_t len,
	      struct cairn_error *err)
{
	if (stopped(t->s))
		return cairn_errf(err, CAIRN_EFAIL, "%s: interrupted",
				  t->tmp);
	for (size_t w = 0; w < len;) {
		ssize_t k = write(t->fd, (const char *)buf + w, len - w);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return cairn_errnof(err, 0, errno, "cannot write %s",
					    t->tmp);
		w += (size_t)k;
	}
	t->done += len;
	return CAIRN_OK;
}

int dir_commit(struct cairn_txn *t, const char *sha256_hex,
	       struct cairn_error *err)
{
	int rc = CAIRN_EFAIL, fd = t->fd;

	(void)sha256_hex; /* the core reads the object back */
	t->fd = -1;
	if (t->size != CAIRN_SIZE_UNKNOWN && t->done != t->size) {
		cairn_errf(err, CAIRN_EFAIL, "%s: wrote %llu bytes of %llu",
			   t->tmp, (unsigned long long)t->done,
			   (unsigned long long)t->size);
		close(fd);
		goto out;
	}
	if (fsync(fd)) {
		rc = cairn_errnof(err, 0, errno, "cannot write %s", t->tmp);
		close(fd);
		goto out;
	}
	if (close(fd)) {
		rc = cairn_errnof(err, 0, errno, "cannot write %s", t->tmp);
		goto out;
	}
	if (rename(t->tmp, t->final)) {
		rc = cairn_errnof(err, 0, errno, "cannot rename %s", t->tmp);
		goto out;
	}
	fsync_dir(t->s->dir);
	free(t->tmp);
	t->tmp = NULL; /* published: nothing for abort to remove */
	rc = CAIRN_OK;
out:
	dir_abort(t);
	return rc;
}

void dir_abort(struct cairn_txn *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	if (t->tmp)
		unlink(t->tmp);
	free(t->tmp);
	free(t->final);
	free(t);
}

int dir_get(struct dir_store *s, const char *name, uint64_t off,
	    uint64_t len, const struct cairn_sink *sink,
	    struct cairn_error *err)
{
	static char buf[1 << 20];
	char *src = NULL;
	struct stat st;
	uint64_t left;
	int fd = -1, rc = CAIRN_EFAIL;

	if (!name_ok(name))
		return cairn_errf(err, CAIRN_EFAIL, "bad object name %s",
				  name);
	if (!(src = join(s->dir, "", name, "")))
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		rc = cairn_errnof(err, 0, errno, "cannot read %s", src);
		goto out;
	}
	if (off > (uint64_t)st.st_size) {
		cairn_errf(err, CAIRN_EFAIL, "%s: offset %llu beyond its "
			   "%llu bytes", src, (unsigned long long)off,
			   (unsigned long long)st.st_size);
		goto out;
	}
	left = (uint64_t)st.st_size - off;
	if (len < left)
		left = len;
	while (left) {
		size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t n;

		if (stopped(s)) {
			cairn_errf(err, CAIRN_EFAIL, "%s: interrupted", src);
			goto out;
		}
		n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = cairn_errnof(err, 0, errno, "cannot read %s",
					  src);
			goto out;
		}
		if (n == 0)
			break; /* shrank: deliver fewer */
		if ((rc = sink->write(sink->ctx, buf, (size_t)n)))
			goto out;
		off += (uint64_t)n;
		left -= (uint64_t)n;
	}
	rc = CAIRN_OK;
out:
	if (fd >= 0)
		close(fd);
	free(src);
	return rc;
}

int dir_stat(struct dir_store *s, const char *name, struct cairn_object *o,
	     struct cairn_error *err)
{
	struct stat st;
	char *p;
	int rc = CAIRN_OK;

	if (!name_ok(name))
		return cairn_errf(err, CAIRN_EFAIL, "bad object name %s",
				  name);
	if (!(p = join(s->dir, "", name, "")))
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	if (lstat(p, &st))
		rc = cairn_errnof(err, 0, errno, "cannot stat %s", p);
	else if (!S_ISREG(st.st_mode))
		rc = cairn_errf(err, CAIRN_ENOTFOUND, "%s: not a file", p);
	if (!rc && CAIRN_HAS(o, struct cairn_object, bytes))
		o->bytes = (uint64_t)st.st_size;
	if (!rc && CAIRN_HAS(o, struct cairn_object, mtime))
		o->mtime = st.st_mtime;
	free(p);
	return rc;
}

int dir_list(struct dir_store *s, cairn_list_cb cb, void *ctx,
	     struct cairn_error *err)
{
	struct dirent *de;
	DIR *d = opendir(s->dir);

	if (!d)
		return cairn_errnof(err, errno == ENOENT ? CAIRN_EUNAVAIL : 0,
				    errno, "cannot read %s", s->dir);
	while ((de = readdir(d))) {
		struct cairn_object o = { sizeof(o), de->d_name, 0, 0, NULL,
					     0, 0 };
		struct stat st;

		if (!name_ok(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		o.bytes = (uint64_t)st.st_size;
		o.mtime = st.st_mtime;
		if (cb(ctx, &o))
			break;
	}
	closedir(d);
	return CAIRN_OK;
}

int dir_del(struct dir_store *s, const char *name, struct cairn_error *err)
{
	char *p;
	int rc = CAIRN_OK;

	if (!name_ok(name))
		return cairn_errf(err, CAIRN_EFAIL, "bad object name %s",
				  name);
	if (!(p = join(s->dir, "", name, "")))
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	if (unlink(p))
		rc = cairn_errnof(err, 0, errno, "cannot remove %s", p);
	else
		fsync_dir(s->dir);
	free(p);
	return rc;
}

long long dir_free(const char *path)
{
	struct statvfs sv;

	if (statvfs(path, &sv))
		return -1;
	return (long long)sv.f_bavail * (long long)sv.f_frsize;
}

int dir_space(struct dir_store *s, struct cairn_space *sp,
	      struct cairn_error *err)
{
	struct statvfs sv;

	if (statvfs(s->dir, &sv))
		return cairn_errnof(err, 0, errno, "cannot stat %s", s->dir);
	if (CAIRN_HAS(sp, struct cairn_space, block_size))
		sp->block_size = (uint32_t)sv.f_frsize;
	if (CAIRN_HAS(sp, struct cairn_space, free_bytes))
		sp->free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (CAIRN_HAS(sp, struct cairn_space, total_bytes))
		sp->total_bytes = (uint64_t)sv.f_blocks * sv.f_frsize;
	return CAIRN_OK;
}

int dir_clean(struct dir_store *s, const char *prefix,
	      struct cairn_error *err)
{
	static const char tag[] = ".partial";
	size_t pl = strlen(prefix), tl = sizeof(tag) - 1;
	struct dirent *de;
	int removed = 0, rc = CAIRN_OK;
	DIR *d = opendir(s->dir);

	if (!d)
		return errno == ENOENT ? CAIRN_OK :
		       cairn_errnof(err, 0, errno, "cannot read %s", s->dir);
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		size_t l = strlen(n);
		struct stat st;

		/* .NAME.partial, NAME starting with prefix */
		if (n[0] != '.' || l < 1 + pl + tl ||
		    strncmp(n + 1, prefix, pl) || strcmp(n + l - tl, tag) ||
		    fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		if (unlinkat(dirfd(d), n, 0)) {
			rc = cairn_errnof(err, 0, errno, "cannot remove %s/%s",
					  s->dir, n);
			continue;
		}
		removed++;
		if (s->host)
			s->host->log(s->host, CAIRN_LOG_INFO, "removed %s/%s, "
				     "left by a killed run", s->dir, n);
	}
	closedir(d);
	if (removed)
		fsync_dir(s->dir);
	return rc;
}

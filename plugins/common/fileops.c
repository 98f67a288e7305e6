#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fileops.h"
#include "util.h"

static bool name_ok(const char *name)
{
	return *name && *name != '.' && !strchr(name, '/');
}

#define CHUNK (64u << 20) /* bytes copied between two stop checks */

static bool stopped(const struct cairn_target_config *cfg)
{
	return cfg && cfg->stopped && cfg->stopped(cfg);
}

/* copy_file_range keeps the bytes in the kernel (and lets a file system
 * share extents); fall back to read/write across devices it refuses.
 * errno is EINTR when a stop was asked. */
static int copy_fd(int in, int out, uint64_t size,
		   const struct cairn_put_file *f,
		   const struct cairn_target_config *cfg)
{
	static char buf[1 << 20];
	uint64_t done = 0;
	bool plain = false;

	while (done < size) {
		ssize_t n;

		if (stopped(cfg))
			return errno = EINTR, -1;
		if (!plain) {
			n = copy_file_range(in, NULL, out, NULL,
					    size - done > CHUNK ? CHUNK
					    : (size_t)(size - done), 0);
			if (n < 0 && (errno == EXDEV || errno == ENOSYS ||
				      errno == EINVAL || errno == EOPNOTSUPP)) {
				plain = true;
				continue;
			}
		} else {
			n = read(in, buf, sizeof(buf));
			if (n > 0) {
				for (ssize_t w = 0, k; w < n; w += k) {
					k = write(out, buf + w, (size_t)(n - w));
					if (k < 0)
						return -1;
				}
			}
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return errno = EIO, -1; /* source shrank */
		done += (uint64_t)n;
		if (f && f->progress)
			f->progress(f->progress_ctx, done, size);
	}
	return 0;
}

int dir_put(const char *dir, const struct cairn_put_file *f,
	    const struct cairn_target_config *cfg, struct cairn_error *err)
{
	char *tmp = xasprintf("%s/.%s.partial", dir, f->name);
	char *final = path_join(dir, f->name);
	char hex[65];
	int in = -1, out = -1, rc = CAIRN_EFAIL;

	if (!name_ok(f->name)) {
		rc = cairn_errf(err, CAIRN_EFAIL, "bad object name %s",
				f->name);
		goto out;
	}
	in = open(f->path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		rc = errno_err(err, 0, errno, "cannot read %s", f->path);
		goto out;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = errno_err(err, 0, errno, "cannot write %s", tmp);
		goto out;
	}
	if (copy_fd(in, out, f->size, f, cfg) || fsync(out)) {
		rc = errno == EINTR && stopped(cfg)
		     ? cairn_errf(err, CAIRN_EFAIL, "%s: interrupted", tmp)
		     : errno_err(err, 0, errno, "cannot write %s", tmp);
		goto out;
	}
	if (close(out)) {
		out = -1;
		rc = errno_err(err, 0, errno, "cannot write %s", tmp);
		goto out;
	}
	out = -1;
	/* Check the copy as the disk holds it, not as the cache does. */
	{
		int fd = open(tmp, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			close(fd);
		}
	}
	if (sha256_file(tmp, hex, NULL)) {
		rc = errno_err(err, 0, errno, "cannot read back %s", tmp);
		goto out;
	}
	if (strcmp(hex, f->sha256)) {
		rc = cairn_errf(err, CAIRN_EINTEGRITY,
				"copy %s does not match its checksum", tmp);
		goto out;
	}
	if (rename(tmp, final)) {
		rc = errno_err(err, 0, errno, "cannot rename %s", tmp);
		goto out;
	}
	fsync_dir(dir);
	rc = CAIRN_OK;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc)
		unlink(tmp);
	free(tmp);
	free(final);
	return rc;
}

int dir_list(const char *dir, cairn_list_cb cb, void *ctx,
	     struct cairn_error *err)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return errno_err(err, errno == ENOENT ? CAIRN_EUNAVAIL : 0,
				 errno, "cannot read %s", dir);
	while ((de = readdir(d))) {
		struct cairn_object o = { de->d_name, 0, 0 };
		struct stat st;

		if (!name_ok(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		o.size = (uint64_t)st.st_size;
		o.mtime = st.st_mtime;
		if (cb(ctx, &o))
			break;
	}
	closedir(d);
	return CAIRN_OK;
}

int dir_get(const char *dir, const char *name, const char *dest,
	    struct cairn_error *err)
{
	char *src = path_join(dir, name);
	struct stat st;
	int in = -1, out = -1, rc = CAIRN_EFAIL;

	if (!name_ok(name)) {
		rc = cairn_errf(err, CAIRN_EFAIL, "bad object name %s", name);
		goto out;
	}
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st)) {
		rc = errno_err(err, 0, errno, "cannot read %s", src);
		goto out;
	}
	out = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = errno_err(err, 0, errno, "cannot write %s", dest);
		goto out;
	}
	if (copy_fd(in, out, (uint64_t)st.st_size, NULL, NULL) ||
	    fsync(out)) {
		rc = errno_err(err, 0, errno, "cannot copy %s to %s", src,
			       dest);
		unlink(dest);
		goto out;
	}
	rc = CAIRN_OK;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	free(src);
	return rc;
}

int dir_del(const char *dir, const char *name, struct cairn_error *err)
{
	char *p = path_join(dir, name);
	int rc = CAIRN_OK;

	if (!name_ok(name))
		rc = cairn_errf(err, CAIRN_EFAIL, "bad object name %s", name);
	else if (unlink(p))
		rc = errno_err(err, 0, errno, "cannot remove %s", p);
	else
		fsync_dir(dir);
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

unsigned long long put_need(const char *dir, const struct cairn_put_file *f)
{
	uint64_t rest = f->send_bytes > f->size ? f->send_bytes - f->size : 0;
	unsigned long long bs;
	struct statvfs sv;

	if (statvfs(dir, &sv))
		return 0;
	bs = sv.f_frsize ? sv.f_frsize : 4096;
	/* The sidecars are at most a few files: one block each of slack. */
	return (f->size + bs - 1) / bs * bs +
	       (rest ? (rest + bs - 1) / bs * bs + bs : 0);
}

int dir_clean(const char *dir, const char *prefix,
	      const struct cairn_target_config *cfg, struct cairn_error *err)
{
	static const char tag[] = ".partial";
	size_t pl = strlen(prefix), tl = sizeof(tag) - 1;
	struct dirent *de;
	int removed = 0, rc = CAIRN_OK;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? CAIRN_OK :
		       errno_err(err, 0, errno, "cannot read %s", dir);
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
			rc = errno_err(err, 0, errno, "cannot remove %s/%s",
				       dir, n);
			continue;
		}
		removed++;
		if (cfg)
			cfg->log(cfg, CAIRN_LOG_INFO, "removed %s/%s, left by "
				 "a killed run", dir, n);
	}
	closedir(d);
	if (removed)
		fsync_dir(dir);
	return rc;
}

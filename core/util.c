#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util.h"

int rc_exit(int rc)
{
	switch (rc) {
	case CAIRN_OK:
		return EXIT_OK;
	case CAIRN_ECONFIG:
		return EXIT_USAGE;
	case CAIRN_ELOCKED:
		return EXIT_LOCKED;
	default:
		return EXIT_FAILED;
	}
}

const char *rc_name(int rc)
{
	static const char *const names[] = {
		"ok", "failed", "retryable", "unavailable", "auth",
		"integrity", "no space", "config", "not found",
		"permission denied", "locked",
	};

	if (rc < 0 || (size_t)rc >= ARRAY_SIZE(names))
		return "failed";
	return names[rc];
}

int errno_err(struct cairn_error *err, int code, int errnum,
	      const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!code)
		code = cairn_errno_rc(errnum);
	return cairn_errf(err, code, "%s: %s", what, strerror(errnum));
}

static void oom(void)
{
	fputs("cairn: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (!p)
		oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	va_end(ap);
	return s;
}

void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	sb_add(b, s, (size_t)n);
	free(s);
}

void sb_free(struct sbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

void strv_push(struct strv *sv, const char *s)
{
	sv->v = xrealloc(sv->v, (sv->n + 2) * sizeof(*sv->v));
	sv->v[sv->n++] = xstrdup(s);
	sv->v[sv->n] = NULL;
}

void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

int strv_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_split(struct strv *sv, const char *s)
{
	while (*s) {
		size_t n;

		while (isspace((unsigned char)*s))
			s++;
		for (n = 0; s[n] && !isspace((unsigned char)s[n]); n++)
			;
		if (n) {
			char *w = strndup(s, n);

			if (!w)
				oom();
			strv_push(sv, w);
			free(w);
		}
		s += n;
	}
}

bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i]))
			return *out = true, true;
		if (!strcasecmp(s, no[i]))
			return *out = false, true;
	}
	return false;
}

bool parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool parse_duration(const char *s, long *secs)
{
	long total = 0;

	if (!*s)
		return false;
	while (*s) {
		char *end;
		long v, mul;

		if (!isdigit((unsigned char)*s))
			return false;
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno)
			return false;
		switch (*end) {
		case '\0':
		case 's':
			mul = 1;
			break;
		case 'm':
			mul = 60;
			break;
		case 'h':
			mul = 3600;
			break;
		case 'd':
			mul = 86400;
			break;
		case 'w':
			mul = 7 * 86400;
			break;
		default:
			return false;
		}
		if (v > (LONG_MAX - total) / mul)
			return false;
		total += v * mul;
		s = *end ? end + 1 : end;
	}
	*secs = total;
	return true;
}

int mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *q;
	int rc = 0;

	for (q = p + 1; ; q++) {
		if (*q == '/' || !*q) {
			char c = *q;

			*q = '\0';
			if (mkdir(p, mode) && errno != EEXIST) {
				rc = -1;
				break;
			}
			*q = c;
			if (!c)
				break;
		}
	}
	free(p);
	if (!rc) {
		struct stat st;

		if (stat(path, &st))
			return -1;
		if (!S_ISDIR(st.st_mode))
			return errno = ENOTDIR, -1;
	}
	return rc;
}

int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return strndup(path, (size_t)(slash - path));
}

const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	return xasprintf("%.*s/%s", (int)la, a, b);
}

bool path_is_safe(const char *rel)
{
	const char *p = rel;

	if (!*rel || *rel == '/')
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if ((n == 2 && !strncmp(p, "..", 2)) || n == 0)
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}

bool ends_with(const char *s, const char *suffix)
{
	size_t l = strlen(s), k = strlen(suffix);

	return l > k && !strcmp(s + l - k, suffix);
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len,
		      mode_t mode, struct cairn_error *err)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	char *dir = dir_of(path);
	int fd, rc = CAIRN_EFAIL;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		errno_err(err, 0, errno, "cannot write %s", tmp);
		goto out;
	}
	/* The mode asked for, not the umask's: metrics must be readable. */
	if (fchmod(fd, mode)) {
		errno_err(err, 0, errno, "cannot chmod %s", tmp);
		goto out;
	}
	if (write_all(fd, data, len)) {
		errno_err(err, 0, errno, "cannot write %s", tmp);
		goto out;
	}
	if (fsync(fd)) {
		errno_err(err, 0, errno, "cannot fsync %s", tmp);
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		errno_err(err, 0, errno, "cannot write %s", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path)) {
		errno_err(err, 0, errno, "cannot rename to %s", path);
		goto out;
	}
	fsync_dir(dir);
	rc = CAIRN_OK;
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}

char *read_file(const char *path, size_t *lenp)
{
	struct sbuf b = { 0 };
	char buf[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	sb_add(&b, "", 0);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;

			close(fd);
			sb_free(&b);
			errno = e;
			return NULL;
		}
		sb_add(&b, buf, (size_t)n);
	}
	close(fd);
	if (lenp)
		*lenp = b.len;
	return b.s;
}

int rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char *sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = path_join(path, de->d_name);
		rm_rf(sub);
		free(sub);
	}
	closedir(d);
	return rmdir(path);
}

bool path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int sha256_file(const char *path, char hex[65], uint64_t *size)
{
	enum { BUFSZ = 1 << 20 };
	unsigned char *buf = NULL, md[32];
	EVP_MD_CTX *c = NULL;
	uint64_t total = 0;
	int fd, rc = -1, e = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	buf = xmalloc(BUFSZ);
	c = EVP_MD_CTX_new();
	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		e = ENOMEM;
		goto out;
	}
	while ((n = read(fd, buf, BUFSZ)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			goto out;
		}
		EVP_DigestUpdate(c, buf, (size_t)n);
		total += (uint64_t)n;
	}
	EVP_DigestFinal_ex(c, md, NULL);
	hex_encode(md, 32, hex);
	if (size)
		*size = total;
	rc = 0;
out:
	EVP_MD_CTX_free(c);
	free(buf);
	close(fd);
	if (rc)
		errno = e;
	return rc;
}

double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fmt_utc(time_t t, char buf[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void fmt_bytes(uint64_t n, char buf[32])
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)n;
	size_t u = 0;

	while (v >= 1000 && u + 1 < ARRAY_SIZE(unit)) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, 32, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, 32, "%.1f %s", v, unit[u]);
}

/* ---- files kept as they were checked ------------------------------ */

enum { KEPT_MAX = 64 << 20 }; /* an index of a million members */

static struct kept {
	bool on;
	struct kept_file {
		char *path, *buf;
		size_t len;
	} *v;
	size_t n;
} kept;

static void kept_free(void)
{
	for (size_t i = 0; i < kept.n; i++) {
		free(kept.v[i].path);
		free(kept.v[i].buf);
	}
	free(kept.v);
	memset(&kept, 0, sizeof(kept));
}

void kept_enable(void)
{
	if (!kept.on)
		atexit(kept_free);
	kept.on = true;
}

int sha256_file_keep(const char *path, char hex[65], char **buf,
		     size_t *len)
{
	unsigned char md[32];
	struct stat st;

	*buf = NULL;
	*len = 0;
	if (!kept.on || stat(path, &st) || st.st_size > KEPT_MAX)
		return sha256_file(path, hex, NULL);
	if (!(*buf = read_file(path, len)))
		return -1;
	if (!EVP_Digest(*buf, *len, md, NULL, EVP_sha256(), NULL)) {
		free(*buf);
		*buf = NULL;
		errno = ENOMEM;
		return -1;
	}
	hex_encode(md, 32, hex);
	return 0;
}

static struct kept_file *kept_find(const char *path)
{
	for (size_t i = 0; i < kept.n; i++)
		if (!strcmp(kept.v[i].path, path))
			return &kept.v[i];
	return NULL;
}

void kept_put(const char *path, char *buf, size_t len)
{
	struct kept_file *k;

	if (!buf)
		return;
	if (!(k = kept_find(path))) {
		kept.v = xrealloc(kept.v, (kept.n + 1) * sizeof(*kept.v));
		k = &kept.v[kept.n++];
		k->path = xstrdup(path);
	} else {
		free(k->buf);
	}
	k->buf = buf;
	k->len = len;
}

const char *kept_get(const char *path, size_t *len)
{
	const struct kept_file *k = kept_find(path);

	if (!k)
		return NULL;
	*len = k->len;
	return k->buf;
}

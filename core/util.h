/* Small helpers shared by every stage: errors, strings, files, time. */
#ifndef CAIRN_UTIL_H
#define CAIRN_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "cairn/plugin.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Process exit codes from the contract. */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_LOCKED = 3,
	EXIT_TARGET = 4,
};

/* Map a cairn_rc code to the process exit code. */
int rc_exit(int rc);
/* Short name of a cairn_rc code, for logs and JSON ("retryable", ...). */
const char *rc_name(int rc);

/* Fill err with "PREFIX: strerror(errno)"-style text; returns code. */
int errno_err(struct cairn_error *err, int code, int errnum,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Allocation that never returns NULL: cairn exits on OOM. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable string buffer. */
struct sbuf {
	char *s;
	size_t len, cap;
};
void sb_add(struct sbuf *b, const char *s, size_t n);
void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_free(struct sbuf *b);

/* A growable array of strings. */
struct strv {
	char **v;
	size_t n;
};
void strv_push(struct strv *sv, const char *s);
void strv_free(struct strv *sv);
/* qsort comparator for char * arrays. */
int strv_cmp(const void *a, const void *b);
/* Split on blanks into sv (appending). */
void strv_split(struct strv *sv, const char *s);

/* Parse helpers; return false on malformed input. */
bool parse_bool(const char *s, bool *out);
bool parse_int(const char *s, long min, long max, long *out);
/* "90", "30s", "90m", "26h", "7d", "2w", "1h30m" -> seconds. */
bool parse_duration(const char *s, long *secs);

/* Files. */
int mkdir_p(const char *path, mode_t mode);
int fsync_dir(const char *dir);
/* Directory part of path (static-free: caller frees). */
char *dir_of(const char *path);
const char *base_of(const char *path);
/* Does s end with suffix (and hold more than it)? */
bool ends_with(const char *s, const char *suffix);
/* All of buf to fd (EINTR retried); -1 with errno on a failure. */
int write_all(int fd, const void *buf, size_t len);
/* Write data to path atomically: temp file, fsync, rename, dir fsync. */
int write_file_atomic(const char *path, const void *data, size_t len,
		      mode_t mode, struct cairn_error *err);
/* Read a whole small file; NUL-terminated; NULL on error (errno set). */
char *read_file(const char *path, size_t *len);
/* Remove a tree (like rm -rf); errors ignored where harmless. */
int rm_rf(const char *path);
/* True if path exists (lstat). */
bool path_exists(const char *path);
/* Join a and b with one '/'. */
char *path_join(const char *a, const char *b);
/* True if rel is a safe relative path: not absolute, no "..", no empty. */
bool path_is_safe(const char *rel);

/* SHA-256 of a file as lowercase hex; 0 or -1 with errno. */
int sha256_file(const char *path, char hex[65], uint64_t *size);
void hex_encode(const unsigned char *in, size_t n, char *out);

/* Files kept as they were checked. A command that checks a sidecar's
 * small files (an index, a manifest) and then parses them turns this
 * on: the bytes hashed are the bytes used (nothing can change them in
 * between) and each file is read once. */
void kept_enable(void);
/* As sha256_file; when keeping is on and the file is small, *buf (else
 * NULL) gets its bytes, for kept_put once the hash is the right one. */
int sha256_file_keep(const char *path, char hex[65], char **buf,
		     size_t *len);
/* path's bytes are buf (taken; NULL: nothing to keep). */
void kept_put(const char *path, char *buf, size_t len);
/* The bytes kept for path, or NULL. */
const char *kept_get(const char *path, size_t *len);

/* Time. */
double now_mono(void);
/* "2026-02-11T03:15:00Z" */
void fmt_utc(time_t t, char buf[32]);
/* Human sizes: "381.2 MB". */
void fmt_bytes(uint64_t n, char buf[32]);

#endif

/*
 * The core's one retry layer around a target's ops (like restic's retry
 * backend). A plugin makes one attempt; here CAIRN_ERETRY is retried
 * with exponential back-off and jitter, `retries` times, always on a
 * fresh handle (after ERETRY or EUNAVAIL a handle is only closed), except
 * that write() and commit() of a plugin with CAIRN_PROP_RESUMABLE are
 * called again on the open transaction (S3 re-sends one part). Other
 * codes are final. Sends are rate-limited (`bwlimit`), shown as
 * progress, and verified after commit (stat, size).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cairn.h"

#define CHUNK (1u << 20)

static void host_log(const struct cairn_host *host, int level,
		     const char *fmt, ...)
{
	const struct backend *b = host->core;
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	logmsg(level, "target %s: %s", b->t->name, line);
}

/* A stop asked of the whole run (a signal), or of this backend alone:
 * its stream was cancelled (stream.c: the local archive failed). */
static bool halted(const struct backend *b)
{
	return stop_signal() || (b->cancel && *b->cancel);
}

/* stop_check(), and the cancel of this backend. */
static int halt_check(const struct backend *b, struct cairn_error *err)
{
	int rc = stop_check(err);

	if (!rc && b->cancel && *b->cancel)
		rc = cairn_errf(err, CAIRN_EFAIL, "cancelled: the run gave "
				"up this stream");
	return rc;
}

static int host_stopped(const struct cairn_host *host)
{
	return halted(host->core);
}

/* Sleep secs unless a stop is asked (polled every 50 ms). */
static void nap(const struct backend *b, double secs)
{
	double end = now_mono() + secs;

	while (!halted(b) && now_mono() < end) {
		double left = end - now_mono();

		usleep((useconds_t)((left > 0.05 ? 0.05 : left) * 1e6));
	}
}

static void drop(struct backend *b)
{
	if (b->h)
		b->pl.ops->close(b->h);
	b->h = NULL;
}

/* A handle to call on: open one when the last was dropped. */
static int handle(struct backend *b, struct cairn_error *err)
{
	struct cairn_error e = { 0, "" };
	char *prefix;
	int rc;

	if (b->h)
		return CAIRN_OK;
	memset(&b->props, 0, sizeof(b->props));
	b->props.size = sizeof(b->props);
	if ((rc = b->pl.ops->open(&b->host, &b->api, &b->props, &b->h, err))) {
		b->h = NULL;
		return rc;
	}
	/* Under the config's lock, temporaries of its killed runs can go:
	 * no run of it can be writing them. A failure costs a warning. */
	if (b->locked && b->pl.ops->clean) {
		prefix = xasprintf("%s-backup-", b->cfg->name);
		if (b->pl.ops->clean(b->h, prefix, &e))
			log_warn("target %s: cannot remove leftovers of killed "
				 "runs: %s", b->t->name, e.msg);
		free(prefix);
		b->locked = false;
	}
	return CAIRN_OK;
}

/* Log a retry of what failed (err) and wait delay * 2^(attempt-1),
 * +-25 % so retries of several runs do not fall in step. False when a
 * stop was asked meanwhile. */
static bool backoff(struct backend *b, long attempt,
		    const struct cairn_error *err)
{
	double d;

	log_warn("target %s: %s; retrying (%ld of %ld)", b->t->name,
		 err->msg, attempt + 1, b->retries + 1);
	d = b->delay * (double)(1L << (attempt - 1 < 20 ? attempt - 1 : 20));
	d *= 0.75 + 0.5 * ((double)random() / RAND_MAX);
	nap(b, d);
	return !halted(b);
}

/* After rc: go on (true) with a retry, having waited; or stop. */
static bool retry(struct backend *b, int rc, long attempt,
		  struct cairn_error *err)
{
	bool spent = b->spent;

	b->spent = false;
	if (rc == CAIRN_ERETRY || rc == CAIRN_EUNAVAIL)
		drop(b);
	if (rc != CAIRN_ERETRY || spent || attempt > b->retries ||
	    halted(b))
		return false;
	return backoff(b, attempt, err);
}

/* After rc of write() or commit() on an open transaction: call it again
 * (true), having waited, when the plugin keeps transactions across
 * CAIRN_ERETRY (CAIRN_PROP_RESUMABLE): S3 re-sends the failed part, not
 * the whole upload. */
static bool resume(struct backend *b, int rc, long attempt,
		   const struct cairn_error *err)
{
	if (rc != CAIRN_ERETRY || !(b->props.flags & CAIRN_PROP_RESUMABLE))
		return false;
	/* Resumed as often as allowed: the put is not repeated either. */
	if (attempt > b->retries || halted(b)) {
		b->spent = true;
		return false;
	}
	return backoff(b, attempt, err);
}

/* Run op(b, arg) on a good handle under the retry policy. */
typedef int (*op_fn)(struct backend *b, void *arg, struct cairn_error *err);

static int with_retry(struct backend *b, op_fn op, void *arg,
		      struct cairn_error *err)
{
	long first = 1 + b->used;
	int rc;

	b->used = 0;
	for (long attempt = first;; attempt++) {
		err->code = 0;
		err->msg[0] = '\0';
		if (!(rc = halt_check(b, err)) && !(rc = handle(b, err)) && op)
			rc = op(b, arg, err);
		if (!retry(b, rc, attempt, err))
			break;
	}
	return rc;
}

bool backend_retry_after(struct backend *b, int rc, struct cairn_error *err)
{
	if (!retry(b, rc, 1, err))
		return false;
	b->used = 1;
	return true;
}

int backend_open(struct backend *b, const struct config *cfg,
		 const struct target *t, bool locked, struct cairn_error *err)
{
	return backend_open_cancel(b, cfg, t, locked, NULL, err);
}

int backend_open_cancel(struct backend *b, const struct config *cfg,
			const struct target *t, bool locked,
			const _Atomic bool *cancel, struct cairn_error *err)
{
	const char *env = getenv("CAIRN_RETRY_DELAY");
	const struct tkey *k;
	long l;
	int rc;

	memset(b, 0, sizeof(*b));
	b->cancel = cancel;
	b->cfg = cfg;
	b->t = t;
	b->locked = locked;
	b->host.size = sizeof(b->host);
	b->host.core = b;
	b->host.log = host_log;
	b->host.stopped = host_stopped;
	if ((rc = plugin_load(t->plugin, &b->pl, err)) ||
	    (rc = config_check_target_keys(t, b->pl.ops->keys, &b->keys, err)))
		return rc;
	config_target_api(&b->keys, &b->api);
	b->retries = (k = config_tkey(&b->keys, "retries")) ? k->num : 2;
	b->delay = (k = config_tkey(&b->keys, "retry_delay")) ? k->num : 1;
	/* A test aid: seconds, overriding retry_delay. */
	if (env && parse_int(env, 0, 60, &l))
		b->delay = l;
	b->bwlimit = (k = config_tkey(&b->keys, "bwlimit")) ? k->num : 0;
	srandom((unsigned)getpid() ^ (unsigned)(now_mono() * 1e6));
	return with_retry(b, NULL, NULL, err);
}

void backend_close(struct backend *b)
{
	if (b->pl.ops)
		drop(b);
	config_target_keys_free(&b->keys);
	plugin_unload(&b->pl);
}

/* ---- put --------------------------------------------------------- */

static void pace(struct backend *b, uint64_t done, double t0)
{
	double want;

	if (b->bwlimit <= 0)
		return;
	want = (double)done / (double)b->bwlimit - (now_mono() - t0);
	if (want > 0)
		nap(b, want);
}

/* begin() on the current handle: one attempt. */
static int txn_begin(struct backend *b, const char *name, uint64_t size,
		     struct bput *p, struct cairn_error *err)
{
	memset(p, 0, sizeof(*p));
	p->b = b;
	p->name = name;
	p->size = size;
	p->t0 = now_mono();
	return b->pl.ops->begin(b->h, name, size, &p->txn, err);
}

/* write() with the resumable retries; on failure the transaction is
 * aborted (p->txn NULL). */
static int txn_write(struct bput *p, const void *buf, size_t len,
		     struct cairn_error *err)
{
	struct backend *b = p->b;
	int rc;

	for (long attempt = 1;; attempt++) {
		if (!(rc = halt_check(b, err)))
			rc = b->pl.ops->write(p->txn, buf, len, err);
		if (!rc || !resume(b, rc, attempt, err))
			break;
	}
	if (rc) {
		backend_abort(p);
		if (rc == CAIRN_ERETRY || rc == CAIRN_EUNAVAIL)
			drop(b);
		return rc;
	}
	p->done += len;
	pace(b, p->done, p->t0);
	return CAIRN_OK;
}

/* commit() with the resumable retries, then verify: the target holds the
 * object, of the size sent. Ends the transaction. */
static int txn_commit(struct bput *p, const char *hex,
		      struct cairn_error *err)
{
	struct backend *b = p->b;
	struct cairn_object obj = { sizeof(obj), p->name, 0, 0, NULL, 0,
				    0 };
	int rc;

	for (long attempt = 1;; attempt++) {
		rc = b->pl.ops->commit(p->txn, hex, err);
		if (!rc || !resume(b, rc, attempt, err))
			break;
	}
	if (rc == CAIRN_ERETRY && (b->props.flags & CAIRN_PROP_RESUMABLE))
		b->pl.ops->abort(p->txn); /* still open: given up */
	p->txn = NULL;
	if (rc) {
		if (rc == CAIRN_ERETRY || rc == CAIRN_EUNAVAIL)
			drop(b);
		return rc;
	}
	if ((rc = b->pl.ops->stat(b->h, p->name, &obj, err)))
		return rc;
	if (obj.bytes != p->done)
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s holds %llu bytes, "
				"%llu were sent", p->name,
				(unsigned long long)obj.bytes,
				(unsigned long long)p->done);
	return rc;
}

struct bput_begin {
	struct bput *p;
	const char *name;
	uint64_t size;
	int64_t until;
};

/* The lock is armed on the handle that begins: a retry's fresh handle
 * arms it again, so the object is locked from its first byte. */
static int begin_op(struct backend *b, void *arg, struct cairn_error *err)
{
	struct bput_begin *a = arg;
	int rc;

	if (a->until && backend_lockable(b) &&
	    (rc = b->pl.ops->retain(b->h, a->name, a->until, err)))
		return rc;
	return txn_begin(b, a->name, a->size, a->p, err);
}

int backend_begin_locked(struct backend *b, const char *name, uint64_t size,
			 int64_t until, struct bput *p,
			 struct cairn_error *err)
{
	struct bput_begin a = { p, name, size, until };
	int rc = with_retry(b, begin_op, &a, err);

	if (rc)
		p->txn = NULL;
	return rc;
}

int backend_begin(struct backend *b, const char *name, uint64_t size,
		  struct bput *p, struct cairn_error *err)
{
	return backend_begin_locked(b, name, size, 0, p, err);
}

int backend_write(struct bput *p, const void *buf, size_t len,
		  struct cairn_error *err)
{
	if (!p->txn)
		return cairn_errf(err, CAIRN_EFAIL, "%s: transaction ended",
				  p->name);
	return txn_write(p, buf, len, err);
}

int backend_commit(struct bput *p, const char *sha256_hex,
		   struct cairn_error *err)
{
	if (!p->txn)
		return cairn_errf(err, CAIRN_EFAIL, "%s: transaction ended",
				  p->name);
	return txn_commit(p, sha256_hex, err);
}

void backend_abort(struct bput *p)
{
	if (p->txn)
		p->b->pl.ops->abort(p->txn);
	p->txn = NULL;
}

struct put {
	const char *path, *name;
	uint64_t size;
	char hex[65];
};

static int put_op(struct backend *b, void *arg, struct cairn_error *err)
{
	struct put *f = arg;
	struct bput p;
	struct progress bar;
	char *buf = xmalloc(CHUNK);
	int fd, rc;

	if ((fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0) {
		free(buf);
		return errno_err(err, CAIRN_EFAIL, errno, "cannot read %s",
				 f->path);
	}
	if ((rc = txn_begin(b, f->name, f->size, &p, err)))
		goto out;
	progress_begin(&bar, b->t->name, f->size);
	while (p.done < f->size) {
		ssize_t n = read(fd, buf, CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = errno_err(err, CAIRN_EFAIL, n ? errno : EIO,
				       "cannot read %s", f->path);
			break;
		}
		if ((rc = txn_write(&p, buf, (size_t)n, err)))
			break;
		progress_add(&bar, (uint64_t)n);
	}
	progress_end(&bar);
	if (rc)
		backend_abort(&p);
	else
		rc = txn_commit(&p, f->hex, err);
out:
	close(fd);
	free(buf);
	return rc;
}

int backend_put_file(struct backend *b, const char *path,
		     struct cairn_error *err)
{
	struct put f = { .path = path, .name = base_of(path) };

	if (sha256_file(path, f.hex, &f.size))
		return errno_err(err, CAIRN_EFAIL, errno, "cannot read %s",
				 path);
	return with_retry(b, put_op, &f, err);
}

int backend_fits(struct backend *b, const uint64_t *sizes, int n,
		 struct cairn_error *err)
{
	struct cairn_space sp;
	uint64_t need = 0, bs;
	char have[32], want[32];
	int rc;

	if ((rc = handle(b, err)))
		return rc;
	if (!(b->props.flags & CAIRN_PROP_SPACE) || !b->pl.ops->space)
		return CAIRN_OK;
	memset(&sp, 0, sizeof(sp));
	sp.size = sizeof(sp);
	if ((rc = b->pl.ops->space(b->h, &sp, err))) {
		if (rc == CAIRN_ERETRY || rc == CAIRN_EUNAVAIL)
			drop(b);
		return rc;
	}
	bs = CAIRN_HAS(&sp, struct cairn_space, block_size) && sp.block_size ?
	     sp.block_size : 1;
	for (int i = 0; i < n; i++)
		need += (sizes[i] + bs - 1) / bs * bs;
	if (sp.free_bytes >= need)
		return CAIRN_OK;
	fmt_bytes(sp.free_bytes, have);
	fmt_bytes(need, want);
	return cairn_errf(err, CAIRN_ENOSPC, "not enough space: %s free, the "
			  "archive and its sidecars need %s", have, want);
}

/* ---- get --------------------------------------------------------- */

struct fileget {
	const char *dest;
	int fd;
};

static int to_file(void *ctx, const void *buf, size_t len)
{
	struct fileget *g = ctx;

	for (size_t w = 0; w < len;) {
		ssize_t k = write(g->fd, (const char *)buf + w, len - w);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return CAIRN_EFAIL;
		w += (size_t)k;
	}
	return CAIRN_OK;
}

static int file_reset(void *ctx)
{
	struct fileget *g = ctx;

	return ftruncate(g->fd, 0) || lseek(g->fd, 0, SEEK_SET) < 0
	       ? CAIRN_EFAIL : CAIRN_OK;
}

int backend_get_file(struct backend *b, const char *name, const char *dest,
		     struct cairn_error *err)
{
	struct fileget g = { dest, -1 };
	int rc;

	g.fd = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (g.fd < 0)
		return errno_err(err, CAIRN_EFAIL, errno, "cannot write %s",
				 dest);
	rc = backend_get_sink(b, name, to_file, file_reset, &g, err);
	if (!rc && fsync(g.fd))
		rc = errno_err(err, CAIRN_EFAIL, errno, "cannot write %s",
			       dest);
	close(g.fd);
	if (rc)
		unlink(dest);
	return rc;
}

/* ---- get into a sink (a decryption in front of the file) -------- */

struct sget {
	const char *name;
	int (*write)(void *, const void *, size_t);
	int (*reset)(void *);
	void *ctx;
	uint64_t got;
	struct progress *bar;
};

static int to_sink(void *ctx, const void *buf, size_t len)
{
	struct sget *g = ctx;
	int rc = g->write(g->ctx, buf, len);

	if (rc)
		return rc;
	g->got += len;
	progress_add(g->bar, len);
	return stop_signal() ? CAIRN_EFAIL : 0;
}

/* Resume where the last attempt got, or start the sink afresh. */
static int sget_op(struct backend *b, void *arg, struct cairn_error *err)
{
	struct sget *g = arg;
	struct cairn_sink sink = { sizeof(sink), to_sink, g };
	int rc;

	if (!(b->props.flags & CAIRN_PROP_RANGED_GET) && g->got) {
		if ((rc = g->reset(g->ctx)))
			return cairn_errf(err, rc, "cannot restart %s",
					  g->name);
		g->got = 0;
	}
	rc = b->pl.ops->get(b->h, g->name, g->got, CAIRN_TO_END, &sink, err);
	if (rc && stop_signal())
		stop_check(err);
	return rc;
}

int backend_get_sink(struct backend *b, const char *name,
		     int (*write)(void *, const void *, size_t),
		     int (*reset)(void *), void *ctx,
		     struct cairn_error *err)
{
	struct progress bar;
	struct sget g = { name, write, reset, ctx, 0, &bar };
	int rc;

	progress_begin(&bar, b->t->name, 0);
	rc = with_retry(b, sget_op, &g, err);
	progress_end(&bar);
	return rc;
}

/* ---- the rest ---------------------------------------------------- */

struct lst {
	cairn_list_cb cb;
	void *ctx;
};

/* An older plugin's object may lack members: they count as 0. */
static int list_cb(void *ctx, const struct cairn_object *o)
{
	struct lst *l = ctx;
	struct cairn_object c = { sizeof(c), o->name, 0, 0, NULL, 0, 0 };

	if (CAIRN_HAS(o, struct cairn_object, bytes))
		c.bytes = o->bytes;
	if (CAIRN_HAS(o, struct cairn_object, mtime))
		c.mtime = o->mtime;
	if (CAIRN_HAS(o, struct cairn_object, host))
		c.host = o->host;
	if (!c.name || c.name[0] == '.' || strchr(c.name, '/'))
		return 0;
	return l->cb(l->ctx, &c);
}

static int list_op(struct backend *b, void *arg, struct cairn_error *err)
{
	return b->pl.ops->list(b->h, list_cb, arg, err);
}

int backend_list(struct backend *b, cairn_list_cb cb, void *ctx,
		 struct cairn_error *err)
{
	struct lst l = { cb, ctx };

	return with_retry(b, list_op, &l, err);
}

static int del_op(struct backend *b, void *arg, struct cairn_error *err)
{
	return b->pl.ops->del(b->h, arg, err);
}

int backend_del(struct backend *b, const char *name, struct cairn_error *err)
{
	return with_retry(b, del_op, (void *)name, err);
}

struct retain_arg {
	const char *name;
	int64_t until;
};

static int retain_op(struct backend *b, void *arg, struct cairn_error *err)
{
	const struct retain_arg *a = arg;

	return b->pl.ops->retain(b->h, a->name, a->until, err);
}

bool backend_lockable(const struct backend *b)
{
	return b->pl.ops && b->pl.ops->retain &&
	       (b->props.flags & CAIRN_PROP_OBJECT_LOCK);
}

int backend_retain(struct backend *b, const char *name, int64_t until,
		   struct cairn_error *err)
{
	struct retain_arg a = { name, until };

	if (!backend_lockable(b))
		return CAIRN_OK;
	return with_retry(b, retain_op, &a, err);
}

static int check_op(struct backend *b, void *arg, struct cairn_error *err)
{
	(void)arg;
	if (!b->pl.ops->check)
		return cairn_errf(err, CAIRN_OK, "opened (plugin has no "
				  "check)");
	return b->pl.ops->check(b->h, err);
}

int backend_check(struct backend *b, struct cairn_error *err)
{
	return with_retry(b, check_op, NULL, err);
}

/* ---- stat and streamed get, for verify --target ------------------ */

struct bstat {
	const char *name;
	struct cairn_object *obj;
};

static int stat_op(struct backend *b, void *arg, struct cairn_error *err)
{
	struct bstat *a = arg;

	return b->pl.ops->stat(b->h, a->name, a->obj, err);
}

int backend_stat(struct backend *b, const char *name,
		 struct cairn_object *obj, struct cairn_error *err)
{
	struct bstat a = { name, obj };

	memset(obj, 0, sizeof(*obj));
	obj->size = sizeof(*obj);
	obj->name = name;
	return with_retry(b, stat_op, &a, err);
}

struct gstream {
	const char *name;
	const struct cairn_sink *sink;
	void (*restart)(void *ctx);
	uint64_t got;
};

static int count_sink(void *ctx, const void *buf, size_t len)
{
	struct gstream *g = ctx;
	int rc = g->sink->write(g->sink->ctx, buf, len);

	g->got += len;
	return rc ? rc : stop_signal() ? CAIRN_EFAIL : 0;
}

static int stream_op(struct backend *b, void *arg, struct cairn_error *err)
{
	struct gstream *g = arg;
	struct cairn_sink sink = { sizeof(sink), count_sink, g };
	int rc;

	if (!(b->props.flags & CAIRN_PROP_RANGED_GET) && g->got) {
		g->restart(g->sink->ctx);
		g->got = 0;
	}
	rc = b->pl.ops->get(b->h, g->name, g->got, CAIRN_TO_END, &sink, err);
	if (rc && stop_signal())
		stop_check(err);
	return rc;
}

int backend_get_stream(struct backend *b, const char *name,
		       const struct cairn_sink *sink,
		       void (*restart)(void *ctx), uint64_t *got,
		       struct cairn_error *err)
{
	struct gstream g = { name, sink, restart, 0 };
	int rc = with_retry(b, stream_op, &g, err);

	*got = g.got;
	return rc;
}

/* ---- ranged get (the seek path's reader) ------------------------- */

struct range {
	const char *name;
	uint64_t off;
	size_t len, got;
	uint8_t *buf;
};

static int to_buf(void *ctx, const void *p, size_t len)
{
	struct range *g = ctx;

	if (len > g->len - g->got)
		return CAIRN_EFAIL; /* more than asked for */
	memcpy(g->buf + g->got, p, len);
	g->got += len;
	return stop_signal() ? CAIRN_EFAIL : 0;
}

static int range_op(struct backend *b, void *arg, struct cairn_error *err)
{
	struct range *g = arg;
	struct cairn_sink sink = { sizeof(sink), to_buf, g };
	int rc;

	if (!(b->props.flags & CAIRN_PROP_RANGED_GET))
		return cairn_errf(err, CAIRN_EFAIL, "target %s: no ranged "
				  "get", b->t->name);
	rc = b->pl.ops->get(b->h, g->name, g->off + g->got, g->len - g->got,
			    &sink, err);
	if (rc && stop_signal())
		stop_check(err);
	return rc;
}

int backend_get_range(struct backend *b, const char *name, uint64_t off,
		      size_t len, void *buf, size_t *got,
		      struct cairn_error *err)
{
	struct range g = { name, off, len, 0, buf };
	int rc = with_retry(b, range_op, &g, err);

	*got = g.got;
	return rc;
}

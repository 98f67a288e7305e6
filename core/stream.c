/*
 * Streaming puts: while backup.c writes the local archive, its
 * compressed bytes go to every selected target too (one aw_tee each),
 * so the upload overlaps archiving. Each target has a thread of its own
 * that opens it, begins a transaction under the archive's final name
 * and writes what the tee queued; nothing is committed here. dispatch.c
 * commits a stream (with the archive's sha256) only after the local
 * archive is verified, or sends the finished file when the stream
 * failed; streams_free() aborts whatever was not committed.
 *
 * Slow targets: the queue of a target is bounded (QUEUE_MAX bytes) and
 * the writer waits for room, so the run goes at the pace of the slowest
 * target, which bounds it anyway (it ends after the upload), while
 * memory stays bounded. A target whose thread takes nothing for STALL
 * seconds (a hung connection, or still retrying its open) is dropped
 * from streaming instead: the writer goes on, and that target gets the
 * finished file through the retry layer afterwards. A plugin's own
 * parallelism (S3 parts in flight) works inside its write(); while the
 * queue is empty the thread calls write() with no bytes every IDLE_MS,
 * so those parts keep moving.
 *
 * A stream the run gives up (the local archive failed) is cancelled,
 * not only waited for: its backend stops retrying and its plugin's
 * stopped() turns true. On an Object Lock target the transaction is
 * begun locked (backend_begin_locked), as a whole put is. An encrypted
 * target (encrypt = age) is sent the ciphertext alone: its thread
 * encrypts each chunk on its way into the put of NAME.age.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn.h"

#define QUEUE_MAX (32u << 20)
#define STALL 30.0
#define IDLE_MS 20
#define IDLE (&idle_chunk)

struct chunk {
	struct chunk *next;
	size_t len;
	unsigned char data[];
};

/* next_chunk(): no chunk for IDLE_MS. */
static struct chunk idle_chunk;

static void *consume(void *arg);

static void abstime_in(struct timespec *ts, double secs)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)secs;
	ts->tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* aw_tee write: queue a copy; CAIRN_EFAIL drops this tee. */
static int tee_write(void *ctx, const void *buf, size_t len)
{
	struct tstream *s = ctx;
	struct chunk *c;
	struct timespec ts;
	int rc = CAIRN_OK;

	pthread_mutex_lock(&s->mu);
	while (!s->failed && s->queued && s->queued + len > QUEUE_MAX) {
		uint64_t taken = s->taken;

		abstime_in(&ts, STALL);
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT &&
		    s->taken == taken && !s->failed) {
			s->failed = true;
			s->dropped = true;
			s->rc = CAIRN_ERETRY;
			cairn_errf(&s->err, CAIRN_ERETRY, "took nothing for "
				   "%.0f s", STALL);
		}
	}
	if (s->failed) {
		rc = CAIRN_EFAIL;
		goto out;
	}
	c = xmalloc(sizeof(*c) + len);
	c->next = NULL;
	c->len = len;
	memcpy(c->data, buf, len);
	if (s->tail)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	s->queued += len;
	pthread_cond_broadcast(&s->cv);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* The next chunk, NULL at the end of the stream or once it failed; or
 * IDLE after IDLE_MS without one, for an empty write() that lets the
 * plugin move what it has in flight (S3 parts) while the writer is
 * busy elsewhere (the archive's fsync and read-back). */
static struct chunk *next_chunk(struct tstream *s)
{
	struct chunk *c = NULL;
	struct timespec ts;

	pthread_mutex_lock(&s->mu);
	abstime_in(&ts, IDLE_MS / 1000.0);
	while (!s->head && !s->eof && !s->failed)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT &&
		    !s->head && !s->eof && !s->failed) {
			c = IDLE;
			break;
		}
	if (c != IDLE && !s->failed && (c = s->head)) {
		if (!(s->head = c->next))
			s->tail = NULL;
		s->queued -= c->len;
		s->taken += c->len;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return c;
}

static void fail_stream(struct tstream *s, int rc,
			const struct cairn_error *err)
{
	pthread_mutex_lock(&s->mu);
	if (!s->failed) {
		s->failed = true;
		s->rc = rc;
		s->err = *err;
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* encrypt = age: the ciphertext's way into the put. */
static int to_put(void *ctx, const void *buf, size_t len)
{
	struct tstream *s = ctx;

	return backend_write(&s->put, buf, len, &s->cp_err);
}

/* One chunk into the put, through the encryption if there is one. */
static int put_chunk(struct tstream *s, const struct chunk *c,
		     struct cairn_error *err)
{
	int rc;

	if (!s->cp)
		return backend_write(&s->put, c->data, c->len, err);
	if ((rc = crypt_put_write(s->cp, c->data, c->len)))
		*err = s->cp_err.code ? s->cp_err : s->cp->enc.err;
	return rc;
}

/* The stream ended (not failed): the last chunk of a ciphertext. */
static int put_end(struct tstream *s, struct cairn_error *err)
{
	bool failed;
	int rc;

	pthread_mutex_lock(&s->mu);
	failed = s->failed;
	pthread_mutex_unlock(&s->mu);
	if (failed || !s->cp)
		return CAIRN_OK;
	if ((rc = crypt_put_end(s->cp, s->chex, err)) && s->cp_err.code)
		*err = s->cp_err;
	return rc;
}

/* The target's thread: open (the retry layer's policy), begin, write. */
static void *consume(void *arg)
{
	struct tstream *s = arg;
	struct cairn_error err = { 0, "" };
	struct chunk *c;
	int rc;

	s->opened = true;
	if ((rc = backend_open_cancel(&s->b, s->cfg, s->t, true, &s->cancel,
				      &err)))
		goto fail;
	s->open_ok = true;
	/* Locked from the first byte, for as long as a new archive is. */
	if ((rc = backend_begin_locked(&s->b, s->obj, CAIRN_SIZE_UNKNOWN,
				       objlock_put_until(&s->b, s->name),
				       &s->put, &err)))
		goto fail;
	if (s->t->crypt && s->t->crypt->on && !s->t->crypt->asis) {
		s->cp = xcalloc(1, sizeof(*s->cp));
		if ((rc = crypt_put_begin(s->cp, &s->t->crypt->r, to_put, s,
					  &err)))
			goto fail;
	}
	while ((c = next_chunk(s))) {
		if (c == IDLE) {
			rc = backend_write(&s->put, "", 0, &err);
		} else {
			rc = put_chunk(s, c, &err);
			free(c);
		}
		if (rc)
			goto fail;
	}
	if (!(rc = put_end(s, &err)))
		return NULL;
fail:
	fail_stream(s, rc, &err);
	return NULL;
}

static int start(struct archive_tap *tap, const char *name)
{
	struct streams *ss = tap->ctx;

	for (size_t i = 0; i < ss->n; i++) {
		struct tstream *s = &ss->s[i];

		s->name = xstrdup(name);
		s->obj = crypt_object(s->t->crypt, xstrdup(name));
		pthread_mutex_init(&s->mu, NULL);
		pthread_cond_init(&s->cv, NULL);
		s->inited = true;
		ss->tees[i].write = tee_write;
		ss->tees[i].ctx = s;
		ss->tees[i].rc = CAIRN_OK;
		if (pthread_create(&s->th, NULL, consume, s)) {
			struct cairn_error e;

			cairn_errf(&e, CAIRN_EFAIL, "cannot start a thread");
			fail_stream(s, CAIRN_EFAIL, &e);
			ss->tees[i].rc = CAIRN_EFAIL;
			continue;
		}
		s->running = true;
	}
	tap->tees = ss->tees;
	tap->ntees = (int)ss->n;
	return CAIRN_OK;
}

bool target_selected(const struct backup_opts *o, const struct target *t)
{
	if (!o || !o->ntargets)
		return t->enabled;
	for (size_t i = 0; i < o->ntargets; i++)
		if (!strcmp(o->targets[i], t->name))
			return true;
	return false;
}

struct streams *streams_new(const struct config *cfg,
			    const struct backup_opts *o)
{
	struct streams *ss = xcalloc(1, sizeof(*ss));

	ss->s = xcalloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*ss->s));
	ss->tees = xcalloc(cfg->ntargets ? cfg->ntargets : 1,
			   sizeof(*ss->tees));
	for (size_t i = 0; i < cfg->ntargets; i++) {
		if (!target_selected(o, &cfg->targets[i]))
			continue;
		ss->s[ss->n].cfg = cfg;
		ss->s[ss->n].t = &cfg->targets[i];
		ss->n++;
	}
	ss->tap.start = start;
	ss->tap.ctx = ss;
	return ss;
}

struct tstream *streams_find(struct streams *ss, const struct target *t)
{
	for (size_t i = 0; ss && i < ss->n; i++)
		if (ss->s[i].t == t && ss->s[i].inited)
			return &ss->s[i];
	return NULL;
}

int stream_finish(struct tstream *s, struct cairn_error *err)
{
	pthread_mutex_lock(&s->mu);
	s->eof = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->running)
		pthread_join(s->th, NULL);
	s->running = false;
	if (!s->failed)
		return CAIRN_OK;
	*err = s->err;
	return s->rc ? s->rc : CAIRN_EFAIL;
}

static void stream_free(struct tstream *s)
{
	struct chunk *c;

	if (!s->inited)
		goto out;
	pthread_mutex_lock(&s->mu);
	s->failed = true; /* the thread stops at its next chunk */
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	/* Still running: the run gave it up (the local archive failed).
	 * A back-off, a retry or a plugin call polling stopped() ends now,
	 * not after its delay. */
	if (s->running) {
		s->cancel = true;
		pthread_join(s->th, NULL);
	}
	backend_abort(&s->put);
	while ((c = s->head)) {
		s->head = c->next;
		free(c);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
out:
	if (s->opened)
		backend_close(&s->b);
	if (s->cp)
		crypt_put_free(s->cp);
	free(s->cp);
	free(s->obj);
	free(s->name);
}

void streams_free(struct streams *ss)
{
	if (!ss)
		return;
	for (size_t i = 0; i < ss->n; i++)
		stream_free(&ss->s[i]);
	free(ss->s);
	free(ss->tees);
	free(ss);
}

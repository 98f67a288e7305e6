/*
 * mem: an in-memory target for tests of the core (not installed). The
 * store lives as long as the process, shared by its handles. Fault
 * injection: `fail_writes` write() calls of the process, after the first
 * `fail_from` calls, fail with `fail_code` (2, CAIRN_ERETRY, by
 * default), so a test can prove the core retries ERETRY and nothing
 * else; `fail_commits` commit() calls fail likewise. With `resumable`
 * the transactions survive ERETRY (CAIRN_PROP_RESUMABLE): a failed call
 * takes nothing. begin() logs "begin NAME"; commit() checks the core's
 * SHA-256 against the bytes it got.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cairn/plugin.h"

struct obj {
	char *name;
	unsigned char *p;
	size_t len;
	struct obj *next;
};

static struct obj *store;
static int64_t writes_failed, write_calls, commits_failed;

struct mem {
	const struct cairn_host *host;
	const struct cairn_target_config *cfg;
};

struct cairn_txn {
	struct mem *m;
	char *name;
	unsigned char *p;
	size_t len, cap;
	uint64_t size;
};

static const struct cairn_key_spec keys[] = {
	CAIRN_KEY_RANGE("fail_writes", CAIRN_KEY_INT, "0", 0, 0, 1000000,
			"fail this many write() calls of the process"),
	CAIRN_KEY_RANGE("fail_code", CAIRN_KEY_INT, "2", 0, 1, 10,
			"the cairn_rc code the failed writes return"),
	CAIRN_KEY_RANGE("fail_from", CAIRN_KEY_INT, "0", 0, 0, 1000000,
			"write() calls that succeed before the failures"),
	CAIRN_KEY_RANGE("fail_commits", CAIRN_KEY_INT, "0", 0, 0, 1000000,
			"fail this many commit() calls of the process"),
	CAIRN_KEY("resumable", CAIRN_KEY_BOOL, "no", 0,
		  "transactions survive CAIRN_ERETRY"),
	CAIRN_KEY("token", CAIRN_KEY_STRING, NULL, CAIRN_KEY_SECRET,
		  "a secret, for tests of SECRET keys"),
	CAIRN_KEY_END,
};

static int bad_name(const char *n, struct cairn_error *err)
{
	if (!*n || *n == '.' || strchr(n, '/') || strlen(n) > 255)
		return cairn_errf(err, CAIRN_EFAIL, "bad object name %s", n);
	return CAIRN_OK;
}

static struct obj **find(const char *name)
{
	struct obj **o = &store;

	while (*o && strcmp((*o)->name, name))
		o = &(*o)->next;
	return o;
}

static int m_open(const struct cairn_host *host,
		  const struct cairn_target_config *cfg,
		  struct cairn_target_props *props, void **h,
		  struct cairn_error *err)
{
	struct mem *m = calloc(1, sizeof(*m));

	if (!m)
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	m->host = host;
	m->cfg = cfg;
	props->flags = CAIRN_PROP_RANGED_GET | CAIRN_PROP_ATOMIC_COMMIT;
	if (cfg->get_bool(cfg, "resumable"))
		props->flags |= CAIRN_PROP_RESUMABLE;
	*h = m;
	return CAIRN_OK;
}

static void m_close(void *h)
{
	free(h);
}

static int m_begin(void *h, const char *name, uint64_t size,
		   struct cairn_txn **txn, struct cairn_error *err)
{
	struct cairn_txn *t;

	if (bad_name(name, err))
		return CAIRN_EFAIL;
	if (!(t = calloc(1, sizeof(*t))) || !(t->name = strdup(name))) {
		free(t);
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	}
	t->m = h;
	t->size = size;
	*txn = t;
	t->m->host->log(t->m->host, CAIRN_LOG_INFO, "begin %s", name);
	return CAIRN_OK;
}

static int m_write(struct cairn_txn *t, const void *buf, size_t len,
		   struct cairn_error *err)
{
	const struct cairn_target_config *c = t->m->cfg;

	if (++write_calls > c->get_int(c, "fail_from") &&
	    writes_failed < c->get_int(c, "fail_writes")) {
		writes_failed++;
		return cairn_errf(err, (int)c->get_int(c, "fail_code"),
				  "injected write failure %lld",
				  (long long)writes_failed);
	}
	if (t->len + len > t->cap) {
		unsigned char *p = realloc(t->p, (t->len + len) * 2 + 1);

		if (!p)
			return cairn_errf(err, CAIRN_EFAIL, "out of memory");
		t->p = p;
		t->cap = (t->len + len) * 2 + 1;
	}
	if (len)
		memcpy(t->p + t->len, buf, len);
	t->len += len;
	return CAIRN_OK;
}

static void m_abort(struct cairn_txn *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->p);
	free(t);
}

static int m_commit(struct cairn_txn *t, const char *sha,
		    struct cairn_error *err)
{
	const struct cairn_target_config *c = t->m->cfg;
	struct obj **o, *n;
	unsigned char md[32];
	char hex[65];
	int rc = CAIRN_EFAIL;

	if (commits_failed < c->get_int(c, "fail_commits")) {
		commits_failed++;
		rc = cairn_errf(err, (int)c->get_int(c, "fail_code"),
				"injected commit failure %lld",
				(long long)commits_failed);
		if (rc == CAIRN_ERETRY && c->get_bool(c, "resumable"))
			return rc; /* the transaction stays open */
		goto out;
	}
	EVP_Digest(t->p ? t->p : md, t->len, md, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (sha && strcmp(sha, hex)) {
		cairn_errf(err, CAIRN_EINTEGRITY, "%s: sha256 %s, the core "
			   "says %s", t->name, hex, sha);
		goto out;
	}
	if (t->size != CAIRN_SIZE_UNKNOWN && t->size != t->len) {
		cairn_errf(err, rc, "%s: wrote %zu bytes of %llu", t->name,
			   t->len, (unsigned long long)t->size);
		goto out;
	}
	o = find(t->name);
	if (!*o) {
		if (!(n = calloc(1, sizeof(*n)))) {
			cairn_errf(err, rc, "out of memory");
			goto out;
		}
		n->name = t->name;
		t->name = NULL;
		*o = n;
	}
	free((*o)->p);
	(*o)->p = t->p;
	(*o)->len = t->len;
	t->p = NULL;
	rc = CAIRN_OK;
out:
	m_abort(t);
	return rc;
}

static int m_get(void *h, const char *name, uint64_t off, uint64_t len,
		 const struct cairn_sink *sink, struct cairn_error *err)
{
	struct obj *o = *find(name);
	uint64_t n;

	(void)h;
	if (bad_name(name, err))
		return CAIRN_EFAIL;
	if (!o)
		return cairn_errf(err, CAIRN_ENOTFOUND, "no object %s", name);
	if (off > o->len)
		return cairn_errf(err, CAIRN_EFAIL, "%s: offset beyond end",
				  name);
	n = o->len - off < len ? o->len - off : len;
	/* Two chunks when it can: sinks take any split. */
	if (n > 1) {
		int rc = sink->write(sink->ctx, o->p + off, (size_t)n / 2);

		if (rc)
			return rc;
		off += n / 2;
		n -= n / 2;
	}
	return n ? sink->write(sink->ctx, o->p + off, (size_t)n) : CAIRN_OK;
}

static int m_stat(void *h, const char *name, struct cairn_object *obj,
		  struct cairn_error *err)
{
	struct obj *o = *find(name);

	(void)h;
	if (bad_name(name, err))
		return CAIRN_EFAIL;
	if (!o)
		return cairn_errf(err, CAIRN_ENOTFOUND, "no object %s", name);
	obj->bytes = o->len;
	obj->mtime = 0;
	return CAIRN_OK;
}

static int m_list(void *h, cairn_list_cb cb, void *ctx,
		  struct cairn_error *err)
{
	(void)h;
	(void)err;
	for (struct obj *o = store; o; o = o->next) {
		struct cairn_object c = { sizeof(c), o->name, o->len, 0, NULL,
					     0, 0 };

		if (cb(ctx, &c))
			break;
	}
	return CAIRN_OK;
}

static int m_del(void *h, const char *name, struct cairn_error *err)
{
	struct obj **o = find(name), *d = *o;

	(void)h;
	if (bad_name(name, err))
		return CAIRN_EFAIL;
	if (!d)
		return cairn_errf(err, CAIRN_ENOTFOUND, "no object %s", name);
	*o = d->next;
	free(d->name);
	free(d->p);
	free(d);
	return CAIRN_OK;
}

static const struct cairn_target_ops ops = {
	CAIRN_TARGET_OPS_HEAD,
	.name = "mem",
	.version = "1",
	.keys = keys,
	.open = m_open,
	.close = m_close,
	.begin = m_begin,
	.write = m_write,
	.commit = m_commit,
	.abort = m_abort,
	.get = m_get,
	.stat = m_stat,
	.list = m_list,
	.del = m_del,
};

const struct cairn_target_ops *cairn_target_plugin(void)
{
	return &ops;
}

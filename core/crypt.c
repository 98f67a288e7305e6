/*
 * Encryption of a target's copies (or of [cairn]'s): the settings
 * (encrypt = age, recipients, recipients_file, passphrase_file,
 * identity_file) and the transforms that put age in front of a put and
 * behind a get. Each transform also hashes the ciphertext, so a
 * target's .sha256 sidecar checks its objects without the key, and a
 * fetch hashes the plaintext, for the local sidecar.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cairn.h"

const char *const crypt_keys[] = {
	"encrypt", "recipients", "recipients_file", "passphrase_file",
	"identity_file", NULL,
};

/* key's value in s (not section_get: config.c calls us). */
static const char *get(const struct section *s, const char *key,
		       const char **where)
{
	const struct kv *kv = NULL;

	for (size_t i = 0; s && i < s->nkv && !kv; i++)
		if (!strcmp(s->kv[i].key, key))
			kv = &s->kv[i];
	*where = kv ? kv->where : NULL;
	return kv && *kv->val ? kv->val : NULL;
}

static int load_recipients(const struct section *s, struct crypt *c,
			   struct cairn_error *err)
{
	const char *where, *v = get(s, "recipients", &where);
	size_t len;
	char *text;
	int rc = CAIRN_OK;

	if (v && (rc = age_recipients_parse(&c->r, v, where, err)))
		return rc;
	if (!(v = get(s, "recipients_file", &where)))
		return CAIRN_OK;
	if (!(text = read_file(v, &len)))
		return errno_err(err, CAIRN_ECONFIG, errno, "%s: "
				 "recipients_file %s", where, v);
	rc = age_recipients_parse(&c->r, text, v, err);
	free(text);
	return rc;
}

/* [cairn] encrypts the archive: a target is sent that ciphertext as it
 * is (asis), so its own keys would be a second, unused set. */
static int inherit(const struct section *s, const char *what,
		   const struct crypt *dflt, struct crypt *c,
		   struct cairn_error *err)
{
	static const char *const own[] = {
		"encrypt", "recipients", "recipients_file", "passphrase_file",
	};
	const char *where, *v;

	for (size_t i = 0; i < ARRAY_SIZE(own); i++)
		if (get(s, own[i], &where))
			return cairn_errf(err, CAIRN_ECONFIG, "%s: %s: [cairn] "
					  "encrypts the archive already, and "
					  "%s gets that ciphertext as it is",
					  where, own[i], what);
	c->on = c->asis = true;
	v = get(s, "identity_file", &where);
	if (v || dflt->identity_file)
		c->identity_file = xstrdup(v ? v : dflt->identity_file);
	for (size_t i = 0; i < dflt->r.n; i++)
		age_recipients_add(&c->r, dflt->r.x25519[i]);
	if (dflt->r.passphrase)
		c->r.passphrase = xstrdup(dflt->r.passphrase);
	return CAIRN_OK;
}

int crypt_load(const struct section *s, const char *what,
	       const struct crypt *dflt, struct crypt *c,
	       struct cairn_error *err)
{
	const char *where, *v = get(s, "encrypt", &where);
	int rc;

	memset(c, 0, sizeof(*c));
	if (dflt && dflt->on)
		return inherit(s, what, dflt, c, err);
	if (v && strcmp(v, "age") && strcmp(v, "none"))
		return cairn_errf(err, CAIRN_ECONFIG, "%s: encrypt = %s: "
				  "want age or none", where, v);
	c->on = v && !strcmp(v, "age");
	if ((v = get(s, "identity_file", &where)))
		c->identity_file = xstrdup(v);
	if ((rc = load_recipients(s, c, err)))
		return rc;
	if ((v = get(s, "passphrase_file", &where)) &&
	    (rc = age_passphrase_load(&c->r.passphrase, v, err)))
		return rc;
	if (dflt && !c->r.n && !c->r.passphrase) { /* [cairn]'s keys */
		for (size_t i = 0; i < dflt->r.n; i++)
			age_recipients_add(&c->r, dflt->r.x25519[i]);
		if (dflt->r.passphrase)
			c->r.passphrase = xstrdup(dflt->r.passphrase);
	}
	if (dflt && !c->identity_file && dflt->identity_file)
		c->identity_file = xstrdup(dflt->identity_file);
	if (c->on && !c->r.n && !c->r.passphrase)
		return cairn_errf(err, CAIRN_ECONFIG, "%s: encrypt = age but "
				  "no recipients, recipients_file or "
				  "passphrase_file", what);
	if (c->on && c->r.n && c->r.passphrase)
		return cairn_errf(err, CAIRN_ECONFIG, "%s: passphrase_file "
				  "cannot be mixed with recipients (age "
				  "allows an scrypt stanza only alone)", what);
	return CAIRN_OK;
}

void crypt_free(struct crypt *c)
{
	age_recipients_free(&c->r);
	free(c->identity_file);
	memset(c, 0, sizeof(*c));
}

int crypt_identities(const struct crypt *c, const char *opt,
		     const char *what, struct age_identities *ids,
		     struct cairn_error *err)
{
	const char *env = getenv("CAIRN_IDENTITY");
	const char *file = opt ? opt : env && *env ? env : c->identity_file;
	int rc;

	memset(ids, 0, sizeof(*ids));
	if (file && (rc = age_identities_load(ids, file, err)))
		return rc;
	if (c->r.passphrase)
		strv_push(&ids->passphrases, c->r.passphrase);
	if (!ids->n && !ids->passphrases.n)
		return cairn_errf(err, CAIRN_ECONFIG, "%s is encrypted: an "
				  "identity is needed (--identity FILE, "
				  "CAIRN_IDENTITY or identity_file)", what);
	return CAIRN_OK;
}

char *crypt_object(const struct crypt *c, char *name)
{
	char *s;

	if (!c || !c->on)
		return name;
	if (ends_with(name, ".sha256")) /* NAME.sha256: NAME.age.sha256 */
		s = xasprintf("%.*s.age.sha256", (int)strlen(name) - 7, name);
	else
		s = xasprintf("%s.age", name);
	free(name);
	return s;
}

char *crypt_plain_name(const char *name)
{
	size_t l = strlen(name);

	if (ends_with(name, ".age.sha256"))
		return xasprintf("%.*s.sha256", (int)l - 11, name);
	if (ends_with(name, ".age"))
		return xasprintf("%.*s", (int)l - 4, name);
	return xstrdup(name);
}

/* ---- put: plaintext in, hashed ciphertext out ---- */

static int put_out(void *ctx, const void *buf, size_t len)
{
	struct crypt_put *p = ctx;

	EVP_DigestUpdate(p->sha, buf, len);
	p->bytes += len;
	return p->out(p->out_ctx, buf, len);
}

static int put_begin(struct crypt_put *p, const struct age_recipients *r,
		     int (*out)(void *, const void *, size_t), void *ctx,
		     int fd, struct cairn_error *err)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd; /* before the header goes out */
	p->out = out;
	p->out_ctx = ctx;
	if (!(p->sha = EVP_MD_CTX_new()) ||
	    !EVP_DigestInit_ex(p->sha, EVP_sha256(), NULL))
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	return age_enc_begin(&p->enc, r, put_out, p, err);
}

int crypt_put_begin(struct crypt_put *p, const struct age_recipients *r,
		    int (*out)(void *, const void *, size_t), void *ctx,
		    struct cairn_error *err)
{
	return put_begin(p, r, out, ctx, -1, err);
}

int crypt_put_write(void *ctx, const void *buf, size_t len)
{
	struct crypt_put *p = ctx;

	return age_enc_write(&p->enc, buf, len);
}

int crypt_put_end(struct crypt_put *p, char hex[65], struct cairn_error *err)
{
	unsigned char h[32];
	int rc = age_enc_finish(&p->enc, err);

	if (!rc && !EVP_DigestFinal_ex(p->sha, h, NULL))
		rc = cairn_errf(err, CAIRN_EFAIL, "libcrypto: SHA-256");
	if (!rc)
		hex_encode(h, 32, hex);
	return rc;
}

void crypt_put_free(struct crypt_put *p)
{
	age_enc_free(&p->enc);
	EVP_MD_CTX_free(p->sha);
	memset(p, 0, sizeof(*p));
}

static int fd_out(void *ctx, const void *buf, size_t len)
{
	struct crypt_put *p = ctx;

	if (!write_all(p->fd, buf, len))
		return CAIRN_OK;
	p->werrno = errno;
	return CAIRN_EFAIL;
}

int crypt_put_fd(struct crypt_put *p, const struct age_recipients *r,
		 int fd, struct cairn_error *err)
{
	return put_begin(p, r, fd_out, p, fd, err);
}

int crypt_put_buf(struct crypt_put *p, const void *buf, size_t len,
		  const char *what, struct cairn_error *err)
{
	if (!crypt_put_write(p, buf, len))
		return CAIRN_OK;
	if (p->werrno)
		return errno_err(err, 0, p->werrno, "cannot write %s", what);
	*err = p->enc.err;
	return err->code;
}

int crypt_put_file(const char *path, const struct age_recipients *r,
		   int (*out)(void *, const void *, size_t), void *ctx,
		   char hex[65], uint64_t *bytes, struct cairn_error *err)
{
	struct crypt_put p;
	char *buf = xmalloc(1 << 20);
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
	ssize_t n = 0;

	if (fd < 0) {
		free(buf);
		return errno_err(err, CAIRN_EFAIL, errno, "cannot read %s",
				 path);
	}
	rc = crypt_put_begin(&p, r, out, ctx, err);
	while (!rc && (n = read(fd, buf, 1 << 20)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno_err(err, CAIRN_EFAIL, errno, "cannot read "
				       "%s", path);
			break;
		}
		if ((rc = stop_check(err)) ||
		    (rc = crypt_put_buf(&p, buf, (size_t)n, path, err)))
			break;
	}
	if (!rc && !(rc = crypt_put_end(&p, hex, err)))
		*bytes = p.bytes;
	crypt_put_free(&p);
	close(fd);
	free(buf);
	return rc;
}

/* ---- get: ciphertext in (hashed), plaintext to a file (hashed) ---- */

static int get_out(void *ctx, const void *buf, size_t len)
{
	struct crypt_get *g = ctx;

	for (size_t w = 0; w < len;) {
		ssize_t k = write(g->fd, (const char *)buf + w, len - w);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			g->werrno = errno;
			return cairn_errno_rc(errno);
		}
		w += (size_t)k;
	}
	EVP_DigestUpdate(g->psha, buf, len);
	return CAIRN_OK;
}

int crypt_get_begin(struct crypt_get *g, const struct age_identities *ids,
		    int fd, struct cairn_error *err)
{
	memset(g, 0, sizeof(*g));
	g->fd = fd;
	if (!(g->csha = EVP_MD_CTX_new()) || !(g->psha = EVP_MD_CTX_new()) ||
	    !EVP_DigestInit_ex(g->csha, EVP_sha256(), NULL) ||
	    !EVP_DigestInit_ex(g->psha, EVP_sha256(), NULL))
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	return age_dec_begin(&g->dec, ids, get_out, g);
}

int crypt_get_write(void *ctx, const void *buf, size_t len)
{
	struct crypt_get *g = ctx;

	EVP_DigestUpdate(g->csha, buf, len);
	g->cbytes += len;
	return age_dec_write(&g->dec, buf, len);
}

int crypt_get_end(struct crypt_get *g, const char *what, char chex[65],
		  char phex[65], struct cairn_error *err)
{
	unsigned char h[32];
	int rc = g->dec.err.code ? g->dec.err.code
				 : age_dec_finish(&g->dec, err);

	if (g->dec.err.code)
		*err = g->dec.err;
	if (rc && g->werrno)
		return errno_err(err, rc, g->werrno, "cannot write %s", what);
	if (rc)
		return cairn_errf(err, rc, "%s: %s", what, g->dec.err.msg);
	EVP_DigestFinal_ex(g->csha, h, NULL);
	hex_encode(h, 32, chex);
	EVP_DigestFinal_ex(g->psha, h, NULL);
	hex_encode(h, 32, phex);
	return CAIRN_OK;
}

void crypt_get_free(struct crypt_get *g)
{
	age_dec_free(&g->dec);
	EVP_MD_CTX_free(g->csha);
	EVP_MD_CTX_free(g->psha);
	memset(g, 0, sizeof(*g));
}

/* ---- ranged reads: plaintext at any offset, one chunk at a time ---- */

static int reader_chunk(struct crypt_reader *r, uint64_t k,
			struct cairn_error *err)
{
	uint64_t off = r->s.payload_off + k * AGE_CCHUNK;
	size_t n = r->size - off < AGE_CCHUNK ? (size_t)(r->size - off)
					       : AGE_CCHUNK;
	int rc;

	if (r->cached == k)
		return CAIRN_OK;
	r->cached = UINT64_MAX;
	if ((rc = r->read_at(r->ctx, off, n, r->cbuf, err)) ||
	    (rc = age_chunk_open(&r->s, k, k == r->nchunks - 1, r->cbuf, n,
				 r->pbuf, &r->pn, err)))
		return rc;
	r->cached = k;
	return CAIRN_OK;
}

int crypt_reader_open(struct crypt_reader *r,
		      const struct age_identities *ids, uint64_t size,
		      int (*read_at)(void *, uint64_t, size_t, uint8_t *,
				     struct cairn_error *),
		      void *ctx, struct cairn_error *err)
{
	size_t have = 0, want = 4096, hlen = 0;
	uint8_t *h = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	r->read_at = read_at;
	r->ctx = ctx;
	r->size = size;
	r->cached = UINT64_MAX;
	r->cbuf = xmalloc(AGE_CCHUNK);
	r->pbuf = xmalloc(AGE_CHUNK);
	do { /* the header: read more until it is whole */
		want = want > size ? (size_t)size : want;
		h = xrealloc(h, want);
		if ((rc = read_at(ctx, have, want - have, h + have, err)) ||
		    (rc = age_header_len(h, want, &hlen, err)))
			goto out;
		have = want;
		want *= 2;
	} while (!hlen && have < size);
	if (!hlen)
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "truncated age header");
	else if (!(rc = age_header_open(&r->s, ids, h, hlen, err)) &&
		 !(rc = age_geometry(&r->s, size, &r->plain, &r->nchunks,
				     err)))
		rc = reader_chunk(r, r->nchunks - 1, err); /* a real end */
out:
	free(h);
	return rc;
}

int crypt_reader_pread(struct crypt_reader *r, uint64_t off, void *buf,
		       size_t len, size_t *got, struct cairn_error *err)
{
	uint8_t *p = buf;
	int rc;

	*got = 0;
	while (len && off < r->plain) {
		uint64_t k = off / AGE_CHUNK;
		size_t at = (size_t)(off % AGE_CHUNK), m;

		if ((rc = reader_chunk(r, k, err)))
			return rc;
		m = r->pn - at < len ? r->pn - at : len;
		memcpy(p, r->pbuf + at, m);
		p += m;
		*got += m;
		off += m;
		len -= m;
	}
	return CAIRN_OK;
}

void crypt_reader_close(struct crypt_reader *r)
{
	age_stream_free(&r->s);
	free(r->cbuf);
	if (r->pbuf)
		OPENSSL_clear_free(r->pbuf, AGE_CHUNK);
	memset(r, 0, sizeof(*r));
}

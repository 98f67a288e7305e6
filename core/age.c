/*
 * The age v1 file format (age-encryption.org/v1, C2SP) on libcrypto:
 * X25519 and scrypt recipient stanzas, the HMAC-SHA-256 header MAC and
 * the STREAM payload (ChaCha20-Poly1305 over 64 KiB chunks, an 11-byte
 * counter and a last-chunk flag in the nonce).
 *
 * Both directions are sink-to-sink transforms, so a backup encrypts on
 * its way to a target and a restore decrypts on its way in, with no
 * copy on disk. The payload is seekable: chunk k decrypts alone (given
 * whether it is the last), for ranged reads.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "cairn.h"

static const char v1_line[] = "age-encryption.org/v1\n";
static const char x25519_info[] = "age-encryption.org/v1/X25519";
static const char scrypt_label[] = "age-encryption.org/v1/scrypt";
/* Headers are a few hundred bytes per recipient; refuse a runaway. */
enum { HEADER_MAX = 1 << 20, FILE_KEY = 16, NONCE = 16 };

/* ---- base64 without padding, canonical only ---- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_add(struct sbuf *out, const uint8_t *in, size_t n)
{
	char q[4];

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t k = n - i < 3 ? n - i : 3;

		if (k > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (k > 2)
			v |= in[i + 2];
		for (int j = 0; j < 4; j++)
			q[j] = b64[(v >> (18 - 6 * j)) & 63];
		sb_add(out, q, k + 1);
	}
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

/* Decode s[0..n) into out (cap bytes); -1 unless canonical. */
static ssize_t b64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val(s[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (acc & ((1u << bits) - 1)) /* leftover bits must be zero */
		return -1;
	return (ssize_t)o;
}

/* ---- primitives ---- */

static bool hkdf(const uint8_t *ikm, size_t ikmn, const uint8_t *salt,
		 size_t saltn, const char *info, uint8_t out[32])
{
	static const uint8_t zero[32];
	EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t n = 32;
	bool ok;

	/* An empty salt is HashLen zeros (RFC 5869), said explicitly. */
	if (!saltn) {
		salt = zero;
		saltn = sizeof(zero);
	}
	ok = p && EVP_PKEY_derive_init(p) > 0 &&
	     EVP_PKEY_CTX_set_hkdf_md(p, EVP_sha256()) > 0 &&
	     EVP_PKEY_CTX_set1_hkdf_salt(p, salt, (int)saltn) > 0 &&
	     EVP_PKEY_CTX_set1_hkdf_key(p, ikm, (int)ikmn) > 0 &&
	     EVP_PKEY_CTX_add1_hkdf_info(p, (const unsigned char *)info,
					 (int)strlen(info)) > 0 &&
	     EVP_PKEY_derive(p, out, &n) > 0 && n == 32;
	EVP_PKEY_CTX_free(p);
	return ok;
}

/* ChaCha20-Poly1305 with ctx keyed already (or key != NULL): n bytes of
 * in to out; sealing appends the tag, opening checks it (n counts it). */
static bool aead(EVP_CIPHER_CTX *c, const uint8_t *key,
		 const uint8_t nonce[12], bool seal, const uint8_t *in,
		 size_t n, uint8_t *out)
{
	int l = 0, f = 0;

	if (!seal && n < AGE_TAG)
		return false;
	if (!seal)
		n -= AGE_TAG;
	if (!EVP_CipherInit_ex(c, key ? EVP_chacha20_poly1305() : NULL,
			       NULL, key, nonce, seal))
		return false;
	if (!seal && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, AGE_TAG,
					  (void *)(in + n)))
		return false;
	if (n && !EVP_CipherUpdate(c, out, &l, in, (int)n))
		return false;
	if (!EVP_CipherFinal_ex(c, out + l, &f))
		return false;
	return !seal || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG,
					    AGE_TAG, out + n) > 0;
}

/* A one-off AEAD under key with the all-zero nonce (stanza bodies). */
static bool aead_once(const uint8_t key[32], bool seal, const uint8_t *in,
		      size_t n, uint8_t *out)
{
	static const uint8_t zero[12];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	bool ok = c && aead(c, key, zero, seal, in, n, out);

	EVP_CIPHER_CTX_free(c);
	return ok;
}

/* X25519(sk, pk); false also for an all-zero result (a low-order
 * point), which libcrypto refuses and age must abort on. */
static bool x25519(const uint8_t sk[32], const uint8_t pk[32],
		   uint8_t out[32])
{
	static const uint8_t zero[32];
	EVP_PKEY *s = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
						   sk, 32);
	EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pk,
						  32);
	EVP_PKEY_CTX *c = s ? EVP_PKEY_CTX_new(s, NULL) : NULL;
	size_t n = 32;
	bool ok = c && p && EVP_PKEY_derive_init(c) > 0 &&
		  EVP_PKEY_derive_set_peer(c, p) > 0 &&
		  EVP_PKEY_derive(c, out, &n) > 0 && n == 32 &&
		  CRYPTO_memcmp(out, zero, 32);

	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(p);
	EVP_PKEY_free(s);
	return ok;
}

int age_public_key(const uint8_t sk[32], uint8_t pub[32])
{
	EVP_PKEY *s = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
						   sk, 32);
	size_t n = 32;
	int ok = s && EVP_PKEY_get_raw_public_key(s, pub, &n) > 0 && n == 32;

	EVP_PKEY_free(s);
	return ok ? 0 : -1;
}

static bool scrypt_key(const char *pass, const uint8_t salt[16], int wf,
		       uint8_t out[32])
{
	uint8_t s[sizeof(scrypt_label) - 1 + 16];
	uint64_t N = (uint64_t)1 << wf;

	memcpy(s, scrypt_label, sizeof(scrypt_label) - 1);
	memcpy(s + sizeof(scrypt_label) - 1, salt, 16);
	/* 128 * r * N bytes of V, and a margin. */
	return EVP_PBE_scrypt(pass, strlen(pass), s, sizeof(s), N, 8, 1,
			      128 * 8 * (N + 2) + (1 << 20), out, 32) == 1;
}

/* ---- keys as text ---- */

int age_parse_recipient(const char *s, uint8_t pub[32])
{
	size_t n;

	if (strncmp(s, "age1", 4) || bech32_decode(s, "age", pub, 32, &n) ||
	    n != 32)
		return -1;
	return 0;
}

char *age_recipient_string(const uint8_t pub[32])
{
	return bech32_encode("age", pub, 32, false);
}

int age_parse_identity(const char *s, uint8_t sk[32])
{
	size_t n;

	if (strncmp(s, "AGE-SECRET-KEY-1", 16) ||
	    bech32_decode(s, "age-secret-key-", sk, 32, &n) || n != 32)
		return -1;
	return 0;
}

char *age_identity_string(const uint8_t sk[32])
{
	return bech32_encode("age-secret-key-", sk, 32, true);
}

void age_recipients_free(struct age_recipients *r)
{
	free(r->x25519);
	if (r->passphrase)
		OPENSSL_clear_free(r->passphrase, strlen(r->passphrase));
	memset(r, 0, sizeof(*r));
}

void age_identities_free(struct age_identities *ids)
{
	if (ids->x25519)
		OPENSSL_clear_free(ids->x25519, ids->n * 32);
	for (size_t i = 0; i < ids->passphrases.n; i++)
		OPENSSL_cleanse(ids->passphrases.v[i],
				strlen(ids->passphrases.v[i]));
	strv_free(&ids->passphrases);
	memset(ids, 0, sizeof(*ids));
}

void age_recipients_add(struct age_recipients *r, const uint8_t pub[32])
{
	r->x25519 = xrealloc(r->x25519, (r->n + 1) * 32);
	memcpy(r->x25519[r->n++], pub, 32);
}

void age_identities_add(struct age_identities *ids, const uint8_t sk[32])
{
	uint8_t (*v)[32] = xmalloc((ids->n + 1) * 32);

	if (ids->n)
		memcpy(v, ids->x25519, ids->n * 32);
	memcpy(v[ids->n], sk, 32);
	if (ids->x25519)
		OPENSSL_clear_free(ids->x25519, ids->n * 32);
	ids->x25519 = v;
	ids->n++;
}

/* Each line of text: blanks, a '#' comment, or keys separated by
 * blanks; errors name where:LINE (never the text: it may be a key). */
static int each_key_line(char *text, const char *where, bool identity,
			 void *set, struct cairn_error *err)
{
	uint8_t k[32];
	size_t lineno = 0;
	int rc = CAIRN_OK;

	for (char *line = text, *next; line && !rc; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		line[strcspn(line, "#")] = '\0';
		for (char *tok = strtok(line, " \t\r"); tok && !rc;
		     tok = strtok(NULL, " \t\r")) {
			if (identity && !age_parse_identity(tok, k))
				age_identities_add(set, k);
			else if (!identity && !age_parse_recipient(tok, k))
				age_recipients_add(set, k);
			else
				rc = cairn_errf(err, CAIRN_ECONFIG, "%s:%zu: "
						"not an age %s", where, lineno,
						identity ? "identity "
						"(AGE-SECRET-KEY-1...)" :
						"recipient (age1...)");
		}
	}
	OPENSSL_cleanse(k, sizeof(k));
	return rc;
}

int age_recipients_parse(struct age_recipients *r, const char *text,
			 const char *where, struct cairn_error *err)
{
	char *t = xstrdup(text);
	int rc = each_key_line(t, where, false, r, err);

	free(t);
	return rc;
}

/* A secret file: ours to read, nobody else's (as ssh insists). */
char *age_read_secret(const char *path, size_t *len, struct cairn_error *err)
{
	struct stat st;
	char *s;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		errno_err(err, errno == ENOENT ? CAIRN_ECONFIG : CAIRN_EFAIL,
			  errno, "%s", path);
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		cairn_errf(err, CAIRN_ECONFIG, "%s: not a regular file", path);
		return NULL;
	}
	close(fd);
	if (st.st_mode & 077) {
		cairn_errf(err, CAIRN_ECONFIG, "%s: readable by group or "
			   "others; chmod 600 it", path);
		return NULL;
	}
	if (!(s = read_file(path, len)))
		errno_err(err, CAIRN_EFAIL, errno, "%s", path);
	return s;
}

int age_identities_load(struct age_identities *ids, const char *path,
			struct cairn_error *err)
{
	size_t len;
	char *s = age_read_secret(path, &len, err);
	int rc;

	if (!s)
		return err->code;
	rc = each_key_line(s, path, true, ids, err);
	OPENSSL_clear_free(s, len);
	return rc;
}

int age_passphrase_load(char **pass, const char *path,
			struct cairn_error *err)
{
	size_t len;
	char *s = age_read_secret(path, &len, err);

	if (!s)
		return err->code;
	s[strcspn(s, "\r\n")] = '\0';
	if (!*s) {
		free(s);
		return cairn_errf(err, CAIRN_ECONFIG, "%s: empty passphrase",
				  path);
	}
	*pass = s;
	return CAIRN_OK;
}

/* ---- the header ---- */

struct stanza {
	char *args[4]; /* into the header's copy; args[0] the type */
	int argc;
	uint8_t *body;
	ssize_t bodyn;
};

struct header {
	char *text; /* a NUL-terminated copy of the header lines */
	struct stanza *st;
	size_t n;
	size_t mac_at;    /* offset of the "---" that ends the MACed text */
	uint8_t mac[32];
};

static void header_free(struct header *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->st[i].body);
	free(h->text);
	free(h->st);
	memset(h, 0, sizeof(*h));
}

static int bad(struct cairn_error *err, const char *what)
{
	return cairn_errf(err, CAIRN_EINTEGRITY, "malformed age header: %s",
			  what);
}

/* "-> arg arg..." (after the "-> "): one-space separated VCHARs. */
static int parse_args(struct stanza *s, char *p, struct cairn_error *err)
{
	for (;;) {
		char *sp = strchr(p, ' ');

		if (sp)
			*sp = '\0';
		if (!*p)
			return bad(err, "empty stanza argument");
		for (char *q = p; *q; q++)
			if (*q < 33 || *q > 126)
				return bad(err, "bad character in stanza");
		if (s->argc < (int)ARRAY_SIZE(s->args))
			s->args[s->argc] = p;
		s->argc++;
		if (!sp)
			return CAIRN_OK;
		p = sp + 1;
	}
}

/* Body lines from *pp: full 64-column lines, then one shorter. */
static int parse_body(struct stanza *s, char **pp, struct cairn_error *err)
{
	struct sbuf b = { 0 };
	char *p = *pp;
	int rc = CAIRN_OK;

	for (;;) {
		char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : 0;

		if (!nl || l > 64) {
			rc = bad(err, nl ? "stanza line over 64 columns"
					 : "stanza without a final line");
			break;
		}
		sb_add(&b, p, l);
		p = nl + 1;
		if (l < 64)
			break;
	}
	if (!rc) {
		s->body = xmalloc(b.len + 1);
		s->bodyn = b64_decode(b.s ? b.s : "", b.len, s->body,
				      b.len + 1);
		if (s->bodyn < 0)
			rc = bad(err, "bad or non-canonical base64 in a "
				 "stanza body");
	}
	sb_free(&b);
	*pp = p;
	return rc;
}

/* Split the header text (version line to MAC line, NUL-terminated). */
static int header_parse(struct header *h, struct cairn_error *err)
{
	char *p = h->text;
	int rc;

	if (strncmp(p, v1_line, sizeof(v1_line) - 1))
		return cairn_errf(err, CAIRN_EINTEGRITY, "not an age v1 file "
				  "(unsupported version line)");
	p += sizeof(v1_line) - 1;
	while (!strncmp(p, "-> ", 3)) {
		struct stanza *s;
		char *nl = strchr(p, '\n');

		if (!nl)
			return bad(err, "truncated stanza");
		*nl = '\0';
		h->st = xrealloc(h->st, (h->n + 1) * sizeof(*h->st));
		s = memset(&h->st[h->n++], 0, sizeof(*s));
		if ((rc = parse_args(s, p + 3, err)))
			return rc;
		p = nl + 1;
		if ((rc = parse_body(s, &p, err)))
			return rc;
	}
	if (!h->n)
		return bad(err, "no recipient stanza");
	if (strncmp(p, "--- ", 4) || strlen(p) != 4 + 43 + 1 ||
	    p[47] != '\n' ||
	    b64_decode(p + 4, 43, h->mac, sizeof(h->mac)) != 32)
		return bad(err, "bad MAC line");
	h->mac_at = (size_t)(p - h->text);
	return CAIRN_OK;
}

/* Length of header and payload nonce at the start of buf: CAIRN_OK with
 * *hlen 0 while more bytes are needed; an error if it is not age. */
int age_header_len(const void *buf, size_t len, size_t *hlen,
		   struct cairn_error *err)
{
	const char *s = buf, *end;
	size_t pre = sizeof(v1_line) - 4; /* "age-encryption.org/" */

	*hlen = 0;
	if (memcmp(s, v1_line, len < pre ? len : pre))
		return cairn_errf(err, CAIRN_EINTEGRITY, "not an age file");
	end = len > 4 ? memmem(s, len, "\n---", 4) : NULL;
	if (end)
		end = memchr(end + 4, '\n', len - (size_t)(end + 4 - s));
	if (end && len - (size_t)(end + 1 - s) >= NONCE)
		*hlen = (size_t)(end + 1 - s) + NONCE;
	else if (len > HEADER_MAX)
		return bad(err, "header too long");
	return CAIRN_OK;
}

/* The arguments of a stanza of ours, checked as the spec says. */
static int check_x25519(const struct stanza *s, uint8_t share[32],
			struct cairn_error *err)
{
	if (s->argc != 2 ||
	    b64_decode(s->args[1], strlen(s->args[1]), share, 32) != 32)
		return bad(err, "bad X25519 stanza");
	if (s->bodyn != 32)
		return bad(err, "X25519 stanza body is not 32 bytes");
	return CAIRN_OK;
}

static int check_scrypt(const struct header *h, const struct stanza *s,
			uint8_t salt[16], int *wf, struct cairn_error *err)
{
	const char *w = s->argc == 3 ? s->args[2] : "";
	long v;

	if (h->n != 1)
		return bad(err, "an scrypt stanza must be alone");
	if (s->argc != 3 ||
	    b64_decode(s->args[1], strlen(s->args[1]), salt, 16) != 16)
		return bad(err, "bad scrypt stanza");
	if (*w < '1' || *w > '9' || strspn(w, "0123456789") != strlen(w) ||
	    !parse_int(w, 1, 64, &v))
		return bad(err, "bad scrypt work factor");
	if (v > AGE_SCRYPT_MAX_WORK)
		return cairn_errf(err, CAIRN_EINTEGRITY, "scrypt work factor "
				  "%ld is over the limit of %d", v,
				  AGE_SCRYPT_MAX_WORK);
	if (s->bodyn != 32)
		return bad(err, "scrypt stanza body is not 32 bytes");
	*wf = (int)v;
	return CAIRN_OK;
}

/* Try one stanza with every identity: 1 found, 0 not ours, <0 error. */
static int unwrap_one(const struct header *h, const struct stanza *s,
		      const struct age_identities *ids, uint8_t fk[16],
		      struct cairn_error *err)
{
	uint8_t share[32], salt[64], shared[32], wrap[32];
	int wf, found = 0;

	if (!strcmp(s->args[0], "X25519")) {
		if (check_x25519(s, share, err))
			return -1;
		for (size_t i = 0; i < ids->n && !found; i++) {
			memcpy(salt, share, 32);
			if (age_public_key(ids->x25519[i], salt + 32) ||
			    !x25519(ids->x25519[i], share, shared)) {
				bad(err, "X25519 share is a low-order point");
				return -1;
			}
			found = hkdf(shared, 32, salt, 64, x25519_info,
				     wrap) &&
				aead_once(wrap, false, s->body, 32, fk);
		}
	} else if (!strcmp(s->args[0], "scrypt")) {
		if (check_scrypt(h, s, salt, &wf, err))
			return -1;
		for (size_t i = 0; i < ids->passphrases.n && !found; i++)
			found = scrypt_key(ids->passphrases.v[i], salt, wf,
					   wrap) &&
				aead_once(wrap, false, s->body, 32, fk);
	}
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(wrap, sizeof(wrap));
	return found;
}

/* The file key: every stanza is checked, the first that opens wins. */
static int unwrap(const struct header *h, const struct age_identities *ids,
		  uint8_t fk[16], struct cairn_error *err)
{
	int found = 0;

	for (size_t i = 0; i < h->n; i++) {
		int r = found ? 0 : unwrap_one(h, &h->st[i], ids, fk, err);
		uint8_t tmp[32];
		int wf;

		if (r < 0)
			return err->code;
		if (r > 0)
			found = 1;
		/* Later stanzas must still be well-formed. */
		if (found && !strcmp(h->st[i].args[0], "X25519") &&
		    check_x25519(&h->st[i], tmp, err))
			return err->code;
		if (found && !strcmp(h->st[i].args[0], "scrypt") &&
		    check_scrypt(h, &h->st[i], tmp, &wf, err))
			return err->code;
	}
	if (!found)
		return cairn_errf(err, CAIRN_EAUTH, "no identity matches its "
				  "recipients");
	return CAIRN_OK;
}

static void stream_key(struct age_stream *s, const uint8_t fk[16],
		       const uint8_t nonce[16])
{
	hkdf(fk, FILE_KEY, nonce, NONCE, "payload", s->key);
}

int age_header_open(struct age_stream *s, const struct age_identities *ids,
		    const void *buf, size_t len, struct cairn_error *err)
{
	struct header h = { 0 };
	uint8_t fk[FILE_KEY], hk[32], mac[32];
	unsigned int macn = 0;
	int rc;

	memset(s, 0, sizeof(*s));
	if (len <= NONCE || memchr(buf, '\0', len - NONCE))
		return bad(err, "truncated or binary header");
	h.text = xmalloc(len - NONCE + 1);
	memcpy(h.text, buf, len - NONCE);
	h.text[len - NONCE] = '\0';
	if ((rc = header_parse(&h, err)) || (rc = unwrap(&h, ids, fk, err)))
		goto out;
	rc = CAIRN_EFAIL;
	if (!hkdf(fk, FILE_KEY, NULL, 0, "header", hk) ||
	    !HMAC(EVP_sha256(), hk, 32, buf, h.mac_at + 3, mac, &macn)) {
		cairn_errf(err, rc, "libcrypto failed on the header MAC");
		goto out;
	}
	if (macn != 32 || CRYPTO_memcmp(mac, h.mac, 32)) {
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "age header MAC "
				"mismatch (the header was changed)");
		goto out;
	}
	stream_key(s, fk, (const uint8_t *)buf + len - NONCE);
	s->payload_off = len;
	if (!(s->c = EVP_CIPHER_CTX_new()) ||
	    !EVP_CipherInit_ex(s->c, EVP_chacha20_poly1305(), NULL, s->key,
			       NULL, 0)) {
		cairn_errf(err, rc, "libcrypto: cannot set up ChaCha20");
		goto out;
	}
	rc = CAIRN_OK;
out:
	OPENSSL_cleanse(fk, sizeof(fk));
	OPENSSL_cleanse(hk, sizeof(hk));
	header_free(&h);
	return rc;
}

void age_stream_free(struct age_stream *s)
{
	EVP_CIPHER_CTX_free(s->c);
	OPENSSL_cleanse(s, sizeof(*s));
}

/* ---- the payload ---- */

static void chunk_nonce(uint8_t n[12], uint64_t k, bool last)
{
	memset(n, 0, 12);
	for (int i = 0; i < 8; i++)
		n[10 - i] = (uint8_t)(k >> (8 * i));
	n[11] = last;
}

int age_chunk_open(struct age_stream *s, uint64_t k, bool last,
		   const uint8_t *ct, size_t n, uint8_t *pt, size_t *ptn,
		   struct cairn_error *err)
{
	uint8_t nonce[12];

	chunk_nonce(nonce, k, last);
	*ptn = 0;
	if (n < AGE_TAG || n > AGE_CCHUNK || (!last && n != AGE_CCHUNK) ||
	    !aead(s->c, NULL, nonce, false, ct, n, pt))
		return cairn_errf(err, CAIRN_EINTEGRITY, "age payload chunk "
				  "%llu does not authenticate (damaged, "
				  "truncated or reordered)",
				  (unsigned long long)k);
	if (last && n == AGE_TAG && k)
		return cairn_errf(err, CAIRN_EINTEGRITY, "age payload: empty "
				  "final chunk");
	*ptn = n - AGE_TAG;
	return CAIRN_OK;
}

int age_chunk_seal(struct age_stream *s, uint64_t k, bool last,
		   const uint8_t *pt, size_t n, uint8_t *ct)
{
	uint8_t nonce[12];

	chunk_nonce(nonce, k, last);
	return aead(s->c, NULL, nonce, true, pt, n, ct) ? CAIRN_OK
							: CAIRN_EFAIL;
}

int age_geometry(const struct age_stream *s, uint64_t file_size,
		 uint64_t *plain, uint64_t *nchunks, struct cairn_error *err)
{
	uint64_t p = file_size - s->payload_off, n, tail;

	if (file_size <= s->payload_off)
		return cairn_errf(err, CAIRN_EINTEGRITY, "age payload is "
				  "missing (truncated)");
	n = (p + AGE_CCHUNK - 1) / AGE_CCHUNK;
	tail = p - (n - 1) * AGE_CCHUNK;
	if (tail < AGE_TAG || (tail == AGE_TAG && n > 1))
		return cairn_errf(err, CAIRN_EINTEGRITY, "age payload is "
				  "truncated");
	*nchunks = n;
	*plain = p - n * AGE_TAG;
	return CAIRN_OK;
}

/* ---- encryption: plaintext in, an age file out to a sink ---- */

static bool stanza_x25519(struct sbuf *h, const uint8_t pub[32],
			  const uint8_t fk[16])
{
	uint8_t eph[32], salt[64], shared[32], wrap[32], body[32];
	bool ok = RAND_bytes(eph, 32) == 1 && !age_public_key(eph, salt) &&
		  x25519(eph, pub, shared);

	memcpy(salt + 32, pub, 32);
	ok = ok && hkdf(shared, 32, salt, 64, x25519_info, wrap) &&
	     aead_once(wrap, true, fk, FILE_KEY, body);
	if (ok) {
		sb_add(h, "-> X25519 ", 10);
		b64_add(h, salt, 32);
		sb_add(h, "\n", 1);
		b64_add(h, body, 32);
		sb_add(h, "\n", 1);
	}
	OPENSSL_cleanse(eph, sizeof(eph));
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(wrap, sizeof(wrap));
	return ok;
}

static bool stanza_scrypt(struct sbuf *h, const char *pass, int wf,
			  const uint8_t fk[16])
{
	uint8_t salt[16], wrap[32], body[32];
	bool ok = RAND_bytes(salt, 16) == 1 &&
		  scrypt_key(pass, salt, wf, wrap) &&
		  aead_once(wrap, true, fk, FILE_KEY, body);

	if (ok) {
		sb_add(h, "-> scrypt ", 10);
		b64_add(h, salt, 16);
		sb_printf(h, " %d\n", wf);
		b64_add(h, body, 32);
		sb_add(h, "\n", 1);
	}
	OPENSSL_cleanse(wrap, sizeof(wrap));
	return ok;
}

/* Version line, stanzas, MAC and payload nonce; the stream key set. */
static bool header_build(struct age_enc *e, const struct age_recipients *r,
			 struct sbuf *h)
{
	uint8_t fk[FILE_KEY], hk[32], mac[32], nonce[NONCE];
	unsigned int macn = 0;
	bool ok = RAND_bytes(fk, sizeof(fk)) == 1 &&
		  RAND_bytes(nonce, sizeof(nonce)) == 1;

	sb_add(h, v1_line, sizeof(v1_line) - 1);
	for (size_t i = 0; ok && i < r->n; i++)
		ok = stanza_x25519(h, r->x25519[i], fk);
	if (ok && r->passphrase)
		ok = stanza_scrypt(h, r->passphrase, r->work_factor ?
				   r->work_factor : AGE_SCRYPT_WORK, fk);
	sb_add(h, "---", 3);
	ok = ok && hkdf(fk, FILE_KEY, NULL, 0, "header", hk) &&
	     HMAC(EVP_sha256(), hk, 32, (const uint8_t *)h->s, h->len, mac,
		  &macn) && macn == 32;
	sb_add(h, " ", 1);
	b64_add(h, mac, 32);
	sb_add(h, "\n", 1);
	sb_add(h, (const char *)nonce, NONCE);
	stream_key(&e->s, fk, nonce);
	OPENSSL_cleanse(fk, sizeof(fk));
	OPENSSL_cleanse(hk, sizeof(hk));
	return ok;
}

static int enc_emit(struct age_enc *e, const void *buf, size_t len)
{
	int rc = e->out(e->out_ctx, buf, len);

	if (rc)
		return cairn_errf(&e->err, rc, "age: the output refused "
				  "%zu bytes", len);
	e->out_bytes += len;
	return CAIRN_OK;
}

int age_enc_begin(struct age_enc *e, const struct age_recipients *r,
		  int (*out)(void *, const void *, size_t), void *ctx,
		  struct cairn_error *err)
{
	struct sbuf h = { 0 };
	int rc = CAIRN_EFAIL;

	memset(e, 0, sizeof(*e));
	e->out = out;
	e->out_ctx = ctx;
	if (!r->n && !r->passphrase)
		return cairn_errf(err, CAIRN_ECONFIG, "age: no recipient");
	if (r->n && r->passphrase)
		return cairn_errf(err, CAIRN_ECONFIG, "age: a passphrase "
				  "cannot be mixed with recipients");
	e->buf = xmalloc(AGE_CHUNK);
	e->cbuf = xmalloc(AGE_BATCH * AGE_CCHUNK);
	if (!header_build(e, r, &h) || !(e->s.c = EVP_CIPHER_CTX_new()) ||
	    !EVP_CipherInit_ex(e->s.c, EVP_chacha20_poly1305(), NULL,
			       e->s.key, NULL, 1)) {
		cairn_errf(err, rc, "age: libcrypto failed on the header");
		goto out;
	}
	if ((rc = enc_emit(e, h.s, h.len)))
		*err = e->err;
out:
	sb_free(&h);
	return rc;
}

/* Sealed chunks go out AGE_BATCH at a time: one write per MiB, not
 * per chunk. */
static int enc_flush(struct age_enc *e)
{
	size_t n = e->cn;

	e->cn = 0;
	return n ? enc_emit(e, e->cbuf, n) : CAIRN_OK;
}

/* Seal n bytes at pt as chunk k (the final one if last). */
static int enc_seal(struct age_enc *e, const uint8_t *pt, size_t n,
		    bool last)
{
	int rc;

	if (e->cn + AGE_CCHUNK > AGE_BATCH * AGE_CCHUNK &&
	    (rc = enc_flush(e)))
		return rc;
	if (age_chunk_seal(&e->s, e->k, last, pt, n, e->cbuf + e->cn))
		return cairn_errf(&e->err, CAIRN_EFAIL, "age: libcrypto "
				  "failed to encrypt a chunk");
	e->k++;
	e->cn += n + AGE_TAG;
	return last ? enc_flush(e) : CAIRN_OK;
}

/* A full chunk is sealed only once more data follows it: the final
 * chunk may be full, and only finish() knows it is final. Whole chunks
 * of buf with more after them are sealed in place, not copied. */
int age_enc_write(void *ctx, const void *buf, size_t len)
{
	struct age_enc *e = ctx;
	const uint8_t *p = buf;
	int rc;

	if (e->err.code)
		return e->err.code;
	while (len) {
		size_t m = AGE_CHUNK - e->n;

		if (!m) {
			if ((rc = enc_seal(e, e->buf, AGE_CHUNK, false)))
				return rc;
			e->n = 0;
			continue;
		}
		if (!e->n && len > AGE_CHUNK) {
			if ((rc = enc_seal(e, p, AGE_CHUNK, false)))
				return rc;
			p += AGE_CHUNK;
			len -= AGE_CHUNK;
			continue;
		}
		if (m > len)
			m = len;
		memcpy(e->buf + e->n, p, m);
		e->n += m;
		p += m;
		len -= m;
	}
	return CAIRN_OK;
}

int age_enc_finish(struct age_enc *e, struct cairn_error *err)
{
	int rc = e->err.code ? e->err.code
			     : enc_seal(e, e->buf, e->n, true);

	if (rc)
		*err = e->err;
	return rc;
}

void age_enc_free(struct age_enc *e)
{
	if (e->buf)
		OPENSSL_clear_free(e->buf, AGE_CHUNK);
	free(e->cbuf);
	age_stream_free(&e->s);
	memset(e, 0, sizeof(*e));
}

/* ---- decryption: an age file in, plaintext out to a sink ---- */

int age_dec_begin(struct age_dec *d, const struct age_identities *ids,
		  int (*out)(void *, const void *, size_t), void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->ids = ids;
	d->out = out;
	d->out_ctx = ctx;
	d->cbuf = xmalloc(AGE_CCHUNK);
	d->pbuf = xmalloc(AGE_CHUNK);
	return CAIRN_OK;
}

/* Collect the header; once whole, open it and pass on what follows. */
static int dec_header(struct age_dec *d, const uint8_t **p, size_t *len)
{
	size_t hlen, old = d->hdr.len, take;
	int rc;

	sb_add(&d->hdr, (const char *)*p, *len);
	if ((rc = age_header_len(d->hdr.s, d->hdr.len, &hlen, &d->err)))
		return rc;
	if (!hlen) {
		*len = 0;
		return CAIRN_OK;
	}
	if ((rc = age_header_open(&d->s, d->ids, d->hdr.s, hlen, &d->err)))
		return rc;
	take = hlen - old;
	*p += take;
	*len -= take;
	d->header_done = true;
	sb_free(&d->hdr);
	return CAIRN_OK;
}

/* Open the buffered chunk. A full chunk that opens only with the other
 * last-chunk flag is authentic (it is released, as age does) but the
 * file is not: data after the final chunk, or no final chunk. */
static int dec_chunk(struct age_dec *d, bool last)
{
	const char *alt = NULL;
	struct cairn_error e2;
	size_t n = 0;
	int rc = age_chunk_open(&d->s, d->k, last, d->cbuf, d->n, d->pbuf,
				&n, &d->err);

	if (rc && d->n == AGE_CCHUNK &&
	    !age_chunk_open(&d->s, d->k, !last, d->cbuf, d->n, d->pbuf, &n,
			    &e2)) {
		alt = last ? "truncated (no final chunk)"
			   : "data after the final chunk";
		rc = CAIRN_OK;
	}
	if (rc)
		return rc;
	d->k++;
	d->n = 0;
	if (n && (rc = d->out(d->out_ctx, d->pbuf, n)))
		return cairn_errf(&d->err, rc, "age: the output refused "
				  "%zu bytes", n);
	d->out_bytes += n;
	if (alt)
		return cairn_errf(&d->err, CAIRN_EINTEGRITY, "age payload: "
				  "%s", alt);
	return CAIRN_OK;
}

int age_dec_write(void *ctx, const void *buf, size_t len)
{
	struct age_dec *d = ctx;
	const uint8_t *p = buf;
	int rc;

	if (d->err.code)
		return d->err.code;
	if (!d->header_done && (rc = dec_header(d, &p, &len)))
		return rc;
	while (len) {
		size_t m = AGE_CCHUNK - d->n;

		if (!m) {
			if ((rc = dec_chunk(d, false)))
				return rc;
			m = AGE_CCHUNK;
		}
		if (m > len)
			m = len;
		memcpy(d->cbuf + d->n, p, m);
		d->n += m;
		p += m;
		len -= m;
	}
	return CAIRN_OK;
}

int age_dec_finish(struct age_dec *d, struct cairn_error *err)
{
	int rc = d->err.code;

	if (!rc && !d->header_done)
		rc = bad(&d->err, "truncated (no complete header)");
	else if (!rc && !d->n)
		rc = cairn_errf(&d->err, CAIRN_EINTEGRITY, "age payload is "
				"%s", d->k ? "truncated (no final chunk)"
					   : "missing");
	else if (!rc)
		rc = dec_chunk(d, true);
	if (rc)
		*err = d->err;
	return rc;
}

void age_dec_free(struct age_dec *d)
{
	if (d->pbuf)
		OPENSSL_clear_free(d->pbuf, AGE_CHUNK);
	free(d->cbuf);
	sb_free(&d->hdr);
	age_stream_free(&d->s);
	memset(d, 0, sizeof(*d));
}

uint64_t age_size(const struct age_recipients *r, uint64_t plain)
{
	uint64_t h = sizeof(v1_line) - 1 + r->n * (10 + 43 + 1 + 43 + 1) +
		     48 + NONCE;
	uint64_t chunks = plain ? (plain + AGE_CHUNK - 1) / AGE_CHUNK : 1;
	char wf[16];

	if (r->passphrase)
		h += 10 + 22 + (uint64_t)snprintf(wf, sizeof(wf), " %d",
						  r->work_factor ?
						  r->work_factor :
						  AGE_SCRYPT_WORK) +
		     1 + 43 + 1;
	return h + plain + chunks * AGE_TAG;
}

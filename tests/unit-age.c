/* core/age.c and core/bech32.c: keys as text, round trips at chunk
 * boundaries, and every kind of damage refused before any of its
 * plaintext is released. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "cairn.h"
#include "unit.h"

#define NONCE_LEN 16

/* The spec's example identity and its recipient. */
static const char spec_id[] = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJ"
			      "ZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
static const char spec_rc[] = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye86"
			      "9xeexvn73equnujwj";

static int buf_sink(void *ctx, const void *buf, size_t len)
{
	sb_add(ctx, buf, len);
	return CAIRN_OK;
}

static void keys(void)
{
	uint8_t sk[32], pk[32], pk2[32];
	char *s, low[sizeof(spec_id)];

	check(!age_parse_identity(spec_id, sk), "spec identity parses",
	      NULL);
	age_public_key(sk, pk);
	s = age_recipient_string(pk);
	check(!strcmp(s, spec_rc), "its recipient is the spec's", s);
	free(s);
	s = age_identity_string(sk);
	check(!strcmp(s, spec_id), "the identity encodes back", s);
	free(s);
	check(!age_parse_recipient(spec_rc, pk2) && !memcmp(pk, pk2, 32),
	      "recipient parses", NULL);
	for (size_t i = 0; i < sizeof(spec_id); i++)
		low[i] = (char)(spec_id[i] >= 'A' && spec_id[i] <= 'Z' &&
				i > 20 ? spec_id[i] + 32 : spec_id[i]);
	check(age_parse_identity(low, sk), "mixed case refused", NULL);
	memcpy(low, spec_rc, sizeof(spec_rc));
	low[20] = low[20] == 'q' ? 'p' : 'q';
	check(age_parse_recipient(low, pk2), "bad checksum refused", NULL);
	check(age_parse_recipient(spec_id, pk2), "identity is no recipient",
	      NULL);
}

/* Encrypt n bytes of pattern to one X25519 recipient (or passphrase). */
static void encrypt(const uint8_t *pt, size_t n, const uint8_t pk[32],
		    const char *pass, struct sbuf *out)
{
	struct age_recipients r = { 0 };
	struct cairn_error err;
	struct age_enc e;

	if (pass) {
		r.passphrase = xstrdup(pass);
		r.work_factor = 10;
	} else {
		age_recipients_add(&r, pk);
	}
	memset(out, 0, sizeof(*out));
	age_enc_begin(&e, &r, buf_sink, out, &err);
	/* Odd pieces, so chunk boundaries fall inside writes. */
	for (size_t o = 0; o < n; o += 7777)
		age_enc_write(&e, pt + o, n - o < 7777 ? n - o : 7777);
	age_enc_finish(&e, &err);
	age_enc_free(&e);
	age_recipients_free(&r);
}

static int decrypt(const struct sbuf *ct, const struct age_identities *ids,
		   struct sbuf *out, struct cairn_error *err)
{
	struct age_dec d;
	int rc;

	memset(out, 0, sizeof(*out));
	age_dec_begin(&d, ids, buf_sink, out);
	rc = age_dec_write(&d, ct->s, ct->len);
	if (rc)
		*err = d.err;
	else
		rc = age_dec_finish(&d, err);
	age_dec_free(&d);
	return rc;
}

static void round_trips(const uint8_t sk[32], const uint8_t pk[32],
			const uint8_t *pt)
{
	static const size_t sizes[] = { 0, 1, AGE_CHUNK - 1, AGE_CHUNK,
					AGE_CHUNK + 1, 2 * AGE_CHUNK,
					3 * AGE_CHUNK + 5 };
	struct age_identities ids = { 0 };
	struct cairn_error err;
	char what[64];

	age_identities_add(&ids, sk);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct sbuf ct, back;
		size_t n = sizes[i], chunks = n ? (n + AGE_CHUNK - 1) /
						  AGE_CHUNK : 1;
		int rc;

		encrypt(pt, n, pk, NULL, &ct);
		rc = decrypt(&ct, &ids, &back, &err);
		snprintf(what, sizeof(what), "%zu bytes round trip", n);
		check(!rc && back.len == n && !memcmp(back.s ? back.s : "",
						      pt, n), what, err.msg);
		snprintf(what, sizeof(what), "%zu bytes: %zu chunks", n,
			 chunks);
		check(ct.len > n + chunks * AGE_TAG &&
		      (ct.len - n - chunks * AGE_TAG) < 300, what, NULL);
		{
			struct age_recipients r = { 0 };

			age_recipients_add(&r, pk);
			check(age_size(&r, n) == ct.len, "age_size is exact",
			      NULL);
			age_recipients_free(&r);
		}
		sb_free(&ct);
		sb_free(&back);
	}
	age_identities_free(&ids);
}

/* One kind of damage to a 3-chunk file: refused, nothing released
 * past the damage. */
static void damaged(const char *what, struct sbuf *ct,
		    const struct age_identities *ids, int want)
{
	struct sbuf back;
	struct cairn_error err = { 0, "" };
	int rc = decrypt(ct, ids, &back, &err);

	check(rc == want, what, err.msg);
	sb_free(&back);
}

static void damage(const uint8_t sk[32], const uint8_t pk[32],
		   const uint8_t *pt)
{
	struct age_identities ids = { 0 }, wrong = { 0 };
	uint8_t other[32];
	struct sbuf ct, c2;
	size_t hdr, n = 3 * AGE_CHUNK - 100;
	struct cairn_error err;

	age_identities_add(&ids, sk);
	RAND_bytes(other, 32);
	age_identities_add(&wrong, other);
	encrypt(pt, n, pk, NULL, &ct);
	age_header_len(ct.s, ct.len, &hdr, &err);
	damaged("wrong identity: no match", &ct, &wrong, CAIRN_EAUTH);
	damaged("no identity: no match", &ct, &(struct age_identities){ 0 },
		CAIRN_EAUTH);
#define COPY (c2 = (struct sbuf){ 0 }, sb_add(&c2, ct.s, ct.len))
	COPY;
	c2.s[hdr + AGE_CHUNK + 5] ^= 1;
	damaged("flipped payload byte", &c2, &ids, CAIRN_EINTEGRITY);
	sb_free(&c2);
	COPY;
	c2.s[hdr - NONCE_LEN - 10] ^= 1;
	damaged("flipped MAC byte", &c2, &ids, CAIRN_EINTEGRITY);
	sb_free(&c2);
	COPY;
	c2.s[hdr - NONCE_LEN - 1] = '\r';
	damaged("header line ends in CR", &c2, &ids, CAIRN_EINTEGRITY);
	sb_free(&c2);
	COPY; /* the stanza's share: it opens for nobody */
	c2.s[35] = c2.s[35] == 'A' ? 'B' : 'A'; /* still base64 */
	damaged("flipped stanza byte: no match", &c2, &ids, CAIRN_EAUTH);
	sb_free(&c2);
	COPY;
	c2.s[hdr - 3] ^= 1;
	damaged("flipped payload nonce byte", &c2, &ids, CAIRN_EINTEGRITY);
	sb_free(&c2);
	COPY;
	c2.len -= 1;
	damaged("truncated by a byte", &c2, &ids, CAIRN_EINTEGRITY);
	c2.len = hdr + 2 * AGE_CCHUNK;
	damaged("truncated at a chunk boundary", &c2, &ids,
		CAIRN_EINTEGRITY);
	c2.len = hdr - 3;
	damaged("truncated in the header", &c2, &ids, CAIRN_EINTEGRITY);
	sb_free(&c2);
	COPY; /* swap chunks 0 and 1 */
	memcpy(c2.s + hdr, ct.s + hdr + AGE_CCHUNK, AGE_CCHUNK);
	memcpy(c2.s + hdr + AGE_CCHUNK, ct.s + hdr, AGE_CCHUNK);
	damaged("reordered chunks", &c2, &ids, CAIRN_EINTEGRITY);
	sb_free(&c2);
	COPY; /* drop chunk 1 */
	memmove(c2.s + hdr + AGE_CCHUNK, c2.s + hdr + 2 * AGE_CCHUNK,
		c2.len - hdr - 2 * AGE_CCHUNK);
	c2.len -= AGE_CCHUNK;
	damaged("dropped chunk", &c2, &ids, CAIRN_EINTEGRITY);
	sb_free(&c2);
	COPY;
	sb_add(&c2, "x", 1);
	damaged("trailing byte", &c2, &ids, CAIRN_EINTEGRITY);
	sb_free(&c2);
#undef COPY
	sb_free(&ct);
	age_identities_free(&ids);
	age_identities_free(&wrong);
}

static void passphrase(const uint8_t *pt)
{
	struct age_identities ids = { 0 };
	struct sbuf ct, back;
	struct cairn_error err = { 0, "" };

	encrypt(pt, 1000, NULL, "correct horse", &ct);
	strv_push(&ids.passphrases, "wrong");
	check(decrypt(&ct, &ids, &back, &err) == CAIRN_EAUTH,
	      "scrypt: wrong passphrase", err.msg);
	sb_free(&back);
	strv_push(&ids.passphrases, "correct horse");
	check(!decrypt(&ct, &ids, &back, &err) && back.len == 1000 &&
	      !memcmp(back.s, pt, 1000), "scrypt round trip", err.msg);
	check(strstr(ct.s, "-> scrypt ") != NULL, "an scrypt stanza", NULL);
	check(age_size(&(struct age_recipients){ .passphrase = "x",
						 .work_factor = 10 }, 1000) ==
	      ct.len, "age_size with a passphrase is exact", NULL);
	sb_free(&back);
	sb_free(&ct);
	age_identities_free(&ids);
}

/* Chunk k alone, as ranged reads do it. */
static void seek(const uint8_t sk[32], const uint8_t pk[32],
		 const uint8_t *pt)
{
	struct age_identities ids = { 0 };
	struct cairn_error err;
	struct age_stream s;
	struct sbuf ct;
	uint8_t *out = xmalloc(AGE_CHUNK);
	uint64_t plain, n;
	size_t hdr, got;
	size_t len = 3 * AGE_CHUNK + 5;

	age_identities_add(&ids, sk);
	encrypt(pt, len, pk, NULL, &ct);
	age_header_len(ct.s, ct.len, &hdr, &err);
	check(!age_header_open(&s, &ids, ct.s, hdr, &err), "header opens",
	      err.msg);
	check(!age_geometry(&s, ct.len, &plain, &n, &err) && plain == len &&
	      n == 4, "geometry: size and chunks", NULL);
	check(!age_chunk_open(&s, 2, false, (uint8_t *)ct.s + hdr +
			      2 * AGE_CCHUNK, AGE_CCHUNK, out, &got, &err) &&
	      got == AGE_CHUNK && !memcmp(out, pt + 2 * AGE_CHUNK, got),
	      "chunk 2 alone", err.msg);
	check(!age_chunk_open(&s, 3, true, (uint8_t *)ct.s + hdr +
			      3 * AGE_CCHUNK, 5 + AGE_TAG, out, &got, &err) &&
	      got == 5 && !memcmp(out, pt + 3 * AGE_CHUNK, 5),
	      "last chunk alone", err.msg);
	check(age_chunk_open(&s, 1, false, (uint8_t *)ct.s + hdr +
			     2 * AGE_CCHUNK, AGE_CCHUNK, out, &got, &err) ==
	      CAIRN_EINTEGRITY, "chunk 2 read as chunk 1 refused", NULL);
	check(age_chunk_open(&s, 2, true, (uint8_t *)ct.s + hdr +
			     2 * AGE_CCHUNK, AGE_CCHUNK, out, &got, &err) ==
	      CAIRN_EINTEGRITY, "chunk 2 taken as final refused", NULL);
	age_stream_free(&s);
	sb_free(&ct);
	free(out);
	age_identities_free(&ids);
}

static int mem_read_at(void *ctx, uint64_t off, size_t len, uint8_t *buf,
		       struct cairn_error *err)
{
	const struct sbuf *b = ctx;

	if (off + len > b->len)
		return cairn_errf(err, CAIRN_EFAIL, "read past the end");
	memcpy(buf, b->s + off, len);
	return CAIRN_OK;
}

/* crypt.c's ranged reader: any plaintext range, chunk by chunk; a
 * truncated object is refused at open (its final chunk is checked). */
static void reader(const uint8_t sk[32], const uint8_t pk[32],
		   const uint8_t *pt)
{
	static const uint64_t offs[] = { 0, 1, AGE_CHUNK - 3, AGE_CHUNK,
					 2 * AGE_CHUNK + 77, 3 * AGE_CHUNK };
	struct age_identities ids = { 0 };
	struct cairn_error err = { 0, "" };
	struct crypt_reader r;
	size_t len = 3 * AGE_CHUNK + 5, got;
	uint8_t *out = xmalloc(AGE_CHUNK * 2);
	struct sbuf ct;
	bool ok = true;

	age_identities_add(&ids, sk);
	encrypt(pt, len, pk, NULL, &ct);
	check(!crypt_reader_open(&r, &ids, ct.len, mem_read_at, &ct, &err) &&
	      r.plain == len, "reader opens", err.msg);
	for (size_t i = 0; i < ARRAY_SIZE(offs); i++)
		ok = ok && !crypt_reader_pread(&r, offs[i], out, AGE_CHUNK + 9,
					       &got, &err) &&
		     got == (len - offs[i] < AGE_CHUNK + 9 ? len - offs[i]
							   : AGE_CHUNK + 9) &&
		     !memcmp(out, pt + offs[i], got);
	check(ok, "ranged reads across chunk boundaries", err.msg);
	crypt_reader_close(&r);
	ct.len -= 5 + AGE_TAG; /* drop the final chunk */
	check(crypt_reader_open(&r, &ids, ct.len, mem_read_at, &ct, &err) ==
	      CAIRN_EINTEGRITY, "reader: a dropped final chunk is refused",
	      err.msg);
	crypt_reader_close(&r);
	sb_free(&ct);
	free(out);
	age_identities_free(&ids);
}

static void recipients_text(void)
{
	struct age_recipients r = { 0 };
	struct cairn_error err = { 0, "" };
	char *t = xasprintf("# a comment\n\n%s\n  %s  \n", spec_rc, spec_rc);

	check(!age_recipients_parse(&r, t, "f", &err) && r.n == 2,
	      "recipients file with comments", err.msg);
	check(age_recipients_parse(&r, "age1bogus", "key", &err) ==
	      CAIRN_ECONFIG && strstr(err.msg, "key:1"),
	      "a bad recipient is a config error naming where", err.msg);
	free(t);
	age_recipients_free(&r);
}

int main(void)
{
	size_t n = 4 * AGE_CHUNK;
	uint8_t *pt = xmalloc(n), sk[32], pk[32];

	RAND_bytes(pt, (int)n);
	RAND_bytes(sk, 32);
	age_public_key(sk, pk);
	keys();
	recipients_text();
	round_trips(sk, pk, pt);
	damage(sk, pk, pt);
	passphrase(pt);
	seek(sk, pk, pt);
	reader(sk, pk, pt);
	free(pt);
	printf("1..%d\n", ntests);
	return failures ? 1 : 0;
}

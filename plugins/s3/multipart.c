/*
 * The transaction. Bytes are buffered into one part_size buffer; a full
 * one goes up as a part (on a curl multi handle, `parallel` in flight, so
 * memory is parallel + 1 parts) once more bytes show it is not the last.
 * An object that never fills a part goes up as one PUT at commit, with
 * x-amz-meta-sha256. A multipart object exists only once
 * CompleteMultipartUpload succeeds; on any failure, a stop asked
 * included, the upload is aborted so no orphan parts stay billed (and the
 * next run's clean() aborts those a killed run left).
 *
 * Resumable (CAIRN_PROP_RESUMABLE): a part that fails transiently keeps
 * its buffer in its slot, and the transaction goes on taking bytes; the
 * next write() or commit() returns CAIRN_ERETRY before taking anything,
 * and once the core has backed off and calls again, that part alone is
 * sent again (and waited for) first. So a failed part costs one part,
 * never the whole upload. A plugin does one attempt per call: the
 * back-off and the count of tries are the core's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "s3.h"

/* An empty write() waits this long for the parts' sockets. */
#define IDLE_WAIT_MS 50

struct slot {
	struct s3_req req;
	unsigned char *buf;
	size_t len;
	int part;    /* 1-based; 0 when free */
	bool failed; /* sent and failed transiently: to be sent again */
};

struct cairn_txn {
	struct s3 *s;
	char *key;
	uint64_t size;    /* declared, or CAIRN_SIZE_UNKNOWN */
	uint64_t written;
	uint64_t psize;
	unsigned char *fill; /* the part being filled */
	size_t fill_len;
	int next;            /* number of the next part to start */
	int inflight;
	char *upload_id;
	char **etags;
	int netags;
	EVP_MD_CTX *whole;   /* SHA-256 of every byte written */
	int64_t lock_until;  /* Object Lock retain-until, 0: none */
	int nslots;          /* parallel in flight, and failed ones kept */
	bool told;           /* CAIRN_ERETRY returned for the failed parts */
	bool hashed;
	char hex[65];        /* SHA-256 of everything, once commit() asked */
	struct cairn_error failure; /* why the first failed part failed */
	CURLM *multi;
	struct slot *slots;
};

static int initiate(struct cairn_txn *t, struct cairn_error *err)
{
	struct s3 *s = t->s;
	struct s3_req r = { 0 };
	static const char *const kv[] = { "uploads", "" };
	char sc[96], mode[64], date[96], *query = s3_query(1, kv);
	const char *extra[5] = { "Content-Type: application/octet-stream" };
	int rc, n = 1;

	if (!query)
		return s3_oom(err);
	/* The hash is known only at commit: no x-amz-meta-sha256 here. */
	if (s->storage_class) {
		snprintf(sc, sizeof(sc), "x-amz-storage-class: %s",
			 s->storage_class);
		extra[n++] = sc;
	}
	/* The lock goes with the upload: the object is born locked. */
	if (s3_lock_headers(s, t->lock_until, mode, date)) {
		extra[n++] = mode;
		extra[n++] = date;
	}
	r.stoppable = true; /* a hung store must not outlast a stop */
	rc = s3_req_do(s, &r, "POST", t->key, query, S3_EMPTY_SHA256,
		       extra, err);
	if (!rc) {
		t->upload_id = s3_xml_upload_id(r.resp.data, r.resp.len);
		if (!t->upload_id)
			rc = cairn_errf(err, CAIRN_EFAIL,
					"s3 POST %s?uploads: no UploadId in "
					"the reply", r.what);
	}
	if (!rc)
		s3_log(s, CAIRN_LOG_DEBUG, "s3: %s: parts of %llu MiB, %d in "
		       "flight", t->key,
		       (unsigned long long)(t->psize / S3_MIB), s->parallel);
	s3_req_free(&r);
	free(query);
	return rc;
}

/* "partNumber=N&uploadId=ID" for a part, "uploadId=ID" for part 0. */
static char *upload_query(struct cairn_txn *t, int part)
{
	char num[16];
	const char *kv[] = { "partNumber", num, "uploadId", t->upload_id };

	snprintf(num, sizeof(num), "%d", part);
	return s3_query(part ? 2 : 1, part ? kv : kv + 2);
}

/* The ETag S3 gives a part is its MD5 in quotes: the stand-in for a
 * server that sends none (Ceph RGW behind some proxies). */
static void md5_etag(const unsigned char *p, size_t n, char *out,
		     size_t outsz)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1] = "";

	EVP_Digest(p, n, md, &len, EVP_md5(), NULL);
	for (unsigned int i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	snprintf(out, outsz, "\"%s\"", hex);
}

static bool has_failed(const struct cairn_txn *t)
{
	for (int i = 0; i < t->nslots; i++)
		if (t->slots[i].failed)
			return true;
	return false;
}

static int finish_part(struct cairn_txn *t, struct slot *sl, CURLcode cc,
		       struct cairn_error *err)
{
	int rc;

	curl_multi_remove_handle(t->multi, sl->req.h);
	t->inflight--;
	rc = s3_req_result(t->s, &sl->req, cc, err);
	if (rc == CAIRN_ERETRY) {
		if (!has_failed(t))
			t->failure = *err;
		s3_log(t->s, CAIRN_LOG_INFO, "s3: part %d of %s failed, to "
		       "be sent again: %s", sl->part, t->key, err->msg);
		s3_req_free(&sl->req);
		sl->failed = true;
		return CAIRN_OK;
	}
	if (!rc && !sl->req.etag[0])
		md5_etag(sl->buf, sl->len, sl->req.etag,
			 sizeof(sl->req.etag));
	if (!rc && !(t->etags[sl->part - 1] = strdup(sl->req.etag)))
		rc = s3_oom(err);
	s3_req_free(&sl->req);
	sl->part = 0;
	return rc;
}

/* Drive the transfers once, collecting finished parts; the first failed
 * part's error is the transaction's. */
static int pump(struct cairn_txn *t, struct cairn_error *err)
{
	int queued, running = 0, rc;
	struct slot *sl;
	CURLMsg *msg;
	CURLMcode mc;

	if (s3_stopped(t->s))
		return cairn_errf(err, CAIRN_EFAIL, "s3: upload of s3://%s/%s "
				  "interrupted", t->s->bucket, t->key);
	mc = curl_multi_perform(t->multi, &running);
	if (mc)
		return cairn_errf(err, CAIRN_EFAIL, "s3: curl: %s",
				  curl_multi_strerror(mc));
	while ((msg = curl_multi_info_read(t->multi, &queued))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
				  (char **)&sl);
		rc = finish_part(t, sl, msg->data.result, err);
		if (rc)
			return rc;
	}
	return CAIRN_OK;
}

/* Wait until at most `most` parts are in flight, polling stopped(). */
static int drain(struct cairn_txn *t, int most, struct cairn_error *err)
{
	int rc;

	for (;;) {
		rc = pump(t, err);
		if (rc || t->inflight <= most)
			return rc;
		curl_multi_poll(t->multi, NULL, 0, 1000, NULL);
	}
}

/* Put sl's buffer on the wire as part sl->part. */
static int start_part(struct cairn_txn *t, struct slot *sl,
		      struct cairn_error *err)
{
	char sha[65], md5[64], *query;
	const char *md5x[2] = { md5, NULL };
	int rc;

	s3_sha256_hex(sl->buf, sl->len, sha);
	if (!(query = upload_query(t, sl->part)))
		return s3_oom(err);
	sl->failed = false;
	sl->req.body = sl->buf;
	sl->req.body_len = sl->len;
	sl->req.stoppable = true;
	if (t->lock_until)
		s3_content_md5(sl->buf, sl->len, md5);
	rc = s3_req_init(t->s, &sl->req, "PUT", t->key, query, sha,
			 t->lock_until ? md5x : NULL, err);
	free(query);
	if (!rc) {
		curl_easy_setopt(sl->req.h, CURLOPT_PRIVATE, sl);
		if (curl_multi_add_handle(t->multi, sl->req.h))
			rc = cairn_errf(err, CAIRN_EFAIL, "s3: curl multi "
					"failed");
	}
	if (rc) {
		s3_req_free(&sl->req);
		sl->failed = true; /* its bytes stay to be sent again */
		return rc;
	}
	t->inflight++;
	return pump(t, err);
}

/*
 * On entry to write() and commit(): parts that failed are sent again
 * (after the core's back-off: the first time, CAIRN_ERETRY is returned
 * and nothing done) and waited for; CAIRN_ERETRY again while one fails.
 */
static int resend_failed(struct cairn_txn *t, struct cairn_error *err)
{
	int rc = CAIRN_OK;

	if (!has_failed(t))
		return CAIRN_OK;
	if (!t->told) {
		t->told = true;
		*err = t->failure;
		return CAIRN_ERETRY;
	}
	for (int i = 0; !rc && i < t->nslots; i++)
		if (t->slots[i].failed)
			rc = start_part(t, &t->slots[i], err);
	if (!rc)
		rc = drain(t, 0, err);
	if (!rc && has_failed(t)) {
		*err = t->failure;
		rc = CAIRN_ERETRY;
	}
	if (!rc)
		t->told = false;
	return rc;
}

/* Send the filled buffer as the next part: its slot's buffer becomes the
 * one to fill. */
static int ship(struct cairn_txn *t, struct cairn_error *err)
{
	struct slot *sl = NULL;
	unsigned char *buf;
	int rc;

	if (!t->upload_id && (rc = initiate(t, err)))
		return rc;
	if (t->next > S3_MAX_PARTS)
		return cairn_errf(err, CAIRN_EFAIL, "s3: s3://%s/%s: more "
				  "than %d parts of %llu MiB; raise part_size",
				  t->s->bucket, t->key, S3_MAX_PARTS,
				  (unsigned long long)(t->psize / S3_MIB));
	if ((rc = drain(t, t->s->parallel - 1, err)))
		return rc;
	for (int i = 0; i < t->nslots && !sl; i++)
		if (!t->slots[i].part)
			sl = &t->slots[i];
	/* Every slot in flight or failed: too many failures at once. */
	if (!sl)
		return cairn_errf(err, CAIRN_EFAIL, "s3: upload of s3://%s/%s:"
				  " %s", t->s->bucket, t->key,
				  t->failure.msg);
	if (t->next > t->netags) {
		int n = t->netags ? 2 * t->netags : 64;
		char **e = realloc(t->etags, (size_t)n * sizeof(*e));

		if (!e)
			return s3_oom(err);
		memset(e + t->netags, 0, (size_t)(n - t->netags) * sizeof(*e));
		t->etags = e;
		t->netags = n;
	}
	buf = sl->buf;
	sl->buf = t->fill;
	sl->len = t->fill_len;
	t->fill = buf;
	t->fill_len = 0;
	sl->part = t->next++;
	return start_part(t, sl, err);
}

static void txn_free(struct cairn_txn *t)
{
	if (t->slots) {
		for (int i = 0; i < t->nslots; i++) {
			if (t->slots[i].part && !t->slots[i].failed)
				curl_multi_remove_handle(t->multi,
							 t->slots[i].req.h);
			s3_req_free(&t->slots[i].req);
			free(t->slots[i].buf);
		}
	}
	for (int i = 0; i < t->netags; i++)
		free(t->etags[i]);
	free(t->etags);
	free(t->slots);
	free(t->fill);
	free(t->upload_id);
	free(t->key);
	EVP_MD_CTX_free(t->whole);
	if (t->multi)
		curl_multi_cleanup(t->multi);
	free(t);
}

int s3_begin(void *handle, const char *name, uint64_t size,
	     struct cairn_txn **txn, struct cairn_error *err)
{
	struct s3 *s = handle;
	struct cairn_txn *t = calloc(1, sizeof(*t));

	if (!t)
		return s3_oom(err);
	t->s = s;
	t->size = size;
	t->lock_until = s3_take_armed(s, name);
	t->psize = s->part_size;
	t->next = 1;
	if (!(t->key = s3_object_key(s, name, err))) {
		int rc = err->code;

		free(t);
		return rc;
	}
	/* S3 allows 10,000 parts: grow the part (in MiB) for a huge known
	 * size. An unknown size keeps part_size. */
	if (size != CAIRN_SIZE_UNKNOWN &&
	    (size + t->psize - 1) / t->psize > S3_MAX_PARTS) {
		t->psize = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
		t->psize = (t->psize + S3_MIB - 1) / S3_MIB * S3_MIB;
		if (t->psize > S3_MAX_PART) {
			txn_free(t);
			return cairn_errf(err, CAIRN_EFAIL, "s3: %s: %llu "
					  "bytes is more than S3 allows for "
					  "one object", name,
					  (unsigned long long)size);
		}
		s3_log(s, CAIRN_LOG_INFO, "s3: part size raised to %llu MiB "
		       "for %s", (unsigned long long)(t->psize / S3_MIB),
		       name);
	}
	/* parallel in flight, as many failed ones kept, and the spare. */
	t->nslots = 2 * s->parallel + 2;
	t->slots = calloc((size_t)t->nslots, sizeof(*t->slots));
	t->whole = EVP_MD_CTX_new();
	t->multi = curl_multi_init();
	if (!t->slots || !t->whole || !t->multi ||
	    !EVP_DigestInit_ex(t->whole, EVP_sha256(), NULL)) {
		txn_free(t);
		return s3_oom(err);
	}
	curl_multi_setopt(t->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)s->parallel);
	*txn = t;
	return CAIRN_OK;
}

int s3_write(struct cairn_txn *t, const void *buf, size_t len,
	     struct cairn_error *err)
{
	const unsigned char *p = buf;
	bool idle = !len;
	int rc;

	if ((rc = resend_failed(t, err)))
		return rc;
	/* Start the upload before taking bytes: a CAIRN_ERETRY from it
	 * then leaves buf untaken, as a resumed write() needs. */
	if (!t->upload_id && t->fill_len + len > t->psize &&
	    (rc = initiate(t, err)))
		return rc;
	if (t->size != CAIRN_SIZE_UNKNOWN && len > t->size - t->written)
		return cairn_errf(err, CAIRN_EFAIL, "s3: s3://%s/%s: more "
				  "than the %llu bytes declared",
				  t->s->bucket, t->key,
				  (unsigned long long)t->size);
	EVP_DigestUpdate(t->whole, p, len);
	t->written += len;
	while (len) {
		size_t n;

		/* Full, and more is coming: it is not the last part. */
		if (t->fill_len == t->psize && (rc = ship(t, err)))
			return rc;
		if (!t->fill && !(t->fill = malloc(t->psize)))
			return cairn_errf(err, CAIRN_EFAIL, "s3: no memory "
					  "for a %llu-byte part",
					  (unsigned long long)t->psize);
		n = t->psize - t->fill_len < len ? t->psize - t->fill_len
						 : len;
		memcpy(t->fill + t->fill_len, p, n);
		t->fill_len += n;
		p += n;
		len -= n;
	}
	/* Keep the parts in flight moving between writes; an empty write
	 * (the core has no bytes yet) waits a moment for their sockets. */
	if (t->inflight && idle)
		curl_multi_poll(t->multi, NULL, 0, IDLE_WAIT_MS, NULL);
	return t->inflight ? pump(t, err) : CAIRN_OK;
}

static int put_single(struct cairn_txn *t, const char *sha,
		      struct cairn_error *err)
{
	struct s3 *s = t->s;
	struct s3_req r = { 0 };
	char ctype[] = "Content-Type: application/octet-stream";
	char meta[96], sc[96], mode[64], date[96], md5[64];
	const char *extra[7] = { ctype, meta, NULL };
	int rc, n = 2;

	snprintf(meta, sizeof(meta), "x-amz-meta-sha256: %s", sha);
	if (s->storage_class) {
		snprintf(sc, sizeof(sc), "x-amz-storage-class: %s",
			 s->storage_class);
		extra[n++] = sc;
	}
	/* A locked put needs an integrity header (S3 refuses it without). */
	if (s3_lock_headers(s, t->lock_until, mode, date)) {
		s3_content_md5(t->fill, t->fill_len, md5);
		extra[n++] = mode;
		extra[n++] = date;
		extra[n++] = md5;
	}
	r.body = t->fill;
	r.body_len = t->fill_len;
	r.stoppable = true;
	rc = s3_req_do(s, &r, "PUT", t->key, NULL, sha, extra, err);
	s3_req_free(&r);
	return rc;
}

/* Whether the upload is gone (ListParts: 404 NoSuchUpload). Ceph RGW
 * answers the completion of an aborted upload with 500 "already in
 * progress" rather than 404, which would be retried for ever. */
static bool upload_gone(struct cairn_txn *t)
{
	const char *kv[] = { "max-parts", "1", "uploadId", t->upload_id };
	struct cairn_error e = { 0, "" };
	struct s3_req r = { 0 };
	char *query = s3_query(2, kv);
	int rc = CAIRN_EFAIL;

	if (query && !s3_req_init(t->s, &r, "GET", t->key, query,
				  S3_EMPTY_SHA256, NULL, &e))
		rc = s3_req_run(t->s, &r, &e);
	s3_req_free(&r);
	free(query);
	return rc == CAIRN_ENOTFOUND;
}

/* A 200 reply to CompleteMultipartUpload may still hold an <Error>; its
 * <ETag> may be empty (Ceph RGW) and is not needed. */
static int complete(struct cairn_txn *t, struct cairn_error *err)
{
	struct s3_req r = { 0 };
	static const char *const extra[] = {
		"Content-Type: application/xml", NULL
	};
	char sha[65], code[64] = "", msg[160] = "", *query = NULL;
	unsigned char *body;
	size_t len = 0;
	int rc = CAIRN_EFAIL;

	body = s3_xml_complete(t->etags, t->next - 1, &len);
	query = upload_query(t, 0);
	if (!body || !query) {
		rc = cairn_errf(err, CAIRN_EFAIL, "s3: out of memory");
		goto out;
	}
	s3_sha256_hex(body, len, sha);
	r.body = body;
	r.body_len = len;
	rc = s3_req_do(t->s, &r, "POST", t->key, query, sha, extra, err);
	if (!rc && !s3_xml_error(r.resp.data, r.resp.len, code, sizeof(code),
				 msg, sizeof(msg)))
		rc = cairn_errf(err, !strcmp(code, "InternalError") ||
				!strcmp(code, "SlowDown") ? CAIRN_ERETRY
							  : CAIRN_EFAIL,
				"s3 POST %s: CompleteMultipartUpload failed: "
				"%s: %s", r.what, code, msg);
	if (rc == CAIRN_ERETRY && upload_gone(t))
		rc = cairn_errf(err, CAIRN_EFAIL, "s3: multipart upload of "
				"%s no longer exists (aborted by another "
				"client or a lifecycle rule)", r.what);
out:
	s3_req_free(&r);
	free(body);
	free(query);
	return rc;
}

int s3_abort_upload(struct s3 *s, const char *key, const char *upload_id,
		    struct cairn_error *err)
{
	const char *kv[] = { "uploadId", upload_id };
	struct s3_req r = { 0 };
	char *query = s3_query(1, kv);
	int rc;

	if (!query)
		return cairn_errf(err, CAIRN_EFAIL, "s3: out of memory");
	rc = s3_req_do(s, &r, "DELETE", key, query, S3_EMPTY_SHA256, NULL,
		       err);
	s3_req_free(&r);
	free(query);
	return rc;
}

/*
 * Best effort: a server without AbortMultipartUpload (405/501) or one that
 * is gone leaves the parts behind; say so, since they are billed until a
 * lifecycle rule or the next run's clean() removes them. The put's own
 * error stands.
 */
static void abort_upload(struct cairn_txn *t)
{
	struct s3 *s = t->s;
	struct cairn_error e = { 0, "" };
	int rc = s3_abort_upload(s, t->key, t->upload_id, &e);

	if (!rc || rc == CAIRN_ENOTFOUND)
		s3_log(s, CAIRN_LOG_INFO, "s3: aborted multipart upload of "
		       "s3://%s/%s", s->bucket, t->key);
	else
		s3_log(s, CAIRN_LOG_WARN, "s3: could not abort multipart "
		       "upload %s of s3://%s/%s (%s); its parts may stay "
		       "billed until removed (a lifecycle rule for "
		       "incomplete uploads does it)", t->upload_id,
		       s->bucket, t->key, e.msg);
}

void s3_abort(struct cairn_txn *t)
{
	if (!t)
		return;
	/* Parts in flight first: the abort must not race them. */
	for (int i = 0; t->slots && i < t->nslots; i++) {
		if (!t->slots[i].part || t->slots[i].failed)
			continue;
		curl_multi_remove_handle(t->multi, t->slots[i].req.h);
		s3_req_free(&t->slots[i].req);
		t->slots[i].part = 0;
	}
	if (t->upload_id)
		abort_upload(t);
	txn_free(t);
}

int s3_commit(struct cairn_txn *t, const char *sha256_hex,
	      struct cairn_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	int rc = CAIRN_EFAIL;

	if (t->size != CAIRN_SIZE_UNKNOWN && t->written != t->size) {
		cairn_errf(err, rc, "s3: s3://%s/%s: %llu bytes written, "
			   "%llu declared", t->s->bucket, t->key,
			   (unsigned long long)t->written,
			   (unsigned long long)t->size);
		goto out;
	}
	/* A commit again after CAIRN_ERETRY: the hash is already known. */
	if (!t->hashed) {
		EVP_DigestFinal_ex(t->whole, md, NULL);
		s3_hex(md, t->hex);
		t->hashed = true;
	}
	if (sha256_hex && strcasecmp(t->hex, sha256_hex)) {
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "s3: s3://%s/%s: the "
				"bytes sent do not match sha256 %.64s",
				t->s->bucket, t->key, sha256_hex);
		goto out;
	}
	if (!t->upload_id) {
		rc = put_single(t, t->hex, err);
		goto out;
	}
	rc = resend_failed(t, err);
	if (!rc && t->fill_len)
		rc = ship(t, err);
	if (!rc)
		rc = drain(t, 0, err);
	if (!rc && has_failed(t)) {
		t->told = true;
		*err = t->failure;
		rc = CAIRN_ERETRY;
	}
	if (!rc)
		rc = complete(t, err);
out:
	/* Resumable: the transaction stays for the core's next commit(). */
	if (rc == CAIRN_ERETRY)
		return rc;
	if (rc)
		s3_abort(t);
	else
		txn_free(t);
	return rc;
}

/*
 * Streaming parallel multipart upload. Parts are read from the file with
 * pread into one buffer per slot, so memory is `parallel` x part_size
 * whatever the archive's size; `parallel` parts are in flight at once on a
 * curl multi handle. Each part carries its own x-amz-content-sha256. The
 * object exists only once CompleteMultipartUpload succeeds; on any failure,
 * a stop asked included, the upload is aborted so no orphan parts stay
 * billed (and the next run's clean() aborts those a killed run left).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include <openssl/evp.h>

#include "s3.h"

struct slot {
	struct s3_req req;
	unsigned char *buf;
	size_t len;
	int part; /* 1-based; 0 when free */
};

struct mpu {
	struct s3 *s;
	const struct cairn_put_file *f;
	const char *key;
	int fd;
	uint64_t size;
	uint64_t psize;
	uint64_t done;
	int nparts;
	int next;
	char *upload_id;
	char **etags;
	EVP_MD_CTX *whole; /* the file's SHA-256, fed part by part in order */
	CURLM *multi;
	struct slot *slots;
};

static int initiate(struct mpu *m, struct cairn_error *err)
{
	struct s3 *s = m->s;
	struct s3_req r = { .out_fd = -1 };
	static const char *const kv[] = { "uploads", "" };
	char sc[96], meta[96], *query = s3_query(1, kv);
	const char *extra[4] = { "Content-Type: application/octet-stream" };
	int n = 1, rc;

	if (!query)
		return cairn_errf(err, CAIRN_EFAIL, "s3: out of memory");
	if (s->storage_class) {
		snprintf(sc, sizeof(sc), "x-amz-storage-class: %s",
			 s->storage_class);
		extra[n++] = sc;
	}
	if (m->f->sha256 && strlen(m->f->sha256) == 64 &&
	    strspn(m->f->sha256, "0123456789abcdefABCDEF") == 64) {
		snprintf(meta, sizeof(meta), "x-amz-meta-sha256: %s",
			 m->f->sha256);
		extra[n++] = meta;
	}
	rc = s3_req_init(s, &r, "POST", m->key, query, S3_EMPTY_SHA256, extra,
			 err);
	if (!rc)
		rc = s3_req_run(s, &r, err);
	if (!rc) {
		m->upload_id = s3_xml_upload_id(r.resp.data, r.resp.len);
		if (!m->upload_id)
			rc = cairn_errf(err, CAIRN_EFAIL,
					"s3 POST %s?uploads: no UploadId in "
					"the reply", r.what);
	}
	s3_req_free(&r);
	free(query);
	return rc;
}

/* "partNumber=N&uploadId=ID" for a part, "uploadId=ID" for part 0. */
static char *upload_query(struct mpu *m, int part)
{
	char num[16];
	const char *kv[] = { "partNumber", num, "uploadId", m->upload_id };

	snprintf(num, sizeof(num), "%d", part);
	return s3_query(part ? 2 : 1, part ? kv : kv + 2);
}

static int start_part(struct mpu *m, struct slot *sl,
		      struct cairn_error *err)
{
	uint64_t off = (uint64_t)(m->next - 1) * m->psize;
	size_t len = (size_t)(m->size - off < m->psize ? m->size - off
						       : m->psize);
	char sha[65], *query;
	int rc;

	/* Populated at once: the buffer is filled whole anyway, and one
	 * mapping costs far less than faulting its pages in one by one. */
	if (!sl->buf) {
		void *p = mmap(NULL, m->psize, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
			       -1, 0);

		if (p == MAP_FAILED)
			return cairn_errf(err, CAIRN_EFAIL,
					  "s3: no memory for a %llu-byte "
					  "part: %s",
					  (unsigned long long)m->psize,
					  strerror(errno));
		sl->buf = p;
	}
	rc = s3_pread_full(m->fd, sl->buf, len, off, m->f->path, err);
	if (rc)
		return rc;
	EVP_DigestUpdate(m->whole, sl->buf, len);
	s3_sha256_hex(sl->buf, len, sha);
	query = upload_query(m, m->next);
	if (!query)
		return cairn_errf(err, CAIRN_EFAIL, "s3: out of memory");
	sl->req.body = sl->buf;
	sl->req.body_len = len;
	sl->req.stoppable = true;
	rc = s3_req_init(m->s, &sl->req, "PUT", m->key, query, sha, NULL,
			 err);
	free(query);
	if (rc) {
		s3_req_free(&sl->req);
		return rc;
	}
	curl_easy_setopt(sl->req.h, CURLOPT_PRIVATE, sl);
	if (curl_multi_add_handle(m->multi, sl->req.h)) {
		s3_req_free(&sl->req);
		return cairn_errf(err, CAIRN_EFAIL, "s3: curl multi failed");
	}
	sl->len = len;
	sl->part = m->next++;
	return CAIRN_OK;
}

static int finish_part(struct mpu *m, struct slot *sl, CURLcode cc,
		       struct cairn_error *err)
{
	int rc;

	curl_multi_remove_handle(m->multi, sl->req.h);
	rc = s3_req_result(m->s, &sl->req, cc, err);
	if (!rc && !sl->req.etag[0])
		rc = cairn_errf(err, CAIRN_EFAIL, "s3 PUT %s part %d: no ETag "
				"in the reply", sl->req.what, sl->part);
	if (!rc && !(m->etags[sl->part - 1] = strdup(sl->req.etag)))
		rc = cairn_errf(err, CAIRN_EFAIL, "s3: out of memory");
	if (!rc) {
		m->done += sl->len;
		if (m->f->progress)
			m->f->progress(m->f->progress_ctx, m->done, m->size);
	}
	s3_req_free(&sl->req);
	sl->part = 0;
	return rc;
}

static struct slot *free_slot(struct mpu *m)
{
	for (int i = 0; i < m->s->parallel; i++)
		if (!m->slots[i].part)
			return &m->slots[i];
	return NULL;
}

/*
 * Keep `parallel` parts in flight until all are sent or one fails. One
 * part is read and hashed per turn, with curl driven in between, so the
 * parts already started keep moving while the next one is prepared.
 */
static int send_parts(struct mpu *m, struct cairn_error *err)
{
	int queued, active = 0, running = 0, rc;
	struct slot *sl;
	CURLMsg *msg;
	CURLMcode mc;

	while (m->next <= m->nparts || active) {
		if (s3_stopped(m->s))
			return cairn_errf(err, CAIRN_EFAIL, "s3: upload of %s "
					  "interrupted", m->f->name);
		sl = m->next <= m->nparts ? free_slot(m) : NULL;
		if (sl) {
			rc = start_part(m, sl, err);
			if (rc)
				return rc;
			active++;
		}
		mc = curl_multi_perform(m->multi, &running);
		if (mc)
			return cairn_errf(err, CAIRN_EFAIL, "s3: curl: %s",
					  curl_multi_strerror(mc));
		while ((msg = curl_multi_info_read(m->multi, &queued))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
					  (char **)&sl);
			active--;
			rc = finish_part(m, sl, msg->data.result, err);
			if (rc)
				return rc;
		}
		if (running && !(m->next <= m->nparts && free_slot(m)))
			curl_multi_poll(m->multi, NULL, 0, 1000, NULL);
	}
	return CAIRN_OK;
}

/* A 200 reply to CompleteMultipartUpload may still hold an <Error>. */
static int complete(struct mpu *m, struct cairn_error *err)
{
	struct s3_req r = { .out_fd = -1 };
	static const char *const extra[] = {
		"Content-Type: application/xml", NULL
	};
	char sha[65], code[64] = "", msg[160] = "", *query = NULL;
	unsigned char *body;
	size_t len = 0;
	int rc = CAIRN_EFAIL;

	body = s3_xml_complete(m->etags, m->nparts, &len);
	query = upload_query(m, 0);
	if (!body || !query) {
		rc = cairn_errf(err, CAIRN_EFAIL, "s3: out of memory");
		goto out;
	}
	s3_sha256_hex(body, len, sha);
	r.body = body;
	r.body_len = len;
	rc = s3_req_init(m->s, &r, "POST", m->key, query, sha, extra, err);
	if (!rc)
		rc = s3_req_run(m->s, &r, err);
	if (!rc && !s3_xml_error(r.resp.data, r.resp.len, code, sizeof(code),
				 msg, sizeof(msg)))
		rc = cairn_errf(err, !strcmp(code, "InternalError") ||
				!strcmp(code, "SlowDown") ? CAIRN_ERETRY
							  : CAIRN_EFAIL,
				"s3 POST %s: CompleteMultipartUpload failed: "
				"%s: %s", r.what, code, msg);
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
	struct s3_req r = { .out_fd = -1 };
	char *query = s3_query(1, kv);
	int rc;

	if (!query)
		return cairn_errf(err, CAIRN_EFAIL, "s3: out of memory");
	rc = s3_req_init(s, &r, "DELETE", key, query, S3_EMPTY_SHA256, NULL,
			 err);
	if (!rc)
		rc = s3_req_run(s, &r, err);
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
static void abort_upload(struct mpu *m)
{
	struct s3 *s = m->s;
	struct cairn_error e = { 0, "" };
	int rc = s3_abort_upload(s, m->key, m->upload_id, &e);

	if (!rc || rc == CAIRN_ENOTFOUND)
		s->cfg->log(s->cfg, CAIRN_LOG_INFO, "s3: aborted multipart "
			    "upload of s3://%s/%s", s->bucket, m->key);
	else
		s->cfg->log(s->cfg, CAIRN_LOG_WARN,
			    "s3: could not abort multipart upload %s of "
			    "s3://%s/%s (%s); its parts may stay billed until "
			    "removed (a lifecycle rule for incomplete uploads "
			    "does it)", m->upload_id, s->bucket, m->key,
			    e.msg);
}

int s3_put_multipart(struct s3 *s, int fd, uint64_t size,
		     const struct cairn_put_file *f, const char *key,
		     struct cairn_error *err)
{
	struct mpu m = {
		.s = s, .f = f, .key = key, .fd = fd, .size = size,
		.psize = s->part_size, .next = 1,
	};
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[65];
	int i, rc = CAIRN_EFAIL;

	/* S3 allows 10,000 parts: grow the part (in MiB) for huge files. */
	if ((size + m.psize - 1) / m.psize > S3_MAX_PARTS) {
		m.psize = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
		m.psize = (m.psize + S3_MIB - 1) / S3_MIB * S3_MIB;
		if (m.psize > S3_MAX_PART)
			return cairn_errf(err, CAIRN_EFAIL, "s3: %s is larger "
					  "than S3 allows for one object",
					  f->path);
		s->cfg->log(s->cfg, CAIRN_LOG_INFO, "s3: part size raised "
			    "to %llu MiB for %s",
			    (unsigned long long)(m.psize / S3_MIB), f->name);
	}
	m.nparts = (int)((size + m.psize - 1) / m.psize);
	m.etags = calloc((size_t)m.nparts, sizeof(*m.etags));
	m.slots = calloc((size_t)s->parallel, sizeof(*m.slots));
	m.whole = EVP_MD_CTX_new();
	m.multi = curl_multi_init();
	if (!m.etags || !m.slots || !m.whole || !m.multi ||
	    !EVP_DigestInit_ex(m.whole, EVP_sha256(), NULL)) {
		rc = cairn_errf(err, CAIRN_EFAIL, "s3: out of memory");
		goto out;
	}
	for (i = 0; i < s->parallel; i++)
		m.slots[i].req.out_fd = -1;
	curl_multi_setopt(m.multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)s->parallel);

	rc = initiate(&m, err);
	if (rc)
		goto out;
	s->cfg->log(s->cfg, CAIRN_LOG_DEBUG, "s3: %s: %d parts of %llu MiB, "
		    "%d in flight", f->name, m.nparts,
		    (unsigned long long)(m.psize / S3_MIB), s->parallel);
	rc = send_parts(&m, err);
	if (!rc && f->sha256) {
		EVP_DigestFinal_ex(m.whole, md, NULL);
		s3_hex(md, hex);
		if (strcasecmp(hex, f->sha256))
			rc = cairn_errf(err, CAIRN_EINTEGRITY, "s3: %s does "
					"not match its sha256 (changed while "
					"sending?)", f->path);
	}
	if (!rc)
		rc = complete(&m, err);
	if (rc) {
		for (i = 0; i < s->parallel; i++) {
			if (!m.slots[i].part)
				continue;
			curl_multi_remove_handle(m.multi, m.slots[i].req.h);
			s3_req_free(&m.slots[i].req);
		}
		abort_upload(&m);
	}
out:
	if (m.slots)
		for (i = 0; i < s->parallel; i++)
			if (m.slots[i].buf)
				munmap(m.slots[i].buf, m.psize);
	if (m.etags)
		for (i = 0; i < m.nparts; i++)
			free(m.etags[i]);
	free(m.etags);
	free(m.slots);
	free(m.upload_id);
	EVP_MD_CTX_free(m.whole);
	if (m.multi)
		curl_multi_cleanup(m.multi);
	return rc;
}

/*
 * s3: a cairn target on Amazon S3 or an S3-compatible store.
 *
 * Requests are signed by libcurl (CURLOPT_AWS_SIGV4). curl 7.88 signs the
 * request exactly as it is written, so this file supplies what it does not:
 * the payload's SHA-256 in x-amz-content-sha256 (curl takes it as the
 * signed payload hash), a canonical query string (sorted, RFC 3986, `k=`
 * for empty values) and no empty headers (curl would sign a header it then
 * drops). Expect: 100-continue is left to curl: it is added after signing,
 * S3 ignores it for the signature, and it lets S3 refuse a part before its
 * body is sent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config.h"
#include "s3.h"

#define RESP_MAX (16 * S3_MIB) /* bound on an XML reply kept in memory */

/* Every key s3 reads; the core checks types and ranges, and keeps the
 * SECRET ones out of readable files and of every log. */
static const struct cairn_key_spec s3_keys[] = {
	CAIRN_KEY("endpoint", CAIRN_KEY_STRING, NULL, 0,
		  "scheme://host[:port] (default AWS for the region)"),
	CAIRN_KEY("region", CAIRN_KEY_STRING, "us-east-1", 0,
		  "region the requests are signed for"),
	CAIRN_KEY("bucket", CAIRN_KEY_STRING, NULL, CAIRN_KEY_REQUIRED,
		  "bucket that holds the archives"),
	CAIRN_KEY("prefix", CAIRN_KEY_STRING, "", 0,
		  "folder in the bucket, e.g. backups/"),
	CAIRN_KEY("path_style", CAIRN_KEY_BOOL, NULL, 0,
		  "host/bucket URLs (default: yes for an IP endpoint)"),
	CAIRN_KEY("access_key", CAIRN_KEY_STRING, NULL, 0,
		  "access key id (else AWS_ACCESS_KEY_ID)"),
	CAIRN_KEY("secret_key", CAIRN_KEY_STRING, NULL, CAIRN_KEY_SECRET,
		  "secret access key (else AWS_SECRET_ACCESS_KEY)"),
	CAIRN_KEY("session_token", CAIRN_KEY_STRING, NULL, CAIRN_KEY_SECRET,
		  "STS session token (else AWS_SESSION_TOKEN)"),
	CAIRN_KEY("all_hosts", CAIRN_KEY_BOOL, "no", 0,
		  "list every host's folder of a %h prefix (list --all-hosts)"),
	CAIRN_KEY("object_lock", CAIRN_KEY_STRING, NULL, 0,
		  "governance or compliance: Object Lock on every object"),
	CAIRN_KEY("storage_class", CAIRN_KEY_STRING, NULL, 0,
		  "x-amz-storage-class, e.g. STANDARD_IA"),
	CAIRN_KEY_RANGE("part_size", CAIRN_KEY_SIZE, "16M", 0,
			(int64_t)S3_MIN_PART, (int64_t)S3_MAX_PART,
			"multipart part size, 5M to 5G"),
	CAIRN_KEY_RANGE("parallel", CAIRN_KEY_INT, "4", 0, 1, 64,
			"parts in flight at once (memory: parallel+1 parts)"),
	CAIRN_KEY("ca_file", CAIRN_KEY_PATH, NULL, 0,
		  "PEM file of an extra trusted CA"),
	CAIRN_KEY_RANGE("connect_timeout", CAIRN_KEY_DURATION, "10", 0, 1,
			600, "give up connecting after this long"),
	CAIRN_KEY_RANGE("stall_timeout", CAIRN_KEY_DURATION, "60", 0, 5,
			3600, "a transfer that moves nothing this long fails"),
	CAIRN_KEY_END,
};

void s3_hex(const unsigned char md[32], char hex[65])
{
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

void s3_sha256_hex(const void *p, size_t n, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];

	EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL);
	s3_hex(md, hex);
}

/* RFC 3986: unreserved characters stay, the rest is %XX; '/' stays in a
 * path. This is also S3's canonical form, so what curl signs (the URL as
 * written) is what S3 computes. */
static char *uri_encode(const char *s, bool keep_slash)
{
	static const char hexd[] = "0123456789ABCDEF";
	char *out = malloc(3 * strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' ||
		    c == '~' || (keep_slash && c == '/')) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hexd[c >> 4];
			*o++ = hexd[c & 15];
		}
	}
	*o = '\0';
	return out;
}

struct qpair {
	char *k;
	char *v;
};

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c ? c : strcmp(x->v, y->v);
}

/*
 * The canonical query string of npairs key/value pairs (kv[2i], kv[2i+1];
 * a NULL value leaves the pair out): encoded, sorted by key then value,
 * and always `k=v`, even for an empty value (`uploads=`).
 */
char *s3_query(int npairs, const char *const *kv)
{
	struct qpair *p = calloc((size_t)npairs + 1, sizeof(*p));
	char *out = NULL;
	size_t len = 1;
	int i, n = 0;

	if (!p)
		return NULL;
	for (i = 0; i < npairs; i++) {
		if (!kv[2 * i + 1])
			continue;
		p[n].k = uri_encode(kv[2 * i], false);
		p[n].v = uri_encode(kv[2 * i + 1], false);
		if (!p[n].k || !p[n].v) {
			n++;
			goto out;
		}
		len += strlen(p[n].k) + strlen(p[n].v) + 2;
		n++;
	}
	qsort(p, (size_t)n, sizeof(*p), qpair_cmp);
	out = malloc(len);
	if (!out)
		goto out;
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i)
			strcat(out, "&");
		strcat(out, p[i].k);
		strcat(out, "=");
		strcat(out, p[i].v);
	}
out:
	for (i = 0; i < n; i++) {
		free(p[i].k);
		free(p[i].v);
	}
	free(p);
	return out;
}

static size_t on_write(char *p, size_t sz, size_t n, void *ud)
{
	struct s3_req *r = ud;
	size_t len = sz * n;
	long status = 0;

	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
	if (r->sink && status >= 200 && status < 300) {
		size_t skip, give;

		/* A 206 is the range itself; a 200 starts at byte 0. */
		if (!r->body_seen && status == 206)
			r->skip = 0;
		r->body_seen = true;
		skip = r->skip < len ? (size_t)r->skip : len;
		give = len - skip;

		r->skip -= skip;
		if (give > r->remain)
			give = (size_t)r->remain;
		r->remain -= give;
		if (give && (r->sink_rc = r->sink->write(r->sink->ctx,
							  p + skip, give)))
			return 0;
		return len;
	}
	/* Replies and error documents; past the bound the rest is dropped
	 * (the XML then fails to parse, which is reported). */
	if (r->resp.len + len + 1 > r->resp.cap && r->resp.len < RESP_MAX) {
		size_t cap = r->resp.cap ? r->resp.cap : 16384;
		char *d;

		while (cap < r->resp.len + len + 1)
			cap *= 2;
		if (cap > RESP_MAX)
			cap = RESP_MAX;
		d = realloc(r->resp.data, cap);
		if (!d)
			return 0;
		r->resp.data = d;
		r->resp.cap = cap;
	}
	if (r->resp.len + len + 1 <= r->resp.cap) {
		memcpy(r->resp.data + r->resp.len, p, len);
		r->resp.len += len;
		r->resp.data[r->resp.len] = '\0';
	}
	return len;
}

/* The trimmed value of header line p when it is `name` (with colon). */
static void header_value(const char *p, size_t len, const char *name,
			 char *out, size_t outsz)
{
	size_t i = strlen(name), j = len;

	if (len <= i || strncasecmp(p, name, i))
		return;
	while (i < j && isspace((unsigned char)p[i]))
		i++;
	while (j > i && isspace((unsigned char)p[j - 1]))
		j--;
	snprintf(out, outsz, "%.*s", (int)(j - i), p + i);
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct s3_req *r = ud;
	size_t len = sz * n;

	if (len > 5 && !strncasecmp(p, "etag:", 5)) {
		size_t i = 5, j = len;

		while (i < j && isspace((unsigned char)p[i]))
			i++;
		while (j > i && isspace((unsigned char)p[j - 1]))
			j--;
		snprintf(r->etag, sizeof(r->etag), "%.*s", (int)(j - i),
			 p + i);
	}
	header_value(p, len, "x-amz-object-lock-mode:", r->lock_mode,
		     sizeof(r->lock_mode));
	header_value(p, len, "x-amz-object-lock-retain-until-date:",
		     r->lock_until, sizeof(r->lock_until));
	return len;
}

static size_t on_read(char *p, size_t sz, size_t n, void *ud)
{
	struct s3_req *r = ud;
	size_t len = r->body_len - r->body_off;

	if (len > sz * n)
		len = sz * n;
	if (len) /* an empty object has no body buffer */
		memcpy(p, r->body + r->body_off, len);
	r->body_off += len;
	return len;
}

/* curl rewinds the body when it must send it again (e.g. after a 417). */
static int on_seek(void *ud, curl_off_t off, int origin)
{
	struct s3_req *r = ud;

	if (origin != SEEK_SET || off < 0 || (size_t)off > r->body_len)
		return CURL_SEEKFUNC_FAIL;
	r->body_off = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

bool s3_stopped(struct s3 *s)
{
	return s->hostsv->stopped && s->hostsv->stopped(s->hostsv);
}

/* curl calls this about once a second during a transfer: non-zero ends
 * it with CURLE_ABORTED_BY_CALLBACK. */
static int on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return s3_stopped(ud);
}

int s3_oom(struct cairn_error *err)
{
	return cairn_errf(err, CAIRN_EFAIL, "s3: out of memory");
}

static char *object_url(struct s3 *s, const char *key, const char *query)
{
	char *ek = uri_encode(key ? key : "", true), *url = NULL;
	const char *q = query && *query ? "?" : "";

	if (!ek)
		return NULL;
	if (s->path_style) {
		if (asprintf(&url, "%s://%s/%s/%s%s%s", s->scheme, s->host,
			     s->bucket, ek, q, query ? query : "") < 0)
			url = NULL;
	} else if (asprintf(&url, "%s://%s.%s/%s%s%s", s->scheme, s->bucket,
			    s->host, ek, q, query ? query : "") < 0) {
		url = NULL;
	}
	free(ek);
	return url;
}

/* r's headers: the payload hash, the session token, extra. */
static int req_headers(struct s3 *s, struct s3_req *r,
		       const char *payload_sha, const char *const *extra,
		       struct cairn_error *err)
{
	struct curl_slist *l;
	char line[512];

	snprintf(line, sizeof(line), "x-amz-content-sha256: %s", payload_sha);
	if (!(r->hdrs = curl_slist_append(NULL, line)))
		return s3_oom(err);
	if (s->session_token) {
		char *t = NULL;

		if (asprintf(&t, "x-amz-security-token: %s",
			     s->session_token) < 0)
			return s3_oom(err);
		l = curl_slist_append(r->hdrs, t);
		free(t);
		if (!l)
			return s3_oom(err);
	}
	for (; extra && *extra; extra++) {
		if (!(l = curl_slist_append(r->hdrs, *extra)))
			return s3_oom(err);
	}
	return CAIRN_OK;
}

/* What every request of s shares: signing, timeouts, TLS, callbacks. */
static void req_common(struct s3 *s, struct s3_req *r, CURL *h)
{
	curl_easy_setopt(h, CURLOPT_URL, r->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_SHARE, s->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(h, CURLOPT_USERNAME, s->access_key);
	curl_easy_setopt(h, CURLOPT_PASSWORD, s->secret_key);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cairn-s3/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, s->connect_timeout);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, s->stall_timeout);
	/* Verification stays on; ca_file only adds a trust anchor. */
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_PRIVATE, r);
	/* Only data transfers: the requests that clean up after a stop
	 * (abort, delete) must still go through. */
	if (r->stoppable) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, s);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
}

/* The method, and the body it sends. */
static void req_method(struct s3_req *r, CURL *h, const char *method)
{
	if (!strcmp(method, "PUT")) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, r);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, r);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)r->body_len);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)r->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS,
				 r->body ? (const char *)r->body : "");
	} else if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
}

/*
 * Prepare r for METHOD on KEY (NULL: the bucket itself) with the canonical
 * QUERY. payload_sha is the body's SHA-256 (S3_EMPTY_SHA256 without one);
 * extra is a NULL-terminated list of further headers. The caller sets
 * r->body/body_len before for PUT and POST, r->sink for a download.
 */
int s3_req_init(struct s3 *s, struct s3_req *r, const char *method,
		const char *key, const char *query, const char *payload_sha,
		const char *const *extra, struct cairn_error *err)
{
	int rc;

	r->method = method;
	r->url = object_url(s, key, query);
	if (asprintf(&r->what, "s3://%s/%s", s->bucket, key ? key : "") < 0)
		r->what = NULL;
	r->h = curl_easy_init();
	if (!r->url || !r->what || !r->h)
		return s3_oom(err);
	if ((rc = req_headers(s, r, payload_sha, extra, err)))
		return rc;
	req_common(s, r, r->h);
	req_method(r, r->h, method);
	return CAIRN_OK;
}

void s3_req_free(struct s3_req *r)
{
	if (r->h)
		curl_easy_cleanup(r->h);
	curl_slist_free_all(r->hdrs);
	free(r->url);
	free(r->what);
	free(r->resp.data);
	memset(r, 0, sizeof(*r));
}

struct code_map {
	const char *code;
	int rc;
};

/* S3 error codes whose meaning is not plain from the HTTP status. */
static const struct code_map codes[] = {
	{ "NoSuchKey", CAIRN_ENOTFOUND },
	{ "NoSuchBucket", CAIRN_ECONFIG },
	{ "InvalidBucketName", CAIRN_ECONFIG },
	{ "PermanentRedirect", CAIRN_ECONFIG },
	{ "AuthorizationHeaderMalformed", CAIRN_ECONFIG },
	{ "InvalidStorageClass", CAIRN_ECONFIG },
	{ "AccessDenied", CAIRN_EPERM },
	{ "AllAccessDisabled", CAIRN_EPERM },
	{ "InvalidAccessKeyId", CAIRN_EAUTH },
	{ "SignatureDoesNotMatch", CAIRN_EAUTH },
	{ "RequestTimeTooSkewed", CAIRN_EAUTH },
	{ "ExpiredToken", CAIRN_EAUTH },
	{ "InvalidToken", CAIRN_EAUTH },
	{ "TokenRefreshRequired", CAIRN_EAUTH },
	{ "QuotaExceeded", CAIRN_ENOSPC },
	{ "XMinioStorageFull", CAIRN_ENOSPC },
	{ "XAmzContentSHA256Mismatch", CAIRN_EINTEGRITY },
	{ "BadDigest", CAIRN_EINTEGRITY },
	{ "RequestTimeout", CAIRN_ERETRY },
	{ "SlowDown", CAIRN_ERETRY },
	{ "InternalError", CAIRN_ERETRY },
	{ "ServiceUnavailable", CAIRN_ERETRY },
	{ "OperationAborted", CAIRN_ERETRY },
};

static int classify(long status, const char *code)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (!strcmp(code, codes[i].code))
			return codes[i].rc;
	if (status == 401 || status == 403)
		return CAIRN_EAUTH;
	if (status == 404)
		return CAIRN_ENOTFOUND;
	if (status == 301 || status == 307)
		return CAIRN_ECONFIG;
	if (status == 507)
		return CAIRN_ENOSPC;
	if (status == 408 || status == 429 || status >= 500)
		return CAIRN_ERETRY;
	return CAIRN_EFAIL;
}

static int http_error(struct s3 *s, struct s3_req *r, long status,
		      struct cairn_error *err)
{
	char code[64] = "", smsg[128] = "", hint[160] = "";
	int rc;

	s3_xml_error(r->resp.data, r->resp.len, code, sizeof(code), smsg,
		     sizeof(smsg));
	rc = classify(status, code);
	if (!strcmp(code, "NoSuchBucket"))
		return cairn_errf(err, rc,
				  "s3: bucket '%s' does not exist at %s://%s "
				  "(NoSuchBucket)", s->bucket, s->scheme,
				  s->host);
	if (rc == CAIRN_EAUTH || rc == CAIRN_EPERM)
		snprintf(hint, sizeof(hint),
			 "; %scheck access_key/secret_key (or "
			 "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), region "
			 "'%s' and the clock", rc == CAIRN_EPERM ?
			 "the key may lack permission on the bucket, or " :
			 "", s->region);
	else if (rc == CAIRN_ECONFIG)
		snprintf(hint, sizeof(hint), "; check region '%s', endpoint "
			 "and path_style for bucket '%s'", s->region,
			 s->bucket);
	else if (rc == CAIRN_ERETRY)
		snprintf(hint, sizeof(hint), "; server busy or failing");
	return cairn_errf(err, rc, "s3 %s %s: HTTP %ld%s%s%s%s%s%s",
			  r->method, r->what, status, code[0] ? " " : "", code,
			  smsg[0] ? " (" : "", smsg, smsg[0] ? ")" : "", hint);
}

static int curl_error(struct s3 *s, struct s3_req *r, CURLcode cc,
		      struct cairn_error *err)
{
	const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_ABORTED_BY_CALLBACK:
		return cairn_errf(err, CAIRN_EFAIL, "s3 %s %s: interrupted",
				  r->method, r->what);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_AGAIN:
		return cairn_errf(err, CAIRN_ERETRY, "s3 %s %s at %s: %s",
				  r->method, r->what, s->host, why);
	case CURLE_PEER_FAILED_VERIFICATION:
		return cairn_errf(err, CAIRN_EAUTH,
				  "s3: TLS certificate of %s not trusted: %s "
				  "(set ca_file for a private CA)", s->host,
				  why);
	case CURLE_SSL_CACERT_BADFILE:
		return cairn_errf(err, CAIRN_ECONFIG, "s3: ca_file %s: %s",
				  s->ca_file ? s->ca_file : "(system)", why);
	case CURLE_WRITE_ERROR:
		/* The sink's code stands; the core keeps its own message. */
		if (r->sink_rc)
			return cairn_errf(err, r->sink_rc, "s3 GET %s: ended "
					  "by the receiver", r->what);
		return s3_oom(err);
	default:
		return cairn_errf(err, CAIRN_EFAIL, "s3 %s %s at %s: %s",
				  r->method, r->what, s->host, why);
	}
}

/* The cairn code for a finished transfer; err says why when not OK. */
int s3_req_result(struct s3 *s, struct s3_req *r, CURLcode cc,
		  struct cairn_error *err)
{
	long status = 0;

	if (cc != CURLE_OK)
		return curl_error(s, r, cc, err);
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
		return CAIRN_OK;
	return http_error(s, r, status, err);
}

/* s3_req_init and s3_req_run in one: the usual request. */
int s3_req_do(struct s3 *s, struct s3_req *r, const char *method,
	      const char *key, const char *query, const char *payload_sha,
	      const char *const *extra, struct cairn_error *err)
{
	int rc = s3_req_init(s, r, method, key, query, payload_sha, extra,
			     err);

	return rc ? rc : s3_req_run(s, r, err);
}

int s3_req_run(struct s3 *s, struct s3_req *r, struct cairn_error *err)
{
	return s3_req_result(s, r, curl_easy_perform(r->h), err);
}

/* ---- configuration ---- */

static bool is_loopback(const char *host)
{
	struct in_addr a4;
	size_t n = strlen(host);

	if (!strcasecmp(host, "localhost") ||
	    (n > 10 && !strcasecmp(host + n - 10, ".localhost")))
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return !strcmp(host, "[::1]") || !strcmp(host, "::1");
}

static bool is_ip_literal(const char *host)
{
	struct in_addr a4;

	return host[0] == '[' || inet_pton(AF_INET, host, &a4) == 1;
}

/* Split the endpoint URL into scheme and host[:port]. */
static int parse_endpoint(struct s3 *s, const char *ep,
			  struct cairn_error *err)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	char *query = NULL, *user = NULL;
	CURLU *u = curl_url();
	int rc = CAIRN_ECONFIG;

	if (!u)
		return s3_oom(err);
	if (curl_url_set(u, CURLUPART_URL, ep, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0)) {
		cairn_errf(err, rc, "s3: endpoint '%s' is not a URL", ep);
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	/* Not echoed: user:password@ may hold a secret. */
	if (user) {
		cairn_errf(err, rc, "s3: endpoint of target '%s' holds "
			   "user:password@; use access_key and secret_key",
			   s->cfg->name);
		goto out;
	}
	if (strcmp(scheme, "https") && strcmp(scheme, "http")) {
		cairn_errf(err, rc, "s3: endpoint '%s': scheme must be https",
			   ep);
		goto out;
	}
	if ((path && strcmp(path, "/")) || query) {
		cairn_errf(err, rc, "s3: endpoint '%s' must be only "
			   "scheme://host[:port] (bucket and prefix have "
			   "their own keys)", ep);
		goto out;
	}
	if (!strcmp(scheme, "http") && !is_loopback(host)) {
		cairn_errf(err, rc, "s3: endpoint '%s': plain http is allowed "
			   "only for loopback hosts (localhost, 127.0.0.0/8, "
			   "::1); use https", ep);
		goto out;
	}
	/* An IP address cannot carry the bucket as a host name. */
	s->path_style = is_ip_literal(host);
	s->scheme = strdup(scheme);
	if (port ? asprintf(&s->host, "%s:%s", host, port) < 0
		 : !(s->host = strdup(host)))
		s->host = NULL;
	if (!s->scheme || !s->host) {
		rc = s3_oom(err);
		goto out;
	}
	rc = CAIRN_OK;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_free(user);
	curl_url_cleanup(u);
	return rc;
}

static const char *key_or(struct s3 *s, const char *key, const char *def)
{
	const char *v = s->cfg->get_str(s->cfg, key);

	return v && *v ? v : def;
}

/* Credentials come whole from the config, or whole from the standard AWS
 * variables, never mixed: a token must go with the key it was made for. */
static int load_credentials(struct s3 *s, struct cairn_error *err)
{
	const char *ak = key_or(s, "access_key", NULL);
	const char *sk = key_or(s, "secret_key", NULL);
	const char *tok = key_or(s, "session_token", NULL);

	if (!ak && !sk && !tok) {
		ak = getenv("AWS_ACCESS_KEY_ID");
		sk = getenv("AWS_SECRET_ACCESS_KEY");
		tok = getenv("AWS_SESSION_TOKEN");
		if (!ak || !*ak || !sk || !*sk)
			return cairn_errf(err, CAIRN_ECONFIG,
					  "s3: no credentials: set access_key "
					  "and secret_key, or "
					  "AWS_ACCESS_KEY_ID and "
					  "AWS_SECRET_ACCESS_KEY");
		if (tok && !*tok)
			tok = NULL;
	} else if (!ak || !sk) {
		return cairn_errf(err, CAIRN_ECONFIG,
				  "s3: key '%s' missing (access_key and "
				  "secret_key go together)",
				  ak ? "secret_key" : "access_key");
	}
	if (strpbrk(ak, "\r\n/ ") || strpbrk(sk, "\r\n") ||
	    (tok && strpbrk(tok, "\r\n")))
		return cairn_errf(err, CAIRN_ECONFIG,
				  "s3: access_key, secret_key or "
				  "session_token holds an invalid character");
	s->access_key = strdup(ak);
	s->secret_key = strdup(sk);
	s->session_token = tok ? strdup(tok) : NULL;
	if (!s->access_key || !s->secret_key || (tok && !s->session_token))
		return s3_oom(err);
	return CAIRN_OK;
}

/* Prefix as a folder: no leading '/', one trailing '/' unless empty. */
static char *norm_prefix(const char *p)
{
	size_t n;
	char *out;

	while (*p == '/')
		p++;
	n = strlen(p);
	out = malloc(n + 2);
	if (!out)
		return NULL;
	memcpy(out, p, n + 1);
	if (n && out[n - 1] != '/')
		strcpy(out + n, "/");
	return out;
}

/* prefix with %h (short host name), %n (the config's name) and %%
 * expanded, as a folder: one template serves every host of a fleet. */
static char *expand(struct s3 *s, const char *p)
{
	char host[256] = "", *out;
	const char *name = s->cfg->get_str(s->cfg, "cairn.name");
	size_t n = 0, cap = strlen(p) + 1;

	if (gethostname(host, sizeof(host) - 1) == 0)
		host[strcspn(host, ".")] = '\0';
	cap += strlen(host) * 8 + (name ? strlen(name) : 0) * 8;
	if (!(out = malloc(cap)))
		return NULL;
	for (; *p; p++) {
		const char *add = NULL;

		if (p[0] == '%' && p[1] == 'h')
			add = host;
		else if (p[0] == '%' && p[1] == 'n')
			add = name ? name : "";
		else if (p[0] == '%' && p[1] == '%')
			add = "%";
		if (add) {
			size_t l = strlen(add);

			if (n + l + 1 > cap)
				break;
			memcpy(out + n, add, l);
			n += l;
			p++;
		} else if (n + 2 <= cap) {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return out;
}

/* The prefix as a folder; with all_hosts, the part before %h (listed
 * whole) and what follows it, so list() finds every host's folder. */
static int prefix_config(struct s3 *s, const char *tmpl,
			 struct cairn_error *err)
{
	const char *h = strstr(tmpl, "%h");
	char *head = NULL, *p;

	if (h && s->cfg->get_bool(s->cfg, "all_hosts")) {
		if (!(head = strndup(tmpl, (size_t)(h - tmpl))) ||
		    !(s->host_tail = expand(s, h + 2))) {
			free(head);
			return s3_oom(err);
		}
		p = expand(s, head);
		free(head);
		s->prefix = p;
		return p ? CAIRN_OK : s3_oom(err);
	}
	p = expand(s, tmpl);
	s->prefix = p ? norm_prefix(p) : NULL;
	free(p);
	return s->prefix ? CAIRN_OK : s3_oom(err);
}

static bool dns_bucket(const char *b)
{
	for (; *b; b++) {
		unsigned char c = (unsigned char)*b;

		if (!islower(c) && !isdigit(c) && c != '-' && c != '.')
			return false;
	}
	return true;
}

static void s3_free(struct s3 *s)
{
	if (!s)
		return;
	if (s->share)
		curl_share_cleanup(s->share);
	if (s->secret_key)
		explicit_bzero(s->secret_key, strlen(s->secret_key));
	if (s->session_token)
		explicit_bzero(s->session_token, strlen(s->session_token));
	free(s->scheme);
	free(s->host);
	free(s->region);
	free(s->bucket);
	free(s->prefix);
	free(s->host_tail);
	free(s->access_key);
	free(s->secret_key);
	free(s->session_token);
	free(s->storage_class);
	free(s->ca_file);
	free(s->armed);
	free(s);
	curl_global_cleanup();
}

/* region, bucket, prefix, endpoint and addressing. */
static int where_config(struct s3 *s, struct cairn_error *err)
{
	const struct cairn_target_config *cfg = s->cfg;
	const char *v, *region, *ep;
	char *def_ep = NULL;
	int rc = CAIRN_ECONFIG;

	region = key_or(s, "region", "us-east-1");
	if (strlen(region) > 40 || strpbrk(region, ":/ "))
		return cairn_errf(err, rc, "s3: region '%s' invalid", region);
	s->region = strdup(region);
	snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", region);
	v = key_or(s, "bucket", NULL);
	if (!v || strlen(v) > 255 || strchr(v, '/'))
		return cairn_errf(err, rc, "s3: key 'bucket' %s",
				  v ? "is not a bucket name" : "missing");
	s->bucket = strdup(v);
	if ((rc = prefix_config(s, key_or(s, "prefix", ""), err)))
		return rc;
	if (!s->region || !s->bucket)
		return s3_oom(err);
	ep = key_or(s, "endpoint", NULL);
	if (!ep) {
		if (asprintf(&def_ep, "https://s3.%s.amazonaws.com",
			     region) < 0)
			return s3_oom(err);
		ep = def_ep;
	}
	rc = parse_endpoint(s, ep, err);
	free(def_ep);
	if (rc)
		return rc;
	/* Unset: what parse_endpoint chose from the host. */
	if (key_or(s, "path_style", NULL))
		s->path_style = cfg->get_bool(cfg, "path_style");
	if (!s->path_style && !dns_bucket(s->bucket))
		return cairn_errf(err, CAIRN_ECONFIG, "s3: bucket '%s' cannot "
				  "be a host name; set path_style = yes",
				  s->bucket);
	return CAIRN_OK;
}

/* part_size, parallel and the timeouts. The core checked the ranges; a
 * host that did not (a test tool) still gets a refusal naming the key,
 * never a silent default. */
static int transfer_config(struct s3 *s, struct cairn_error *err)
{
	const struct cairn_target_config *cfg = s->cfg;
	int rc = CAIRN_ECONFIG;

	s->part_size = (uint64_t)cfg->get_size(cfg, "part_size");
	if (s->part_size < S3_MIN_PART || s->part_size > S3_MAX_PART)
		return cairn_errf(err, rc, "s3: part_size '%s': need a size "
				  "from 5M to 5G", key_or(s, "part_size", ""));
	s->parallel = (int)cfg->get_int(cfg, "parallel");
	if (s->parallel < 1 || s->parallel > 64)
		return cairn_errf(err, rc, "s3: parallel '%s': need 1 to 64",
				  key_or(s, "parallel", ""));
	s->connect_timeout = (long)cfg->get_duration(cfg, "connect_timeout");
	s->stall_timeout = (long)cfg->get_duration(cfg, "stall_timeout");
	if (s->connect_timeout < 1 || s->connect_timeout > 600 ||
	    s->stall_timeout < 5 || s->stall_timeout > 3600)
		return cairn_errf(err, rc, "s3: %s out of range",
				  s->connect_timeout < 1 ||
				  s->connect_timeout > 600 ? "connect_timeout"
							   : "stall_timeout");
	return CAIRN_OK;
}

static int s3_config(struct s3 *s, struct cairn_error *err)
{
	const char *v;
	int rc;

	if ((rc = where_config(s, err)) || (rc = transfer_config(s, err)) ||
	    (rc = s3_lock_config(s, err)))
		return rc;
	rc = CAIRN_ECONFIG;
	v = key_or(s, "storage_class", NULL);
	if (v) {
		for (const char *c = v; *c; c++)
			if (!isupper((unsigned char)*c) && *c != '_' &&
			    !isdigit((unsigned char)*c))
				return cairn_errf(err, rc, "s3: storage_class "
						  "'%s' invalid (e.g. "
						  "STANDARD_IA)", v);
		if (!(s->storage_class = strdup(v)))
			return s3_oom(err);
	}
	v = key_or(s, "ca_file", NULL);
	if (v) {
		if (access(v, R_OK))
			return cairn_errf(err, rc, "s3: ca_file %s: %s", v,
					  strerror(errno));
		if (!(s->ca_file = strdup(v)))
			return s3_oom(err);
	}
	return load_credentials(s, err);
}

static int s3_open(const struct cairn_host *host,
		   const struct cairn_target_config *cfg,
		   struct cairn_target_props *props, void **handle,
		   struct cairn_error *err)
{
	struct s3 *s = calloc(1, sizeof(*s));
	int rc;

	*handle = NULL;
	if (!s)
		return s3_oom(err);
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free(s);
		return cairn_errf(err, CAIRN_EFAIL, "s3: libcurl init failed");
	}
	s->hostsv = host;
	s->cfg = cfg;
	rc = s3_config(s, err);
	if (!rc && !(s->share = curl_share_init()))
		rc = s3_oom(err);
	if (rc) {
		s3_free(s);
		return rc;
	}
	curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(s->share, CURLSHOPT_SHARE,
			  CURL_LOCK_DATA_SSL_SESSION);
	/* S3 replaces an object whole at PUT or CompleteMultipartUpload. */
	if (props && CAIRN_HAS(props, struct cairn_target_props, flags))
		props->flags = CAIRN_PROP_RANGED_GET |
			       CAIRN_PROP_ATOMIC_COMMIT |
			       CAIRN_PROP_RESUMABLE |
			       (s->lock_mode ? CAIRN_PROP_OBJECT_LOCK : 0);
	if (props && CAIRN_HAS(props, struct cairn_target_props, max_handles))
		props->max_handles = 8;
	*handle = s;
	return CAIRN_OK;
}

static void s3_close(void *handle)
{
	s3_free(handle);
}

/* prefix + name, once name is known to be a base name as the ABI says:
 * no '/', not starting with '.', at most 255 bytes. */
char *s3_object_key(struct s3 *s, const char *name, struct cairn_error *err)
{
	char *key = NULL;

	if (!name || !*name || *name == '.' || strchr(name, '/') ||
	    strlen(name) > 255) {
		cairn_errf(err, CAIRN_EFAIL, "s3: invalid object name '%s'",
			   name ? name : "");
		return NULL;
	}
	if (asprintf(&key, "%s%s", s->prefix, name) < 0) {
		s3_oom(err);
		return NULL;
	}
	return key;
}

struct list_ctx {
	struct s3 *s;
	cairn_list_cb cb;
	void *ctx;
};

static int list_one(void *ud, const char *key, uint64_t size, int64_t mtime)
{
	struct list_ctx *l = ud;
	size_t plen = strlen(l->s->prefix);
	struct cairn_object o = { .size = sizeof(o) };
	char host[256];

	if (l->s->host_tail) {
		/* all_hosts: PREFIX HOST TAIL NAME */
		const char *rest = key + plen, *t;

		if (strncmp(key, l->s->prefix, plen) ||
		    !(t = strstr(rest, l->s->host_tail)) || t == rest ||
		    (size_t)(t - rest) >= sizeof(host) ||
		    memchr(rest, '/', (size_t)(t - rest)))
			return 0;
		snprintf(host, sizeof(host), "%.*s", (int)(t - rest), rest);
		o.host = host;
		plen = (size_t)(t - key) + strlen(l->s->host_tail);
	}
	/* Names starting with '.' are no objects of cairn's. */
	if ((!l->s->host_tail && strncmp(key, l->s->prefix, plen)) ||
	    !key[plen] ||
	    key[plen] == '.' || strchr(key + plen, '/') ||
	    strlen(key + plen) > 255)
		return 0;
	o.name = key + plen;
	o.bytes = size;
	o.mtime = mtime;
	return l->cb(l->ctx, &o);
}

/* ListObjectsV2 pages under the prefix, following continuation tokens. */
static int list_pages(struct s3 *s, const char *max_keys, cairn_list_cb cb,
		      void *ctx, struct cairn_error *err)
{
	struct list_ctx l = { s, cb, ctx };
	char *token = NULL, *next = NULL, *query = NULL;
	int rc = CAIRN_OK, stopped = 0;

	do {
		struct s3_req r = { 0 };
		const char *kv[] = {
			"continuation-token", token, "delimiter",
			s->host_tail ? NULL : "/",
			"list-type", "2", "max-keys", max_keys,
			"prefix", s->prefix,
		};

		if (s3_stopped(s)) {
			rc = cairn_errf(err, CAIRN_EFAIL, "s3: listing of "
					"s3://%s/%s interrupted", s->bucket,
					s->prefix);
			break;
		}
		free(query);
		query = s3_query(5, kv);
		if (!query) {
			rc = s3_oom(err);
			break;
		}
		rc = s3_req_do(s, &r, "GET", NULL, query, S3_EMPTY_SHA256,
			       NULL, err);
		if (!rc && s3_xml_list(r.resp.data, r.resp.len, list_one, &l,
				       &next, &stopped))
			rc = cairn_errf(err, CAIRN_EFAIL, "s3 GET s3://%s/%s: "
					"reply is not a bucket listing",
					s->bucket, s->prefix);
		s3_req_free(&r);
		free(token);
		token = next;
		next = NULL;
	} while (!rc && token && !stopped);
	free(token);
	free(query);
	return rc;
}

static int s3_list(void *handle, cairn_list_cb cb, void *ctx,
		   struct cairn_error *err)
{
	return list_pages(handle, NULL, cb, ctx, err);
}

static int ignore_one(void *ctx, const struct cairn_object *o)
{
	(void)ctx;
	(void)o;
	return 0;
}

/* One small listing proves the endpoint, the keys and the bucket. */
static int s3_check(void *handle, struct cairn_error *err)
{
	struct s3 *s = handle;
	int rc = list_pages(s, "1", ignore_one, NULL, err);

	if (!rc)
		rc = s3_check_lock(s, err);
	if (!rc)
		cairn_errf(err, CAIRN_OK, "s3://%s/%s at %s://%s: reachable, "
			   "authenticated%s%s", s->bucket, s->prefix,
			   s->scheme, s->host, s->lock_mode ? ", Object Lock "
			   : "", s->lock_mode ? s->lock_mode : "");
	return rc;
}

/* HEAD: length and mtime of key; CAIRN_ENOTFOUND naming it when absent. */
static int head(struct s3 *s, const char *key, uint64_t *bytes,
		int64_t *mtime, struct cairn_error *err)
{
	struct s3_req r = { 0 };
	curl_off_t len = -1, t = -1;
	int rc;

	rc = s3_req_init(s, &r, "HEAD", key, NULL, S3_EMPTY_SHA256, NULL,
			 err);
	if (!rc) {
		curl_easy_setopt(r.h, CURLOPT_FILETIME, 1L);
		rc = s3_req_run(s, &r, err);
	}
	if (!rc) {
		curl_easy_getinfo(r.h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
				  &len);
		curl_easy_getinfo(r.h, CURLINFO_FILETIME_T, &t);
		if (len < 0)
			rc = cairn_errf(err, CAIRN_EFAIL, "s3 HEAD %s: no "
					"Content-Length in the reply", r.what);
		*bytes = len < 0 ? 0 : (uint64_t)len;
		*mtime = t < 0 ? 0 : (int64_t)t;
	} else if (rc == CAIRN_ENOTFOUND) {
		cairn_errf(err, rc, "s3: no object s3://%s/%s", s->bucket,
			   key);
	}
	s3_req_free(&r);
	return rc;
}

static int s3_stat(void *handle, const char *name, struct cairn_object *obj,
		   struct cairn_error *err)
{
	struct s3 *s = handle;
	char *key = s3_object_key(s, name, err);
	uint64_t bytes = 0;
	int64_t mtime = 0;
	int rc;

	if (!key)
		return err->code;
	rc = head(s, key, &bytes, &mtime, err);
	if (!rc && CAIRN_HAS(obj, struct cairn_object, bytes))
		obj->bytes = bytes;
	if (!rc && CAIRN_HAS(obj, struct cairn_object, mtime))
		obj->mtime = mtime;
	if (!rc)
		rc = s3_stat_lock(s, key, obj, err);
	free(key);
	return rc;
}

/* A whole object is one GET. A range is clamped to the object's length,
 * which a HEAD gives first: an empty range is answered without a GET (S3
 * would say 416, and some servers stall on a range of an empty object). */
static int s3_get(void *handle, const char *name, uint64_t offset,
		  uint64_t length, const struct cairn_sink *sink,
		  struct cairn_error *err)
{
	struct s3 *s = handle;
	struct s3_req r = { 0 };
	char *key = s3_object_key(s, name, err), range[80];
	const char *extra[2] = { NULL, NULL };
	uint64_t bytes = 0;
	int64_t mtime;
	int rc = CAIRN_OK;

	if (!key)
		return err->code;
	if (offset || length != CAIRN_TO_END) {
		rc = head(s, key, &bytes, &mtime, err);
		if (!rc && offset > bytes)
			rc = cairn_errf(err, CAIRN_EFAIL, "s3 GET s3://%s/%s: "
					"offset %llu past its end (%llu "
					"bytes)",
					s->bucket, key,
					(unsigned long long)offset,
					(unsigned long long)bytes);
		if (rc || offset == bytes || !length)
			goto out;
		if (length > bytes - offset)
			length = bytes - offset;
		snprintf(range, sizeof(range), "Range: bytes=%llu-%llu",
			 (unsigned long long)offset,
			 (unsigned long long)(offset + length - 1));
		extra[0] = range;
	}
	r.sink = sink;
	r.skip = offset; /* dropped only when a 200 ignores the range */
	r.remain = length;
	r.stoppable = true;
	rc = s3_req_do(s, &r, "GET", key, NULL, S3_EMPTY_SHA256, extra,
		       err);
out:
	s3_req_free(&r);
	free(key);
	return rc;
}

/* S3's DELETE succeeds on a missing key, so s3_del_key looks first: the
 * core must learn that a name it asked to delete was not there. */
static int s3_del(void *handle, const char *name, struct cairn_error *err)
{
	struct s3 *s = handle;
	char *key = s3_object_key(s, name, err);
	int rc;

	if (!key)
		return err->code;
	rc = s3_del_key(s, key, err);
	free(key);
	return rc;
}

struct stale {
	struct s3 *s;
	const char *full; /* prefix + the core's prefix */
	char **keys, **ids;
	size_t n;
	bool oom;
};

static void stale_one(void *ud, const char *key, const char *id)
{
	struct stale *st = ud;
	char **k, **i;

	/* Only keys directly under the prefix, as list() shows them. */
	if (strncmp(key, st->full, strlen(st->full)) ||
	    strchr(key + strlen(st->s->prefix), '/'))
		return;
	k = realloc(st->keys, (st->n + 1) * sizeof(*k));
	if (k)
		st->keys = k;
	i = realloc(st->ids, (st->n + 1) * sizeof(*i));
	if (i)
		st->ids = i;
	if (!k || !i || !(st->keys[st->n] = strdup(key))) {
		st->oom = true;
		return;
	}
	if (!(st->ids[st->n] = strdup(id))) {
		free(st->keys[st->n]);
		st->oom = true;
		return;
	}
	st->n++;
}

/* ListMultipartUploads under prefix, every page. A server that has no
 * such call (405, 501) has nothing to clean. */
static int list_uploads(struct s3 *s, const char *prefix, struct stale *st,
			struct cairn_error *err)
{
	char *key_marker = NULL, *id_marker = NULL;
	int rc = CAIRN_OK;

	do {
		struct s3_req r = { 0 };
		const char *kv[] = {
			"key-marker", key_marker, "prefix", prefix,
			"upload-id-marker", id_marker, "uploads", "",
		};
		char *query = s3_query(4, kv), *nk = NULL, *ni = NULL;
		long status = 0;

		if (!query) {
			rc = s3_oom(err);
			break;
		}
		rc = s3_req_do(s, &r, "GET", NULL, query, S3_EMPTY_SHA256,
			       NULL, err);
		if (r.h)
			curl_easy_getinfo(r.h, CURLINFO_RESPONSE_CODE,
					  &status);
		if (rc && (status == 405 || status == 501)) {
			s3_log(s, CAIRN_LOG_DEBUG, "s3: %s cannot "
				    "list multipart uploads", s->host);
			rc = CAIRN_OK;
		} else if (!rc && s3_xml_uploads(r.resp.data, r.resp.len,
						  stale_one, st, &nk, &ni)) {
			rc = cairn_errf(err, CAIRN_EFAIL, "s3 GET s3://%s/%s"
					"?uploads: reply is not a listing of "
					"multipart uploads", s->bucket,
					prefix);
		}
		s3_req_free(&r);
		free(query);
		free(key_marker);
		free(id_marker);
		key_marker = nk;
		id_marker = ni;
	} while (!rc && key_marker && !st->oom);
	free(key_marker);
	free(id_marker);
	if (!rc && st->oom)
		rc = s3_oom(err);
	return rc;
}

/* Multipart uploads of this config that a killed run left: the core
 * holds the config's lock, so none of them is still being written. */
static int s3_clean(void *handle, const char *prefix,
		    struct cairn_error *err)
{
	struct s3 *s = handle;
	struct stale st = { .s = s };
	char *full = NULL;
	int rc, failed = 0;

	if (asprintf(&full, "%s%s", s->prefix, prefix) < 0)
		return s3_oom(err);
	st.full = full;
	rc = list_uploads(s, full, &st, err);
	for (size_t i = 0; i < st.n; i++) {
		struct cairn_error e = { 0, "" };
		int r = rc ? CAIRN_OK
			   : s3_abort_upload(s, st.keys[i], st.ids[i], &e);

		if (!rc && (!r || r == CAIRN_ENOTFOUND))
			s3_log(s, CAIRN_LOG_INFO, "s3: aborted "
				    "multipart upload of s3://%s/%s, left by "
				    "a killed run", s->bucket, st.keys[i]);
		else if (!rc && !failed++)
			cairn_errf(err, r, "%s", e.msg);
		free(st.keys[i]);
		free(st.ids[i]);
	}
	if (!rc && failed)
		rc = err->code;
	free(st.keys);
	free(st.ids);
	free(full);
	return rc;
}

static const struct cairn_target_ops s3_ops = {
	CAIRN_TARGET_OPS_HEAD,
	.name = "s3",
	.version = PACKAGE_VERSION,
	.keys = s3_keys,
	.open = s3_open,
	.close = s3_close,
	.begin = s3_begin,
	.write = s3_write,
	.commit = s3_commit,
	.abort = s3_abort,
	.get = s3_get,
	.stat = s3_stat,
	.list = s3_list,
	.del = s3_del,
	.clean = s3_clean,
	.check = s3_check,
	.retain = s3_retain,
};

const struct cairn_target_ops *cairn_target_plugin(void)
{
	return &s3_ops;
}

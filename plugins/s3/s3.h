/*
 * s3 target plugin: shared declarations of its parts.
 *
 * s3.c        configuration, requests (libcurl with CURLOPT_AWS_SIGV4),
 *             error translation and the plugin operations
 * multipart.c the transaction: one PUT when small, else a streaming
 *             parallel multipart upload, aborting one
 * xml.c       libxml2: S3 replies in, CompleteMultipartUpload body out
 */
#ifndef CAIRN_S3_H
#define CAIRN_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "cairn/plugin.h"

#define S3_MIB (1024ULL * 1024)
#define S3_MIN_PART (5 * S3_MIB)
#define S3_MAX_PART (5 * 1024 * S3_MIB)
#define S3_MAX_PARTS 10000
#define S3_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3 {
	const struct cairn_host *hostsv;
	const struct cairn_target_config *cfg;
	char *scheme;   /* "https" or "http" */
	char *host;     /* host[:port] as in the endpoint */
	char *region;
	char *bucket;
	char *prefix;   /* "" or ends with '/' */
	char *host_tail; /* all_hosts: what follows %h, e.g. "/" */
	char *access_key;
	char *secret_key;
	char *session_token;
	char *storage_class;
	char *ca_file;
	char sigv4[96]; /* "aws:amz:REGION:s3" */
	bool path_style;
	uint64_t part_size;
	int parallel;
	long connect_timeout;
	long stall_timeout;
	CURLSH *share; /* one connection pool for every request */
	const char *lock_mode; /* "GOVERNANCE", "COMPLIANCE" or NULL */
	char *armed;           /* retain() of a name not yet put: its lock */
	int64_t armed_until;
	int versioned;         /* 0 unknown, 1 no, 2 yes (or suspended) */
};

struct s3_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* One HTTP request and what came back. */
struct s3_req {
	CURL *h;
	struct curl_slist *hdrs;
	const char *method;
	char *url;
	char *what;   /* "s3://bucket/key" for messages */
	const unsigned char *body;
	size_t body_len;
	size_t body_off;
	/* A 2xx body goes to sink when set: skip bytes dropped first, then
	 * at most remain bytes (a server that ignored Range). */
	const struct cairn_sink *sink;
	uint64_t skip;
	uint64_t remain;
	bool body_seen;
	int sink_rc;    /* what sink->write returned, ending the transfer */
	bool stoppable; /* a long transfer: a stop asked ends it */
	struct s3_buf resp;
	char etag[128];
	char lock_mode[16];  /* x-amz-object-lock-mode of a HEAD */
	char lock_until[40]; /* x-amz-object-lock-retain-until-date */
	char errbuf[CURL_ERROR_SIZE];
};

int s3_req_init(struct s3 *s, struct s3_req *r, const char *method,
		const char *key, const char *query, const char *payload_sha,
		const char *const *extra, struct cairn_error *err);
int s3_req_result(struct s3 *s, struct s3_req *r, CURLcode cc,
		  struct cairn_error *err);
int s3_req_run(struct s3 *s, struct s3_req *r, struct cairn_error *err);
/* s3_req_init, then s3_req_run. */
int s3_req_do(struct s3 *s, struct s3_req *r, const char *method,
	      const char *key, const char *query, const char *payload_sha,
	      const char *const *extra, struct cairn_error *err);
void s3_req_free(struct s3_req *r);
char *s3_query(int npairs, const char *const *kv);
void s3_hex(const unsigned char md[32], char hex[65]);
void s3_sha256_hex(const void *p, size_t n, char hex[65]);
int s3_oom(struct cairn_error *err);
char *s3_object_key(struct s3 *s, const char *name,
		    struct cairn_error *err);

/* multipart.c: the transaction operations */
int s3_begin(void *handle, const char *name, uint64_t size,
	     struct cairn_txn **txn, struct cairn_error *err);
int s3_write(struct cairn_txn *t, const void *buf, size_t len,
	     struct cairn_error *err);
int s3_commit(struct cairn_txn *t, const char *sha256_hex,
	      struct cairn_error *err);
void s3_abort(struct cairn_txn *t);
/* AbortMultipartUpload; CAIRN_ENOTFOUND when the upload is gone. */
int s3_abort_upload(struct s3 *s, const char *key, const char *upload_id,
		    struct cairn_error *err);
bool s3_stopped(struct s3 *s);
#define s3_log(s, level, ...) ((s)->hostsv->log((s)->hostsv, (level), \
						__VA_ARGS__))

/* xml.c */
typedef int (*s3_xml_obj_cb)(void *ctx, const char *key, uint64_t size,
			     int64_t mtime);
int s3_xml_error(const char *buf, size_t len, char *code, size_t codesz,
		 char *msg, size_t msgsz);
int s3_xml_list(const char *buf, size_t len, s3_xml_obj_cb cb, void *ctx,
		char **next_token, int *stopped);
typedef void (*s3_xml_upload_cb)(void *ctx, const char *key,
				 const char *upload_id);
int s3_xml_uploads(const char *buf, size_t len, s3_xml_upload_cb cb,
		   void *ctx, char **next_key, char **next_id);
char *s3_xml_upload_id(const char *buf, size_t len);
unsigned char *s3_xml_complete(char *const *etags, int n, size_t *len);
int s3_xml_field(const char *buf, size_t len, const char *name, char *out,
		 size_t outsz);
typedef void (*s3_xml_version_cb)(void *ctx, const char *key,
				  const char *version_id);
int s3_xml_versions(const char *buf, size_t len, s3_xml_version_cb cb,
		    void *ctx, char **next_key, char **next_vid);

/* lock.c: Object Lock and versioned buckets */
int s3_lock_config(struct s3 *s, struct cairn_error *err);
/* The lock headers (mode, retain-until) for a new object retained until
 * `until`; 0 when until is 0 (no header). */
int s3_lock_headers(struct s3 *s, int64_t until, char mode[64],
		    char date[96]);
void s3_content_md5(const void *p, size_t n, char out[64]);
int s3_retain(void *handle, const char *name, int64_t until,
	      struct cairn_error *err);
/* The armed lock for a put of name, consumed (see s3_retain). */
int64_t s3_take_armed(struct s3 *s, const char *name);
int s3_check_lock(struct s3 *s, struct cairn_error *err);
/* Fill obj's lock_mode and lock_until (a HEAD) when object_lock is set. */
int s3_stat_lock(struct s3 *s, const char *key, struct cairn_object *obj,
		 struct cairn_error *err);
/* Delete key and, on a versioned bucket, every version of it; EPERM
 * "locked until DATE" while Object Lock holds it. */
int s3_del_key(struct s3 *s, const char *key, struct cairn_error *err);
int64_t s3_parse_time(const char *s);

#endif /* CAIRN_S3_H */

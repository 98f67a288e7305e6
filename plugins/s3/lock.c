/*
 * Object Lock and versioned buckets.
 *
 * With object_lock set, every object goes up with x-amz-object-lock-mode,
 * x-amz-object-lock-retain-until-date and Content-MD5 (S3 wants an
 * integrity header on a locked put). The date comes from the core: it
 * calls retain() for a name before it puts it, which arms the lock for
 * that put, and again later to extend the lock of an object that exists
 * (an archive that became a monthly). A lock is only ever extended: S3
 * refuses to shorten one.
 *
 * On a versioned bucket (every Object Lock bucket is one) a plain DELETE
 * only hides the object behind a delete marker, so del() removes each
 * version by id, and reports a version the lock still holds as
 * CAIRN_EPERM "locked until DATE".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "s3.h"

int s3_lock_config(struct s3 *s, struct cairn_error *err)
{
	const struct cairn_target_config *cfg = s->cfg;
	const char *v = cfg->get_str(cfg, "object_lock");

	s->lock_mode = NULL;
	if (!v || !strcasecmp(v, "no") || !strcasecmp(v, "off"))
		return CAIRN_OK;
	if (!strcasecmp(v, "governance"))
		s->lock_mode = "GOVERNANCE";
	else if (!strcasecmp(v, "compliance"))
		s->lock_mode = "COMPLIANCE";
	else
		return cairn_errf(err, CAIRN_ECONFIG, "s3: object_lock '%s': "
				  "need governance, compliance or no", v);
	return CAIRN_OK;
}

static void iso_time(int64_t t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int s3_lock_headers(struct s3 *s, int64_t until, char mode[64],
		    char date[96])
{
	char iso[40];

	if (!s->lock_mode || until <= 0)
		return 0;
	iso_time(until, iso, sizeof(iso));
	snprintf(mode, 64, "x-amz-object-lock-mode: %s", s->lock_mode);
	snprintf(date, 96, "x-amz-object-lock-retain-until-date: %s", iso);
	return 1;
}

void s3_content_md5(const void *p, size_t n, char out[64])
{
	unsigned char md[EVP_MAX_MD_SIZE], b64[32];
	unsigned int len = 0;

	EVP_Digest(p, n, md, &len, EVP_md5(), NULL);
	EVP_EncodeBlock(b64, md, (int)len);
	snprintf(out, 64, "Content-MD5: %s", (const char *)b64);
}

int64_t s3_take_armed(struct s3 *s, const char *name)
{
	int64_t until = 0;

	if (s->armed && !strcmp(s->armed, name))
		until = s->armed_until;
	free(s->armed);
	s->armed = NULL;
	return until;
}

/* HEAD of key (a version of it when vid): its lock, 0 when none. */
static int head_lock(struct s3 *s, const char *key, const char *vid,
		     int64_t *until, char mode[16], struct cairn_error *err)
{
	const char *kv[] = { "versionId", vid };
	struct s3_req r = { 0 };
	char *query = vid ? s3_query(1, kv) : NULL;
	int rc;

	*until = 0;
	if (vid && !query)
		return s3_oom(err);
	rc = s3_req_do(s, &r, "HEAD", key, query, S3_EMPTY_SHA256, NULL,
		       err);
	if (!rc && r.lock_until[0])
		*until = s3_parse_time(r.lock_until);
	if (mode)
		snprintf(mode, 16, "%s", r.lock_mode);
	if (rc == CAIRN_ENOTFOUND)
		cairn_errf(err, rc, "s3: no object s3://%s/%s", s->bucket,
			   key);
	s3_req_free(&r);
	free(query);
	return rc;
}

/* stat() of a target with object_lock: the lock of key as the store
 * holds it, for verify --target (since ABI 2.2). */
int s3_stat_lock(struct s3 *s, const char *key, struct cairn_object *obj,
		 struct cairn_error *err)
{
	char mode[16] = "";
	int64_t until = 0;
	int rc;

	if (!s->lock_mode || !CAIRN_HAS(obj, struct cairn_object, lock_until))
		return CAIRN_OK;
	if ((rc = head_lock(s, key, NULL, &until, mode, err)))
		return rc;
	obj->lock_mode = !strcasecmp(mode, "GOVERNANCE") ?
			 CAIRN_LOCK_GOVERNANCE :
			 !strcasecmp(mode, "COMPLIANCE") ?
			 CAIRN_LOCK_COMPLIANCE : CAIRN_LOCK_NONE;
	obj->lock_until = until;
	return CAIRN_OK;
}

/* PutObjectRetention: lock key until `until` (only ever longer). */
static int put_retention(struct s3 *s, const char *key, int64_t until,
			 struct cairn_error *err)
{
	static const char *const kv[] = { "retention", "" };
	struct s3_req r = { 0 };
	char iso[40], sha[65], md5[64], *body = NULL;
	char *query = s3_query(1, kv);
	const char *extra[3] = { md5, "Content-Type: application/xml", NULL };
	int rc, n;

	iso_time(until, iso, sizeof(iso));
	n = asprintf(&body, "<Retention xmlns=\"http://s3.amazonaws.com/doc/"
		     "2006-03-01/\"><Mode>%s</Mode><RetainUntilDate>%s"
		     "</RetainUntilDate></Retention>", s->lock_mode, iso);
	if (n < 0 || !query) {
		free(query);
		return s3_oom(err);
	}
	s3_sha256_hex(body, (size_t)n, sha);
	s3_content_md5(body, (size_t)n, md5);
	r.body = (const unsigned char *)body;
	r.body_len = (size_t)n;
	rc = s3_req_do(s, &r, "PUT", key, query, sha, extra, err);
	s3_req_free(&r);
	free(body);
	free(query);
	return rc;
}

/*
 * The lock of `name` until `until`. An object that is not there yet gets
 * the lock when it is put next (the core calls retain() before the put):
 * the put itself carries it, so no moment passes with the object
 * unlocked. One that is locked long enough already is left as it is.
 */
int s3_retain(void *handle, const char *name, int64_t until,
	      struct cairn_error *err)
{
	struct s3 *s = handle;
	char *key = s3_object_key(s, name, err);
	int64_t have = 0;
	int rc;

	if (!key)
		return err->code;
	if (!s->lock_mode) {
		rc = cairn_errf(err, CAIRN_ECONFIG, "s3: retain %s: "
				"object_lock is not set", name);
		goto out;
	}
	rc = head_lock(s, key, NULL, &have, NULL, err);
	if (rc == CAIRN_ENOTFOUND) {
		free(s->armed);
		if (!(s->armed = strdup(name))) {
			rc = s3_oom(err);
			goto out;
		}
		s->armed_until = until;
		rc = CAIRN_OK;
		goto out;
	}
	if (!rc && have < until)
		rc = put_retention(s, key, until, err);
out:
	free(key);
	return rc;
}

/* GET ?SUB on the bucket and the text of one element of the reply. */
static int bucket_field(struct s3 *s, const char *sub, const char *field,
			char *out, size_t outsz, struct cairn_error *err)
{
	const char *kv[] = { sub, "" };
	struct s3_req r = { 0 };
	char *query = s3_query(1, kv);
	int rc;

	out[0] = '\0';
	if (!query)
		return s3_oom(err);
	rc = s3_req_do(s, &r, "GET", NULL, query, S3_EMPTY_SHA256, NULL,
		       err);
	if (!rc)
		s3_xml_field(r.resp.data, r.resp.len, field, out, outsz);
	s3_req_free(&r);
	free(query);
	return rc;
}

/* For `cairn plugins`: object_lock needs a bucket with Object Lock. */
int s3_check_lock(struct s3 *s, struct cairn_error *err)
{
	char on[32];
	int rc;

	if (!s->lock_mode)
		return CAIRN_OK;
	rc = bucket_field(s, "object-lock", "ObjectLockEnabled", on,
			  sizeof(on), err);
	/* No configuration at all: 404 ObjectLockConfigurationNotFound. */
	if (rc == CAIRN_ENOTFOUND || (!rc && strcmp(on, "Enabled")))
		return cairn_errf(err, CAIRN_ECONFIG, "s3: Object Lock is not "
				  "enabled on bucket '%s', but object_lock = "
				  "%s: create the bucket with Object Lock "
				  "(most stores cannot turn it on later)",
				  s->bucket, s->lock_mode);
	return rc;
}

static int versioned(struct s3 *s, struct cairn_error *err)
{
	char st[32];
	int rc;

	if (s->versioned)
		return CAIRN_OK;
	rc = bucket_field(s, "versioning", "Status", st, sizeof(st), err);
	if (rc)
		return rc;
	s->versioned = st[0] ? 2 : 1; /* Enabled or Suspended: versions */
	return CAIRN_OK;
}

struct vlist {
	const char *key;
	char **ids;
	size_t n;
	bool oom;
};

static void version_one(void *ud, const char *key, const char *vid)
{
	struct vlist *v = ud;
	char **ids;

	if (strcmp(key, v->key) || v->oom)
		return;
	ids = realloc(v->ids, (v->n + 1) * sizeof(*ids));
	if (!ids || !(ids[v->n] = strdup(vid))) {
		v->oom = true;
		if (ids)
			v->ids = ids;
		return;
	}
	v->ids = ids;
	v->n++;
}

/* Every version (and delete marker) of exactly key. */
static int list_versions(struct s3 *s, struct vlist *v,
			 struct cairn_error *err)
{
	char *km = NULL, *vm = NULL, *nk = NULL, *nv = NULL;
	int rc = CAIRN_OK;

	do {
		const char *kv[8] = { "prefix", v->key, "versions", "" };
		struct s3_req r = { 0 };
		char *query;
		int np = 2;

		if (km && vm) {
			kv[4] = "key-marker";
			kv[5] = km;
			kv[6] = "version-id-marker";
			kv[7] = vm;
			np = 4;
		}
		query = s3_query(np, kv);
		if (!query) {
			rc = s3_oom(err);
			break;
		}
		rc = s3_req_do(s, &r, "GET", NULL, query, S3_EMPTY_SHA256,
			       NULL, err);
		if (!rc && s3_xml_versions(r.resp.data, r.resp.len,
					   version_one, v, &nk, &nv))
			rc = cairn_errf(err, CAIRN_EFAIL, "s3 GET s3://%s/%s"
					"?versions: not a version listing",
					s->bucket, v->key);
		s3_req_free(&r);
		free(query);
		free(km);
		free(vm);
		km = nk;
		vm = nv;
		nk = nv = NULL;
	} while (!rc && km && vm);
	free(km);
	free(vm);
	if (!rc && v->oom)
		rc = s3_oom(err);
	return rc;
}

static int locked(struct s3 *s, const char *key, int64_t until,
		  const char *mode, struct cairn_error *err)
{
	char iso[40];

	iso_time(until, iso, sizeof(iso));
	return cairn_errf(err, CAIRN_EPERM, "s3: s3://%s/%s locked until %s "
			  "(%s)", s->bucket, key, iso,
			  mode && *mode ? mode : "Object Lock");
}

static int del_version(struct s3 *s, const char *key, const char *vid,
		       struct cairn_error *err)
{
	const char *kv[] = { "versionId", vid };
	struct s3_req r = { 0 };
	char *query = vid ? s3_query(1, kv) : NULL;
	char mode[16] = "";
	int64_t until = 0;
	int rc;

	if (vid && !query)
		return s3_oom(err);
	rc = s3_req_do(s, &r, "DELETE", key, query, S3_EMPTY_SHA256, NULL,
		       err);
	s3_req_free(&r);
	free(query);
	/* Refused: say until when, if the version's lock says. */
	if ((rc == CAIRN_EPERM || rc == CAIRN_EAUTH) && vid) {
		struct cairn_error e = { 0, "" };

		if (!head_lock(s, key, vid, &until, mode, &e) &&
		    until > (int64_t)time(NULL))
			rc = locked(s, key, until, mode, err);
	}
	return rc;
}

int s3_del_key(struct s3 *s, const char *key, struct cairn_error *err)
{
	struct vlist v = { .key = key };
	char mode[16] = "";
	int64_t until = 0;
	int rc;

	rc = head_lock(s, key, NULL, &until, mode, err);
	if (rc)
		return rc;
	/* Not worth a refused DELETE: the current version is locked. */
	if (until > (int64_t)time(NULL))
		return locked(s, key, until, mode, err);
	if ((rc = versioned(s, err)))
		return rc;
	if (s->versioned == 1)
		return del_version(s, key, NULL, err);
	rc = list_versions(s, &v, err);
	for (size_t i = 0; !rc && i < v.n; i++)
		rc = del_version(s, key, v.ids[i], err);
	for (size_t i = 0; i < v.n; i++)
		free(v.ids[i]);
	free(v.ids);
	return rc;
}

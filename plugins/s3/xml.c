/*
 * S3's XML with libxml2. Elements are matched by local name only: AWS and
 * S3-compatible servers disagree on the namespace URI.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "s3.h"

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"
#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

static xmlDocPtr parse(const char *buf, size_t len)
{
	if (!buf || !len || len > (size_t)INT32_MAX)
		return NULL;
	return xmlReadMemory(buf, (int)len, "s3.xml", NULL, XML_OPTS);
}

static bool is(xmlNodePtr n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE &&
	       !strcmp((const char *)n->name, name);
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (n = n ? n->children : NULL; n; n = n->next)
		if (is(n, name))
			return n;
	return NULL;
}

/* Text of n's child `name`, malloc'd, or NULL. */
static char *child_text(xmlNodePtr n, const char *name)
{
	xmlNodePtr c = child(n, name);
	xmlChar *t = c ? xmlNodeGetContent(c) : NULL;
	char *s = t ? strdup((const char *)t) : NULL;

	xmlFree(t);
	return s;
}

static void copy_text(xmlNodePtr n, const char *name, char *dst, size_t sz)
{
	char *t = child_text(n, name);

	if (sz)
		snprintf(dst, sz, "%s", t ? t : "");
	free(t);
}

/* <Error><Code/><Message/></Error>: 0 when buf is one, -1 otherwise. */
int s3_xml_error(const char *buf, size_t len, char *code, size_t codesz,
		 char *msg, size_t msgsz)
{
	xmlDocPtr doc = parse(buf, len);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	int rc = -1;

	if (is(root, "Error")) {
		copy_text(root, "Code", code, codesz);
		copy_text(root, "Message", msg, msgsz);
		rc = 0;
	}
	xmlFreeDoc(doc);
	return rc;
}

/* S3 writes times as 2026-02-11T03:15:00.000Z. */
static int64_t parse_time(const char *s)
{
	struct tm tm = { 0 };

	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

/*
 * One ListObjectsV2 page: cb for each <Contents>; *next_token is the
 * continuation token when the listing is truncated (malloc'd), else NULL.
 * *stopped is set when cb asked to stop. 0, or -1 when buf is not a
 * listing.
 */
int s3_xml_list(const char *buf, size_t len, s3_xml_obj_cb cb, void *ctx,
		char **next_token, int *stopped)
{
	xmlDocPtr doc = parse(buf, len);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	xmlNodePtr n;
	char *trunc = NULL;
	int rc = -1;

	*next_token = NULL;
	*stopped = 0;
	if (!is(root, "ListBucketResult"))
		goto out;
	for (n = root->children; n && !*stopped; n = n->next) {
		char *key, *size, *mod;

		if (!is(n, "Contents"))
			continue;
		key = child_text(n, "Key");
		size = child_text(n, "Size");
		mod = child_text(n, "LastModified");
		if (key)
			*stopped = cb(ctx, key,
				      size ? strtoull(size, NULL, 10) : 0,
				      parse_time(mod));
		free(key);
		free(size);
		free(mod);
	}
	trunc = child_text(root, "IsTruncated");
	if (!*stopped && trunc && !strcmp(trunc, "true")) {
		*next_token = child_text(root, "NextContinuationToken");
		if (!*next_token)
			goto out;
	}
	rc = 0;
out:
	free(trunc);
	xmlFreeDoc(doc);
	return rc;
}

/*
 * One ListMultipartUploads page: cb(key, upload id) for each <Upload>;
 * when truncated, *next_key and *next_id are the markers of the next page
 * (malloc'd), else NULL. 0, or -1 when buf is not such a listing.
 */
int s3_xml_uploads(const char *buf, size_t len, s3_xml_upload_cb cb,
		   void *ctx, char **next_key, char **next_id)
{
	xmlDocPtr doc = parse(buf, len);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	xmlNodePtr n;
	char *trunc = NULL;
	int rc = -1;

	*next_key = *next_id = NULL;
	if (!is(root, "ListMultipartUploadsResult"))
		goto out;
	for (n = root->children; n; n = n->next) {
		char *key, *id;

		if (!is(n, "Upload"))
			continue;
		key = child_text(n, "Key");
		id = child_text(n, "UploadId");
		if (key && id)
			cb(ctx, key, id);
		free(key);
		free(id);
	}
	trunc = child_text(root, "IsTruncated");
	if (trunc && !strcmp(trunc, "true")) {
		*next_key = child_text(root, "NextKeyMarker");
		*next_id = child_text(root, "NextUploadIdMarker");
		if (!*next_key) {
			free(*next_id);
			*next_id = NULL;
			goto out;
		}
	}
	rc = 0;
out:
	free(trunc);
	xmlFreeDoc(doc);
	return rc;
}

char *s3_xml_upload_id(const char *buf, size_t len)
{
	xmlDocPtr doc = parse(buf, len);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	char *id = NULL;

	if (is(root, "InitiateMultipartUploadResult"))
		id = child_text(root, "UploadId");
	xmlFreeDoc(doc);
	return id;
}

/* The CompleteMultipartUpload request body for parts 1..n. */
unsigned char *s3_xml_complete(char *const *etags, int n, size_t *len)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root, part;
	xmlChar *out = NULL;
	unsigned char *res = NULL;
	char num[16];
	int i, size = 0;

	if (!doc)
		return NULL;
	root = xmlNewNode(NULL, BAD_CAST "CompleteMultipartUpload");
	if (!root)
		goto out;
	xmlDocSetRootElement(doc, root);
	/* Children inherit the root's default namespace. */
	xmlSetNs(root, xmlNewNs(root, BAD_CAST S3_XMLNS, NULL));
	for (i = 0; i < n; i++) {
		part = xmlNewChild(root, NULL, BAD_CAST "Part", NULL);
		snprintf(num, sizeof(num), "%d", i + 1);
		if (!part ||
		    !xmlNewTextChild(part, NULL, BAD_CAST "PartNumber",
				     BAD_CAST num) ||
		    !xmlNewTextChild(part, NULL, BAD_CAST "ETag",
				     BAD_CAST etags[i]))
			goto out;
	}
	xmlDocDumpMemoryEnc(doc, &out, &size, "UTF-8");
	if (!out || size <= 0)
		goto out;
	res = malloc((size_t)size);
	if (res) {
		memcpy(res, out, (size_t)size);
		*len = (size_t)size;
	}
out:
	xmlFree(out);
	xmlFreeDoc(doc);
	return res;
}

/* The text of root's child `name` (e.g. <Status> of a
 * VersioningConfiguration, <ObjectLockEnabled>), "" when absent. -1 when
 * buf is no XML document. */
int s3_xml_field(const char *buf, size_t len, const char *name, char *out,
		 size_t outsz)
{
	xmlDocPtr doc = parse(buf, len);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;

	if (!root) {
		xmlFreeDoc(doc);
		return -1;
	}
	copy_text(root, name, out, outsz);
	xmlFreeDoc(doc);
	return 0;
}

/*
 * One ListObjectVersions page: cb for each <Version> and <DeleteMarker>;
 * *next_key and *next_vid (malloc'd) are the markers of the next page
 * when truncated, else NULL. 0, or -1 when buf is not such a listing.
 */
int s3_xml_versions(const char *buf, size_t len, s3_xml_version_cb cb,
		    void *ctx, char **next_key, char **next_vid)
{
	xmlDocPtr doc = parse(buf, len);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	char *trunc = NULL;
	int rc = -1;

	*next_key = *next_vid = NULL;
	if (!is(root, "ListVersionsResult"))
		goto out;
	for (xmlNodePtr n = root->children; n; n = n->next) {
		char *key, *vid;

		if (!is(n, "Version") && !is(n, "DeleteMarker"))
			continue;
		key = child_text(n, "Key");
		vid = child_text(n, "VersionId");
		if (key && vid)
			cb(ctx, key, vid);
		free(key);
		free(vid);
	}
	trunc = child_text(root, "IsTruncated");
	if (trunc && !strcmp(trunc, "true")) {
		*next_key = child_text(root, "NextKeyMarker");
		*next_vid = child_text(root, "NextVersionIdMarker");
	}
	rc = 0;
out:
	free(trunc);
	xmlFreeDoc(doc);
	return rc;
}

int64_t s3_parse_time(const char *s)
{
	return parse_time(s);
}

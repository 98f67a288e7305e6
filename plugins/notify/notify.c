/*
 * The notify plugin: healthchecks pings and JSON webhooks over libcurl,
 * so the core links no libcurl. One attempt per send(); the core
 * retries CAIRN_ERETRY with back-off and never fails a run for us.
 *
 *   type = healthchecks  url = https://hc-ping.com/UUID
 *       start: URL/start; success: URL; failure and suspicious:
 *       URL/fail with the run's log tail as the body.
 *   type = webhook       url = https://ntfy.sh/topic  [header = K: V]
 *       a JSON POST: event, status, name, host, archive, error, bytes,
 *       seconds, targets, and title/message/text/priority for ntfy,
 *       Gotify and Slack-style endpoints.
 *
 * URLs often carry a secret (a check's UUID, a topic, a token): they are
 * never logged or put in an error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cairn/plugin.h"

static const char *const types[] = { "healthchecks", "webhook", NULL };
static const char *const keys[] = { "url", "header", NULL };

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

/* POST body (len bytes, may be 0) to url; one attempt. */
static int post(const struct cairn_notify_config *cfg, const char *url,
		const char *ctype, const char *body, size_t len, long timeout,
		struct cairn_error *err)
{
	const char *extra = cfg->get(cfg, "header");
	struct curl_slist *hdr = NULL;
	char ebuf[CURL_ERROR_SIZE] = "", *ct = NULL;
	long code = 0;
	CURLcode cc;
	CURL *c = curl_easy_init();
	int rc;

	if (!c)
		return cairn_errf(err, CAIRN_EFAIL, "cannot start libcurl");
	if (ctype && asprintf(&ct, "Content-Type: %s", ctype) > 0)
		hdr = curl_slist_append(hdr, ct);
	if (extra && *extra)
		hdr = curl_slist_append(hdr, extra);
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cairn/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK)
		/* Down, refused, timed out: worth another try. */
		rc = cairn_errf(err, cc == CURLE_UNSUPPORTED_PROTOCOL ||
				cc == CURLE_URL_MALFORMAT ? CAIRN_ECONFIG :
				CAIRN_ERETRY, "%s", *ebuf ? ebuf :
				curl_easy_strerror(cc));
	else if (code >= 200 && code < 300)
		rc = CAIRN_OK;
	else
		rc = cairn_errf(err, code >= 500 || code == 429 ?
				CAIRN_ERETRY : CAIRN_EFAIL,
				"%s: HTTP status %ld", cfg->type, code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(ct);
	return rc;
}

static int healthchecks(const struct cairn_notify_config *cfg,
			const struct cairn_notify_event *ev, long timeout,
			struct cairn_error *err)
{
	const char *url = cfg->get(cfg, "url"), *sfx = "", *body = "";
	char *full, *text = NULL;
	size_t l = strlen(url);
	int rc;

	while (l && url[l - 1] == '/')
		l--;
	if (ev->kind == CAIRN_NOTIFY_START) {
		sfx = "/start";
	} else if (ev->kind != CAIRN_NOTIFY_SUCCESS) {
		sfx = "/fail";
		if (asprintf(&text, "cairn %s on %s: %s%s%s\n\n%s",
			     ev->config, ev->host, ev->status,
			     ev->error ? ": " : "", ev->error ? ev->error : "",
			     ev->log_tail ? ev->log_tail : "") < 0)
			text = NULL;
	} else if (asprintf(&text, "cairn %s on %s: success, %s\n",
			    ev->config, ev->host, ev->archive ? ev->archive :
			    "-") < 0) {
		text = NULL;
	}
	if (text)
		body = text;
	if (asprintf(&full, "%.*s%s", (int)l, url, sfx) < 0)
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	rc = post(cfg, full, "text/plain; charset=utf-8", body, strlen(body),
		  timeout, err);
	free(full);
	free(text);
	return rc;
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static json_object *webhook_body(const struct cairn_notify_event *ev)
{
	json_object *o = json_object_new_object(),
		    *tg = json_object_new_object();
	char title[256], msg[1024];

	for (size_t i = 0; i < ev->ntargets; i++) {
		json_object *t = json_object_new_object();

		add_str(t, "status", ev->targets[i].status);
		add_str(t, "error", ev->targets[i].error);
		json_object_object_add(tg, ev->targets[i].name, t);
	}
	snprintf(title, sizeof(title), "cairn %s on %s: %s", ev->config,
		 ev->host, ev->status);
	snprintf(msg, sizeof(msg), "%s%s%s%s%s", title,
		 ev->archive ? " (" : "", ev->archive ? ev->archive : "",
		 ev->archive ? ")" : "", "");
	if (ev->error)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), ": %s",
			 ev->error);
	add_str(o, "event", ev->status);
	add_str(o, "status", ev->status);
	add_str(o, "name", ev->config);
	add_str(o, "host", ev->host);
	add_str(o, "archive", ev->archive);
	add_str(o, "error", ev->error);
	json_object_object_add(o, "bytes", json_object_new_uint64(ev->bytes));
	json_object_object_add(o, "seconds",
			       json_object_new_double(ev->seconds));
	json_object_object_add(o, "targets", tg);
	/* ntfy and Gotify read title and message, Slack reads text. */
	add_str(o, "title", title);
	add_str(o, "message", msg);
	add_str(o, "text", msg);
	json_object_object_add(o, "priority", json_object_new_int(
		ev->kind == CAIRN_NOTIFY_FAILURE ||
		ev->kind == CAIRN_NOTIFY_SUSPICIOUS ? 8 : 3));
	return o;
}

static int webhook(const struct cairn_notify_config *cfg,
		   const struct cairn_notify_event *ev, long timeout,
		   struct cairn_error *err)
{
	json_object *o = webhook_body(ev);
	const char *text = json_object_to_json_string_ext(o,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = post(cfg, cfg->get(cfg, "url"), "application/json", text,
		      strlen(text), timeout, err);

	json_object_put(o);
	return rc;
}

static int notify_check(const struct cairn_notify_config *cfg,
			struct cairn_error *err)
{
	const char *url = cfg->get(cfg, "url");

	if (!url || !*url)
		return cairn_errf(err, CAIRN_ECONFIG, "[notify %s]: missing "
				  "required key 'url'", cfg->name);
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return cairn_errf(err, CAIRN_ECONFIG, "[notify %s]: url "
				  "must start with http:// or https://",
				  cfg->name);
	return CAIRN_OK;
}

static int notify_send(const struct cairn_notify_config *cfg,
		       const struct cairn_notify_event *ev, long timeout,
		       struct cairn_error *err)
{
	int rc = notify_check(cfg, err);

	if (rc)
		return rc;
	if (!strcmp(cfg->type, "healthchecks"))
		return healthchecks(cfg, ev, timeout, err);
	return webhook(cfg, ev, timeout, err);
}

static const struct cairn_notify_ops ops = {
	.abi_major = CAIRN_ABI_MAJOR,
	.abi_minor = CAIRN_ABI_MINOR,
	.size = sizeof(struct cairn_notify_ops),
	.name = "notify",
	.version = PACKAGE_VERSION,
	.types = types,
	.keys = keys,
	.check = notify_check,
	.send = notify_send,
};

const struct cairn_notify_ops *cairn_notify_plugin(void)
{
	return &ops;
}

/*
 * Notifications: each [notify NAME] section hands word of a backup
 * (start, success, failure, suspicious) to a notify plugin, loaded with
 * dlopen so the core links no libcurl. The core owns the policy: a
 * 10 s timeout per attempt, a few attempts with back-off on transient
 * errors, and a notification that fails is logged, never the run's
 * failure.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn.h"

enum { NOTIFY_TIMEOUT = 10, NOTIFY_TRIES = 3, TAIL_BYTES = 8192 };

struct notifier {
	const struct notify_def *def;
	const struct cairn_notify_ops *ops;
	struct cairn_notify_config nc;
};

static const char *nc_get(const struct cairn_notify_config *c,
			  const char *key)
{
	const struct kv *kv = section_get(((const struct notifier *)
					   c->core)->def->sec, key);

	return kv ? kv->val : NULL;
}

static void nc_log(const struct cairn_notify_config *c, int level,
		   const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	logmsg(level, "notify %s: %s", c->name, line);
}

static bool listed(const char *const *list, const char *s)
{
	for (; list && *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* The plugin handles the type and reads every key of the section. */
static int check_keys(const struct notifier *n, struct cairn_error *err)
{
	static const char *const core_keys[] = { "type", "plugin", "events",
						 NULL };
	const struct section *s = n->def->sec;

	if (!listed(n->ops->types, n->def->type))
		return cairn_errf(err, CAIRN_ECONFIG, "%s: plugin '%s' has no "
				  "type '%s' in [notify %s]",
				  section_get(s, "type")->where, n->ops->name,
				  n->def->type, n->def->name);
	for (size_t i = 0; i < s->nkv; i++)
		if (!listed(core_keys, s->kv[i].key) &&
		    !listed(n->ops->keys, s->kv[i].key))
			return cairn_errf(err, CAIRN_ECONFIG, "%s: unknown key "
					  "'%s' in [notify %s]",
					  s->kv[i].where, s->kv[i].key,
					  n->def->name);
	if (n->ops->check)
		return n->ops->check(&n->nc, err);
	return CAIRN_OK;
}

void notify_open(const struct config *cfg, struct notify_set *ns)
{
	ns->v = xcalloc(cfg->nnotifies + 1, sizeof(*ns->v));
	ns->n = 0;
	for (size_t i = 0; i < cfg->nnotifies; i++) {
		struct notifier *n = &ns->v[ns->n];
		struct cairn_error err = { 0, "" };

		n->def = &cfg->notifies[i];
		n->nc.size = sizeof(n->nc);
		n->nc.name = n->def->name;
		n->nc.type = n->def->type;
		n->nc.core = n;
		n->nc.get = nc_get;
		n->nc.log = nc_log;
		if (plugin_load_notify(n->def->plugin, &n->ops, &err) ||
		    check_keys(n, &err))
			log_error("notify %s: %s; not notifying it",
				  n->def->name, err.msg);
		else
			ns->n++;
	}
}

void notify_close(struct notify_set *ns)
{
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

/* Back-off between attempts: 1 s, then 4 s (CAIRN_RETRY_DELAY scales
 * it, as for targets). */
static void notify_backoff(int attempt)
{
	const char *s = getenv("CAIRN_RETRY_DELAY");
	long base = 1;

	if (s)
		parse_int(s, 0, 60, &base);
	if (!stop_signal())
		sleep((unsigned)(base * (attempt == 1 ? 1 : 4)));
}

static void send_one(struct notifier *n, const struct cairn_notify_event *ev)
{
	struct cairn_error err = { 0, "" };
	int rc = CAIRN_EFAIL;

	for (int attempt = 1; attempt <= NOTIFY_TRIES; attempt++) {
		rc = n->ops->send(&n->nc, ev, NOTIFY_TIMEOUT, &err);
		if (rc != CAIRN_ERETRY || attempt == NOTIFY_TRIES ||
		    stop_signal())
			break;
		log_warn("notify %s: %s; retrying", n->def->name, err.msg);
		notify_backoff(attempt);
	}
	if (rc)
		log_warn("notify %s: %s; the run goes on", n->def->name,
			 err.msg);
	else
		log_debug("notify %s: %s sent", n->def->name, ev->status);
}

/* The last TAIL_BYTES of backup.log, from a line start: this run's
 * block, mostly. */
static char *log_tail(const struct config *cfg)
{
	char *p = path_join(cfg->state_dir, "backup.log"), *t, *s;
	size_t len;

	t = read_file(p, &len);
	free(p);
	if (!t || len <= TAIL_BYTES)
		return t;
	s = strchr(t + len - TAIL_BYTES, '\n');
	s = xstrdup(s ? s + 1 : t + len - TAIL_BYTES);
	free(t);
	return s;
}

static const char *const kind_names[] = { "start", "success", "failure",
					  "suspicious" };

void notify_event(const struct config *cfg, struct notify_set *ns, int kind,
		  const struct run_state *st, double seconds)
{
	struct cairn_notify_event ev = { .size = sizeof(ev), .kind = kind,
					 .status = kind_names[kind] };
	struct cairn_notify_target *tg;
	char host[256] = "?", *tail = NULL;

	if (!ns->n)
		return;
	gethostname(host, sizeof(host) - 1);
	tg = xcalloc(st->ntargets + 1, sizeof(*tg));
	for (size_t i = 0; i < st->ntargets; i++) {
		tg[i].name = st->targets[i].name;
		tg[i].status = st->targets[i].skipped ? "skipped" :
			       st->targets[i].rc ? "failure" : "success";
		tg[i].error = st->targets[i].rc ? st->targets[i].error : NULL;
	}
	if (kind == CAIRN_NOTIFY_FAILURE || kind == CAIRN_NOTIFY_SUSPICIOUS)
		tail = log_tail(cfg);
	ev.config = cfg->name;
	ev.host = host;
	ev.archive = st->archive ? base_of(st->archive) : NULL;
	ev.error = kind == CAIRN_NOTIFY_SUSPICIOUS ? st->shrink :
		   *st->error ? st->error : NULL;
	/* Exit 4: the archive is good, a target is not. */
	for (size_t i = 0; !ev.error && kind == CAIRN_NOTIFY_FAILURE &&
			   i < st->ntargets; i++)
		ev.error = tg[i].error;
	ev.log_tail = tail;
	ev.bytes = st->bytes;
	ev.seconds = seconds;
	ev.targets = tg;
	ev.ntargets = st->ntargets;
	for (size_t i = 0; i < ns->n; i++)
		if (listed((const char *const *)ns->v[i].def->events.v,
			   ev.status))
			send_one(&ns->v[i], &ev);
	free(tail);
	free(tg);
}

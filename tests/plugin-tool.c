/*
 * plugin-tool: drive one target plugin directly through ABI 2, without
 * the core, so a plugin's own tests can exercise it against a real peer,
 * and run the conformance suite every backend must pass.
 *
 *   plugin-tool PLUGIN.so [key=value]... check
 *   plugin-tool PLUGIN.so [key=value]... put FILE [NAME]
 *   plugin-tool PLUGIN.so [key=value]... list
 *   plugin-tool PLUGIN.so [key=value]... get NAME DEST [OFFSET [LENGTH]]
 *   plugin-tool PLUGIN.so [key=value]... stat NAME
 *   plugin-tool PLUGIN.so [key=value]... del NAME
 *   plugin-tool PLUGIN.so [key=value]... clean PREFIX
 *   plugin-tool PLUGIN.so [key=value]... space
 *   plugin-tool PLUGIN.so [key=value]... conform
 *
 * Exit status is the plugin's cairn_rc code; the error goes to stderr.
 * SIGTERM or SIGINT asks the plugin to stop, as the core's stop flag
 * does; clean of a plugin without the op is a no-op (exit 0, a note).
 * PLUGIN_TOOL_SIZE=N makes put declare N bytes without reading FILE
 * first (no sha256), so FILE can be a FIFO a test feeds at its pace.
 * DEST "-" is stdout. conform works on objects named "conform-*" only
 * and removes them; it prints one line per check and exits 1 on the
 * first failure.
 *
 * The values of key=value are handed over as text; typed getters parse
 * them the way the core does (a subset: enough for tests).
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cairn/plugin.h"

static volatile sig_atomic_t stop_sig;
static const struct cairn_target_ops *ops;

static void on_stop(int sig)
{
	stop_sig = sig;
}

static int h_stopped(const struct cairn_host *host)
{
	(void)host;
	return stop_sig != 0;
}

static void h_log(const struct cairn_host *host, int level,
		  const char *fmt, ...)
{
	va_list ap;

	(void)host;
	fprintf(stderr, "[%d] ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct kvs {
	int n;
	char **kv;
};

static const struct cairn_key_spec *spec_of(const char *key)
{
	const struct cairn_key_spec *k = ops->keys;
	uint32_t step = k ? k->size : 0;

	for (; k && k->name; k = (const void *)((const char *)k + step))
		if (!strcmp(k->name, key))
			return k;
	return NULL;
}

static const char *c_get_str(const struct cairn_target_config *cfg,
			     const char *key)
{
	const struct kvs *k = cfg->core;
	const struct cairn_key_spec *s;
	size_t len = strlen(key);

	for (int i = 0; i < k->n; i++)
		if (!strncmp(k->kv[i], key, len) && k->kv[i][len] == '=')
			return k->kv[i][len + 1] ? k->kv[i] + len + 1 : NULL;
	if (!strncmp(key, "cairn.", 6))
		return getenv("PLUGIN_TOOL_ARCHIVE_DIR") &&
		       !strcmp(key, "cairn.archive_dir") ?
		       getenv("PLUGIN_TOOL_ARCHIVE_DIR") : NULL;
	s = spec_of(key);
	return s ? s->def : NULL;
}

static int64_t scaled(const char *v, const char *units, const int64_t *mul)
{
	int64_t total = 0;
	char *end;

	if (!v)
		return 0;
	while (*v) {
		long long n = strtoll(v, &end, 10);
		const char *u;

		if (end == v)
			return 0;
		v = end;
		u = *v ? strchr(units, tolower((unsigned char)*v)) : NULL;
		total += n * (u ? mul[u - units] : 1);
		if (u)
			v++;
		while (*v && isalpha((unsigned char)*v))
			v++; /* "MiB", "MB" */
	}
	return total;
}

static int c_get_bool(const struct cairn_target_config *cfg,
		      const char *key)
{
	const char *v = c_get_str(cfg, key);

	return v && (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
		     !strcasecmp(v, "on") || !strcmp(v, "1"));
}

static int64_t c_get_int(const struct cairn_target_config *cfg,
			 const char *key)
{
	const char *v = c_get_str(cfg, key);

	return v ? strtoll(v, NULL, 10) : 0;
}

static int64_t c_get_size(const struct cairn_target_config *cfg,
			  const char *key)
{
	static const int64_t mul[] = { 1LL << 10, 1LL << 20, 1LL << 30,
				       1LL << 40 };

	return scaled(c_get_str(cfg, key), "kmgt", mul);
}

static int64_t c_get_duration(const struct cairn_target_config *cfg,
			      const char *key)
{
	static const int64_t mul[] = { 1, 60, 3600, 86400, 604800 };

	return scaled(c_get_str(cfg, key), "smhdw", mul);
}

static const char *c_where(const struct cairn_target_config *cfg,
			   const char *key)
{
	return c_get_str(cfg, key) ? "plugin-tool" : NULL;
}

/* Ranges of the plugin's INT, SIZE and DURATION keys, as the core
 * checks them before open(). */
static int check_ranges(const struct cairn_target_config *cfg,
			struct cairn_error *err)
{
	const struct cairn_key_spec *k = ops->keys;
	uint32_t step = k ? k->size : 0;
	int64_t v;

	for (; k && k->name; k = (const void *)((const char *)k + step)) {
		if (k->max <= k->min || !c_get_str(cfg, k->name))
			continue;
		v = k->type == CAIRN_KEY_SIZE ? c_get_size(cfg, k->name) :
		    k->type == CAIRN_KEY_DURATION ?
		    c_get_duration(cfg, k->name) : c_get_int(cfg, k->name);
		if (v < k->min || v > k->max) {
			snprintf(err->msg, sizeof(err->msg), "key %s: %s "
				 "out of range %" PRId64 "..%" PRId64,
				 k->name, c_get_str(cfg, k->name), k->min,
				 k->max);
			return CAIRN_ECONFIG;
		}
	}
	return CAIRN_OK;
}

/* ---- helpers shared by the commands and the suite ------------------ */

struct ctx {
	const struct cairn_host *host;
	const struct cairn_target_config *cfg;
	struct cairn_target_props props;
	void *h;
	struct cairn_error err;
};

static void hex_of(const unsigned char md[32], char hex[65])
{
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

static void sha256_buf(const void *buf, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen;

	EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
	hex_of(md, hex);
}

static int print_obj(void *ctx, const struct cairn_object *o)
{
	(void)ctx;
	printf("%s %" PRIu64 " %lld\n", o->name, o->bytes,
	       (long long)o->mtime);
	return 0;
}

static int fd_sink(void *ctx, const void *buf, size_t len)
{
	int fd = *(int *)ctx;

	for (size_t w = 0; w < len;) {
		ssize_t k = write(fd, (const char *)buf + w, len - w);

		if (k < 0)
			return CAIRN_EFAIL;
		w += (size_t)k;
	}
	return 0;
}

/* put FILE as name: begin, write in 64 KiB chunks, commit. */
static int cmd_put(struct ctx *c, const char *path, const char *name)
{
	static unsigned char buf[1 << 16];
	const char *fake = getenv("PLUGIN_TOOL_SIZE");
	unsigned char md[32];
	unsigned int mdlen;
	EVP_MD_CTX *sha = EVP_MD_CTX_new();
	struct cairn_txn *txn = NULL;
	uint64_t size;
	struct stat st;
	char hex[65];
	ssize_t n;
	int fd, rc;

	if ((fd = open(path, O_RDONLY)) < 0 || (!fake && fstat(fd, &st))) {
		perror(path);
		return CAIRN_EFAIL;
	}
	size = fake ? strtoull(fake, NULL, 10) : (uint64_t)st.st_size;
	EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
	if ((rc = ops->begin(c->h, name, size, &txn, &c->err)))
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(sha, buf, (size_t)n);
		if ((rc = ops->write(txn, buf, (size_t)n, &c->err))) {
			ops->abort(txn);
			goto out;
		}
	}
	if (n < 0) {
		perror(path);
		ops->abort(txn);
		rc = CAIRN_EFAIL;
		goto out;
	}
	EVP_DigestFinal_ex(sha, md, &mdlen);
	hex_of(md, hex);
	rc = ops->commit(txn, hex, &c->err);
out:
	EVP_MD_CTX_free(sha);
	close(fd);
	return rc;
}

static int cmd_get(struct ctx *c, const char *name, const char *dest,
		   uint64_t off, uint64_t len)
{
	struct cairn_sink sink = { sizeof(sink), fd_sink, NULL };
	int fd = strcmp(dest, "-") ?
		 open(dest, O_WRONLY | O_CREAT | O_TRUNC, 0600) : 1;
	int rc;

	if (fd < 0) {
		perror(dest);
		return CAIRN_EFAIL;
	}
	sink.ctx = &fd;
	rc = ops->get(c->h, name, off, len, &sink, &c->err);
	if (fd != 1) {
		close(fd);
		if (rc)
			unlink(dest); /* as the core's backend_get_file */
	}
	return rc;
}

/* ---- the conformance suite ----------------------------------------- */

static int failures;

static void ok(bool cond, const char *what)
{
	printf("%s: %s\n", cond ? "ok" : "FAIL", what);
	if (!cond)
		failures++;
}

struct seen {
	int n, hidden, conform;
	char want[64];
	uint64_t want_bytes;
	int found;
};

static int count_obj(void *ctx, const struct cairn_object *o)
{
	struct seen *s = ctx;

	s->n++;
	s->hidden += o->name[0] == '.';
	s->conform += !strncmp(o->name, "conform-", 8);
	if (*s->want && !strcmp(o->name, s->want)) {
		s->found++;
		s->want_bytes = o->bytes;
	}
	return 0;
}

static int list_seen(struct ctx *c, struct seen *s, const char *want)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->want, sizeof(s->want), "%s", want ? want : "");
	return ops->list(c->h, count_obj, s, &c->err);
}

struct membuf {
	unsigned char *p;
	size_t len, cap;
	int calls;
};

static int mem_sink(void *ctx, const void *buf, size_t len)
{
	struct membuf *m = ctx;

	if (!len)
		return CAIRN_EFAIL; /* chunks are never empty */
	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2;
		m->p = realloc(m->p, m->cap);
		if (!m->p)
			return CAIRN_EFAIL;
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	m->calls++;
	return 0;
}

static int get_mem(struct ctx *c, const char *name, uint64_t off,
		   uint64_t len, struct membuf *m)
{
	struct cairn_sink sink = { sizeof(sink), mem_sink, m };

	m->len = 0;
	return ops->get(c->h, name, off, len, &sink, &c->err);
}

/* Write data in uneven chunks (a zero-length one included). */
static int put_mem(struct ctx *c, const char *name, const unsigned char *d,
		   size_t len, uint64_t declared, bool do_commit)
{
	struct cairn_txn *txn = NULL;
	size_t chunks[] = { 1, 0, 4095, 70000, 1 << 20 };
	size_t done = 0, k = 0;
	char hex[65];
	int rc;

	if ((rc = ops->begin(c->h, name, declared, &txn, &c->err)))
		return rc;
	while (done < len) {
		size_t n = chunks[k++ % 5];

		if (n > len - done)
			n = len - done;
		if ((rc = ops->write(txn, d + done, n, &c->err))) {
			ops->abort(txn);
			return rc;
		}
		done += n;
	}
	if (!do_commit) {
		ops->abort(txn);
		return CAIRN_OK;
	}
	sha256_buf(d, len, hex);
	return ops->commit(txn, hex, &c->err);
}

static int stat_of(struct ctx *c, const char *name, struct cairn_object *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->name = name;
	return ops->stat(c->h, name, o, &c->err);
}

static int conform(struct ctx *c)
{
	const size_t n = 300000;
	unsigned char *d = malloc(n), *d2 = malloc(n / 3);
	struct membuf m = { 0 };
	struct cairn_object o;
	struct seen base, s;
	int rc;

	for (size_t i = 0; i < n; i++)
		d[i] = (unsigned char)(i * 7 + i / 251);
	for (size_t i = 0; i < n / 3; i++)
		d2[i] = (unsigned char)(255 - i % 253);
	rc = list_seen(c, &base, NULL);
	ok(!rc, "list an empty or foreign target");
	ok(!base.conform, "no conform-* objects left from an earlier run");

	rc = put_mem(c, "conform-a", d, n, n, true);
	ok(!rc, "begin/write/commit of a known size");
	ok(!stat_of(c, "conform-a", &o) && o.bytes == n,
	   "stat gives the committed size");
	ok(!list_seen(c, &s, "conform-a") && s.found == 1 &&
	   s.want_bytes == n && s.n == base.n + 1 && !s.hidden,
	   "list shows the object once with its size, no temporaries");
	ok(!get_mem(c, "conform-a", 0, CAIRN_TO_END, &m) && m.len == n &&
	   !memcmp(m.p, d, n), "get of the whole object returns its bytes");
	if (c->props.flags & CAIRN_PROP_RANGED_GET) {
		ok(!get_mem(c, "conform-a", 1000, 5000, &m) && m.len == 5000 &&
		   !memcmp(m.p, d + 1000, 5000), "ranged get (offset, length)");
		ok(!get_mem(c, "conform-a", n - 10, 100, &m) && m.len == 10 &&
		   !memcmp(m.p, d + n - 10, 10),
		   "ranged get stops where the object ends");
		ok(!get_mem(c, "conform-a", 7, CAIRN_TO_END, &m) &&
		   m.len == n - 7 && !memcmp(m.p, d + 7, n - 7),
		   "ranged get to the end");
		ok(!get_mem(c, "conform-a", n, CAIRN_TO_END, &m) && !m.len,
		   "get at the object's length delivers nothing");
		ok(get_mem(c, "conform-a", n + 1, 10, &m) == CAIRN_EFAIL,
		   "get beyond the end is CAIRN_EFAIL");
	}

	rc = put_mem(c, "conform-b", d, n, n, false);
	ok(!rc && stat_of(c, "conform-b", &o) == CAIRN_ENOTFOUND,
	   "abort leaves nothing under the name");
	ok(!list_seen(c, &s, "conform-b") && !s.found &&
	   s.n == base.n + 1 && !s.hidden, "abort leaves nothing listed");

	rc = put_mem(c, "conform-c", d, 5, 10, true);
	ok(rc && stat_of(c, "conform-c", &o) == CAIRN_ENOTFOUND,
	   "commit of fewer bytes than declared fails, leaves nothing");
	ok(!list_seen(c, &s, NULL) && s.n == base.n + 1,
	   "a failed commit leaves nothing listed");

	ok(!put_mem(c, "conform-d", d, 4321, CAIRN_SIZE_UNKNOWN, true) &&
	   !stat_of(c, "conform-d", &o) && o.bytes == 4321,
	   "commit of an unknown size");
	ok(!put_mem(c, "conform-e", d, 0, 0, true) &&
	   !stat_of(c, "conform-e", &o) && o.bytes == 0 &&
	   !get_mem(c, "conform-e", 0, CAIRN_TO_END, &m) && !m.len,
	   "an empty object");

	ok(!put_mem(c, "conform-a", d2, n / 3, n / 3, true) &&
	   !stat_of(c, "conform-a", &o) && o.bytes == n / 3 &&
	   !get_mem(c, "conform-a", 0, CAIRN_TO_END, &m) &&
	   m.len == n / 3 && !memcmp(m.p, d2, n / 3),
	   "commit replaces an existing object");

	ok(stat_of(c, "conform-none", &o) == CAIRN_ENOTFOUND,
	   "stat of a missing object is CAIRN_ENOTFOUND");
	ok(get_mem(c, "conform-none", 0, CAIRN_TO_END, &m) ==
	   CAIRN_ENOTFOUND && !m.len,
	   "get of a missing object is CAIRN_ENOTFOUND");
	ok(ops->del(c->h, "conform-none", &c->err) == CAIRN_ENOTFOUND,
	   "del of a missing object is CAIRN_ENOTFOUND");
	{
		struct cairn_txn *t = NULL;

		ok(ops->begin(c->h, "../conform-x", 1, &t, &c->err) ==
		   CAIRN_EFAIL && !t, "begin refuses a name with '/'");
		ok(ops->begin(c->h, ".conform-x", 1, &t, &c->err) ==
		   CAIRN_EFAIL && !t, "begin refuses a name with a '.'");
	}
	if (ops->clean) {
		ok(!ops->clean(c->h, "conform-", &c->err) &&
		   !stat_of(c, "conform-d", &o) && o.bytes == 4321,
		   "clean keeps complete objects");
	}
	if ((c->props.flags & CAIRN_PROP_SPACE) && ops->space) {
		struct cairn_space sp = { 0 };

		sp.size = sizeof(sp);
		ok(!ops->space(c->h, &sp, &c->err) && sp.free_bytes > 0,
		   "space reports free bytes");
	}
	ok(!ops->del(c->h, "conform-a", &c->err) &&
	   stat_of(c, "conform-a", &o) == CAIRN_ENOTFOUND,
	   "del removes the object");
	ops->del(c->h, "conform-d", &c->err);
	ops->del(c->h, "conform-e", &c->err);
	ok(!list_seen(c, &s, NULL) && s.n == base.n && !s.conform,
	   "the target holds what it held before");
	free(m.p);
	free(d);
	free(d2);
	if (failures)
		snprintf(c->err.msg, sizeof(c->err.msg), "%d check(s) failed",
			 failures);
	return failures ? CAIRN_EFAIL : CAIRN_OK;
}

int main(int argc, char **argv)
{
	struct cairn_host host = { sizeof(host), NULL, h_log, h_stopped };
	struct cairn_target_config cfg = {
		sizeof(cfg), NULL, NULL, c_get_str, c_get_bool, c_get_int,
		c_get_size, c_get_duration, c_where,
	};
	struct ctx c = { .host = &host, .cfg = &cfg };
	struct sigaction sa = { 0 };
	cairn_plugin_entry_fn entry;
	struct kvs kvs = { 0, NULL };
	const char *cmd;
	void *dl;
	int i, rc = CAIRN_EFAIL;

	if (argc < 3) {
		fprintf(stderr, "usage: plugin-tool PLUGIN.so [k=v]... CMD\n");
		return 64;
	}
	dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		fprintf(stderr, "%s\n", dlerror());
		return 64;
	}
	entry = (cairn_plugin_entry_fn)dlsym(dl, CAIRN_PLUGIN_ENTRY);
	if (!entry || !(ops = entry()) || ops->abi_major != CAIRN_ABI_MAJOR) {
		fprintf(stderr, "%s: not a cairn %d.x plugin\n", argv[1],
			CAIRN_ABI_MAJOR);
		return 64;
	}
	for (i = 2; i < argc && strchr(argv[i], '='); i++)
		;
	kvs.kv = argv + 2;
	kvs.n = i - 2;
	if (i >= argc)
		return 64;
	cmd = argv[i];
	cfg.name = getenv("PLUGIN_TOOL_NAME") ? getenv("PLUGIN_TOOL_NAME")
					      : "test";
	cfg.core = &kvs;
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	c.props.size = sizeof(c.props);
	if ((rc = check_ranges(&cfg, &c.err)))
		goto out;
	rc = ops->open(&host, &cfg, &c.props, &c.h, &c.err);
	if (rc)
		goto out;
	if (!strcmp(cmd, "check")) {
		rc = ops->check ? ops->check(c.h, &c.err) : CAIRN_OK;
		if (!rc)
			printf("%s\n", c.err.msg);
	} else if (!strcmp(cmd, "put") && i + 1 < argc) {
		const char *base = strrchr(argv[i + 1], '/');

		rc = cmd_put(&c, argv[i + 1], i + 2 < argc ? argv[i + 2] :
			     base ? base + 1 : argv[i + 1]);
	} else if (!strcmp(cmd, "list")) {
		rc = ops->list(c.h, print_obj, NULL, &c.err);
	} else if (!strcmp(cmd, "get") && i + 2 < argc) {
		rc = cmd_get(&c, argv[i + 1], argv[i + 2],
			     i + 3 < argc ? strtoull(argv[i + 3], NULL, 10) : 0,
			     i + 4 < argc ? strtoull(argv[i + 4], NULL, 10) :
			     CAIRN_TO_END);
	} else if (!strcmp(cmd, "stat") && i + 1 < argc) {
		struct cairn_object o;

		if (!(rc = stat_of(&c, argv[i + 1], &o)))
			printf("%s %" PRIu64 " %lld\n", argv[i + 1], o.bytes,
			       (long long)o.mtime);
	} else if (!strcmp(cmd, "del") && i + 1 < argc) {
		rc = ops->del(c.h, argv[i + 1], &c.err);
	} else if (!strcmp(cmd, "clean") && i + 1 < argc) {
		if (ops->clean)
			rc = ops->clean(c.h, argv[i + 1], &c.err);
		else
			fprintf(stderr, "plugin-tool: %s has no clean op\n",
				ops->name);
	} else if (!strcmp(cmd, "space")) {
		struct cairn_space sp = { 0 };

		sp.size = sizeof(sp);
		if (!(c.props.flags & CAIRN_PROP_SPACE) || !ops->space)
			rc = cairn_errf(&c.err, CAIRN_EFAIL, "no space op");
		else if (!(rc = ops->space(c.h, &sp, &c.err)))
			printf("free %" PRIu64 " total %" PRIu64 " block %u\n",
			       sp.free_bytes, sp.total_bytes, sp.block_size);
	} else if (!strcmp(cmd, "conform")) {
		rc = conform(&c);
	} else {
		fprintf(stderr, "plugin-tool: unknown command %s\n", cmd);
		rc = 64;
	}
out:
	if (c.h)
		ops->close(c.h);
	if (rc && rc != 64)
		fprintf(stderr, "error %d: %s\n", rc, c.err.msg);
	dlclose(dl);
	return rc;
}

/*
 * plugin-tool: drive one target plugin directly, without the core, so a
 * plugin's own tests can exercise it against a real peer.
 *
 *   plugin-tool PLUGIN.so [key=value]... check
 *   plugin-tool PLUGIN.so [key=value]... put FILE [NAME]
 *   plugin-tool PLUGIN.so [key=value]... list
 *   plugin-tool PLUGIN.so [key=value]... get NAME DEST
 *   plugin-tool PLUGIN.so [key=value]... del NAME
 *   plugin-tool PLUGIN.so [key=value]... clean PREFIX
 *
 * Exit status is the plugin's cairn_rc code; the error goes to stderr.
 * SIGTERM or SIGINT asks the plugin to stop, as the core's stop flag
 * does; clean of a plugin without the op is a no-op (exit 0, a note).
 * PLUGIN_TOOL_SIZE=N makes put declare N bytes without reading FILE
 * first (no sha256), so FILE can be a FIFO a test feeds at its pace.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "cairn/plugin.h"

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
	stop_sig = sig;
}

static int stopped(const struct cairn_target_config *cfg)
{
	(void)cfg;
	return stop_sig != 0;
}

struct kvs {
	int n;
	char **kv;
};

static const char *get(const struct cairn_target_config *cfg,
		       const char *key)
{
	const struct kvs *k = cfg->core;
	size_t len = strlen(key);

	for (int i = 0; i < k->n; i++)
		if (!strncmp(k->kv[i], key, len) && k->kv[i][len] == '=')
			return k->kv[i] + len + 1;
	return NULL;
}

static void logf_(const struct cairn_target_config *cfg, int level,
		  const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[%s:%d] ", cfg->name, level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int print_obj(void *ctx, const struct cairn_object *o)
{
	(void)ctx;
	printf("%s %llu %lld\n", o->name, (unsigned long long)o->size,
	       (long long)o->mtime);
	return 0;
}

static int sha256_hex(const char *path, char hex[65])
{
	unsigned char buf[1 << 16], md[32];
	unsigned int mdlen;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f || !c)
		return -1;
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(c, buf, n);
	EVP_DigestFinal_ex(c, md, &mdlen);
	EVP_MD_CTX_free(c);
	fclose(f);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	return 0;
}

int main(int argc, char **argv)
{
	struct cairn_error err = { 0, "" };
	struct cairn_target_config cfg = { 0 };
	struct sigaction sa = { 0 };
	const struct cairn_target_ops *ops;
	cairn_plugin_entry_fn entry;
	struct kvs kvs = { 0, NULL };
	void *dl, *h = NULL;
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
	cfg.name = getenv("PLUGIN_TOOL_NAME") ? getenv("PLUGIN_TOOL_NAME")
					      : "test";
	cfg.core = &kvs;
	cfg.get = get;
	cfg.log = logf_;
	cfg.stopped = stopped;
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	rc = ops->open(&cfg, &h, &err);
	if (rc)
		goto out;
	if (!strcmp(argv[i], "check")) {
		rc = ops->check ? ops->check(h, &err) : CAIRN_OK;
		if (!rc)
			printf("%s\n", err.msg);
	} else if (!strcmp(argv[i], "put") && i + 1 < argc) {
		struct cairn_put_file f = { 0 };
		struct stat st;
		char hex[65];
		const char *base = strrchr(argv[i + 1], '/');
		const char *fake = getenv("PLUGIN_TOOL_SIZE");

		if (fake) {
			st.st_size = (off_t)strtoull(fake, NULL, 10);
		} else if (stat(argv[i + 1], &st) ||
			   sha256_hex(argv[i + 1], hex)) {
			perror(argv[i + 1]);
			rc = CAIRN_EFAIL;
			goto out;
		}
		f.path = argv[i + 1];
		f.name = i + 2 < argc ? argv[i + 2]
				      : (base ? base + 1 : argv[i + 1]);
		f.size = (uint64_t)st.st_size;
		f.sha256 = fake ? NULL : hex;
		rc = ops->put(h, &f, &err);
	} else if (!strcmp(argv[i], "list")) {
		rc = ops->list(h, print_obj, NULL, &err);
	} else if (!strcmp(argv[i], "get") && i + 2 < argc) {
		rc = ops->get(h, argv[i + 1], argv[i + 2], &err);
	} else if (!strcmp(argv[i], "del") && i + 1 < argc) {
		rc = ops->del(h, argv[i + 1], &err);
	} else if (!strcmp(argv[i], "clean") && i + 1 < argc) {
		/* As the core reads it: only when the ops struct has it. */
		if (ops->size >= offsetof(struct cairn_target_ops, clean) +
				 sizeof(ops->clean) && ops->clean)
			rc = ops->clean(h, argv[i + 1], &err);
		else
			fprintf(stderr, "plugin-tool: %s has no clean op\n",
				ops->name);
	} else {
		fprintf(stderr, "plugin-tool: unknown command %s\n", argv[i]);
		rc = 64;
	}
out:
	if (h)
		ops->close(h);
	if (rc && rc != 64)
		fprintf(stderr, "error %d: %s\n", rc, err.msg);
	dlclose(dl);
	return rc;
}

/*
 * Fuzz config_load: thousands of mutated and random configs, each with
 * random CAIRN_* variables, from a fixed seed. Every one must load or
 * fail with CAIRN_ECONFIG and one line of error; ASan and UBSan (the
 * test build) catch the rest.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn.h"

#include "unit.h"

enum { CASES = 4000, MAXENV = 8 };

static const char base[] =
	"[cairn]\nname = mss\nsource = /srv/mss\narchive_dir = /a\n"
	"state_dir = /s\ncompression = zstd\nkeep_last = 7\n"
	"keep_daily = 3\ncompression_level = 5\nthreads = 2\n"
	"[component db]\ntype = sqlite\npath = data/x.db\n"
	"[component audio]\ntype = files\npath = Sounds log/\n  more/\n"
	"exclude = *.tmp\nrequired = no\n"
	"[component pg]\ntype = command\nfile = db/app.dump\n"
	"dump = pg_dump -Fc app\nrestore = pg_restore -c -d app\n"
	"timeout = 60\n"
	"[mode db]\ncomponents = db\n[mode media]\ncomponents = audio pg\n"
	"[target usb]\nplugin = usb\npath = /media/b\nkeep_last = 14\n"
	"[hooks]\npre_backup = true ; comment\npost_backup = true\n"
	"[inventory]\ncommand.git = git rev-parse HEAD\n";

static const char *const words[] = {
	"cairn", "component", "mode", "target", "hooks", "inventory", "db",
	"audio", "usb", "full", "name", "source", "archive_dir", "type",
	"path", "components", "plugin", "keep_last", "sqlite", "files",
	"command", "file", "dump", "restore", "yes", "no", "zstd", "gzip",
	"-1", "99999999999999999999", "..", "/", "../x", "command.x",
	"pre_backup", "secret_key", "enabled", "required", "exclude", "",
	"compression_level", "timeout", "state_dir", "metrics_file",
};
static const char specials[] = "[]=:;# \t\n\r\\\"'./_-\x01\xff\xef\xbb\xbf";

static uint64_t rng = 0x5eedc0ffee123457ull;

static uint64_t next(void)
{
	/* xorshift64*: deterministic, so a failure reproduces. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

static size_t below(size_t n)
{
	return n ? (size_t)(next() % n) : 0;
}

static const char *word(void)
{
	return words[below(ARRAY_SIZE(words))];
}

/* A growable byte buffer. */
struct buf {
	char *p;
	size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	if (n)
		memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static char rand_byte(void)
{
	return below(2) ? specials[below(sizeof(specials) - 1)]
			: (char)below(256);
}

/* Lines built from config words: plausible enough to go deep. */
static void random_lines(struct buf *b)
{
	for (size_t i = below(40) + 1; i--;) {
		switch (below(3)) {
		case 0:
			puts_(b, "[");
			puts_(b, word());
			if (below(3)) {
				puts_(b, " ");
				puts_(b, word());
			}
			puts_(b, below(8) ? "]\n" : "\n");
			break;
		default:
			if (!below(4)) /* a continuation line */
				puts_(b, below(2) ? " " : "\t");
			puts_(b, word());
			puts_(b, below(8) ? " = " : " : ");
			for (size_t w = below(4); w--;) {
				puts_(b, word());
				puts_(b, " ");
			}
			puts_(b, "\n");
		}
	}
}

/* Replace the value of a random "key = value" line with config words. */
static void swap_value(struct buf *b)
{
	size_t at = below(b->n + 1), end;
	struct buf out = { 0 };
	char *eq;

	while (at && b->p[at - 1] != '\n')
		at--;
	eq = strchr(b->p + at, '=');
	if (!eq || memchr(b->p + at, '\n', (size_t)(eq - b->p) - at))
		return;
	for (end = (size_t)(eq - b->p); end < b->n && b->p[end] != '\n';)
		end++;
	put(&out, b->p, (size_t)(eq - b->p) + 1);
	for (size_t w = below(3) + 1; w--;) {
		puts_(&out, " ");
		puts_(&out, word());
	}
	put(&out, b->p + end, b->n - end);
	free(b->p);
	*b = out;
}

static void mutate(struct buf *b)
{
	size_t at = below(b->n + 1), n;
	struct buf tail = { 0 };

	switch (below(10)) {
	case 6:
	case 7:
	case 8: /* a new value for a key: deep into the checks */
		swap_value(b);
		return;
	case 0: /* flip bytes */
		for (n = below(8) + 1; n-- && b->n;)
			b->p[below(b->n)] = rand_byte();
		return;
	case 1: /* delete a span */
		n = below(b->n - at + 1);
		memmove(b->p + at, b->p + at + n, b->n - at - n + 1);
		b->n -= n;
		return;
	case 2: /* duplicate a span elsewhere */
		n = below(b->n - at + 1);
		put(&tail, b->p + at, n);
		break;
	case 3: /* insert junk */
		for (n = below(64) + 1; n--;) {
			char c = rand_byte();

			put(&tail, &c, 1);
		}
		break;
	case 4: { /* a long hook, around the line limit */
		size_t len = below(2) ? CONFIG_MAX_LINE - 16 + below(8)
				      : below(3 * CONFIG_MAX_LINE);
		char *run = xcalloc(1, len + 1);

		memset(run, below(8) ? 'x' : ' ', len);
		while (at && b->p[at - 1] != '\n')
			at--;
		puts_(&tail, "pre_backup = ");
		put(&tail, run, len);
		puts_(&tail, "\n");
		free(run);
		break;
	}
	default:
		while (at && b->p[at - 1] != '\n')
			at--;
		random_lines(&tail);
	}
	/* Splice tail in at `at`. */
	{
		struct buf out = { 0 };

		put(&out, b->p, at);
		put(&out, tail.p ? tail.p : "", tail.n);
		put(&out, b->p + at, b->n - at);
		free(b->p);
		*b = out;
	}
	free(tail.p);
}

/* Variables the base config knows, or a new target or component. */
static const char *const env_names[] = {
	"CAIRN_KEEP_LAST", "CAIRN_NAME", "CAIRN_SOURCE", "CAIRN_COMPRESSION",
	"CAIRN_COMPRESSION_LEVEL", "CAIRN_STATE_DIR", "CAIRN_THREADS",
	"CAIRN_COMPONENT_DB_PATH", "CAIRN_COMPONENT_AUDIO_PATH",
	"CAIRN_COMPONENT_AUDIO_REQUIRED", "CAIRN_COMPONENT_PG_FILE",
	"CAIRN_COMPONENT_NEW_TYPE", "CAIRN_COMPONENT_NEW_PATH",
	"CAIRN_MODE_DB_COMPONENTS", "CAIRN_MODE_NEW_COMPONENTS",
	"CAIRN_TARGET_USB_PATH", "CAIRN_TARGET_USB_KEEP_LAST",
	"CAIRN_TARGET_NEW_PLUGIN", "CAIRN_TARGET_NEW_PATH",
	"CAIRN_TARGET_USB_ENABLED", "CAIRN_HOOKS_PRE_BACKUP",
	"CAIRN_INVENTORY_COMMAND_DF", "CAIRN_CONFIG", "CAIRN_SWAP_PAUSE",
};

/* CAIRN_[KIND_[NAME_]]KEY=VALUE with odd parts now and then. */
static char *random_env(void)
{
	static const char *const kinds[] = { "", "COMPONENT_", "MODE_",
					     "TARGET_", "HOOKS_",
					     "INVENTORY_", "_", "CAIRN_" };
	struct buf b = { 0 };
	char up[64];

	if (below(3)) {
		puts_(&b, env_names[below(ARRAY_SIZE(env_names))]);
		puts_(&b, "=");
		puts_(&b, word());
		return b.p;
	}
	puts_(&b, "CAIRN_");
	puts_(&b, kinds[below(ARRAY_SIZE(kinds))]);
	for (size_t parts = below(3) + 1; parts--;) {
		size_t i;

		snprintf(up, sizeof(up), "%s", word());
		for (i = 0; up[i]; i++)
			if (up[i] >= 'a' && up[i] <= 'z' && below(8))
				up[i] = (char)(up[i] - 'a' + 'A');
		puts_(&b, up);
		if (parts)
			puts_(&b, "_");
	}
	if (!below(20)) {
		char run[300];

		memset(run, 'Q', sizeof(run) - 1);
		run[sizeof(run) - 1] = '\0';
		puts_(&b, run);
	}
	if (below(10))
		puts_(&b, "=");
	puts_(&b, word());
	if (!below(4))
		puts_(&b, below(2) ? " ../../etc" : "\nsecond line");
	return b.p;
}

int main(void)
{
	char dir[] = "/tmp/cairn-unit-fuzz.XXXXXX";
	size_t ok = 0, bad = 0;
	char *path;

	umask(077);
	if (!mkdtemp(dir))
		return 2;
	path = xasprintf("%s/c.conf", dir);
	for (int i = 0; i < CASES; i++) {
		struct buf b = { 0 };
		char *env[MAXENV + 1] = { NULL };
		struct cairn_error err = { 0, "" };
		struct config cfg;
		size_t nenv = below(2) ? below(MAXENV + 1) : 0;
		FILE *f;
		int rc;

		puts_(&b, i % 4 ? base : "");
		for (size_t m = below(4); m--;)
			mutate(&b);
		if (!b.n)
			random_lines(&b);
		for (size_t e = 0; e < nenv; e++)
			env[e] = random_env();
		f = fopen(path, "w");
		if (!f || fwrite(b.p, 1, b.n, f) != b.n || fclose(f))
			return 2;
		rc = config_load(path, env, &cfg, &err);
		if (rc == CAIRN_OK) {
			ok++;
			for (size_t m = 0; m < cfg.nmodes; m++)
				for (size_t c = 0; c < cfg.modes[m].comps.n;
				     c++)
					if (!config_component(&cfg,
						cfg.modes[m].comps.v[c]))
						rc = -1;
		} else if (rc != CAIRN_ECONFIG || err.code != rc ||
			   !*err.msg || strchr(err.msg, '\n')) {
			rc = -1;
		}
		if (getenv("FUZZ_VERBOSE"))
			printf("# %d: %s\n", i, rc ? err.msg : "ok");
		if (rc == -1 && !bad++)
			fprintf(stderr, "case %d: rc %d, msg: %s\n", i,
				err.code, err.msg);
		config_free(&cfg);
		for (size_t e = 0; e < nenv; e++)
			free(env[e]);
		free(b.p);
	}
	printf("# %zu of %d cases loaded\n", ok, CASES);
	check(!bad, "every case loads or fails with one line of error",
	      NULL);
	check(ok > 0 && ok < CASES, "some cases load, some fail", NULL);
	unlink(path);
	rmdir(dir);
	free(path);
	printf("1..%d\n", ntests);
	return failures ? 1 : 0;
}

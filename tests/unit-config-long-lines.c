/* Unit tests for config lines longer than Debian inih's 200 bytes: they
 * load up to CONFIG_MAX_LINE bytes, a longer one is an error naming
 * FILE:LINE and the limit, and line numbers stay right after long lines. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn.h"

#include "unit.h"

static char dir[] = "/tmp/cairn-unit-long-lines.XXXXXX";

#define HEAD \
	"[cairn]\n"                /* 1 */ \
	"name = mss\n"             /* 2 */ \
	"source = /s\n"            /* 3 */ \
	"archive_dir = /a\n"       /* 4 */ \
	"[component db]\n"         /* 5 */ \
	"type = sqlite\n"          /* 6 */ \
	"path = data/x.db\n"       /* 7 */ \
	"[hooks]\n"                /* 8 */

/* A line "pre_backup = echo xxx...x" of exactly len bytes (before eol). */
static char *hook_line(size_t len)
{
	const char *pfx = "pre_backup = echo ";
	char *s = xcalloc(1, len + 1);

	memset(s, 'x', len);
	memcpy(s, pfx, strlen(pfx));
	return s;
}

/* Load HEAD + line + eol + tail; rc, and the hook in *hook. */
static int load_with(const char *line, const char *eol, const char *tail,
		     char **hook, struct cairn_error *err)
{
	char *path = xasprintf("%s/c.conf", dir);
	char *env[] = { NULL };
	struct config cfg;
	FILE *f = fopen(path, "w");
	int rc;

	if (!f || fprintf(f, "%s%s%s%s", HEAD, line, eol, tail) < 0 ||
	    fclose(f))
		exit(2);
	chmod(path, 0600);
	memset(err, 0, sizeof(*err));
	rc = config_load(path, env, &cfg, err);
	*hook = !rc && cfg.hooks[HOOK_PRE_BACKUP]
			? xstrdup(cfg.hooks[HOOK_PRE_BACKUP]) : NULL;
	config_free(&cfg);
	unlink(path);
	free(path);
	return rc;
}

/* The hook of `len` bytes loads whole. */
static void expect_loads(size_t len, const char *eol, const char *what)
{
	char *line = hook_line(len), *hook;
	struct cairn_error err;
	int rc = load_with(line, eol, "", &hook, &err);

	check(rc == CAIRN_OK && hook && strlen(hook) == len - 13 &&
	      !strcmp(hook, line + 13), what, err.msg);
	free(hook);
	free(line);
}

/* A line of `len` bytes is refused as line 9 with the limit. */
static void expect_too_long(size_t len, const char *what)
{
	char *line = hook_line(len), *hook, *want;
	struct cairn_error err;
	int rc = load_with(line, "\n", "post_backup = true\n", &hook, &err);

	want = xasprintf("%s/c.conf:9: line longer than %d bytes", dir,
			 CONFIG_MAX_LINE);
	check(rc == CAIRN_ECONFIG && strstr(err.msg, want), what, err.msg);
	free(want);
	free(hook);
	free(line);
}

int main(void)
{
	struct cairn_error err;
	char *line, *hook, *want;
	int rc;

	if (!mkdtemp(dir))
		return 2;
	expect_loads(255, "\n", "a 255-byte pre_backup line loads");
	expect_loads(4096, "\n", "a 4096-byte line loads");
	expect_loads(CONFIG_MAX_LINE, "\n", "a line of the limit loads");
	expect_loads(CONFIG_MAX_LINE, "\r\n",
		     "a line of the limit with CRLF loads");
	expect_loads(CONFIG_MAX_LINE, "",
		     "a last line of the limit without newline loads");
	expect_too_long(CONFIG_MAX_LINE + 1,
			"one byte over the limit: FILE:LINE and the limit");
	expect_too_long(CONFIG_MAX_LINE + 2,
			"two bytes over the limit: FILE:LINE and the limit");
	expect_too_long(10 * CONFIG_MAX_LINE,
			"ten times the limit: FILE:LINE and the limit");

	/* Line numbers after a long line: the unknown key is line 10. */
	line = hook_line(5000);
	rc = load_with(line, "\n", "bogus = 1\n", &hook, &err);
	want = xasprintf("%s/c.conf:10: unknown key 'bogus'", dir);
	check(rc == CAIRN_ECONFIG && strstr(err.msg, want),
	      "the line after a 5000-byte line is numbered right", err.msg);
	free(want);
	free(hook);
	free(line);

	rmdir(dir);
	printf("1..%d\n", ntests);
	return failures ? 1 : 0;
}

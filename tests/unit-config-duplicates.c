/* Unit tests for repeats a config must refuse, each an error naming
 * FILE:LINE and the repeat: a component listed twice in a mode, a path
 * listed twice in a component, a path in two components. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn.h"

#include "unit.h"

static char dir[] = "/tmp/cairn-unit-dups.XXXXXX";

#define HEAD \
	"[cairn]\n"                /* 1 */ \
	"name = mss\n"             /* 2 */ \
	"source = /s\n"            /* 3 */ \
	"archive_dir = /a\n"       /* 4 */ \
	"[component db]\n"         /* 5 */ \
	"type = sqlite\n"          /* 6 */ \
	"path = data/x.db\n"       /* 7 */ \
	"[component audio]\n"      /* 8 */ \
	"type = files\n"           /* 9 */

/* Load HEAD + tail; CAIRN_OK or the error in err. */
static int load(const char *tail, struct cairn_error *err)
{
	char *path = xasprintf("%s/c.conf", dir);
	char *env[] = { NULL };
	struct config cfg;
	FILE *f = fopen(path, "w");
	int rc;

	if (!f || fprintf(f, "%s%s", HEAD, tail) < 0 || fclose(f))
		exit(2);
	chmod(path, 0600);
	memset(err, 0, sizeof(*err));
	rc = config_load(path, env, &cfg, err);
	config_free(&cfg);
	unlink(path);
	free(path);
	return rc;
}

/* tail must fail with "c.conf:LINE: " and every needle. */
static void expect(const char *what, const char *tail, int line,
		   const char *n1, const char *n2)
{
	struct cairn_error err;
	int rc = load(tail, &err);
	char *where = xasprintf("%s/c.conf:%d: ", dir, line);

	check(rc == CAIRN_ECONFIG && strstr(err.msg, where) &&
	      strstr(err.msg, n1) && (!n2 || strstr(err.msg, n2)), what,
	      err.msg);
	free(where);
}

int main(void)
{
	struct cairn_error err;
	int rc;

	if (!mkdtemp(dir))
		return 2;
	rc = load("path = Sounds\n[mode db]\ncomponents = db audio\n", &err);
	check(rc == CAIRN_OK, "distinct components and paths load", err.msg);

	expect("[mode db] components = db db db db db",
	       "path = Sounds\n[mode db]\ncomponents = db db db db db\n", 12,
	       "mode 'db' lists component 'db' twice", NULL);
	expect("a mode naming a component again later",
	       "path = Sounds\n[mode x]\ncomponents = db audio db\n", 12,
	       "mode 'x' lists component 'db' twice", NULL);
	expect("a component listing a path twice",
	       "path = Sounds log Sounds\n", 10,
	       "component 'audio' lists path 'Sounds' twice", NULL);
	expect("a path twice, once with a trailing slash",
	       "path = Sounds Sounds/\n", 10,
	       "component 'audio' lists path 'Sounds' twice", NULL);
	expect("a path in two components names both",
	       "path = Sounds\n[component more]\ntype = files\n"
	       "path = log Sounds\n", 13,
	       "path 'Sounds' is in component 'audio'",
	       "and component 'more'");
	expect("the database file also in a files component",
	       "path = data/x.db\n", 10,
	       "path 'data/x.db' is in component 'db'",
	       "and component 'audio'");

	rmdir(dir);
	printf("1..%d\n", ntests);
	return failures ? 1 : 0;
}

/*
 * Unit tests of config_load's environment overrides:
 *  - CAIRN_HOOKS_<HOOK> and CAIRN_INVENTORY_COMMAND_<NAME> create
 *    [hooks] / [inventory] when the file has none;
 *  - a variable for a named section that does not exist
 *    (CAIRN_TARGET_Y_PATH without CAIRN_TARGET_Y_PLUGIN or [target y])
 *    is an error naming it, so a typo cannot lose a target silently;
 *  - CAIRN_SWAP_PAUSE, the restore testing aid read by restore.c, is
 *    not taken for a [cairn] key.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn.h"

#include "unit.h"

int main(void)
{
	char dir[] = "/tmp/cairn-unit-config-env.XXXXXX";
	struct cairn_error err = { 0, "" };
	struct config cfg;
	char *path;
	FILE *f;
	int rc;

	if (!mkdtemp(dir))
		return 2;
	path = path_join(dir, "c.conf");
	f = fopen(path, "w");
	if (!f)
		return 2;
	fputs("[cairn]\nname = mss\nsource = /s\narchive_dir = /a\n"
	      "[component db]\ntype = sqlite\npath = data/x.db\n", f);
	fclose(f);
	chmod(path, 0600);

	{
		char *env[] = { "CAIRN_HOOKS_PRE_BACKUP=echo pre",
				"CAIRN_HOOKS_VERIFY_RESTORE=curl -f x",
				"CAIRN_INVENTORY_COMMAND_GIT=git rev-parse HEAD",
				NULL };

		rc = config_load(path, env, &cfg, &err);
		check(rc == CAIRN_OK, "loads", err.msg);
		check(!rc && cfg.hooks[HOOK_PRE_BACKUP] &&
		      !strcmp(cfg.hooks[HOOK_PRE_BACKUP], "echo pre"),
		      "CAIRN_HOOKS_PRE_BACKUP without [hooks] in the file",
		      NULL);
		check(!rc && cfg.hooks[HOOK_VERIFY_RESTORE] &&
		      !strcmp(cfg.hooks[HOOK_VERIFY_RESTORE], "curl -f x"),
		      "CAIRN_HOOKS_VERIFY_RESTORE without [hooks] in the file",
		      NULL);
		check(!rc && cfg.inv_names.n == 1 &&
		      !strcmp(cfg.inv_names.v[0], "git") &&
		      !strcmp(cfg.inv_cmds.v[0], "git rev-parse HEAD"),
		      "CAIRN_INVENTORY_COMMAND_GIT without [inventory] in the "
		      "file", NULL);
		config_free(&cfg);
	}
	{
		char *env[] = { "CAIRN_TARGET_Y_PATH=/m", NULL };

		memset(&err, 0, sizeof(err));
		rc = config_load(path, env, &cfg, &err);
		check(rc == CAIRN_ECONFIG &&
		      strstr(err.msg, "CAIRN_TARGET_Y_PATH"),
		      "CAIRN_TARGET_Y_PATH without a target y is an error "
		      "naming the variable", err.msg);
		config_free(&cfg);
	}
	{
		char *env[] = { "CAIRN_COMPONENT_PG_FILE=db/app.dump", NULL };

		memset(&err, 0, sizeof(err));
		rc = config_load(path, env, &cfg, &err);
		check(rc == CAIRN_ECONFIG &&
		      strstr(err.msg, "CAIRN_COMPONENT_PG_FILE"),
		      "CAIRN_COMPONENT_PG_FILE without a component pg is an "
		      "error naming the variable", err.msg);
		config_free(&cfg);
	}
	{
		char *env[] = { "CAIRN_SWAP_PAUSE=2", NULL };

		memset(&err, 0, sizeof(err));
		rc = config_load(path, env, &cfg, &err);
		check(rc == CAIRN_OK, "CAIRN_SWAP_PAUSE (testing aid) is not a "
		      "config key", err.msg);
		config_free(&cfg);
	}
	unlink(path);
	rmdir(dir);
	free(path);
	printf("1..%d\n", ntests);
	return failures ? 1 : 0;
}

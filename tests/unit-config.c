/* Unit tests for config_load: INI parsing, validation messages that name
 * FILE:LINE and the key, CAIRN_* environment overrides, secrets. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn.h"

#include "unit.h"

static char dir[] = "/tmp/cairn-unit-config.XXXXXX";

/* Write text to DIR/name with the given mode; returns the path. */
static char *write_conf(const char *name, mode_t mode, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(path);
		exit(2);
	}
	chmod(path, mode);
	return path;
}

/* The sound machine profile; %s slots for extra [cairn] lines and extra
 * sections, so line numbers below are stable: [cairn] extras start on
 * line 8. */
#define BASE \
	"[cairn]\n"                                /* 1 */ \
	"name = mss\n"                             /* 2 */ \
	"source = /srv/mss/cloud-data\n"           /* 3 */ \
	"archive_dir = /var/backups/mss/archive\n" /* 4 */ \
	"state_dir = /var/backups/mss\n"           /* 5 */ \
	"compression = zstd\n"                     /* 6 */ \
	"keep_last = 7\n"                          /* 7 */ \
	"%s"                                                \
	"\n"                                                \
	"[component db]\n"                                  \
	"type = sqlite\n"                                   \
	"path = data/sound_machine.db\n"                    \
	"\n"                                                \
	"[component audio]\n"                               \
	"type = files\n"                                    \
	"path = Sounds\n"                                   \
	"\n"                                                \
	"[mode db]\n"                                       \
	"components = db\n"                                 \
	"%s"

static char *conf_text(const char *cairn_extra, const char *tail)
{
	return xasprintf(BASE, cairn_extra, tail);
}

/* Load; returns the rc, err and cfg filled (cfg to be freed). */
static int load(const char *path, char **env, struct config *cfg,
		struct cairn_error *err)
{
	memset(err, 0, sizeof(*err));
	return config_load(path, env, cfg, err);
}

static bool has(const char *msg, const char *needle)
{
	return strstr(msg, needle) != NULL;
}

/* Expect CAIRN_ECONFIG with every needle (NULL-terminated) in the
 * message. */
static void expect_error(const char *what, const char *cairn_extra,
			 const char *tail, char **env, mode_t mode, ...)
{
	char *text = conf_text(cairn_extra, tail);
	char *path = write_conf("bad.conf", mode, text);
	struct cairn_error err;
	struct config cfg;
	int rc = load(path, env, &cfg, &err);
	bool ok = rc == CAIRN_ECONFIG;
	char detail[600];
	va_list ap;

	va_start(ap, mode);
	for (const char *n; (n = va_arg(ap, const char *));) {
		char *nn = strstr(n, "@FILE@") ? xasprintf("%s%s", path,
							   n + 6)
					       : xstrdup(n);

		ok &= has(err.msg, nn);
		free(nn);
	}
	va_end(ap);
	snprintf(detail, sizeof(detail), "rc %d, msg: %s", rc, err.msg);
	check(ok, what, detail);
	config_free(&cfg);
	unlink(path);
	free(path);
	free(text);
}

static void test_valid(void)
{
	char *text = conf_text("", "\n[mode audio]\ncomponents = audio\n");
	char *path = write_conf("ok.conf", 0600, text);
	char *env[] = { NULL };
	struct cairn_error err;
	struct config cfg;
	int rc = load(path, env, &cfg, &err);

	check(rc == CAIRN_OK, "the sound machine profile loads", err.msg);
	if (rc == CAIRN_OK) {
		const struct component *db = config_component(&cfg, "db");

		check(!strcmp(cfg.name, "mss") &&
		      !strcmp(cfg.source, "/srv/mss/cloud-data") &&
		      !strcmp(cfg.archive_dir, "/var/backups/mss/archive") &&
		      !strcmp(cfg.state_dir, "/var/backups/mss"),
		      "[cairn] paths read", NULL);
		check(cfg.compression == COMP_ZSTD && cfg.level == 3,
		      "zstd, default level 3", NULL);
		check(cfg.keep.last == 7 && !cfg.keep.daily,
		      "keep_last = 7", NULL);
		check(cfg.ncomps == 2 && db && db->type == COMP_SQLITE &&
		      db->paths.n == 1 &&
		      !strcmp(db->paths.v[0], "data/sound_machine.db") &&
		      db->required, "component db", NULL);
		check(cfg.nmodes == 2 && !cfg.ntargets, "two modes, no target",
		      NULL);
	}
	config_free(&cfg);
	free(text);
	free(path);

	/* state_dir defaults to archive_dir; gzip level 6. */
	text = xstrdup("[cairn]\nname = x\nsource = /s\narchive_dir = /a\n"
		       "compression = gzip\n[component c]\ntype = files\n"
		       "path = c\n");
	path = write_conf("min.conf", 0644, text);
	rc = load(path, env, &cfg, &err);
	check(rc == CAIRN_OK && !strcmp(cfg.state_dir, "/a") &&
	      cfg.compression == COMP_GZIP && cfg.level == 6,
	      "state_dir defaults to archive_dir; gzip level 6", err.msg);
	config_free(&cfg);
	free(text);
	free(path);
}

static void test_errors(void)
{
	char *env[] = { NULL };

	expect_error("unknown section names FILE:LINE", "",
		     "\n[colours]\nred = 1\n", env, 0600,
		     "colours", NULL);
	{
		/* [colours] is line 23 of that file. */
		char *text = conf_text("", "\n[colours]\nred = 1\n");
		int line = 1;

		for (char *p = text; *p && strncmp(p, "[colours]", 9); p++)
			line += *p == '\n';
		char *n = xasprintf(":%d:", line);

		expect_error("unknown section: the line number is the "
			     "section's", "", "\n[colours]\nred = 1\n", env,
			     0600, "@FILE@", n, NULL);
		free(n);
		free(text);
	}
	expect_error("unknown key names FILE:LINE and the key",
		     "colour = red\n", "", env, 0600, "@FILE@:8:", "colour",
		     NULL);
	expect_error("compression = lz4 names the key and FILE:LINE", "", "",
		     (char *[]){ "CAIRN_COMPRESSION=lz4", NULL }, 0600,
		     "compression", NULL);
	{
		/* In the file this time, at line 6. */
		char *t2 = xasprintf(BASE, "", "");
		char *p = strstr(t2, "compression = zstd");

		memcpy(p + 14, "lz4 ", 4);
		char *path = write_conf("lz4.conf", 0600, t2);
		struct cairn_error err;
		struct config cfg;
		int rc = load(path, env, &cfg, &err);
		char *n = xasprintf("%s:6", path);

		check(rc == CAIRN_ECONFIG && has(err.msg, n) &&
		      has(err.msg, "compression"),
		      "compression = lz4 in the file: FILE:6 and the key",
		      err.msg);
		config_free(&cfg);
		free(n);
		free(path);
		free(t2);
	}
	expect_error("keep_daily = x names the key", "keep_daily = x\n", "",
		     env, 0600, "@FILE@:8", "keep_daily", NULL);
	expect_error("keep_last = -1 names the key", "", "",
		     (char *[]){ "CAIRN_KEEP_LAST=-1", NULL }, 0600,
		     "keep_last", "CAIRN_KEEP_LAST", NULL);
	{
		char *t = xasprintf(BASE, "", "");
		char *p = strstr(t, "keep_last = 7");

		p[12] = 'x';
		char *path = write_conf("kl.conf", 0600, t);
		struct cairn_error err;
		struct config cfg;
		int rc = load(path, env, &cfg, &err);
		char *n = xasprintf("%s:7", path);

		check(rc == CAIRN_ECONFIG && has(err.msg, n) &&
		      has(err.msg, "keep_last"),
		      "keep_last = x: FILE:7 and the key", err.msg);
		config_free(&cfg);
		free(n);
		free(path);
		free(t);
	}
	{
		const char *t = "[cairn]\nname = mss\n"
				"archive_dir = /a\n[component c]\n"
				"type = files\npath = c\n";
		char *path = write_conf("nosrc.conf", 0600, t);
		struct cairn_error err;
		struct config cfg;
		int rc = load(path, env, &cfg, &err);

		check(rc == CAIRN_ECONFIG && has(err.msg, "source") &&
		      has(err.msg, path), "missing source is named", err.msg);
		config_free(&cfg);
		free(path);
	}
	expect_error("component without type names 'type'", "",
		     "[component x]\npath = x\n", env, 0600, "type",
		     "component x", NULL);
	expect_error("component type = tape is a bad value", "",
		     "[component x]\ntype = tape\npath = x\n", env, 0600,
		     "type", NULL);
	expect_error("path with '..' is refused", "",
		     "[component x]\ntype = files\npath = ../etc\n", env, 0600,
		     "path", NULL);
	expect_error("[mode full] is rejected", "",
		     "[mode full]\ncomponents = db\n", env, 0600, "full",
		     NULL);
	expect_error("mode naming an unknown component names it and where",
		     "", "[mode everything]\ncomponents = db media\n", env,
		     0600, "@FILE@:", "media", NULL);
	expect_error("duplicate key is refused", "keep_last = 3\n", "", env,
		     0600, "@FILE@:8", "keep_last", NULL);
	expect_error("section appearing twice is refused", "",
		     "[component db]\ntype = files\npath = x\n", env, 0600,
		     "@FILE@", "twice", NULL);
	expect_error("unknown hook names the key", "",
		     "[hooks]\npre_bakup = true\n", env, 0600, "pre_bakup",
		     NULL);
	expect_error("[inventory] key without command. prefix", "",
		     "[inventory]\ngit = git log\n", env, 0600, "git", NULL);
	expect_error("[component] needs a name", "",
		     "[component]\ntype = files\npath = x\n", env, 0600,
		     "@FILE@", NULL);
	{
		struct cairn_error err;
		struct config cfg;
		char *p = xasprintf("%s/does-not-exist.conf", dir);
		int rc = load(p, env, &cfg, &err);

		check(rc == CAIRN_ECONFIG && has(err.msg, p),
		      "missing config file names the path", err.msg);
		config_free(&cfg);
		free(p);
	}
}

static void test_env(void)
{
	char *text = conf_text("", "");
	char *path = write_conf("env.conf", 0600, text);
	struct cairn_error err;
	struct config cfg;
	int rc;

	{
		char *env[] = { "HOME=/root", "CAIRN_KEEP_LAST=3",
				"CAIRN_COMPONENT_DB_PATH=data/other.db",
				"CAIRN_HOOKS_PRE_BACKUP=echo pre",
				"CAIRN_INVENTORY_COMMAND_GIT=git rev-parse HEAD",
				"CAIRN_CONFIG=/ignored.conf",
				"CAIRN_PLUGIN_DIR=/ignored", NULL };
		char *t2 = conf_text("", "[hooks]\npost_backup = true\n"
				     "[inventory]\ncommand.df = df\n");
		char *p2 = write_conf("env2.conf", 0600, t2);

		rc = load(path, env, &cfg, &err);
		check(rc == CAIRN_OK, "env overrides load", err.msg);
		if (!rc) {
			const struct component *db =
				config_component(&cfg, "db");

			check(cfg.keep.last == 3, "CAIRN_KEEP_LAST=3", NULL);
			check(db && !strcmp(db->paths.v[0], "data/other.db"),
			      "CAIRN_COMPONENT_DB_PATH overrides the path",
			      NULL);
			/* Without [hooks]/[inventory] in the file:
			 * unit-config-env. */
		}
		config_free(&cfg);

		/* The same with [hooks] and [inventory] in the file. */
		rc = load(p2, env, &cfg, &err);
		check(rc == CAIRN_OK && cfg.hooks[HOOK_PRE_BACKUP] &&
		      !strcmp(cfg.hooks[HOOK_PRE_BACKUP], "echo pre") &&
		      cfg.hooks[HOOK_POST_BACKUP],
		      "CAIRN_HOOKS_PRE_BACKUP sets pre_backup (file with "
		      "[hooks])", err.msg);
		check(rc == CAIRN_OK && cfg.inv_names.n == 2 &&
		      !strcmp(cfg.inv_names.v[0], "df") &&
		      !strcmp(cfg.inv_names.v[1], "git") &&
		      !strcmp(cfg.inv_cmds.v[1], "git rev-parse HEAD"),
		      "CAIRN_INVENTORY_COMMAND_GIT is command.git (file with "
		      "[inventory])", err.msg);
		config_free(&cfg);
		{
			char *e3[] = { "CAIRN_HOOKS_PRE_BAKUP=true", NULL };

			rc = load(p2, e3, &cfg, &err);
			check(rc == CAIRN_ECONFIG &&
			      has(err.msg, "CAIRN_HOOKS_PRE_BAKUP"),
			      "misspelt hook variable names the variable",
			      err.msg);
			config_free(&cfg);
		}
		unlink(p2);
		free(p2);
		free(t2);
	}
	/* Both orders: the section-defining variable may come second. */
	for (int order = 0; order < 2; order++) {
		char *a = "CAIRN_TARGET_X_PLUGIN=usb";
		char *b = "CAIRN_TARGET_X_PATH=/m";
		char *env[] = { order ? b : a, order ? a : b,
				"CAIRN_TARGET_X_KEEP_LAST=14", NULL };

		rc = load(path, env, &cfg, &err);
		check(rc == CAIRN_OK, order ? "target from env (PATH first)"
					    : "target from env (PLUGIN first)",
		      err.msg);
		if (!rc) {
			const struct target *t = config_target(&cfg, "x");
			const struct kv *kv = t ? section_get(t->sec, "path")
						: NULL;

			check(t && !strcmp(t->plugin, "usb") && t->enabled &&
			      t->keep.last == 14,
			      "CAIRN_TARGET_X_PLUGIN=usb defines target x",
			      NULL);
			check(kv && !strcmp(kv->val, "/m") &&
			      !strcmp(kv->where, "CAIRN_TARGET_X_PATH"),
			      "CAIRN_TARGET_X_PATH=/m is its path", NULL);
		}
		config_free(&cfg);
	}
	{
		char *env[] = { "CAIRN_TARGET_X_PLUGIN=usb", NULL };

		rc = load(path, env, &cfg, &err);
		check(!rc && cfg.ntargets == 1 &&
		      cfg.targets[0].keep.last == 7,
		      "a target inherits [cairn] keep_last", err.msg);
		config_free(&cfg);
	}
	{
		char *env[] = { "CAIRN_COMPONENT_DB_FOO=1", NULL };

		rc = load(path, env, &cfg, &err);
		check(rc == CAIRN_ECONFIG &&
		      has(err.msg, "CAIRN_COMPONENT_DB_FOO"),
		      "unknown CAIRN_COMPONENT_DB_FOO names the variable",
		      err.msg);
		config_free(&cfg);
	}
	/* CAIRN_TARGET_Y_PATH without target y: unit-config-env. */
	{
		char *env[] = { "CAIRN_COLOUR=red", NULL };

		rc = load(path, env, &cfg, &err);
		check(rc == CAIRN_ECONFIG && has(err.msg, "CAIRN_COLOUR"),
		      "unknown CAIRN_COLOUR names the variable", err.msg);
		config_free(&cfg);
	}
	{
		char *env[] = { "CAIRN_COMPONENT_PG_TYPE=command",
				"CAIRN_COMPONENT_PG_FILE=db/app.dump",
				"CAIRN_COMPONENT_PG_DUMP=pg_dump app",
				"CAIRN_COMPONENT_PG_RESTORE=pg_restore app",
				NULL };
		const struct component *c;

		rc = load(path, env, &cfg, &err);
		c = rc ? NULL : config_component(&cfg, "pg");
		check(c && c->type == COMP_COMMAND &&
		      !strcmp(c->file, "db/app.dump") &&
		      !strcmp(c->dump, "pg_dump app"),
		      "a command component defined from the environment",
		      err.msg);
		config_free(&cfg);
	}
	unlink(path);
	free(path);
	free(text);
}

static void test_secrets(void)
{
	const char *tail = "\n[target s3]\nplugin = s3\n"
			   "secret_key = hunter2hunter2\n";
	char *text = conf_text("", tail);
	char *env[] = { NULL };
	struct cairn_error err;
	struct config cfg;
	char *path;
	int rc;

	path = write_conf("loose.conf", 0644, text);
	rc = load(path, env, &cfg, &err);
	check(rc == CAIRN_ECONFIG && has(err.msg, path) &&
	      has(err.msg, "secret_key"),
	      "secret_key in a 0644 file is refused", err.msg);
	check(!has(err.msg, "hunter2"), "the secret is not in the message",
	      err.msg);
	config_free(&cfg);
	free(path);

	path = write_conf("group.conf", 0640, text);
	rc = load(path, env, &cfg, &err);
	check(rc == CAIRN_ECONFIG, "secret_key in a 0640 file is refused",
	      err.msg);
	config_free(&cfg);
	free(path);

	path = write_conf("private.conf", 0600, text);
	rc = load(path, env, &cfg, &err);
	check(rc == CAIRN_OK && cfg.ntargets == 1,
	      "secret_key in a 0600 file is accepted", err.msg);
	config_free(&cfg);
	free(path);
	free(text);

	/* From the environment the file's mode does not matter. */
	text = conf_text("", "\n[target s3]\nplugin = s3\n");
	path = write_conf("envsecret.conf", 0644, text);
	{
		char *e2[] = { "CAIRN_TARGET_S3_SECRET_KEY=hunter2", NULL };

		rc = load(path, e2, &cfg, &err);
		check(rc == CAIRN_OK, "secret_key from the environment with "
		      "a 0644 file is accepted", err.msg);
		config_free(&cfg);
	}
	free(path);
	free(text);
}

static void test_syntax(void)
{
	char *env[] = { NULL };
	struct cairn_error err;
	struct config cfg;
	char *path;
	int rc;

	path = write_conf("multi.conf", 0600,
			  "[cairn]\nname = mss\nsource = /s\n"
			  "archive_dir = /a\n"
			  "[component config]\n"
			  "type = files\n"
			  "path = config\n"
			  "       data/server_id.txt\n"
			  "\tdata/exports\n"
			  "exclude = *.tmp\n");
	rc = load(path, env, &cfg, &err);
	check(rc == CAIRN_OK, "multi-line path loads", err.msg);
	if (!rc) {
		const struct component *c = config_component(&cfg, "config");

		check(c && c->paths.n == 3 &&
		      !strcmp(c->paths.v[0], "config") &&
		      !strcmp(c->paths.v[1], "data/server_id.txt") &&
		      !strcmp(c->paths.v[2], "data/exports") &&
		      c->excludes.n == 1,
		      "continuation lines add paths", NULL);
	}
	config_free(&cfg);
	free(path);

	path = write_conf("comments.conf", 0600,
			  "# comment\n; comment\n[cairn]\n"
			  "name = mss ; trailing\nsource = /s\n"
			  "archive_dir = /a\ncompression = none\n"
			  "[component c]\ntype = files\npath = c/\n"
			  "required = no\n");
	rc = load(path, env, &cfg, &err);
	check(rc == CAIRN_OK && !strcmp(cfg.name, "mss") &&
	      cfg.compression == COMP_NONE && cfg.ncomps == 1 &&
	      !strcmp(cfg.comps[0].paths.v[0], "c") &&
	      !cfg.comps[0].required,
	      "comments, inline comments, trailing slash, required = no",
	      err.msg);
	config_free(&cfg);
	free(path);

	path = write_conf("outside.conf", 0600, "name = mss\n[cairn]\n");
	rc = load(path, env, &cfg, &err);
	check(rc == CAIRN_ECONFIG && has(err.msg, ":1"),
	      "key outside any section names line 1", err.msg);
	config_free(&cfg);
	free(path);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	test_valid();
	test_errors();
	test_env();
	test_secrets();
	test_syntax();
	rm_rf(dir);
	printf("1..%d\n", ntests);
	return failures ? 1 : 0;
}

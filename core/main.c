/* cairn: command line. */
#include "config.h"

#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cairn.h"

extern char **environ;

static const char usage_text[] =
"usage: cairn [-c FILE] [-q|-v] COMMAND [ARGS]\n"
"\n"
"  backup   [--target NAME]... [--no-targets]  archive, verify, send to\n"
"                                              targets, prune\n"
"  restore  MODE [--archive NAME|latest] [--from TARGET] [--to DIR]\n"
"           [--dry-run] [--yes]                restore a mode's components\n"
"  list     [--target NAME] [--json]           archives with time, size\n"
"  verify   [NAME|latest] [--deep]             check checksums\n"
"  status   [--max-age DURATION] [--json]      the last run\n"
"  prune    [--dry-run]                        apply retention\n"
"  plugins                                     plugins and targets\n"
"\n"
"  -c FILE   config file (default $CAIRN_CONFIG, else "
SYSCONFDIR "/cairn/cairn.conf)\n"
"  -q        errors only        -v  more detail\n"
"  --help    this text; `cairn COMMAND --help` for one command\n"
"  --version\n"
"\n"
"Exit: 0 ok, 1 failed, 2 usage or config, 3 locked, 4 a target failed.\n";

static const struct {
	const char *name, *help;
} cmd_help[] = {
	{ "backup", "usage: cairn backup [--target NAME]... [--no-targets]\n"
	  "Archive every component, verify the archive from disk, send it\n"
	  "to the enabled targets (or only those named), then apply\n"
	  "retention locally and on each target.\n"
	  "  --target NAME  only this target (repeatable)\n"
	  "  --no-targets   local archive only\n" },
	{ "restore", "usage: cairn restore MODE [--archive NAME|latest] "
	  "[--from TARGET]\n"
	  "                     [--to DIR] [--dry-run] [--yes]\n"
	  "Restore the components of MODE ('full' is every component).\n"
	  "The archive's checksum is verified before anything is written;\n"
	  "replaced files are kept in a safety net that is printed.\n"
	  "  --archive NAME  an archive name or path (default: latest)\n"
	  "  --from TARGET   fetch the archive from a target first\n"
	  "  --to DIR        restore into an empty or new directory\n"
	  "  --dry-run       show what would be replaced\n"
	  "  --yes           do not ask (required without a terminal)\n" },
	{ "list", "usage: cairn list [--target NAME] [--json]\n"
	  "List archives in archive_dir, or those a target holds.\n" },
	{ "verify", "usage: cairn verify [NAME|latest] [--deep]\n"
	  "Check an archive against its .sha256 sidecar; --deep also reads\n"
	  "every member against MANIFEST.sha256 and integrity-checks SQLite\n"
	  "members.\n" },
	{ "status", "usage: cairn status [--max-age DURATION] [--json]\n"
	  "Show the last run. Exit 1 if it failed, none is recorded, or the\n"
	  "last success is older than DURATION (30s, 90m, 26h, 7d, 2w).\n" },
	{ "prune", "usage: cairn prune [--dry-run]\n"
	  "Apply retention (keep_last, keep_daily, ...) locally and on every\n"
	  "enabled target. The newest archive is always kept.\n" },
	{ "plugins", "usage: cairn plugins\n"
	  "List plugins found (name, version, ABI, path) and each configured\n"
	  "target with its plugin and check result.\n" },
};

static int usage(FILE *f, int code)
{
	fputs(usage_text, f);
	return code;
}

static int command_help(const char *cmd)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmd_help); i++)
		if (!strcmp(cmd, cmd_help[i].name)) {
			fputs(cmd_help[i].help, stdout);
			return EXIT_OK;
		}
	return usage(stderr, EXIT_USAGE);
}

static int bad_usage(const char *cmd, const char *msg)
{
	fprintf(stderr, "cairn %s: %s\n", cmd, msg);
	fprintf(stderr, "Try 'cairn %s --help'.\n", cmd);
	return EXIT_USAGE;
}

enum { OPT_HELP = 1000, OPT_TARGET, OPT_NO_TARGETS, OPT_JSON, OPT_DEEP,
       OPT_MAX_AGE, OPT_DRY_RUN, OPT_ARCHIVE, OPT_FROM, OPT_TO, OPT_YES,
       OPT_TIME };

static const struct option cmd_opts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "no-targets", no_argument, NULL, OPT_NO_TARGETS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "deep", no_argument, NULL, OPT_DEEP },
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "archive", required_argument, NULL, OPT_ARCHIVE },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "yes", no_argument, NULL, OPT_YES },
	{ "time", required_argument, NULL, OPT_TIME },
	{ NULL, 0, NULL, 0 },
};

/* Which options each command takes. */
static bool allowed(const char *cmd, int opt)
{
	static const struct {
		const char *cmd;
		int opts[8];
	} table[] = {
		{ "backup", { OPT_TARGET, OPT_NO_TARGETS, OPT_TIME } },
		{ "restore", { OPT_ARCHIVE, OPT_FROM, OPT_TO, OPT_DRY_RUN,
			       OPT_YES } },
		{ "list", { OPT_TARGET, OPT_JSON } },
		{ "verify", { OPT_DEEP } },
		{ "status", { OPT_MAX_AGE, OPT_JSON } },
		{ "prune", { OPT_DRY_RUN } },
		{ "plugins", { 0 } },
	};

	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (!strcmp(cmd, table[i].cmd))
			for (int j = 0; j < 8 && table[i].opts[j]; j++)
				if (table[i].opts[j] == opt)
					return true;
	return false;
}

int main(int argc, char **argv)
{
	static const struct option gopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct config cfg;
	struct cairn_error err = { 0, "" };
	struct backup_opts bo = { 0 };
	struct restore_opts ro = { 0 };
	const char *conf = NULL, *cmd, *target = NULL, *which = NULL;
	bool json = false, deep = false, dry_run = false;
	long max_age = -1;
	int c, rc;

	umask(077);
	/* libarchive converts names through the locale's charset; any
	 * UTF-8 locale will do, names that are not UTF-8 pass as bytes. */
	if (!setlocale(LC_CTYPE, "") ||
	    strcmp(nl_langinfo(CODESET), "UTF-8"))
		setlocale(LC_CTYPE, "C.UTF-8");
	signal(SIGPIPE, SIG_IGN);
	signals_install();
	/* '+': stop at the command; its options are parsed below. */
	while ((c = getopt_long(argc, argv, "+c:qvh", gopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 'q':
			log_verbosity = 0;
			break;
		case 'v':
			log_verbosity = 2;
			break;
		case 'h':
			return usage(stdout, EXIT_OK);
		case 'V':
			printf("cairn %s (plugin ABI %d.%d)\n", PACKAGE_VERSION,
			       CAIRN_ABI_MAJOR, CAIRN_ABI_MINOR);
			return EXIT_OK;
		default:
			return usage(stderr, EXIT_USAGE);
		}
	}
	if (optind >= argc)
		return usage(stderr, EXIT_USAGE);
	cmd = argv[optind];
	if (!allowed(cmd, 0) && strcmp(cmd, "plugins")) {
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(cmd_help); i++)
			known |= !strcmp(cmd, cmd_help[i].name);
		if (!known) {
			fprintf(stderr, "cairn: unknown command '%s'\n", cmd);
			return usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: a full re-initialisation */
	while ((c = getopt_long(argc, argv, "", cmd_opts, NULL)) != -1) {
		if (c == OPT_HELP)
			return command_help(cmd);
		if (c == '?' || !allowed(cmd, c))
			return bad_usage(cmd, c == '?' ? "bad option"
					 : "option not valid here");
		switch (c) {
		case OPT_TARGET:
			bo.targets = xrealloc(bo.targets, (bo.ntargets + 1) *
							  sizeof(char *));
			bo.targets[bo.ntargets++] = optarg;
			target = optarg;
			break;
		case OPT_NO_TARGETS:
			bo.no_targets = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_DEEP:
			deep = true;
			break;
		case OPT_MAX_AGE:
			if (!parse_duration(optarg, &max_age))
				return bad_usage(cmd, "bad --max-age "
						 "(want e.g. 30s, 90m, 26h, 7d)");
			break;
		case OPT_DRY_RUN:
			dry_run = ro.dry_run = true;
			break;
		case OPT_ARCHIVE:
			ro.archive = optarg;
			break;
		case OPT_FROM:
			ro.from = optarg;
			break;
		case OPT_TO:
			ro.to = optarg;
			break;
		case OPT_YES:
			ro.yes = true;
			break;
		case OPT_TIME: {
			struct tm tm = { 0 };
			char *end = strptime(optarg, "%Y-%m-%d %H:%M:%S", &tm);

			if (!end || *end)
				return bad_usage(cmd, "bad --time (want "
						 "'YYYY-MM-DD HH:MM:SS')");
			bo.fake_time = timegm(&tm); /* UTC, as names are */
			break;
		}
		}
	}
	if (!strcmp(cmd, "restore")) {
		if (optind >= argc) {
			free(bo.targets);
			return bad_usage(cmd, "which mode? (e.g. db, full)");
		}
		ro.mode = argv[optind++];
	} else if (!strcmp(cmd, "verify") && optind < argc) {
		which = argv[optind++];
	}
	if (optind < argc) {
		free(bo.targets);
		return bad_usage(cmd, "unexpected argument");
	}
	if (bo.no_targets && bo.ntargets) {
		free(bo.targets);
		return bad_usage(cmd, "--target and --no-targets conflict");
	}

	if (!conf)
		conf = getenv("CAIRN_CONFIG");
	if (!conf)
		conf = SYSCONFDIR "/cairn/cairn.conf";
	if ((rc = config_load(conf, environ, &cfg, &err))) {
		fprintf(stderr, "cairn: %s\n", err.msg);
		config_free(&cfg);
		free(bo.targets);
		return rc_exit(rc);
	}
	if (!strcmp(cmd, "backup"))
		rc = cmd_backup(&cfg, &bo);
	else if (!strcmp(cmd, "restore"))
		rc = cmd_restore(&cfg, &ro);
	else if (!strcmp(cmd, "list"))
		rc = cmd_list(&cfg, target, json);
	else if (!strcmp(cmd, "verify"))
		rc = cmd_verify(&cfg, which, deep);
	else if (!strcmp(cmd, "status"))
		rc = cmd_status(&cfg, max_age, json);
	else if (!strcmp(cmd, "prune"))
		rc = cmd_prune(&cfg, dry_run);
	else
		rc = cmd_plugins(&cfg);
	config_free(&cfg);
	free(bo.targets);
	return rc;
}

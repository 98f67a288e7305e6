/* cairn: command line. */
#include "config.h"

#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
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
"           [--exact] [--dry-run] [--yes]      restore a mode's components\n"
"  list     [--target NAME] [--json]           archives, status, checks\n"
"  verify   [NAME|latest] [--deep]             check checksums\n"
"  status   [--max-age DURATION] [--json]      last run, targets, nets\n"
"  prune    [--dry-run]                        retention, old safety nets\n"
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
	  "                     [--to DIR] [--exact] [--dry-run] [--yes]\n"
	  "Restore the components of MODE ('full' is every component).\n"
	  "The archive's checksum is verified before anything is written;\n"
	  "replaced files are kept in a safety net that is printed.\n"
	  "  --archive NAME  an archive name or path (default: latest)\n"
	  "  --from TARGET   fetch the archive from a target first\n"
	  "  --to DIR        restore into an empty or new directory\n"
	  "  --exact         make files components identical to the archive\n"
	  "                  (what it lacks goes to the safety net); the\n"
	  "                  default merges, keeping files it lacks\n"
	  "  --dry-run       count what would be added, replaced, kept and\n"
	  "                  removed (-v: each path)\n"
	  "  --yes           do not ask (required without a terminal)\n" },
	{ "list", "usage: cairn list [--target NAME] [--json]\n"
	  "List archives in archive_dir (name, time, size, status, when it\n"
	  "last passed a check, where), or those a target holds. Status is\n"
	  "verified, incomplete (no sidecar) or CORRUPT (the last verify\n"
	  "failed).\n" },
	{ "verify", "usage: cairn verify [NAME|latest] [--deep]\n"
	  "Check an archive against its .sha256 sidecar; --deep also reads\n"
	  "every member against MANIFEST.sha256 and integrity-checks SQLite\n"
	  "members. The result is kept in state_dir/verify.json for list.\n" },
	{ "status", "usage: cairn status [--max-age DURATION] [--json]\n"
	  "Show the last run, each enabled target's last result and newest\n"
	  "copy, and the safety nets restores left. Exit 1 if the last run\n"
	  "or any target failed, none is recorded, or the last success or a\n"
	  "target's newest copy is older than DURATION (90m, 26h, 7d).\n" },
	{ "prune", "usage: cairn prune [--dry-run]\n"
	  "Apply retention (keep_last, keep_daily, ...) locally and on every\n"
	  "enabled target. The newest archive is always kept. Safety nets\n"
	  "older than safety_net_days (default 7) are removed.\n" },
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

/* One line naming the command and what was wrong with it. */
static int bad_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int bad_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cairn %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

/* The option getopt_long just refused (opterr is 0: we say it, once).
 * cmd is NULL for the options before the command. */
static int bad_option(const char *cmd, int c, char **argv,
		      const struct option *opts)
{
	const char *arg = argv[optind - 1], *pre = "unknown option ",
		   *post = "";
	char name[64];

	if (strncmp(arg, "--", 2)) {
		snprintf(name, sizeof(name), "-%c", optopt);
		arg = name; /* may sit in a cluster such as -qx */
	}
	for (size_t i = 0; optopt && opts[i].name; i++)
		if (opts[i].val == optopt && arg != name) {
			/* A known long option used wrongly. */
			snprintf(name, sizeof(name), "--%s", opts[i].name);
			arg = name;
			pre = "option ";
			post = c == ':' ? " needs an argument"
					: " takes no argument";
		}
	if (arg != name && !*post) {
		size_t n = 0, l = strcspn(arg + 2, "=");

		for (size_t i = 0; opts[i].name; i++)
			n += !strncmp(opts[i].name, arg + 2, l);
		if (n > 1)
			pre = "ambiguous option ";
	}
	if (c == ':' && !*post) {
		pre = "option ";
		post = " needs an argument";
	}
	if (cmd)
		return bad_usage(cmd, "%s'%s'%s", pre, arg, post);
	fprintf(stderr, "cairn: %s'%s'%s; see 'cairn --help'\n", pre, arg,
		post);
	return EXIT_USAGE;
}

enum { OPT_HELP = 1000, OPT_TARGET, OPT_NO_TARGETS, OPT_JSON, OPT_DEEP,
       OPT_MAX_AGE, OPT_DRY_RUN, OPT_ARCHIVE, OPT_FROM, OPT_TO, OPT_YES,
       OPT_TIME, OPT_EXACT };

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
	{ "exact", no_argument, NULL, OPT_EXACT },
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
			       OPT_YES, OPT_EXACT } },
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
	int c, li = 0, rc;

	umask(077);
	/* libarchive converts names through the locale's charset; any
	 * UTF-8 locale will do, names that are not UTF-8 pass as bytes. */
	if (!setlocale(LC_CTYPE, "") ||
	    strcmp(nl_langinfo(CODESET), "UTF-8"))
		setlocale(LC_CTYPE, "C.UTF-8");
	signal(SIGPIPE, SIG_IGN);
	signals_install();
	/* '+': stop at the command; its options are parsed below. ':' and
	 * opterr = 0: the one line about a bad option is ours. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:qvh", gopts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return bad_option(NULL, c, argv, gopts);
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
			printf("cairn %s (plugin ABI %d.%d)\n"
			       "config:  %s/cairn/cairn.conf (unless -c or "
			       "$CAIRN_CONFIG)\n"
			       "plugins: %s (unless $CAIRN_PLUGIN_DIR)\n",
			       PACKAGE_VERSION, CAIRN_ABI_MAJOR,
			       CAIRN_ABI_MINOR, SYSCONFDIR, PKGLIBDIR);
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
			fprintf(stderr, "cairn: unknown command '%s'; see "
				"'cairn --help'\n", cmd);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: a full re-initialisation */
	while ((c = getopt_long(argc, argv, ":", cmd_opts, &li)) != -1) {
		if (c == OPT_HELP)
			return command_help(cmd);
		if (c == '?' || c == ':') {
			free(bo.targets);
			return bad_option(cmd, c, argv, cmd_opts);
		}
		if (!allowed(cmd, c)) {
			free(bo.targets);
			return bad_usage(cmd, "option --%s is not valid here",
					 cmd_opts[li].name);
		}
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
			if (!parse_duration(optarg, &max_age)) {
				free(bo.targets);
				return bad_usage(cmd, "bad --max-age '%s' "
						 "(want e.g. 30s, 90m, 26h, "
						 "7d)", optarg);
			}
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
		case OPT_EXACT:
			ro.exact = true;
			break;
		case OPT_TIME: {
			struct tm tm = { 0 };
			char *end = strptime(optarg, "%Y-%m-%d %H:%M:%S", &tm);

			if (!end || *end) {
				free(bo.targets);
				return bad_usage(cmd, "bad --time '%s' (want "
						 "'YYYY-MM-DD HH:MM:SS')",
						 optarg);
			}
			bo.fake_time = timegm(&tm); /* UTC, as names are */
			break;
		}
		}
	}
	if (!strcmp(cmd, "restore")) {
		if (optind >= argc) {
			free(bo.targets);
			return bad_usage(cmd, "which mode? (e.g. db, full; "
					 "see 'cairn restore --help')");
		}
		ro.mode = argv[optind++];
	} else if (!strcmp(cmd, "verify") && optind < argc) {
		which = argv[optind++];
	}
	if (optind < argc) {
		free(bo.targets);
		return bad_usage(cmd, "unexpected argument '%s'",
				 argv[optind]);
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

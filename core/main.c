/* cairn: command line. */
#include "config.h"

#include <errno.h>
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
"  backup   [--target NAME]... [--no-targets] [--full] [--json]\n"
"                                              archive, verify, send to\n"
"                                              targets, prune\n"
"  restore  MODE|--path PATH... [--archive NAME|latest] [--from TARGET]\n"
"           [--to DIR] [--exact] [--identity FILE] [--dry-run] [--yes]\n"
"                                              restore a mode or paths\n"
"  list     [--target NAME] [--json]           archives, status, checks\n"
"  ls       [ARCHIVE|latest] [PATH...] [--json]\n"
"                                              members of an archive\n"
"  dump     [ARCHIVE|latest] PATH              one member to stdout\n"
"  diff     ARCHIVE ARCHIVE [--json]           added, removed, changed\n"
"  find     PATTERN [--target NAME] [--json]   archives holding paths\n"
"  verify   [NAME|latest] [--deep] [--json]    check checksums\n"
"  status   [--max-age DURATION] [--json]      last run, targets, nets\n"
"           [--max-drill-age DURATION] [--copies]\n"
"  drill    [MODE] [--target NAME] [--json]   test-restore, record proof\n"
"  prune    [--dry-run] [--accept-shrink] [--json]\n"
"                                              retention, old safety nets\n"
"  plugins  [--json]                           plugins and targets\n"
"  keygen   [-o FILE]                          an age identity; prints\n"
"                                              its recipient\n"
"  sync     --target NAME [--json]             send restore points the\n"
"                                              target lacks, its retention\n"
"  config   check [--json]                     effective config, origins\n"
"  usb-rule TARGET [--json]                    udev rule and unit: sync\n"
"                                              when the drive is plugged in\n"
"\n"
"  -c FILE   config file (default $CAIRN_CONFIG, else "
SYSCONFDIR "/cairn/cairn.conf)\n"
"  -q        errors only        -v  more detail\n"
"  --help    this text; `cairn COMMAND --help` for one command\n"
"  --version\n"
"\n"
"Exit: 0 ok, 1 failed, 2 usage or config, 3 locked, 4 a target failed.\n";

static int usage(FILE *f, int code)
{
	fputs(usage_text, f);
	return code;
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
       OPT_TIME, OPT_EXACT, OPT_PATH, OPT_FULL,
       OPT_MAX_DRILL_AGE, OPT_COPIES, OPT_ACCEPT_SHRINK, /* drills */
       OPT_ALL_HOSTS, OPT_OUTPUT /* keygen's -o */, OPT_IDENTITY };

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
	{ "path", required_argument, NULL, OPT_PATH },
	{ "full", no_argument, NULL, OPT_FULL },
	{ "max-drill-age", required_argument, NULL, OPT_MAX_DRILL_AGE },
	{ "copies", no_argument, NULL, OPT_COPIES },
	{ "accept-shrink", no_argument, NULL, OPT_ACCEPT_SHRINK },
	{ "all-hosts", no_argument, NULL, OPT_ALL_HOSTS },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ NULL, 0, NULL, 0 },
};

/* What the command line asked for, filled as options are read. */
struct args {
	struct backup_opts bo;
	struct restore_opts ro;
	const char *target;  /* the last --target */
	const char *operand; /* restore's MODE, verify's NAME */
	char **ops;          /* MANY_OPERANDS: all of them */
	int nops;
	bool json, deep, dry_run;
	long max_age;
	struct status_opts so; /* status: drills, copies */
	bool accept_shrink;
	bool all_hosts; /* list --all-hosts */
	const char *output; /* keygen -o */
};

static int run_backup(const struct config *cfg, struct args *a)
{
	a->bo.json = a->json;
	return cmd_backup(cfg, &a->bo);
}

/* Where a read goes: --target (--from), or an encrypted archive_dir,
 * which is read as an encrypted target is (cfg->self); NULL: locally. */
static const char *reads_from(const struct config *cfg, const char *target)
{
	return target ? target : cfg->self ? cfg->self->name : NULL;
}

/* restore MODE, or restore --path PATH [PATH...] */
static int run_restore(const struct config *cfg, struct args *a)
{
	if (a->json && !a->dry_run)
		return bad_usage("restore", "--json needs --dry-run (the plan "
				 "is what it prints)");
	a->ro.json = a->json;
	a->ro.from = reads_from(cfg, a->ro.from);
	if (!a->ro.npaths && a->nops != 1) {
		fprintf(stderr, "cairn restore: %s\n", a->nops ? "one mode "
			"at a time" : "which mode? (e.g. db, full; see "
			"'cairn restore --help')");
		return EXIT_USAGE;
	}
	for (int i = 0; a->ro.npaths && i < a->nops; i++) {
		a->ro.paths = xrealloc(a->ro.paths, (a->ro.npaths + 1) *
						    sizeof(char *));
		a->ro.paths[a->ro.npaths++] = a->ops[i];
	}
	a->ro.mode = a->ro.npaths ? "path" : a->ops[0];
	return cmd_restore(cfg, &a->ro);
}

static int run_ls(const struct config *cfg, struct args *a)
{
	return cmd_ls(cfg, a->ops, a->nops, reads_from(cfg, a->target),
		      a->json);
}

static int run_dump(const struct config *cfg, struct args *a)
{
	return cmd_dump(cfg, a->ops, a->nops, reads_from(cfg, a->target));
}

static int run_diff(const struct config *cfg, struct args *a)
{
	return cmd_diff(cfg, a->ops, a->nops, a->json);
}

static int run_find(const struct config *cfg, struct args *a)
{
	return cmd_find(cfg, a->ops, a->nops, reads_from(cfg, a->target),
			a->json);
}

static int run_list(const struct config *cfg, struct args *a)
{
	if (a->all_hosts && !a->target)
		return bad_usage("list", "--all-hosts needs --target");
	if (a->all_hosts)
		return list_target_hosts(cfg, a->target, a->json);
	return cmd_list(cfg, a->target, a->json);
}

static int run_verify(const struct config *cfg, struct args *a)
{
	if (a->bo.ntargets > 1)
		return bad_usage("verify", "one --target at a time");
	/* An encrypted archive_dir's sidecar is checked here, without
	 * the key; --deep reads it as a target, with it. */
	if (a->target || (cfg->self && a->deep))
		return cmd_verify_target(cfg, reads_from(cfg, a->target),
					 a->operand, a->deep, a->json);
	return cmd_verify(cfg, a->operand, a->deep, a->json);
}

static int run_status(const struct config *cfg, struct args *a)
{
	a->so.max_age = a->max_age;
	a->so.json = a->json;
	return cmd_status(cfg, &a->so);
}

static int run_drill(const struct config *cfg, struct args *a)
{
	struct drill_opts o = { a->operand ? a->operand : "full",
				reads_from(cfg, a->target) };

	return cmd_drill(cfg, &o, a->json);
}

static int run_prune(const struct config *cfg, struct args *a)
{
	struct cairn_error err = { 0, "" };
	int rc;

	if (a->accept_shrink && !a->dry_run &&
	    (rc = shrink_accept(cfg, &err))) {
		log_error("%s", err.msg);
		return rc_exit(rc);
	}
	return cmd_prune(cfg, a->dry_run, a->json);
}

static int run_plugins(const struct config *cfg, struct args *a)
{
	return cmd_plugins(cfg, a->json);
}

static int run_keygen(const struct config *cfg, struct args *a)
{
	(void)cfg;
	return cmd_keygen(a->output, a->json);
}

static int run_sync(const struct config *cfg, struct args *a)
{
	if (a->bo.ntargets > 1)
		return bad_usage("sync", "one --target at a time");
	return cmd_sync(cfg, a->target, a->json);
}

static int run_config(const struct config *cfg, struct args *a)
{
	if (strcmp(a->operand, "check"))
		return bad_usage("config", "unknown subcommand '%s' (want "
				 "check)", a->operand);
	return cmd_config_check(cfg, a->json);
}

static int run_usb_rule(const struct config *cfg, struct args *a)
{
	return cmd_usb_rule(cfg, a->operand, a->json);
}

enum operand { NO_OPERAND, OPTIONAL_OPERAND, REQUIRED_OPERAND,
	       MANY_OPERANDS };

/* Every command: its handler, the options it takes, its operand (and
 * what to say when a required one is missing), its --help. */
static const struct command {
	const char *name;
	int (*run)(const struct config *cfg, struct args *a);
	int opts[12];
	enum operand operand;
	const char *missing;
	const char *help;
} commands[] = {
	{ "backup", run_backup, { OPT_TARGET, OPT_NO_TARGETS, OPT_TIME,
				  OPT_FULL, OPT_JSON },
	  NO_OPERAND, NULL,
	  "usage: cairn backup [--target NAME]... [--no-targets] [--full]\n"
	  "                    [--json]\n"
	  "Archive every component, verify the archive from disk, send it\n"
	  "to the enabled targets (or only those named), then apply\n"
	  "retention locally and on each target.\n"
	  "  --target NAME  only this target (repeatable)\n"
	  "  --no-targets   local archive only\n"
	  "  --full         a full archive even when incremental = yes\n"
	  "  --json         progress, then a summary: a JSON object a line\n" },
	{ "restore", run_restore, { OPT_ARCHIVE, OPT_FROM, OPT_TO,
				    OPT_DRY_RUN, OPT_YES, OPT_EXACT,
				    OPT_PATH, OPT_IDENTITY, OPT_JSON },
	  MANY_OPERANDS, NULL,
	  "usage: cairn restore MODE|--path PATH... [--archive NAME|latest]\n"
	  "                     [--from TARGET] [--to DIR] [--exact]\n"
	  "                     [--identity FILE] [--dry-run] [--yes]\n"
	  "Restore the components of MODE ('full' is every component), or\n"
	  "the files, directories or globs named with --path.\n"
	  "The archive's checksum is verified before anything is written;\n"
	  "replaced files are kept in a safety net that is printed.\n"
	  "  --path PATH     a member, a directory or a glob (repeatable;\n"
	  "                  more PATHs may follow)\n"
	  "  --archive NAME  an archive name or path (default: latest)\n"
	  "  --from TARGET   fetch the archive from a target first\n"
	  "  --to DIR        restore into an empty or new directory\n"
	  "  --exact         make files components identical to the archive\n"
	  "                  (what it lacks goes to the safety net); the\n"
	  "                  default merges, keeping files it lacks\n"
	  "  --dry-run       count what would be added, replaced, kept and\n"
	  "                  removed (-v: each path)\n"
	  "  --json          with --dry-run: the plan as JSON\n"
	  "  --yes           do not ask (required without a terminal)\n" },
	{ "list", run_list, { OPT_TARGET, OPT_JSON, OPT_ALL_HOSTS },
	  NO_OPERAND, NULL,
	  "usage: cairn list [--target NAME [--all-hosts]] [--json]\n"
	  "List archives in archive_dir (name, time, size, status, when it\n"
	  "last passed a check, where), or those a target holds. Status is\n"
	  "verified, incomplete (no sidecar) or CORRUPT (the last verify\n"
	  "failed).\n" },
	{ "verify", run_verify, { OPT_DEEP, OPT_JSON, OPT_TARGET,
				  OPT_IDENTITY },
	  OPTIONAL_OPERAND, NULL,
	  "usage: cairn verify [NAME|latest] [--deep] [--target NAME]\n"
	  "                    [--identity FILE] [--json]\n"
	  "Check an archive against its .sha256 sidecar; --deep also reads\n"
	  "every member against MANIFEST.sha256 and integrity-checks SQLite\n"
	  "members. The result is kept in state_dir/verify.json for list.\n"
	  "--target: the target's copies (all, or NAME), checked there:\n"
	  "objects, sizes, checksums over a streamed get, Object Lock;\n"
	  "--deep fetches each and test-restores it (an encrypted copy\n"
	  "is decrypted as it arrives: --identity FILE).\n" },
	{ "status", run_status, { OPT_MAX_AGE, OPT_JSON, OPT_MAX_DRILL_AGE,
				  OPT_COPIES }, NO_OPERAND, NULL,
	  "usage: cairn status [--max-age DURATION] [--max-drill-age DURATION]\n"
	  "                    [--copies] [--json]\n"
	  "Show the last run, each enabled target's last result and newest\n"
	  "copy, and the safety nets restores left. Exit 1 if the last run\n"
	  "or any target failed, none is recorded, or the last success or a\n"
	  "target's newest copy is older than DURATION (90m, 26h, 7d).\n"
	  "  --max-drill-age DURATION  also if a drill failed, none is\n"
	  "                  recorded, or the last good one is older\n"
	  "  --copies        which targets hold the newest restore points\n"
	  "                  (asks each target); warns below min_copies or\n"
	  "                  without an offsite copy\n" },
	{ "drill", run_drill, { OPT_TARGET, OPT_IDENTITY, OPT_JSON },
	  OPTIONAL_OPERAND, NULL,
	  "usage: cairn drill [MODE] [--target NAME] [--identity FILE] "
	  "[--json]\n"
	  "Test-restore the latest archive (fetched from the target, when\n"
	  "named) into a private scratch dir: checksums, every member\n"
	  "against the manifest, SQLite integrity_check and row counts\n"
	  "against inventory.txt, command components' drill commands, then\n"
	  "the drill hook with CAIRN_DRILL_DIR. The scratch is removed; the\n"
	  "result is kept per target in state_dir/drills.json.\n" },
	{ "prune", run_prune, { OPT_DRY_RUN, OPT_ACCEPT_SHRINK, OPT_JSON }, NO_OPERAND,
	  NULL,
	  "usage: cairn prune [--dry-run] [--accept-shrink] [--json]\n"
	  "Apply retention (keep_last, keep_daily, ...) locally and on every\n"
	  "enabled target. The newest archive is always kept. Safety nets\n"
	  "older than safety_net_days (default 7) are removed.\n"
	  "  --accept-shrink  the drop a shrink alarm reported is wanted:\n"
	  "                   retention may prune the archives it held\n" },
	{ "ls", run_ls, { OPT_TARGET, OPT_IDENTITY, OPT_JSON }, MANY_OPERANDS,
	  NULL,
	  "usage: cairn ls [ARCHIVE|latest] [PATH...] [--target NAME]\n"
	  "                [--identity FILE] [--json]\n"
	  "List an archive's members (type, mode, owner, size, mtime,\n"
	  "path), or those under each PATH (a member, directory or glob).\n"
	  "Read from the archive's index, not the archive; with --target,\n"
	  "from a target's copy (an encrypted one needs --identity).\n" },
	{ "dump", run_dump, { OPT_TARGET, OPT_IDENTITY }, MANY_OPERANDS, NULL,
	  "usage: cairn dump [ARCHIVE|latest] PATH [--target NAME]\n"
	  "                  [--identity FILE]\n"
	  "Write one file member to stdout, read from its frame alone and\n"
	  "checked against its SHA-256; with --target, from a target's\n"
	  "copy (an encrypted one needs --identity).\n" },
	{ "diff", run_diff, { OPT_JSON, OPT_IDENTITY }, MANY_OPERANDS, NULL,
	  "usage: cairn diff ARCHIVE ARCHIVE [--identity FILE] [--json]\n"
	  "Paths the second archive adds (+), removes (-), changes (M,\n"
	  "content) or changes in mode or owner only (U), with sizes.\n"
	  "An encrypted archive_dir's indexes need --identity.\n" },
	{ "find", run_find, { OPT_TARGET, OPT_IDENTITY, OPT_JSON },
	  MANY_OPERANDS, NULL,
	  "usage: cairn find PATTERN [--target NAME] [--identity FILE] "
	  "[--json]\n"
	  "Which archives (local, or a target's) hold members matching\n"
	  "PATTERN: a path, a directory, or a glob on the path or the\n"
	  "base name. Only indexes are read (fetched from a target).\n" },
	{ "plugins", run_plugins, { OPT_JSON }, NO_OPERAND, NULL,
	  "usage: cairn plugins [--json]\n"
	  "List plugins found (name, version, ABI, path) and each configured\n"
	  "target with its plugin and check result.\n" },
	{ "keygen", run_keygen, { OPT_OUTPUT, OPT_JSON }, NO_OPERAND, NULL,
	  "usage: cairn keygen [-o FILE] [--json]\n"
	  "Make an age identity (X25519) in age-keygen's format. With -o it\n"
	  "goes to FILE (0600, never over an existing file) and the\n"
	  "recipient (age1...) is printed; without, the identity file is\n"
	  "printed. encrypt = age (on targets, or in [cairn]) takes the\n"
	  "recipient; restores take the file (--identity, identity_file).\n"
	  "  -o, --output FILE  write the identity to FILE\n" },
	{ "sync", run_sync, { OPT_TARGET, OPT_JSON }, NO_OPERAND, NULL,
	  "usage: cairn sync --target NAME [--json]\n"
	  "Send the target every restore point it lacks that its retention\n"
	  "keeps (oldest first, each with its sidecars), then apply its\n"
	  "retention: a drive that was away for a week catches up.\n" },
	{ "config", run_config, { OPT_JSON }, REQUIRED_OPERAND,
	  "which subcommand? (check)",
	  "usage: cairn config check [--json]\n"
	  "Load the config (exit 2 if it is bad), load every target's plugin\n"
	  "and check its keys and, for an enabled target, reach it (exit 1\n"
	  "if any fails); then print every effective setting with where it\n"
	  "came from: FILE:LINE, the environment variable, or the default.\n"
	  "Secrets show as ***.\n" },
	{ "usb-rule", run_usb_rule, { OPT_JSON }, REQUIRED_OPERAND,
	  "which target? (a usb target whose drive is mounted)",
	  "usage: cairn usb-rule TARGET [--json]\n"
	  "Print a udev rule and a drop-in for cairn-usb@TARGET.service that\n"
	  "run `cairn sync --target TARGET` when the drive now mounted at the\n"
	  "target's path (named by its file system UUID) is plugged in.\n"
	  "  --json  the UUID, mount and both files as JSON\n" },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

static bool allowed(const struct command *cmd, int opt)
{
	for (size_t j = 0; j < ARRAY_SIZE(cmd->opts) && cmd->opts[j]; j++)
		if (cmd->opts[j] == opt)
			return true;
	return false;
}

/* Options before the command: -1 to go on, else the exit status. */
static int global_options(int argc, char **argv, const char **conf)
{
	static const struct option gopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* '+': stop at the command; its options are parsed later. ':' and
	 * opterr = 0: the one line about a bad option is ours. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:qvh", gopts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return bad_option(NULL, c, argv, gopts);
		switch (c) {
		case 'c':
			*conf = optarg;
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
	return -1;
}

/* One of the command's options: -1 to go on, else the exit status. */
static int set_option(const struct command *cmd, int c, struct args *a)
{
	switch (c) {
	case OPT_TARGET:
		a->bo.targets = xrealloc(a->bo.targets, (a->bo.ntargets + 1) *
							sizeof(char *));
		a->bo.targets[a->bo.ntargets++] = optarg;
		a->target = optarg;
		break;
	case OPT_NO_TARGETS:
		a->bo.no_targets = true;
		break;
	case OPT_JSON:
		a->json = true;
		break;
	case OPT_DEEP:
		a->deep = true;
		break;
	case OPT_MAX_AGE:
		if (!parse_duration(optarg, &a->max_age))
			return bad_usage(cmd->name, "bad --max-age '%s' (want "
					 "e.g. 30s, 90m, 26h, 7d)", optarg);
		break;
	case OPT_DRY_RUN:
		a->dry_run = a->ro.dry_run = true;
		break;
	case OPT_ARCHIVE:
		a->ro.archive = optarg;
		break;
	case OPT_FROM:
		a->ro.from = optarg;
		break;
	case OPT_TO:
		a->ro.to = optarg;
		break;
	case OPT_YES:
		a->ro.yes = true;
		break;
	case OPT_EXACT:
		a->ro.exact = true;
		break;
	case OPT_PATH:
		a->ro.paths = xrealloc(a->ro.paths, (a->ro.npaths + 1) *
						    sizeof(char *));
		a->ro.paths[a->ro.npaths++] = optarg;
		break;
	case OPT_FULL:
		a->bo.full = true;
		break;
	case OPT_MAX_DRILL_AGE:
		if (!parse_duration(optarg, &a->so.max_drill_age))
			return bad_usage(cmd->name, "bad --max-drill-age '%s' "
					 "(want e.g. 8d)", optarg);
		break;
	case OPT_COPIES:
		a->so.copies = true;
		break;
	case OPT_ACCEPT_SHRINK:
		a->accept_shrink = true;
		break;
	case OPT_ALL_HOSTS:
		a->all_hosts = true;
		break;
	case OPT_OUTPUT:
		a->output = optarg;
		break;
	case OPT_IDENTITY: /* the age identity: CAIRN_IDENTITY, for now */
		if (setenv("CAIRN_IDENTITY", optarg, 1))
			return bad_usage(cmd->name, "--identity: %s",
					 strerror(errno));
		break;
	case OPT_TIME: {
		struct tm tm = { 0 };
		char *end = strptime(optarg, "%Y-%m-%d %H:%M:%S", &tm);

		if (!end || *end)
			return bad_usage(cmd->name, "bad --time '%s' (want "
					 "'YYYY-MM-DD HH:MM:SS')", optarg);
		a->bo.fake_time = timegm(&tm); /* UTC, as names are */
		break;
	}
	}
	return -1;
}

/* The command's options and operand: -1 to go on, else the status. */
static int command_args(const struct command *cmd, int argc, char **argv,
			struct args *a)
{
	int c, li = 0, rc;

	optind = 0; /* glibc: a full re-initialisation */
	while ((c = getopt_long(argc, argv, ":o:", cmd_opts, &li)) != -1) {
		if (c == 'o' && !allowed(cmd, OPT_OUTPUT))
			return bad_usage(cmd->name, "option -o is not valid "
					 "here");
		if (c == 'o')
			c = OPT_OUTPUT;
		if (c == OPT_HELP) {
			fputs(cmd->help, stdout);
			return EXIT_OK;
		}
		if (c == '?' || c == ':')
			return bad_option(cmd->name, c, argv, cmd_opts);
		if (!allowed(cmd, c))
			return bad_usage(cmd->name, "option --%s is not valid "
					 "here", cmd_opts[li].name);
		if ((rc = set_option(cmd, c, a)) >= 0)
			return rc;
	}
	if (cmd->operand == REQUIRED_OPERAND && optind >= argc)
		return bad_usage(cmd->name, "%s", cmd->missing);
	if (cmd->operand == MANY_OPERANDS) {
		a->ops = argv + optind;
		a->nops = argc - optind;
		optind = argc;
	}
	if (cmd->operand != NO_OPERAND && optind < argc)
		a->operand = argv[optind++];
	if (optind < argc)
		return bad_usage(cmd->name, "unexpected argument '%s'",
				 argv[optind]);
	if (a->bo.no_targets && a->bo.ntargets)
		return bad_usage(cmd->name, "--target and --no-targets "
				 "conflict");
	return -1;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	struct config cfg;
	struct cairn_error err = { 0, "" };
	struct args a = { .max_age = -1, .so.max_drill_age = -1 };
	const char *conf = NULL;
	int rc;

	umask(077);
	/* libarchive converts names through the locale's charset; any
	 * UTF-8 locale will do, names that are not UTF-8 pass as bytes. */
	if (!setlocale(LC_CTYPE, "") ||
	    strcmp(nl_langinfo(CODESET), "UTF-8"))
		setlocale(LC_CTYPE, "C.UTF-8");
	signal(SIGPIPE, SIG_IGN);
	signals_install();
	if ((rc = global_options(argc, argv, &conf)) >= 0)
		return rc;
	if (optind >= argc)
		return usage(stderr, EXIT_USAGE);
	if (!(cmd = find_command(argv[optind]))) {
		fprintf(stderr, "cairn: unknown command '%s'; see 'cairn "
			"--help'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if ((rc = command_args(cmd, argc - optind, argv + optind, &a)) >= 0)
		goto out;
	if (cmd->run == run_keygen) { /* needs no config */
		rc = cmd->run(NULL, &a);
		goto out;
	}
	if (!conf)
		conf = getenv("CAIRN_CONFIG");
	if (!conf)
		conf = SYSCONFDIR "/cairn/cairn.conf";
	if ((rc = config_load(conf, environ, &cfg, &err))) {
		fprintf(stderr, "cairn: %s\n", err.msg);
		rc = rc_exit(rc);
	} else {
		rc = cmd->run(&cfg, &a);
	}
	config_free(&cfg);
out:
	free(a.bo.targets);
	free(a.ro.paths);
	return rc;
}

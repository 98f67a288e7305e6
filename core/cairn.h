/* Internal interfaces between cairn's files. Each function is declared
 * under the heading of the file that defines it; which file may call
 * which is in tests/core-layering.sh. */
#ifndef CAIRN_CORE_H
#define CAIRN_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>

#include "cairn/plugin.h"
#include "util.h"

/* config.c: the INI file merged with CAIRN_* environment overrides. */
/* Longest config line, without its "\r\n"; Debian's inih defaults to
 * 200 bytes, hooks and dump commands are longer. */
#define CONFIG_MAX_LINE 16384
struct kv {
	char *key;
	char *val;
	char *where; /* "FILE:LINE" or the environment variable's name */
};
struct section {
	char *kind; /* "cairn", "component", "target", ... */
	char *name; /* "db" for [component db]; NULL for [cairn] */
	char *where;
	struct kv *kv;
	size_t nkv;
	const struct section *top; /* targets: [cairn], for "cairn.KEY" */
};
enum compression { COMP_ZSTD, COMP_GZIP, COMP_NONE };
enum comp_type { COMP_FILES, COMP_SQLITE, COMP_COMMAND };
struct policy {
	long last, daily, weekly, monthly, yearly;
};
struct component {
	char *name;
	enum comp_type type;
	struct strv paths;    /* files: one or more; sqlite: one */
	struct strv excludes; /* glob patterns (files) */
	bool required;
	/* Live files beside paths.v[0] that the component owns (a
	 * database's "-wal"): no other component archives or restores
	 * them. NULL-terminated suffixes, from the type's table. */
	const char *const *siblings;
	char *dump, *restore, *file; /* command */
	long timeout;
};
struct mode {
	char *name;
	struct strv comps;
};
struct target {
	char *name;
	char *plugin;
	bool enabled;
	struct policy keep;
	struct section *sec;
};
enum hook {
	HOOK_PRE_BACKUP,
	HOOK_POST_BACKUP,
	HOOK_ON_FAILURE,
	HOOK_PRE_RESTORE,
	HOOK_POST_RESTORE,
	HOOK_VERIFY_RESTORE,
	HOOK_N
};
extern const char *const hook_names[HOOK_N];
struct config {
	char *path;
	char *name, *source, *archive_dir, *state_dir, *metrics_file;
	enum compression compression;
	long level, threads;
	long safety_net_days; /* prune removes older safety nets */
	struct policy keep;
	struct component *comps;
	size_t ncomps;
	struct mode *modes;
	size_t nmodes;
	struct target *targets;
	size_t ntargets;
	char *hooks[HOOK_N];
	struct strv inv_names, inv_cmds;
	struct section *secs;
	size_t nsecs;
};
/* Load and validate; on error err->code is CAIRN_ECONFIG and err->msg
 * names FILE:LINE (or the variable) and the key. `env` is environ. */
int config_load(const char *path, char **env, struct config *cfg,
		struct cairn_error *err);
void config_free(struct config *cfg);
const struct component *config_component(const struct config *cfg,
					 const char *name);
const struct target *config_target(const struct config *cfg,
				   const char *name);
/* Keys whose values are never logged and need a private config file. */
bool config_key_is_secret(const char *key);
/* Is every key of target t one the core or the plugin reads? */
int config_check_target_keys(const struct target *t,
			     const char *const *plugin_keys,
			     struct cairn_error *e);
/* The name of a component type, as `type =` spells it. */
const char *config_type_name(enum comp_type t);
/* Value of a key in a section, or NULL; in a target, "cairn.KEY" is
 * KEY of [cairn]. */
const struct kv *section_get(const struct section *sec, const char *key);
/* Every effective key of every section, in the file's order: its value
 * and where it came from ("FILE:LINE", the variable, "default", or
 * "[cairn] FILE:LINE" for a target's inherited retention). */
void config_settings(const struct config *cfg,
		     void (*fn)(void *ctx, const char *section,
				const char *key, const char *value,
				const char *origin),
		     void *ctx);
/* The components of restore mode `mode` ('full': all), each once;
 * *comps is malloc'd. */
int restore_components(const struct config *cfg, const char *mode,
		       const struct component ***comps, size_t *n,
		       struct cairn_error *err);

/* log.c: stderr for the operator, backup.log for the record. */
extern int log_verbosity; /* 0 quiet, 1 normal, 2 verbose */
void log_open_file(const char *path);
void log_close_file(void);
void logmsg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_error(...) logmsg(CAIRN_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) logmsg(CAIRN_LOG_WARN, __VA_ARGS__)
#define log_info(...) logmsg(CAIRN_LOG_INFO, __VA_ARGS__)
#define log_debug(...) logmsg(CAIRN_LOG_DEBUG, __VA_ARGS__)
/* A progress bar on a TTY (bytes, %, MB/s, ETA); silent otherwise. */
struct progress {
	const char *what;
	uint64_t total, done;
	double start, last;
	bool on;
	double jlast; /* the last --json status line */
};
/* backup --json: progress as JSON status lines on stdout. */
extern bool progress_json;
void progress_begin(struct progress *p, const char *what, uint64_t total);
void progress_add(struct progress *p, uint64_t n);
void progress_end(struct progress *p);

/* signal.c: SIGTERM, SIGINT and SIGHUP ask the run to stop. */
void signals_install(void);
/* The signal that asked this run to stop, or 0. */
int stop_signal(void);
/* CAIRN_OK, or an error "interrupted by SIGTERM" once a stop was asked. */
int stop_check(struct cairn_error *err);
/* The process group a stop must reach too (0: none). */
void signals_child(pid_t pgid);
/* The stop is handled (its error recorded): later children, such as the
 * on_failure hook, may run; a further signal stops them too. */
void stop_clear(void);

/* exec.c: shell commands for hooks, inventory and dump components. */
struct exec_result {
	int status;   /* exit status, 128+signal, or -1 if it could not run */
	bool timed_out;
	char *output; /* captured stdout+stderr (or stderr only), malloc'd */
};
/* Run `sh -c cmd` with extra env ("K=V", NULL-terminated), capturing its
 * output (up to cap bytes kept, the tail), killing it after timeout
 * seconds (0: none). in_fd/out_fd, if >= 0, become its stdin/stdout, and
 * only stderr is captured. */
int exec_shell(const char *cmd, char *const *env, int timeout, int in_fd,
	       int out_fd, size_t cap, struct exec_result *res);
void exec_result_free(struct exec_result *res);
/* Run hook `name` if configured; non-zero status is an error. */
int run_hook(const struct config *cfg, enum hook h, char *const *env,
	     struct cairn_error *err);

/* lock.c: one flock per state_dir; never stale. */
struct lock {
	int fd;
	char *path;
};
int lock_acquire(const struct config *cfg, struct lock *lk,
		 struct cairn_error *err);
void lock_release(struct lock *lk);

/* catalog.c: archive names, NAME-backup-YYYY-MM-DD_HHMMSS.EXT. */
const char *compression_ext(enum compression c);
char *archive_name(const struct config *cfg, time_t t);
/* Parse an archive file name of this config; false if it is not one. */
bool archive_name_parse(const char *cfg_name, const char *file, time_t *t);

/* retention.c: restic's keep-last/daily/weekly/monthly/yearly. */
struct snap {
	const char *name;
	time_t time;
	bool keep;
};
/* Mark snaps[i].keep; snaps are sorted here newest first. The newest is
 * always kept. Returns the number kept. */
size_t retention_select(struct snap *snaps, size_t n,
			const struct policy *p);

/* snapshot.c: SQLite through its online backup API. */
struct db_check {
	bool ok;
	char *result;      /* integrity_check's first line ("ok") */
	struct strv rows;  /* "table=count" */
};
/* Consistent copy of the live database src into dest. */
int sqlite_snapshot(const char *src, const char *dest,
		    struct cairn_error *err);
/* PRAGMA integrity_check and row counts of a database file. */
int sqlite_check(const char *path, struct db_check *chk,
		 struct cairn_error *err);
void db_check_free(struct db_check *chk);
/* Does this file start with the SQLite header? */
bool is_sqlite_file(const char *path);

/* inventory.c: inventory.txt, what the archive holds and where from. */
struct comp_stats {
	uint64_t files, bytes;
	struct strv notes;  /* missing optional paths, skipped files */
	struct db_check db; /* sqlite components */
	double dump_seconds; /* command components */
	int dump_status;
};
struct inv_cmd {
	char *name;
	int status;
	bool timed_out;
	double seconds;
	char *output;
};
/* Run every [inventory] command.X (10 s each; failures recorded). */
void inventory_run_commands(const struct config *cfg, struct inv_cmd **out,
			    size_t *n);
void inventory_free_commands(struct inv_cmd *c, size_t n);
void inventory_format(const struct config *cfg, const char *archive,
		      time_t started, const struct comp_stats *stats,
		      const struct inv_cmd *cmds, size_t ncmds,
		      struct sbuf *out);

/* manifest.c: sha256sum-format lines "HEX  PATH". */
struct manifest_entry {
	char hex[65];
	char *path;
};
struct manifest {
	struct manifest_entry *e;
	size_t n, cap;
};
/* Parse text (sha256sum format, as written by cairn). -1 on a bad line,
 * with *bad_line set (1-based). */
int manifest_parse(const char *text, size_t len, struct manifest *m,
		   size_t *bad_line);
const struct manifest_entry *manifest_find(const struct manifest *m,
					   const char *path);
void manifest_add(struct manifest *m, const char *hex, const char *path);
void manifest_format(const struct manifest *m, struct sbuf *out);
void manifest_free(struct manifest *m);
/* Escape a member path the way sha256sum does (leading '\\'). */
void manifest_line(struct sbuf *out, const char *hex, const char *path);

/* archive.c: the tar stream, hashed as it is written. */
/* Another consumer of the compressed stream, fed as the local file is
 * written: a target's streaming put, or an encryption in front of one.
 * A tee that fails is dropped (its error kept in `rc`); it never costs
 * the local archive. */
struct aw_tee {
	int (*write)(void *ctx, const void *buf, size_t len);
	void *ctx;
	int rc;              /* CAIRN_OK until write() failed */
};

struct awriter {
	struct archive *a;
	int fd;
	void *sha;           /* EVP_MD_CTX of the compressed stream */
	void *msha;          /* EVP_MD_CTX reused per member */
	uint64_t out_bytes;  /* compressed bytes written */
	int werrno;          /* errno of a failed write, for the message */
	unsigned char *buf;
	struct manifest man;
	struct archive_entry_linkresolver *links;
	struct progress *prog;
	uid_t last_uid;
	gid_t last_gid;
	char *uname, *gname;
	struct aw_tee *tees; /* not owned; set after aw_open, before aw_add */
	int ntees;
};
int aw_open(struct awriter *w, int fd, const struct config *cfg,
	    struct cairn_error *err);
/* Add a file system object under member name `member`. `data_path`, when
 * not NULL, supplies a regular file's bytes instead of `path` (a SQLite
 * snapshot stored with the live file's metadata). Files that vanished
 * are skipped with *skipped set. */
int aw_add(struct awriter *w, const char *path, const char *data_path,
	   const char *member, const struct stat *st, bool *skipped,
	   struct cairn_error *err);
/* Add a generated regular file (inventory, manifest). */
int aw_add_buffer(struct awriter *w, const char *member, const char *data,
		  size_t len, bool in_manifest, struct cairn_error *err);
/* Reading: any compression libarchive knows, tar formats. */
int ar_open_read(const char *path, struct archive **a,
		 struct cairn_error *err);
/* Copy the current entry's data to fd (-1: discard), hashing it. */
int ar_copy_data(struct archive *a, int fd, const char *what,
		 char hex[65], uint64_t *bytes, struct cairn_error *err);
/* Finish the stream; hex is its SHA-256. */
int aw_close(struct awriter *w, char hex[65], struct cairn_error *err);
/* Release everything; safe after a failed open/close. */
void aw_free(struct awriter *w);

/* catalog.c: archives in archive_dir (and state). */
struct archive_info {
	char *name; /* file name */
	time_t time;
	uint64_t size;
	bool has_sidecar;
};
struct catalog {
	struct archive_info *a;
	size_t n;
};
/* Archives of this config in archive_dir, newest first. */
int catalog_scan(const struct config *cfg, struct catalog *cat,
		 struct cairn_error *err);
void catalog_free(struct catalog *cat);
/* NAME-backup-latest.EXT for compression c. */
char *latest_link_path(const struct config *cfg, enum compression c);
/* The archive the latest link names, if it is one of this config's with
 * its sidecar (a path), else NULL. */
char *catalog_latest(const struct config *cfg);
/* Resolve NAME|latest|NULL to an archive path in archive_dir: `latest`
 * is the latest link's archive, else the newest with a sidecar. */
int catalog_resolve(const struct config *cfg, const char *which,
		    char **path, struct cairn_error *err);
/* The sidecar names of an archive. */
char *sidecar_sha(const char *archive);
char *sidecar_manifest(const char *archive);
/* Load ARCHIVE.manifest, the manifest copy beside an archive. */
int manifest_load(const char *archive, struct manifest *m,
		  struct cairn_error *err);
/* Check every line of ARCHIVE.sha256 (archive and manifest copy). */
int verify_sidecar(const char *archive_path, struct cairn_error *err);

/* leftovers.c: what killed runs left in archive_dir. A live run holds
 * an flock on every temporary thing it makes there. */
/* Create path (O_EXCL, 0600) and hold an flock on it while *fd is open. */
int held_create(const char *path, int *fd, struct cairn_error *err);
/* A staging dir ARCHIVE_DIR/.cairn-staging.NAME.XXXXXX, held likewise. */
int held_staging(const struct config *cfg, char **dir, int *fd,
		 struct cairn_error *err);
/* Remove every leftover of this config that no live run holds: partial
 * archives and sidecars, orphaned sidecars, staging dirs. Call it while
 * holding the config's lock. Problems are logged; CAIRN_OK unless
 * archive_dir cannot be read. */
int leftovers_clean(const struct config *cfg);

/* state.c: last_backup.json, metrics. */
struct target_result {
	char *name;
	int rc;
	char error[512];
	uint64_t bytes;
	double seconds;
	bool skipped;
};
struct run_state {
	bool success;
	char *archive; /* path */
	uint64_t bytes;
	char sha256[65];
	time_t started, finished;
	double seconds;
	char error[512];
	struct target_result *targets;
	size_t ntargets;
};
int state_write(const struct config *cfg, const struct run_state *st,
		struct cairn_error *err);
int metrics_write(const struct config *cfg, const struct run_state *st,
		  size_t archives, struct cairn_error *err);
/* Small JSON state files in state_dir (json-c objects). */
struct json_object;
/* The object in path; NULL if it is missing, broken or not an object. */
struct json_object *json_read_state(const char *path);
/* Write it atomically, 0600. */
int json_write_state(const char *path, struct json_object *j,
		     struct cairn_error *err);
/* o[key] if it is a string, else NULL. */
const char *json_str(struct json_object *o, const char *key);
/* "2026-02-11T03:15:00Z" -> time; 0 if malformed. */
time_t utc_parse(const char *s);
/* The reverse, as a JSON string; NULL for 0. */
struct json_object *json_time(time_t t);
/* last_backup.json; NULL if there is none or it is broken. */
struct json_object *state_read(const struct config *cfg);
/* targets.json: each target's last result, merged across runs. */
struct json_object *targets_load(const struct config *cfg);

/* prune.c: local retention and old safety nets. */
/* Apply retention to archive_dir's verified archives (those with a
 * sidecar); `protect` (this run's archive, or NULL) and the latest
 * link's archive are always kept; *dropped (if not NULL) gets the
 * names it removes. */
int prune_local(const struct config *cfg, bool dry_run,
		const char *protect, struct strv *dropped,
		struct cairn_error *err);
/* Remove safety nets older than safety_net_days; *gone gets their
 * paths. */
int prune_nets(const struct config *cfg, bool dry_run, struct strv *gone);

/* backup.c: make, verify and publish a backup's archive. */
struct backup_opts {
	const char **targets;
	size_t ntargets;
	bool no_targets;
	time_t fake_time; /* --time, for tests of retention; 0 = now */
	bool json;        /* status lines, then a summary, on stdout */
};
/* On success st->archive, bytes and sha256 describe the archive, made
 * at st->started (a later second if that name is taken). */
int backup_archive(const struct config *cfg, struct run_state *st,
		   struct cairn_error *err);

/* plugin.c: find, check and load target plugins. */
struct plugin {
	char *path;
	void *dl;
	const struct cairn_target_ops *ops;
};
const char *plugin_dir(void);
/* Load plugin `name` from the plugin dir, with every ABI check. */
int plugin_load(const char *name, struct plugin *pl, struct cairn_error *err);
int plugin_load_path(const char *path, struct plugin *pl,
		     struct cairn_error *err);
void plugin_unload(struct plugin *pl);
/* `cairn plugins` (moves out with the plugin ABI rework). */
int cmd_plugins(const struct config *cfg, bool json);

/* dispatch.c: targets. An open target, retries owned here. */
struct target_conn {
	const struct target *t;
	struct plugin pl;
	struct cairn_target_config tc;
	void *h;
};
int target_open(const struct config *cfg, const struct target *t,
		struct target_conn *tc, struct cairn_error *err);
void target_close(struct target_conn *tc);
/* Fetch archive `name` (or the newest if NULL/"latest") and sidecars
 * from a target into dir; *path is the local archive. */
int target_fetch(const struct config *cfg, const char *target,
		 const char *name, const char *dir, char **path,
		 struct cairn_error *err);
/* Send the new archive to each selected target, recording results. */
void dispatch_all(const struct config *cfg, const struct backup_opts *o,
		  struct run_state *st);
/* Retention on each target that took the archive. */
void dispatch_prune(const struct config *cfg, const struct backup_opts *o,
		    struct run_state *st);
int prune_targets(const struct config *cfg, bool dry_run);
int list_target(const struct config *cfg, const char *target, bool json);
/* sync: the complete archives (with their .sha256) target t holds; send
 * one local archive and its sidecars (retrying); its retention, never
 * removing `protect`. */
int target_complete(const struct config *cfg, const struct target *t,
		    struct strv *names, struct cairn_error *err);
int target_send(const struct config *cfg, const struct target *t,
		const char *archive, struct target_result *r);
int target_prune(const struct config *cfg, const struct target *t,
		 const char *protect, struct cairn_error *err);

/* stage.c: an archive's members extracted into a private dir and
 * checked (manifest, links, SQLite), for restore and verify --deep. */
struct staged_entry {
	char *path;    /* member name: relative, no "./" or trailing '/' */
	mode_t mode;   /* type and permission bits */
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
};
struct stage {
	const char *archive;
	const struct manifest *man;        /* the verified manifest copy */
	const struct component *const *comps;
	size_t ncomps;
	const char *dir;    /* extract here; NULL: read the headers only */
	bool every_member;  /* verify --deep: hash all, inner manifest too */
	struct staged_entry *e;       /* members of comps, archive order */
	size_t n, ecap;
	struct staged_entry *parents; /* dirs above component paths, "." */
	size_t nparents;
	bool *seen;         /* per component: the archive holds a member */
	bool inner_manifest; /* MANIFEST.sha256 was read and matched */
	uint64_t bytes;
	size_t files, dbs;  /* regular members hashed, databases checked */
	const struct manifest_entry **mx; /* man, sorted: found by bsearch */
};
int stage_run(struct stage *s, struct cairn_error *err);
void stage_free(struct stage *s);

/* journal.c: the restore journal, rollback, safety nets, leftovers. */
enum swap_kind { SWAP_MOVE, SWAP_MKDIR, SWAP_ATTR };
struct swap {
	char *rel;
	enum swap_kind kind;
	bool had_live; /* MOVE: live/rel existed (it goes to the net) */
	bool staged;   /* MOVE: staging/rel is placed */
	mode_t mode;   /* ATTR: the directory's metadata before */
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
};
struct journal {
	char *live, *staging, *net;
	struct swap *sw;
	size_t n;
};
char *journal_path(const struct config *cfg);
/* root/rel, or root itself for "." */
char *live_path(const char *root, const char *rel);
int journal_write(const struct config *cfg, const struct journal *j,
		  struct cairn_error *err);
bool journal_pending(const struct config *cfg);
/* Remove the journal: nothing is left to roll back. */
void journal_done(const struct config *cfg);
/* Undo the swap as far as it went; 0, or -1 if anything is left. */
int journal_rollback(const struct journal *j);
void apply_meta(const char *path, mode_t mode, uid_t uid, gid_t gid,
		const struct timespec *mtime);
void prune_empty(const char *path);
/* Roll back a restore a killed run left half-done, then remove the
 * staging, fetch and verify dirs of dead runs. Called under lock. */
int restore_recover(const struct config *cfg, struct cairn_error *err);
void restore_leftovers(const struct config *cfg);
/* A flock on a scratch dir while a run uses it (-1: held elsewhere). */
int scratch_lock(const char *dir);
/* Safety nets beside the source, oldest first. */
struct safety_net {
	char *path;
	time_t time;    /* the directory's mtime: when the restore ran */
	uint64_t bytes;
	bool in_use;    /* a pending restore.journal needs it */
};
struct safety_nets {
	struct safety_net *v;
	size_t n;
	uint64_t bytes;
	char *dirs[2];  /* where they are looked for */
};
void safety_nets_scan(const struct config *cfg, struct safety_nets *sn);
void safety_nets_free(struct safety_nets *sn);

/* plan.c: what a backup archives, what a restore swaps. */
/* One thing to archive: a path under source and its lstat. */
struct item {
	char *rel;  /* member name, relative to source */
	char *data; /* snapshot/dump file that supplies the bytes, or NULL */
	struct stat st;
};
/* A component's members, as its type's plan op adds them. */
struct comp_plan {
	const struct config *cfg;
	const struct component *c;
	const char *staging;  /* private dir for snapshots and dumps */
	const dev_t *skip_dev; /* our own dirs, never archived */
	const ino_t *skip_ino;
	size_t nskip;
	struct item *items;
	size_t n;
	uint64_t bytes;
	struct comp_stats *stats;
};
void plan_add(struct comp_plan *p, const char *rel, const char *data,
	      const struct stat *st);
void plan_free(struct comp_plan *p);
/* The archive's tree of the mode's members. */
struct node {
	const char *name; /* into an entry's path; not NUL-terminated */
	size_t nlen;
	const struct staged_entry *e; /* NULL: implied by a deeper member */
	struct node *kids;
	size_t nkids, cap;
};
int tree_build(struct node *root, const struct staged_entry *e, size_t n,
	       struct cairn_error *err);
void tree_free(struct node *n);
/* A directory, or implied by a deeper member. */
bool node_is_dir(const struct node *n);
const struct node *tree_kid(const struct node *n, const char *name,
			    size_t len);
const struct node *tree_find(const struct node *n, const char *rel);
char *tree_kid_path(const char *rel, const struct node *k);
/* Metadata to set once every rename is done (renames change mtimes). */
struct fix {
	char *rel;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
	bool has_time;
};
enum { N_ADD, N_REPLACE, N_KEEP, N_REMOVE, N_COUNTS };
/* A restore's plan: the journal's operations in the order the swap
 * does them, the metadata to set after, what the operator is shown. */
struct rplan {
	const struct config *cfg;
	const struct restore_opts *o;
	char *live;     /* where files go: source, or --to */
	char *staging;  /* same file system as live */
	char *net_base; /* beside live (or inside, on a mount point) */
	const struct staged_entry *parents; /* dirs above component paths */
	size_t nparents;
	struct node root;
	struct journal j;
	size_t cap;     /* of j.sw */
	struct fix *fix;
	size_t nfix;
	struct strv planned; /* component paths, each planned once */
	size_t cnt[N_COUNTS];
	struct sbuf summary, detail;
	struct strv kept;
	/* --dry-run --json: per component path, and each path's action */
	struct json_object *jcounts, *jpaths;
};
/* A line of --dry-run -v output. */
void rplan_note(struct rplan *r, const char *what, const char *rel);
struct swap *rplan_op(struct rplan *r, enum swap_kind kind,
		      const char *rel);
void rplan_move(struct rplan *r, const char *rel, bool had_live,
		bool staged);
void rplan_fix(struct rplan *r, const char *rel, mode_t mode, uid_t uid,
	       gid_t gid, const struct timespec *mtime);
/* The live directories above a component path that do not exist. */
void rplan_parents(struct rplan *r, const char *rel);
/* Is rel (a component path) planned already? Else it is now. */
bool rplan_overlaps(struct rplan *r, const char *rel);
/* The summary line of one component path, counted since `before`. */
void rplan_count(struct rplan *r, const struct component *c,
		 const char *rel, const size_t *before);
void rplan_free(struct rplan *r);

/* Component types: one file each, one table of operations. */
struct comp_ops {
	/* Archived before the files components and replaced whole: a
	 * DB-only restore reads a few megabytes and stops. */
	bool whole;
	/* Backup: add the members to p (snapshots, dumps in p->staging). */
	int (*plan)(struct comp_plan *p, struct cairn_error *err);
	/* Restore: plan the swap of the staged members into r->live. */
	int (*restore_plan)(struct rplan *r, const struct component *c,
			    struct cairn_error *err);
	/* Restore into source, after the swap (NULL: nothing to do). */
	int (*restore_run)(const struct component *c, const char *staging,
			   struct cairn_error *err);
	/* Check the staged copy in dir before it goes live; *checked
	 * counts databases (NULL: nothing to check). */
	int (*check_staged)(const struct component *c, const char *dir,
			    bool every_member, size_t *checked,
			    struct cairn_error *err);
	/* inventory.txt lines beyond files and bytes (NULL: none). */
	void (*inventory)(const struct component *c,
			  const struct comp_stats *s, struct sbuf *b);
};

/* comp_files.c: type = files, directory trees under source. */
extern const struct comp_ops comp_files_ops;

/* comp_sqlite.c: type = sqlite, a database from an online backup. */
extern const struct comp_ops comp_sqlite_ops;

/* comp_command.c: type = command, a dump/restore command pair. */
extern const struct comp_ops comp_command_ops;

/* comp.c: the operations of a component's type. */
const struct comp_ops *comp_ops(enum comp_type t);


/* verify.c: checking archives already made. */
/* Test-restore every component into a private scratch dir: members
 * against the manifest, hostile paths and links, SQLite checks. */
int verify_deep(const struct config *cfg, const char *path,
		const struct manifest *man, size_t *members, size_t *dbs,
		struct cairn_error *err);
/* state_dir/verify.json: the last check of each archive. */
struct json_object *verify_state_read(const struct config *cfg);
/* The record of archive `name` in o, or NULL if none or stale. */
struct json_object *verify_entry(struct json_object *o,
				 const struct config *cfg, const char *name);
/* Record the verdict rc on archive path (only archive_dir's). */
void verify_record(const struct config *cfg, const char *path, int rc,
		   bool deep, const char *msg);

/* restore.c: stage, check, plan and swap a verified archive. */
struct restore_opts {
	const char *mode;
	const char *archive;
	const char *from;
	const char *to;
	bool dry_run;
	bool yes;
	bool exact; /* files components identical, not merged */
	bool json;  /* --dry-run: the plan as JSON */
};
/* Restore comps (compacted in place to those the archive holds) from
 * archive, whose sidecar is verified; *touched: live data may have been
 * changed (and was rolled back if rc is not CAIRN_OK). */
int restore_archive(const struct config *cfg, const struct restore_opts *o,
		    const struct component **comps, size_t ncomps,
		    const char *archive, bool *touched,
		    struct cairn_error *err);

/* cmd_backup.c: `cairn backup`. */
int cmd_backup(const struct config *cfg, const struct backup_opts *o);

/* cmd_restore.c: `cairn restore`. */
int cmd_restore(const struct config *cfg, const struct restore_opts *o);

/* cmd_verify.c: `cairn verify`. */
int cmd_verify(const struct config *cfg, const char *which, bool deep,
	       bool json);

/* cmd_list.c: `cairn list`. */
int cmd_list(const struct config *cfg, const char *target, bool json);

/* cmd_status.c: `cairn status`. */
int cmd_status(const struct config *cfg, long max_age, bool json);

/* cmd_prune.c: `cairn prune`. */
int cmd_prune(const struct config *cfg, bool dry_run, bool json);

/* jsonout.c: --json documents. */
/* A new document: {"schema": 1}. */
struct json_object *json_doc(void);
/* Print o to stdout (pretty, or on one line) and release it. */
void json_emit(struct json_object *o, bool line);
struct json_object *json_str_or_null(const char *s);

/* cmd_config.c: `cairn config check`. */
int cmd_config_check(const struct config *cfg, bool json);

/* cmd_sync.c: `cairn sync --target NAME`. */
int cmd_sync(const struct config *cfg, const char *target, bool json);

/* cmd_usb_rule.c: `cairn usb-rule`. */
int cmd_usb_rule(const struct config *cfg, const char *target, bool json);

#endif

/* Internal interfaces between cairn's files. Each function is declared
 * under the heading of the file that defines it; which file may call
 * which is in tests/core-layering.sh. */
#ifndef CAIRN_CORE_H
#define CAIRN_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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
	bool loose;  /* from a file group or others can read */
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
/* [cairn] full_every: a duration, or a count of backups (count > 0). */
struct full_every {
	long secs, count;
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
	char *drill;        /* command: restore into a throwaway (drill) */
	long shrink_alarm;  /* percent; -1: [cairn]'s */
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
	bool offsite;       /* counts as the off-site copy (status) */
	struct section *sec;
	struct crypt *crypt; /* encrypt = age and its keys (crypt.c) */
};
/* [notify NAME]: where word of a run goes (notify.c). */
struct notify_def {
	char *name;
	char *type;          /* healthchecks, webhook: the plugin's */
	char *plugin;        /* default "notify" */
	struct strv events;  /* start success failure suspicious */
	struct section *sec;
};
enum hook {
	HOOK_PRE_BACKUP,
	HOOK_POST_BACKUP,
	HOOK_ON_FAILURE,
	HOOK_PRE_RESTORE,
	HOOK_POST_RESTORE,
	HOOK_VERIFY_RESTORE,
	HOOK_DRILL,
	HOOK_N
};
extern const char *const hook_names[HOOK_N];
struct config {
	char *path;
	char *name, *source, *archive_dir, *state_dir, *metrics_file;
	enum compression compression;
	long level, threads;
	long frame_size;      /* seekable archives: bytes per frame */
	long safety_net_days; /* prune removes older safety nets */
	struct policy keep;
	bool incremental;  /* nights hold what changed (incr.c) */
	struct full_every full_every;
	struct component *comps;
	size_t ncomps;
	struct mode *modes;
	size_t nmodes;
	struct target *targets;
	size_t ntargets;
	char *hooks[HOOK_N];
	struct strv inv_names, inv_cmds;
	long shrink_alarm;  /* percent a count may drop (100: off) */
	long min_copies;    /* places the newest restore point should be */
	struct notify_def *notifies;
	size_t nnotifies;
	struct section *secs;
	size_t nsecs;
	struct crypt *crypt; /* [cairn]'s encrypt = age (crypt.c) */
	/* with it: archive_dir read as an encrypted target (NULL else) */
	struct target *self;
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
/* The same for reads, which also know cfg->self, the encrypted
 * archive_dir, by its name or by NULL. */
const struct target *config_read_target(const struct config *cfg,
					const char *name);
/* Keys whose values are never logged and need a private config file:
 * the core's own, and a plugin's SECRET ones (specs may be NULL). */
bool config_key_is_secret(const struct cairn_key_spec *specs,
			  const char *key);
bool config_is_core_target_key(const char *key);
const struct cairn_key_spec *config_spec_find(
	const struct cairn_key_spec *specs, const char *key);
/* Parse text as a value of type (enum cairn_key_type): *num for BOOL,
 * INT, SIZE, DURATION; *str (malloc'd) the text, a PATH expanded. */
int config_parse_typed(uint32_t type, const char *text, int64_t *num,
		       char **str);
/* A target's keys checked against the core's and the plugin's specs
 * (unknown keys, types, ranges, REQUIRED, SECRET in a loose file) and
 * resolved with defaults. */
struct tkey {
	const struct cairn_key_spec *spec;
	char *text;
	int64_t num;
	const char *where;
};
struct target_keys {
	const struct target *t;
	const struct cairn_key_spec *specs;
	struct tkey *v;
	size_t n;
};
int config_check_target_keys(const struct target *t,
			     const struct cairn_key_spec *specs,
			     struct target_keys *tk, struct cairn_error *e);
void config_target_keys_free(struct target_keys *tk);
/* The resolved key (core keys retries, retry_delay, bwlimit too). */
const struct tkey *config_tkey(const struct target_keys *tk,
			       const char *key);
/* The ABI accessor over tk, valid while tk is. */
void config_target_api(struct target_keys *tk,
		       struct cairn_target_config *c);
/* The name of a component type, as `type =` spells it. */
const char *config_type_name(enum comp_type t);
/* Value of a key in a section, or NULL; in a target, "cairn.KEY" is
 * KEY of [cairn]. */
const struct kv *section_get(const struct section *sec, const char *key);
/* Set a key of target t for this run, as the command line would (e.g.
 * s3's all_hosts for `list --all-hosts`); where names the source. */
void config_target_set(const struct target *t, const char *key,
		       const char *val, const char *where);
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

/* catalog.c: archive names, NAME-backup-YYYY-MM-DD_HHMMSS[.incr].EXT. */
#define INCR_EXT ".incr"
const char *compression_ext(enum compression c);
/* A full archive's name. */
char *archive_name(const struct config *cfg, time_t t);
/* A full's or (incr) an incremental's name. */
char *archive_name_kind(const struct config *cfg, time_t t, bool incr);
/* Is this (an archive name of any config) an incremental's? */
bool archive_name_is_incr(const char *file);
/* Parse an archive file name of this config; false if it is not one. */
bool archive_name_parse(const char *cfg_name, const char *file, time_t *t);

/* retention.c: restic's keep-last/daily/weekly/monthly/yearly over
 * restore points, and the chains of archives they need. */
struct snap {
	const char *name;
	time_t time;
	bool keep;    /* out: a restore point the policy keeps */
	/* Inputs for chains (zero: a full, nothing else known). */
	bool incr;    /* an incremental: needs the archives before it */
	bool held;    /* kept whatever the policy (this run's archive, the
		       * latest link's; a drill's proof may add more) */
	bool corrupt; /* the last verify failed */
	const struct strv *needs; /* the archives its INDEX names, or NULL */
	/* Out of retention_chains. */
	bool needed;  /* kept, held, or needed by one that is */
	const char *needed_by; /* the newer archive that needs it */
};
/* Mark snaps[i].keep; snaps are sorted here newest first. The newest is
 * always kept. Returns the number kept. */
size_t retention_select(struct snap *snaps, size_t n,
			const struct policy *p);
/* retention_select, then mark `needed` what the kept and held restore
 * points need (an archive not needed may go). Returns how many are. */
size_t retention_chains(struct snap *snaps, size_t n,
			const struct policy *p);
/* A timer this early still starts the next chain on time. */
#define FULL_EVERY_SLACK 600
/* Must the archive made at `now` be a full, given the verified archives
 * s (any order)? *why says why it must. */
bool chain_want_full(const struct snap *s, size_t n, time_t now,
		     const struct full_every *fe, const char **why);
/* The chains of s (newest first, after retention_chains), oldest first:
 * each archive kept or removed and why, for `prune --dry-run`. */
void retention_describe(const struct snap *s, size_t n, struct sbuf *out);
/* The same, and rules[i] (may be NULL) gets bit r set for each rule r
 * (last, daily, weekly, monthly, yearly) that keeps snaps[i]. */
size_t retention_select_tiers(struct snap *snaps, size_t n,
			      const struct policy *p, unsigned *rules);
/* Until when a kept snap must stay locked, given the rules that keep it
 * and each rule's lock period in seconds (lock_last, lock_daily, ...,
 * lock_yearly): a tier counts once its period is over at `now`, before
 * that the snap counts as a last; 0: no lock (pruned, or no period). */
time_t retention_lock_until(const struct snap *s, unsigned rules,
			    const long lock[5], time_t now);

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

/* index.c: the seekable archive's index (ARCHIVE.index and the member
 * INDEX), its format documented at the top of index.c and in cairn(5). */
struct index_rec {
	char type;           /* 'f' file, 'd' dir, 'l' symlink, 'h' hard link */
	char *path;          /* member name */
	uint64_t size;       /* data bytes in the archive (0: dir, links) */
	mode_t mode;         /* permission bits */
	uid_t uid;
	gid_t gid;
	char *uname, *gname; /* "" if none */
	int64_t mtime_ns, ctime_ns;
	uint64_t ino, dev;
	char sha256[65];     /* data hash (f, h); "" otherwise */
	char *link;          /* symlink target, hard link's first name */
	uint64_t hdr_off;    /* first header block, uncompressed stream */
	uint64_t data_off;   /* first data byte, uncompressed stream */
	uint64_t frame_off;  /* the member's frame in the archive file */
	uint64_t frame_len;  /* its compressed length */
	uint64_t frame_uoff; /* where it starts in the uncompressed stream */
	char *archive;       /* archive holding the bytes; "": this one */
};
/* ARCHIVE.index */
char *index_sidecar(const char *archive);
/* Text fields: \\ \t \n \r and \xHH for other control bytes. */
void index_escape(struct sbuf *b, const char *s);
bool index_unescape(char *s);
void index_header(struct sbuf *b, const char *compression,
		  uint64_t frame_size);
void index_format(struct sbuf *b, const struct index_rec *r);
void index_trailer(struct sbuf *b, uint64_t records);
/* Writing: records go to f as they come. */
struct index_writer {
	FILE *f;
	uint64_t n;
	bool failed;
	struct sbuf line;
};
void index_writer_open(struct index_writer *w, FILE *f,
		       const char *compression, uint64_t frame_size);
void index_writer_add(struct index_writer *w, const struct index_rec *r);
/* The end line, flushed; an error names `what`. */
int index_writer_close(struct index_writer *w, const char *what,
		       struct cairn_error *err);
/* Reading, one record at a time (constant memory). */
struct index_reader {
	FILE *f;
	bool own;            /* index_open opened f */
	char *what;          /* for messages */
	char *line;
	size_t cap, lineno;
	uint64_t n;          /* records read */
	bool ended, failed;
	char compression[16];
	uint64_t frame_size;
	struct index_rec rec; /* the current record; fields into line */
};
int index_open(struct index_reader *r, const char *path,
	       struct cairn_error *err);
/* Read from f (not closed by index_close). */
int index_open_fp(struct index_reader *r, FILE *f, const char *what,
		  struct cairn_error *err);
/* 1 and *rec (valid until the next call), 0 at a verified end, or
 * -CAIRN_EINTEGRITY on a bad, truncated or unreadable index. */
int index_next(struct index_reader *r, const struct index_rec **rec,
	       struct cairn_error *err);
void index_close(struct index_reader *r);
void index_rec_copy(struct index_rec *dst, const struct index_rec *src);
void index_rec_free(struct index_rec *r);
/* The record of `member` in an index file: CAIRN_OK, CAIRN_ENOTFOUND
 * (err names the path and suggests cairn ls) or an integrity error. */
int index_find(const char *index_path, const char *member,
	       struct index_rec *out, struct cairn_error *err);
/* Is path selected by an operator's path, directory or glob? */
bool index_match(const char *pattern, const char *path);
/* "file", "dir", "symlink", "hardlink" */
const char *index_type_name(char type);

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
	void *sha;           /* EVP_MD_CTX of the stream (not sealed) */
	void *msha;          /* EVP_MD_CTX reused per member */
	uint64_t out_bytes;  /* compressed bytes written */
	uint64_t disk_bytes; /* bytes on disk: out_bytes, or their age */
	struct crypt_put *cp; /* sealed (aw_seal): encrypted to seal */
	const struct age_recipients *seal;
	int werrno;          /* errno of a failed write, for the message */
	bool failed;         /* on_write failed (werrno or cerr says how) */
	unsigned char *buf;
	struct manifest man;
	struct archive_entry_linkresolver *links;
	struct progress *prog;
	uid_t last_uid;
	gid_t last_gid;
	char *uname, *gname;
	struct aw_tee *tees; /* not owned; set after aw_open, before aw_add */
	int ntees;
	/* Frames: the tar stream is compressed here, cut into independent
	 * frames at member boundaries; each member's index record waits
	 * for its frame to end. */
	enum compression comp;
	void *zc;            /* ZSTD_CCtx */
	void *gz;            /* z_stream */
	unsigned char *obuf;
	char cerr[128];      /* the compressor's error */
	uint64_t in_bytes;   /* tar stream bytes so far */
	uint64_t frame_size;
	uint64_t f_coff, f_uoff; /* where the open frame starts */
	bool f_big;          /* it holds a big member: it ends after it */
	uint64_t nframes;
	struct index_rec *pend;
	size_t npend, pcap;
	FILE *ixf;           /* the index, spooled */
	struct index_writer ix;
	bool ix_done;
	/* An earlier archive's frame offered for the next aw_add (set by
	 * the caller, consumed by it): a whole member (a database) whose
	 * bytes and header are unchanged is copied compressed, checked,
	 * rather than compressed again. */
	struct aw_reuse {
		const char *archive;         /* path of the earlier one */
		const struct index_rec *rec; /* its record there */
		const char *compression;     /* of its index */
		uint64_t frame_size;
	} reuse;
	bool f_copied;       /* the open frame is a copied one */
	uint64_t reused, reused_bytes;
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
/* A record of a member another archive holds (incrementals). */
void aw_index_add(struct awriter *w, const struct index_rec *r);
/* The same in member order (r->archive names the holder; its offsets
 * and frame are kept): an incremental's unchanged file. */
void aw_index_carry(struct awriter *w, const struct index_rec *r);
/* Seal the archive: everything from here on goes to disk (and the tees)
 * encrypted to r; aw_close's and aw_index_save's hashes are then the
 * ciphertexts'. Call after the tees are set, before anything else. */
int aw_seal(struct awriter *w, const struct age_recipients *r,
	    struct cairn_error *err);
/* After aw_close: the index (the INDEX member's bytes) to path, fsync'd;
 * hex is its SHA-256. */
int aw_index_save(struct awriter *w, const char *path, char hex[65],
		  struct cairn_error *err);
/* Reading: any compression libarchive knows, tar formats. */
int ar_open_read(const char *path, struct archive **a,
		 struct cairn_error *err);
/* Seeking: a tar reader over some frames of an archive file, each
 * decompressed on its own (frames in file order); *read_bytes, if not
 * NULL, counts the compressed bytes read. */
struct ar_frame {
	uint64_t off, len;
};
int ar_open_frames(const char *path, enum compression comp,
		   const struct ar_frame *f, size_t n, uint64_t *read_bytes,
		   struct archive **a, struct cairn_error *err);
/* The same through rd (reader.c: a target's ranged gets; the caller's,
 * closed after *a). */
struct reader;
int ar_open_frames_rd(struct reader *rd, enum compression comp,
		      const struct ar_frame *f, size_t n,
		      uint64_t *read_bytes, struct archive **a,
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
	bool incr;  /* an incremental (by its name) */
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
/* The sidecar names of an archive; an encrypted NAME.age has
 * NAME.age.sha256 (over the ciphertexts) and NAME.SIDE.age. */
char *sidecar_sha(const char *archive);
char *sidecar_named(const char *archive, const char *side);
char *sidecar_manifest(const char *archive);
/* Load ARCHIVE.manifest, the manifest copy beside an archive. */
int manifest_load(const char *archive, struct manifest *m,
		  struct cairn_error *err);
/* Check every line of ARCHIVE.sha256 (archive and manifest copy). */
int verify_sidecar(const char *archive_path, struct cairn_error *err);
/* The same, but the file of base name `skip` is not hashed (seeking:
 * the archive itself, read in part; or an index that failed). */
int verify_sidecar_part(const char *archive_path, const char *skip,
			struct cairn_error *err);

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
	bool force_full; /* backup --full: no incremental this run */
	bool success;
	char *archive; /* path */
	uint64_t bytes;
	char sha256[65];
	time_t started, finished;
	double seconds;
	char error[512];
	struct target_result *targets;
	size_t ntargets;
	bool suspicious;  /* the shrink alarm went off (shrink.c) */
	char shrink[512]; /* what dropped */
	/* Streaming puts riding on the archive writer (stream.c), or
	 * NULL; tap is &streams->tap. */
	struct streams *streams;
	struct archive_tap *tap;
};
int state_write(const struct config *cfg, const struct run_state *st,
		struct cairn_error *err);
/* The Prometheus textfile (metrics_file), from the state files. */
int metrics_write(const struct config *cfg, struct cairn_error *err);
/* drills.json: the last drill per target ("local": archive_dir). */
struct json_object *drills_load(const struct config *cfg);
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

/* shrink.c: the shrink alarm, counts against the previous archive's. */
/* Compare the new archive's counts (stats, per cfg->comps) with those
 * recorded for the previous one, and record them; on a drop beyond
 * shrink_alarm, st->suspicious and st->shrink are set and the previous
 * archive is held. */
void shrink_check(const struct config *cfg, const struct comp_stats *stats,
		  struct run_state *st);
/* The held archives, {NAME: {since, by, reason}}, or NULL if none. */
struct json_object *shrink_holds(const struct config *cfg);
/* Must retention keep archive `name` (a shrink alarm holds it)? */
bool shrink_held(const struct config *cfg, const char *name);
/* `prune --accept-shrink`: release every held archive. */
int shrink_accept(const struct config *cfg, struct cairn_error *err);

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
/* Log retention_describe's lines, each after `where` ("target x: "),
 * when any of snaps is an incremental. */
void prune_show_chains(const char *where, const struct snap *snaps,
		       size_t n);

/* backup.c: make, verify and publish a backup's archive. */
struct backup_opts {
	const char **targets;
	size_t ntargets;
	bool no_targets;
	time_t fake_time; /* --time, for tests of retention; 0 = now */
	bool full;        /* --full: no incremental this run */
	bool json;        /* status lines, then a summary, on stdout */
};
/* Consumers of the compressed stream: start() is called once the
 * archive's final name is known, before its first byte, and sets tees
 * (handed to the writer as aw_tee). */
struct archive_tap {
	int (*start)(struct archive_tap *tap, const char *name);
	void *ctx;
	struct aw_tee *tees;
	int ntees;
};
/* On success st->archive, bytes and sha256 describe the archive, made
 * at st->started (a later second if that name is taken); st->tap, when
 * set, sees every compressed byte as it is written. */
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
/* Refuse malformed key specs (path names the plugin). */
int plugin_check_specs(const char *path, const struct cairn_key_spec *specs,
		       struct cairn_error *err);
/* Notify plugins ([notify NAME]), with the same checks. */
int plugin_load_notify(const char *name, const struct cairn_notify_ops **ops,
		       struct cairn_error *err);
int plugin_load_notify_path(const char *path,
			    const struct cairn_notify_ops **ops,
			    struct cairn_error *err);

/* backend.c: a target's ops behind the core's one retry layer: retries
 * of CAIRN_ERETRY with exponential back-off and jitter on a fresh
 * handle, rate limit, progress, verification after a put. */
struct backend {
	const struct config *cfg;
	const struct target *t;
	struct plugin pl;
	struct target_keys keys;
	struct cairn_host host;
	struct cairn_target_config api;
	struct cairn_target_props props;
	void *h;      /* NULL: (re)open before the next call */
	bool locked;  /* clean() leftovers on open */
	bool spent;   /* a resumed transaction used up the retries */
	long used;    /* attempts made outside: the next op counts on */
	long retries;
	double delay; /* seconds before the first retry */
	int64_t bwlimit;
	/* When set and true: stop as on a signal (back-off, retries, and
	 * the plugin's stopped()); stream.c cancels a stream with it. */
	const _Atomic bool *cancel;
};
int backend_open(struct backend *b, const struct config *cfg,
		 const struct target *t, bool locked,
		 struct cairn_error *err);
/* backend_open, cancelled once *cancel turns true (may be NULL). */
int backend_open_cancel(struct backend *b, const struct config *cfg,
			const struct target *t, bool locked,
			const _Atomic bool *cancel, struct cairn_error *err);
void backend_close(struct backend *b);
/* Send the local file path as its base name (a whole put, repeated on
 * a fresh handle after CAIRN_ERETRY). */
int backend_put_file(struct backend *b, const char *path,
		     struct cairn_error *err);
/* A streaming put: backend_begin (retried on a fresh handle), then
 * backend_write any number of times, then backend_commit (verified by
 * stat) or backend_abort. Writes and the commit are retried in place
 * only when the plugin keeps transactions (CAIRN_PROP_RESUMABLE); any
 * other failure aborts the transaction, and later calls fail. */
struct bput {
	struct backend *b;
	struct cairn_txn *txn; /* NULL once ended */
	const char *name;      /* the caller's, kept while the put is */
	uint64_t size, done;
	double t0;
};
int backend_begin(struct backend *b, const char *name, uint64_t size,
		  struct bput *p, struct cairn_error *err);
/* backend_begin of an object locked until `until` (0: none) from its
 * first byte, on a target with Object Lock. */
int backend_begin_locked(struct backend *b, const char *name, uint64_t size,
			 int64_t until, struct bput *p,
			 struct cairn_error *err);
int backend_write(struct bput *p, const void *buf, size_t len,
		  struct cairn_error *err);
int backend_commit(struct bput *p, const char *sha256_hex,
		   struct cairn_error *err);
void backend_abort(struct bput *p);
/* A streamed put failed with rc: true (having waited) when the policy
 * repeats it; that was attempt 1, and the next operation counts on. */
bool backend_retry_after(struct backend *b, int rc, struct cairn_error *err);
/* Fetch name into the local file dest (0600). */
int backend_get_file(struct backend *b, const char *name, const char *dest,
		     struct cairn_error *err);
/* Fetch name into a sink (write: as cairn_sink's); reset starts it
 * afresh when a retry cannot resume where the last attempt got. */
int backend_get_sink(struct backend *b, const char *name,
		     int (*write)(void *, const void *, size_t),
		     int (*reset)(void *), void *ctx,
		     struct cairn_error *err);
int backend_list(struct backend *b, cairn_list_cb cb, void *ctx,
		 struct cairn_error *err);
int backend_del(struct backend *b, const char *name,
		struct cairn_error *err);
int backend_check(struct backend *b, struct cairn_error *err);
/* The target keeps objects under Object Lock (retain() works). */
bool backend_lockable(const struct backend *b);
/* Lock name until `until` (an object not put yet: its put gets the
 * lock); CAIRN_OK without doing anything when the target has no lock. */
int backend_retain(struct backend *b, const char *name, int64_t until,
		   struct cairn_error *err);

/* CAIRN_ENOSPC unless files of these sizes fit (when space() answers). */
int backend_fits(struct backend *b, const uint64_t *sizes, int n,
		 struct cairn_error *err);
/* verify --target: stat() of name (its lock too, where the plugin
 * reports one), and all of name into sink without a copy on disk; a
 * retry resumes where the last attempt got when the target allows
 * ranged gets, else calls restart(sink->ctx) and starts again. *got:
 * the bytes delivered, in all. */
int backend_stat(struct backend *b, const char *name,
		 struct cairn_object *obj, struct cairn_error *err);
int backend_get_stream(struct backend *b, const char *name,
		       const struct cairn_sink *sink,
		       void (*restart)(void *ctx), uint64_t *got,
		       struct cairn_error *err);
/* Bytes [off, off + len) of name into buf (*got fewer only where the
 * object ends), retried from where the last attempt got; CAIRN_EFAIL
 * when the target has no ranged get. */
int backend_get_range(struct backend *b, const char *name, uint64_t off,
		      size_t len, void *buf, size_t *got,
		      struct cairn_error *err);

/* reader.c: an archive's bytes read at offsets (pread), from a local
 * file or from a target by ranged gets; the seek path reads frames
 * through one. Readers stack: an age reader over a target reader is a
 * reader_new() whose pread decrypts what reader_read_at() gives it. */
struct reader_ops {
	/* Up to len bytes at off (fewer only at the end, 0 past it). */
	int (*pread)(void *ctx, uint64_t off, void *buf, size_t len,
		     size_t *got, struct cairn_error *err);
	/* Optional: the next reads fall in [off, off + len). */
	void (*hint)(void *ctx, uint64_t off, uint64_t len);
	/* Optional: bytes taken from the source (else: delivered). */
	uint64_t (*fetched)(void *ctx);
	void (*close)(void *ctx);
};
struct reader {
	const struct reader_ops *ops;
	void *ctx;
	uint64_t size;      /* bytes, or CAIRN_SIZE_UNKNOWN */
	uint64_t delivered; /* bytes pread gave */
	char *what;         /* for messages: a path, "target T: NAME" */
};
struct reader *reader_new(const struct reader_ops *ops, void *ctx,
			  uint64_t size, const char *what);
int reader_open_file(const char *path, struct reader **r,
		     struct cairn_error *err);
/* Object name on b's target, of size bytes; the reader owns b (heap,
 * opened) and closes it. */
struct reader *reader_open_target(struct backend *b, const char *name,
				  uint64_t size);
int reader_pread(struct reader *r, uint64_t off, void *buf, size_t len,
		 size_t *got, struct cairn_error *err);
/* Exactly len bytes at off, else an error: crypt_reader_open's read_at
 * (ctx: the reader). */
int reader_read_at(void *r, uint64_t off, size_t len, uint8_t *buf,
		   struct cairn_error *err);
void reader_hint(struct reader *r, uint64_t off, uint64_t len);
uint64_t reader_fetched(const struct reader *r);
void reader_close(struct reader *r);
/* Readers by archive name (an incremental's chain on a target). */
struct readers {
	struct strv names;
	struct reader **rd;
	size_t n;
};
void readers_add(struct readers *rs, const char *name, struct reader *r);
struct reader *readers_find(const struct readers *rs, const char *name);
uint64_t readers_fetched(const struct readers *rs);
void readers_free(struct readers *rs);

/* stream.c: streaming puts fed by the archive writer, one thread and
 * one bounded queue per target; committed by dispatch.c. */
struct chunk;
struct tstream {
	const struct config *cfg;
	const struct target *t;
	char *name;
	struct backend b;
	struct bput put;
	bool opened;  /* backend_open was called: b needs backend_close */
	bool open_ok; /* and it succeeded */
	bool inited, running, eof, failed, dropped;
	_Atomic bool cancel; /* the run gave it up: stop retrying now */
	int rc;
	struct cairn_error err;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct chunk *head, *tail;
	size_t queued;
	uint64_t taken;
	/* encrypt = age: the stream is encrypted on its way into put,
	 * which is object obj (NAME.age); chex is the ciphertext's hash
	 * once the stream ended well. */
	struct crypt_put *cp;
	char *obj;
	struct cairn_error cp_err;
	char chex[65];
};
struct streams {
	struct archive_tap tap;
	struct tstream *s;
	size_t n;
	struct aw_tee *tees;
};
/* Is t one this run sends to (--target, else enabled)? */
bool target_selected(const struct backup_opts *o, const struct target *t);
/* One stream per selected target; they start with tap.start(). */
struct streams *streams_new(const struct config *cfg,
			    const struct backup_opts *o);
/* t's stream, if it started. */
struct tstream *streams_find(struct streams *ss, const struct target *t);
/* End of the archive: wait until the target took every byte. CAIRN_OK:
 * s->put is open with all of it, for backend_commit. */
int stream_finish(struct tstream *s, struct cairn_error *err);
/* Abort what was not committed, stop the threads, close the targets. */
void streams_free(struct streams *ss);
/* objlock.c: Object Lock per retention tier (lock_last ... lock_yearly). */
/* The target's lock periods in seconds, 0 where unset. */
void objlock_periods(const struct backend *b, long lock[5]);
/* Until when a new archive (a name or path; its time is in its name)
 * is locked: lock_last, or the longest period when lock_last is unset;
 * 0 without a lock. */
time_t objlock_put_until(const struct backend *b, const char *archive);
/* Lock an archive and its sidecars until `until` (only ever longer). */
int objlock_hold(struct backend *b, const char *archive, time_t until,
		 struct cairn_error *err);

/* dispatch.c: targets, through backend.c. */
/* Fetch archive `name` (or the newest if NULL/"latest") and sidecars
 * from a target into dir; *path is the local archive. */
int target_fetch(const struct config *cfg, const char *target,
		 const char *name, const char *dir, char **path,
		 struct cairn_error *err);
/* The same, but an archive with an index on a target with ranged gets
 * stays there: *rd reads it (its sidecars and index are in dir, *path
 * names where the archive would be); else *rd is NULL and it was
 * fetched whole. */
int target_fetch_ranged(const struct config *cfg, const char *target,
			const char *name, const char *dir, char **path,
			struct reader **rd, struct cairn_error *err);
/* The same with the archive's sidecars and index only (the archive too
 * when it has no index): for ls, find. */
int target_fetch_index(const struct config *cfg, const char *target,
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
/* status --copies: the complete archives (with a sidecar) t holds. */
int target_archives(const struct config *cfg, const struct target *t,
		    struct strv *names, struct cairn_error *err);
/* `cairn list --target NAME --all-hosts`: every host's archives of this
 * config under a %h prefix, with their host. */
int list_target_hosts(const struct config *cfg, const char *target,
		      bool json);
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
	/* Seeking: read only the frames that hold the components' members,
	 * found in this verified index; an index that does not match the
	 * archive falls back to reading it all (its hash checked first
	 * when `unverified`). */
	const char *index;
	bool unverified;
	bool sought;        /* the members came from their frames */
	uint64_t read_bytes; /* compressed bytes read (seeking) */
	uint64_t nframes;
	struct seek_want *want;
	size_t nwant;
	/* The archive read through this (a target's ranged gets) instead
	 * of the local file; a seek that fails then sets need_whole: only
	 * the whole archive, fetched and checked, may be read next. */
	struct reader *rd;
	bool need_whole;
	const struct readers *chain; /* older archives, read the same way */
	/* Entries, files and bytes staged before this run (an incremental's
	 * older archives): a second try keeps them. */
	struct {
		size_t n, files;
		uint64_t bytes;
	} mark;

	const struct strv *only; /* sorted: stage only these (incr.c) */
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
/* restore --path: an empty files component named "path" (its name is
 * not freed). */
void comp_paths_init(struct component *c);


/* incr.c: incremental nights; an incremental's chain at restore. */
struct incr {
	const struct config *cfg;
	bool indexing;   /* incremental = yes: every archive gets an INDEX */
	bool on;         /* this night is an incremental */
	char *prev;      /* the archive it builds on (path) */
	/* The previous index, read forward per component. */
	struct index_reader rd;
	bool rd_open, have_cur, eof;
	const struct component *comp;
	struct index_rec cur;
	uint64_t skipped, skipped_bytes;
};
/* Decide this night's kind (chain_want_full, --full, the previous
 * archive's index and the archives it names). */
int incr_begin(const struct config *cfg, bool force_full, time_t now,
	       struct incr *inc, struct cairn_error *err);
/* Files components' members sorted by path (the index's order). */
void incr_sort_plan(const struct incr *inc, struct comp_plan *p);
/* Start the INDEX in the staging dir. */
/* An unchanged file: left out, its record (held by an older archive)
 * carried into w's INDEX. */
bool incr_unchanged(struct incr *inc, struct awriter *w,
		    const struct comp_plan *p, const struct item *it);
/* Log what the night left in older archives. */
/* What one archive holds itself and what its restore point is. */
struct holdings {
	uint64_t held, tree;       /* file bytes: in it; of the whole tree */
	size_t files_held, files;
	struct strv needs;         /* older archives holding the rest */
};
int incr_holdings(const char *path, struct holdings *h,
		  struct cairn_error *err);
/* A whole member: offer the previous archive's frame of it to w. */
void incr_offer_frame(struct incr *inc, struct awriter *w,
		      const struct comp_plan *p, const struct item *it);
void incr_finish(const struct incr *inc);
void incr_free(struct incr *inc);
/* stage_run, or for an incremental: each file from the archive its
 * INDEX names (each checked first), then the incremental itself. */
int incr_stage(struct stage *s, struct cairn_error *err);
/* For an incremental: every archive its INDEX names is there and passes
 * verify (with deep, verify --deep); *checked counts them. */
int incr_verify_chain(const struct config *cfg, const char *path, bool deep,
		      size_t *checked, struct cairn_error *err);
/* restore --from: fetch every archive an incremental's INDEX names
 * from the target into dir, beside it. */
int incr_fetch_chain(const struct config *cfg, const char *target,
		     const char *path, const char *dir,
		     struct cairn_error *err);
/* The same, ranged: of each archive the INDEX names, its sidecars and
 * index only, a reader of it in *rs (one fetched whole when the target
 * cannot: it is then in dir). */
int incr_fetch_chain_ranged(const struct config *cfg, const char *target,
			    const char *path, const char *dir,
			    struct readers *rs, struct cairn_error *err);

/* verify.c: checking archives already made. */
/* Test-restore every component into a private scratch dir: members
 * against the manifest, hostile paths and links, SQLite checks. */
int verify_deep(const struct config *cfg, const char *path,
		const struct manifest *man, size_t *members, size_t *dbs,
		struct cairn_error *err);
/* Check the index against the archive, frame by frame (older archives,
 * without one, pass); *members: records checked. */
int verify_index(const char *archive, uint64_t *members,
		 struct cairn_error *err);
/* state_dir/verify.json: the last check of each archive. */
struct json_object *verify_state_read(const struct config *cfg);
/* The record of archive `name` in o, or NULL if none or stale. */
struct json_object *verify_entry(struct json_object *o,
				 const struct config *cfg, const char *name);
/* Record the verdict rc on archive path (only archive_dir's). */
void verify_record(const struct config *cfg, const char *path, int rc,
		   bool deep, const char *msg);

/* members.c: one archive's members, from its index (or its headers). */
struct members {
	char *archive;
	bool indexed;
	struct index_reader ix;
	struct archive *a;   /* an older archive: its headers */
	struct manifest man; /* ... and hashes */
	struct index_rec rec;
	char *path;
};
/* Open the index (its sidecar checksum checked, not the archive's), or
 * the archive's headers when it has none (then the archive's checksum
 * is checked). */
int members_open(struct members *m, const char *archive,
		 struct cairn_error *err);
/* The same when the caller checked the sidecar: from this index, or
 * (NULL) the headers. */
int members_open_trusted(struct members *m, const char *archive,
			 const char *index, struct cairn_error *err);
/* 1 and *r, 0 at the end, -code on an error. */
int members_next(struct members *m, const struct index_rec **r,
		 struct cairn_error *err);
void members_close(struct members *m);
/* The record of `path` (a copy); CAIRN_ENOTFOUND with a message naming
 * the path and suggesting cairn ls. */
int members_find(const char *archive, const char *path,
		 struct index_rec *out, struct cairn_error *err);
/* A regular member's bytes to fd, from its frame, checked. */
int members_dump(const char *archive, const struct index_rec *r, int fd,
		 struct cairn_error *err);
/* The archive holding r's bytes (*holder): archive, or the older one an
 * incremental's INDEX names, there and checked against its sidecar. */
int members_holder(const char *archive, const struct index_rec *r,
		   char **holder, struct cairn_error *err);

/* drill.c: test-restore the latest archive into scratch, the proof. */
struct drill_opts {
	const char *mode;   /* restore mode ("full": everything) */
	const char *target; /* NULL: archive_dir's */
};
struct drill_result {
	const char *where;  /* the target's name, or "local" (drill_where) */
	char *archive;      /* the archive's name, once found */
	size_t members, dbs, tables, commands;
	time_t started, finished;
	double seconds;
};
/* "local" for archive_dir (encrypted too), else the target's name. */
const char *drill_where(const struct config *cfg, const struct drill_opts *o);
int drill_run(const struct config *cfg, const struct drill_opts *o,
	      struct drill_result *res, struct cairn_error *err);
/* The verdict into state_dir/drills.json, atomically. */
/* The fields of a drill's verdict (status, archive, members, databases,
 * seconds, error) into o: for drills.json and drill --json. */
void drill_json(struct json_object *o, const struct drill_result *res, int rc,
		const struct cairn_error *err);
void drill_record(const struct config *cfg, const struct drill_opts *o,
		  const struct drill_result *res, int rc,
		  const struct cairn_error *err);

/* notify.c: [notify NAME] sections through notify plugins. */
struct notifier;
struct notify_set {
	struct notifier *v;
	size_t n;
};
/* Load each section's plugin and check its keys; a section that fails
 * is logged and left out (notifications never fail a run). */
void notify_open(const struct config *cfg, struct notify_set *ns);
/* Tell every section that wants it (its `events`) of kind (enum
 * cairn_notify_kind); the core retries, 10 s per attempt. */
void notify_event(const struct config *cfg, struct notify_set *ns, int kind,
		  const struct run_state *st, double seconds);
void notify_close(struct notify_set *ns);

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
	/* Set by cmd_restore: the archive's verified index, to read only
	 * the frames needed (its own hash is then checked only if the
	 * whole archive is read). */
	const char *seek_index;
	/* Set by cmd_restore for --from: the archive stays on the target
	 * and its frames are read through this (ranged gets). */
	struct reader *rd;
	struct readers chain; /* an incremental's older archives */
	/* restore --path: members, directories or globs (mode "path") */
	const char **paths;
	size_t npaths;
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

/* verify_target.c: `cairn verify --target`, the copies on a target
 * checked there. */
struct tverdict {
	char *name;            /* the archive */
	size_t objects;        /* objects found and checked */
	struct strv problems;  /* one line each, naming the object */
	bool locks;            /* its Object Lock was checked */
	bool deep;             /* --deep ran and passed */
	size_t members, dbs;   /* what --deep checked */
};
struct tverify {
	struct tverdict *v;
	size_t n;
};
/* Check the archives of t (all when which is NULL, else the named one
 * or "latest"); CAIRN_OK when they could be checked: the verdicts are
 * in *out (tverify_free), problems and all. */
int verify_target(const struct config *cfg, const struct target *t,
		  const char *which, bool deep, struct tverify *out,
		  struct cairn_error *err);
void tverify_free(struct tverify *tv);
/* --deep of one archive on t: fetch it into scratch, then the local
 * checks (sidecar, index, members against the manifest, SQLite). */
int verify_target_deep(const struct config *cfg, const struct target *t,
		       const char *name, size_t *members, size_t *dbs,
		       struct cairn_error *err);

/* cmd_verify.c: `cairn verify`. */
int cmd_verify(const struct config *cfg, const char *which, bool deep,
	       bool json);
/* --target NAME: the copies on the target; exit 1 on any problem. */
int cmd_verify_target(const struct config *cfg, const char *target,
		      const char *which, bool deep, bool json);

/* cmd_list.c: `cairn list`. */
int cmd_list(const struct config *cfg, const char *target, bool json);

/* cmd_status.c: `cairn status`. */
struct status_opts {
	long max_age;       /* -1: not checked */
	long max_drill_age; /* -1: not checked */
	bool copies;        /* the 3-2-1 view (asks the targets) */
	bool json;
};
int cmd_status(const struct config *cfg, const struct status_opts *o);

/* cmd_drill.c: `cairn drill`. */
int cmd_drill(const struct config *cfg, const struct drill_opts *o,
	      bool json);

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


/* bech32.c: Bech32 for age's keys (age1..., AGE-SECRET-KEY-1...). */
/* hrp and n bytes of data; upper case for identities. malloc'd. */
char *bech32_encode(const char *hrp, const uint8_t *data, size_t n,
		    bool upper);
/* Decode s (one case) whose prefix must be hrp; -1 on a bad string. */
int bech32_decode(const char *s, const char *hrp, uint8_t *data,
		  size_t cap, size_t *n);

/* age.c: the age v1 format (age-encryption.org/v1) on libcrypto. */
enum {
	AGE_CHUNK = 65536,               /* payload chunk, plaintext */
	AGE_TAG = 16,                    /* Poly1305 tag per chunk */
	AGE_CCHUNK = AGE_CHUNK + AGE_TAG, /* a full ciphertext chunk */
	AGE_BATCH = 16,                  /* chunks sealed per write */
	AGE_SCRYPT_WORK = 18,            /* log2 N when encrypting */
	AGE_SCRYPT_MAX_WORK = 22,        /* highest log2 N we decrypt */
};
/* Who can read a file we write: X25519 public keys, or one passphrase
 * (an scrypt stanza is alone in its header). */
struct age_recipients {
	uint8_t (*x25519)[32];
	size_t n;
	char *passphrase;
	int work_factor; /* 0: AGE_SCRYPT_WORK */
};
/* What we read with: X25519 secret keys and passphrases. */
struct age_identities {
	uint8_t (*x25519)[32];
	size_t n;
	struct strv passphrases;
};
/* An opened payload: its key and where it starts in the file. */
struct age_stream {
	uint8_t key[32];
	uint64_t payload_off; /* header and nonce bytes */
	void *c;              /* EVP_CIPHER_CTX keyed with key */
};
struct age_enc {
	struct age_stream s;
	/* where the output goes: the aw_tee write signature */
	int (*out)(void *ctx, const void *buf, size_t len);
	void *out_ctx;
	uint8_t *buf, *cbuf; /* a plaintext chunk; sealed ones */
	size_t n, cn;
	uint64_t k, out_bytes;
	struct cairn_error err; /* set once a write failed */
};
struct age_dec {
	const struct age_identities *ids;
	struct age_stream s;
	int (*out)(void *ctx, const void *buf, size_t len);
	void *out_ctx;
	struct sbuf hdr; /* the header while it arrives */
	bool header_done;
	uint8_t *cbuf, *pbuf;
	size_t n;
	uint64_t k, out_bytes;
	struct cairn_error err;
};
int age_public_key(const uint8_t sk[32], uint8_t pub[32]);
int age_parse_recipient(const char *s, uint8_t pub[32]);
char *age_recipient_string(const uint8_t pub[32]);
int age_parse_identity(const char *s, uint8_t sk[32]);
char *age_identity_string(const uint8_t sk[32]);
void age_recipients_add(struct age_recipients *r, const uint8_t pub[32]);
void age_identities_add(struct age_identities *ids, const uint8_t sk[32]);
/* Recipients separated by blanks or lines, '#' comments (a config
 * value, or the text of an `age-keygen -y` file); errors name where. */
int age_recipients_parse(struct age_recipients *r, const char *text,
			 const char *where, struct cairn_error *err);
/* A file only its owner may read (else CAIRN_ECONFIG, as ssh refuses
 * a loose key); malloc'd and NUL-terminated. */
char *age_read_secret(const char *path, size_t *len,
		      struct cairn_error *err);
/* An identity file in age-keygen's format. */
int age_identities_load(struct age_identities *ids, const char *path,
			struct cairn_error *err);
/* A passphrase file's first line. */
int age_passphrase_load(char **pass, const char *path,
			struct cairn_error *err);
void age_recipients_free(struct age_recipients *r);
void age_identities_free(struct age_identities *ids);
/* Streaming encryption: the header goes out at begin, ciphertext as
 * plaintext is written, the final chunk at finish. age_enc_write fits
 * struct aw_tee (ctx is the age_enc; its error is in e->err). */
int age_enc_begin(struct age_enc *e, const struct age_recipients *r,
		  int (*out)(void *, const void *, size_t), void *ctx,
		  struct cairn_error *err);
int age_enc_write(void *ctx, const void *buf, size_t len);
int age_enc_finish(struct age_enc *e, struct cairn_error *err);
void age_enc_free(struct age_enc *e);
/* Streaming decryption: only authenticated plaintext reaches the sink,
 * and finish fails unless a valid final chunk ended the file. No
 * identity matching: CAIRN_EAUTH; anything damaged: CAIRN_EINTEGRITY. */
int age_dec_begin(struct age_dec *d, const struct age_identities *ids,
		  int (*out)(void *, const void *, size_t), void *ctx);
int age_dec_write(void *ctx, const void *buf, size_t len);
int age_dec_finish(struct age_dec *d, struct cairn_error *err);
void age_dec_free(struct age_dec *d);
/* Seeking. The header's length (with the payload nonce) at the start of
 * buf: *hlen is 0 while more bytes are needed. */
int age_header_len(const void *buf, size_t len, size_t *hlen,
		   struct cairn_error *err);
/* Open the header buf[0..len) (len from age_header_len). */
int age_header_open(struct age_stream *s, const struct age_identities *ids,
		    const void *buf, size_t len, struct cairn_error *err);
/* A file of file_size bytes: its plaintext size and chunk count (chunk
 * k starts at payload_off + k * AGE_CCHUNK, plaintext k * AGE_CHUNK). */
int age_geometry(const struct age_stream *s, uint64_t file_size,
		 uint64_t *plain, uint64_t *nchunks, struct cairn_error *err);
/* Chunk k alone (last: k is the final chunk): n ciphertext bytes to
 * *ptn <= AGE_CHUNK plaintext bytes, or CAIRN_EINTEGRITY. */
int age_chunk_open(struct age_stream *s, uint64_t k, bool last,
		   const uint8_t *ct, size_t n, uint8_t *pt, size_t *ptn,
		   struct cairn_error *err);
int age_chunk_seal(struct age_stream *s, uint64_t k, bool last,
		   const uint8_t *pt, size_t n, uint8_t *ct);
void age_stream_free(struct age_stream *s);
/* The exact size of the age file of `plain` bytes for r. */
uint64_t age_size(const struct age_recipients *r, uint64_t plain);


/* crypt.c: encrypt = age on a target (or [cairn]): its keys, and the
 * transforms in front of a put and behind a get, hashing both sides. */
extern const char *const crypt_keys[]; /* NULL-terminated */
struct crypt {
	bool on;                  /* encrypt = age */
	bool asis;                /* a target of an encrypted archive_dir:
				   * sent its ciphertext as it is */
	struct age_recipients r;  /* recipients, recipients_file, or the
				   * passphrase_file's passphrase */
	char *identity_file;
};
/* The keys of section s (what names it in errors: "[target nas]");
 * a target's recipients and identity_file default to dflt's ([cairn],
 * whose own dflt is NULL). encrypt = age without any recipient is a
 * config error; a passphrase file readable by others is refused
 * (CAIRN_ECONFIG). */
int crypt_load(const struct section *s, const char *what,
	       const struct crypt *dflt, struct crypt *c,
	       struct cairn_error *err);
void crypt_free(struct crypt *c);
/* Identities to read with: opt (--identity), else $CAIRN_IDENTITY, else
 * identity_file; and the passphrase, if any. None: ECONFIG naming
 * what (the encrypted object). */
int crypt_identities(const struct crypt *c, const char *opt,
		     const char *what, struct age_identities *ids,
		     struct cairn_error *err);
/* The object a target with c holds for the local file name (freed and
 * replaced): NAME.age, NAME.manifest.age, NAME.age.sha256 if it
 * encrypts, else name itself. */
char *crypt_object(const struct crypt *c, char *name);
/* The reverse, for listings: the local name an object stands for. */
char *crypt_plain_name(const char *name);
struct crypt_put {
	struct age_enc enc;
	void *sha; /* EVP_MD_CTX over the ciphertext */
	uint64_t bytes;
	int (*out)(void *ctx, const void *buf, size_t len);
	void *out_ctx;
	int fd, werrno; /* crypt_put_fd's file, its write's errno */
};
/* Encrypt to r, ciphertext to out (hashed). crypt_put_write fits an
 * aw_tee (its error is in p->enc.err). */
int crypt_put_begin(struct crypt_put *p, const struct age_recipients *r,
		    int (*out)(void *, const void *, size_t), void *ctx,
		    struct cairn_error *err);
int crypt_put_write(void *ctx, const void *buf, size_t len);
int crypt_put_end(struct crypt_put *p, char hex[65],
		  struct cairn_error *err);
void crypt_put_free(struct crypt_put *p);
/* The same into file fd; crypt_put_buf feeds it, its errors naming
 * what (the file). */
int crypt_put_fd(struct crypt_put *p, const struct age_recipients *r,
		 int fd, struct cairn_error *err);
int crypt_put_buf(struct crypt_put *p, const void *buf, size_t len,
		  const char *what, struct cairn_error *err);
/* A whole local file through it; hex and bytes of the ciphertext. */
int crypt_put_file(const char *path, const struct age_recipients *r,
		   int (*out)(void *, const void *, size_t), void *ctx,
		   char hex[65], uint64_t *bytes, struct cairn_error *err);
struct crypt_get {
	struct age_dec dec;
	void *csha, *psha; /* ciphertext in, plaintext out */
	uint64_t cbytes;
	int fd, werrno;
};
/* Decrypt what crypt_get_write is fed (a get's sink) into fd. */
int crypt_get_begin(struct crypt_get *g, const struct age_identities *ids,
		    int fd, struct cairn_error *err);
int crypt_get_write(void *ctx, const void *buf, size_t len);
/* The file is whole and authentic: both hashes; errors name what. */
int crypt_get_end(struct crypt_get *g, const char *what, char chex[65],
		  char phex[65], struct cairn_error *err);
void crypt_get_free(struct crypt_get *g);
/* Ranged reads of an encrypted object of `size` bytes through read_at
 * (exactly len bytes at off): the header and the final chunk are
 * checked at open, then each chunk a read touches. */
struct crypt_reader {
	int (*read_at)(void *ctx, uint64_t off, size_t len, uint8_t *buf,
		       struct cairn_error *err);
	void *ctx;
	uint64_t size, plain, nchunks, cached;
	struct age_stream s;
	uint8_t *cbuf, *pbuf;
	size_t pn;
};
int crypt_reader_open(struct crypt_reader *r,
		      const struct age_identities *ids, uint64_t size,
		      int (*read_at)(void *, uint64_t, size_t, uint8_t *,
				     struct cairn_error *),
		      void *ctx, struct cairn_error *err);
/* Up to len plaintext bytes at off (*got < len only at the end). */
int crypt_reader_pread(struct crypt_reader *r, uint64_t off, void *buf,
		       size_t len, size_t *got, struct cairn_error *err);
void crypt_reader_close(struct crypt_reader *r);

/* target_age.c: encrypted copies on a target (encrypt = age). */
/* Send archive and its manifest copy encrypted (streamed into the
 * target's put), then NAME.age.sha256 over the ciphertexts; a failed
 * send removes what it put. */
int age_put_archive(struct backend *b, const struct crypt *c,
		    const char *archive, uint64_t *bytes,
		    struct cairn_error *err);
/* The archive's ciphertext was streamed and committed under ahex: send
 * the manifest and index copies and the sidecar; a failed send removes
 * them and the archive's object. */
int age_put_streamed(struct backend *b, const struct crypt *c,
		     const char *archive, const char *ahex, uint64_t *bytes,
		     struct cairn_error *err);
/* Fetch archive (NAME) from the target into dir, decrypting each
 * object as it arrives: NAME.manifest, NAME.index (when sent), NAME
 * (unless !whole: the index alone), and NAME.sha256 of the plaintexts
 * (with !whole, its NAME line is the ciphertext's, never checked). */
int age_fetch(struct backend *b, const struct crypt *c, const char *dir,
	      const char *archive, bool whole, struct cairn_error *err);
/* Ranged reads of archive's plaintext from its ciphertext NAME.age of
 * size bytes on b's target (header and last chunk checked here, each
 * chunk as a read reaches it). b (heap, open) is the reader's; on an
 * error it is closed. */
int age_reader_open(struct backend *b, const struct crypt *c,
		    const char *archive, uint64_t size, struct reader **rd,
		    struct cairn_error *err);

/* cmd_keygen.c: `cairn keygen`. */
int cmd_keygen(const char *out, bool json);
/* cmd_plugins.c: `cairn plugins`. */
int cmd_plugins(const struct config *cfg, bool json);

/* cmd_ls.c: `cairn ls`. */
int cmd_ls(const struct config *cfg, char **ops, int nops,
	   const char *target, bool json);
/* The archive an operand list starts with (NAME, a path, "latest"; else
 * the latest), taken off ops. */
int ls_archive(const struct config *cfg, char **ops, int *nops,
	       char **path, struct cairn_error *err);
/* The same archive from a target (--target): fetched into a scratch
 * dir *dir under state_dir (the caller removes it); whole: the archive
 * too, else its index and sidecars. */
int ls_target(const struct config *cfg, const char *target, bool whole,
	      char **ops, int *nops, char **dir, char **path,
	      struct cairn_error *err);
/* A member as `ls --json` shows it. */
struct json_object *ls_json(const struct index_rec *r);

/* cmd_dump.c: `cairn dump`. */
int cmd_dump(const struct config *cfg, char **ops, int nops,
	     const char *target);

/* cmd_diff.c: `cairn diff`. */
int cmd_diff(const struct config *cfg, char **ops, int nops, bool json);

/* cmd_find.c: `cairn find`. */
int cmd_find(const struct config *cfg, char **ops, int nops,
	     const char *target, bool json);

#endif

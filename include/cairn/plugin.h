/*
 * cairn target plugin ABI, version 2.2.
 *
 * A plugin is a shared object (libtool module) that includes this header
 * and nothing else of cairn's: no file of core/, no core symbol. It
 * exports one function, cairn_target_plugin() (CAIRN_PLUGIN_ENTRY), which
 * returns a const struct cairn_target_ops. The core then talks to it
 * only through the structs below.
 *
 * Sizes and growth. Every struct that crosses the boundary, in either
 * direction, has `uint32_t size` as its first member (the ops struct: its
 * first member after abi_major and abi_minor), set by whoever allocates
 * the struct to sizeof() as it was built. Within a major version:
 *  - members are only ever appended, never removed, reordered or retyped;
 *    each new one bumps CAIRN_ABI_MINOR and is marked "since 2.N";
 *  - enum values and flag bits are only appended, never renumbered;
 *  - a reader never touches a member past the writer's `size`: such a
 *    member counts as absent (zero, NULL, flag off), see CAIRN_HAS();
 *  - a struct the caller allocates and the callee fills (props, object in
 *    stat(), space) has its size set by the caller, who zeroes it first;
 *    the callee writes only the members that fit in that size.
 * The core refuses a plugin of a newer minor than its own, so the structs
 * the core hands over always hold every member the plugin knows; it is
 * the core that checks the sizes of what an (older) plugin hands back.
 * struct cairn_error is the one exception: frozen as it is, it will never
 * grow, so it carries no size.
 *
 * Major versions. A change that breaks plugins bumps CAIRN_ABI_MAJOR. The
 * first 8 bytes of the ops struct (abi_major, abi_minor, size) keep their
 * layout in every major, so the core can read them from any plugin and
 * refuse one of another major with a message naming both versions
 * ("plugin ABI 1.1, but cairn speaks ABI 2.0; rebuild the plugin").
 *
 * History: 1.0 first ABI. 1.1 stopped(), send_bytes, clean(). 2.0 every
 * struct sized; host services; typed key specs (the core validates
 * values); transactional streaming put; ranged get into a sink; stat();
 * properties, space(), retain(); resumable transactions. 2.1
 * cairn_object.host (a listing of every host's folder). 2.2
 * cairn_object.lock_mode and lock_until (stat() of a locked object).
 *
 * Division of work. The core owns retries (of CAIRN_ERETRY only, on a
 * fresh handle), back-off, rate limiting, progress, verification after a
 * put (it reads the object back), free-space checks (through space()),
 * retention and logging policy. A plugin does one attempt: no retry
 * loops, no sleeping; it translates its library's errors into one of the
 * codes below and returns. It allocates with malloc and returns
 * CAIRN_EFAIL ("out of memory") when that fails; it never aborts or
 * exits the process, and never logs a secret.
 *
 * Calls. The core calls a handle from one thread at a time. Host and
 * config functions may be called only from within a call the core made
 * into the plugin, on that thread; stopped() from any thread. After a
 * call returned CAIRN_ERETRY or CAIRN_EUNAVAIL the core calls nothing on
 * that handle but abort() (of an open transaction) and close(); after
 * any other code the handle stays usable. The one exception is write()
 * and commit() of a plugin with CAIRN_PROP_RESUMABLE (see write()).
 *
 * Object names are base names: no '/', no NUL, not starting with '.', at
 * most 255 bytes. The core only passes such names; a plugin still refuses
 * others with CAIRN_EFAIL. Names starting with '.' belong to the plugin
 * (its temporaries) and list() never reports them.
 */
#ifndef CAIRN_PLUGIN_H
#define CAIRN_PLUGIN_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CAIRN_ABI_MAJOR 2
#define CAIRN_ABI_MINOR 2

/* The one symbol every plugin exports. */
#define CAIRN_PLUGIN_ENTRY "cairn_target_plugin"

/* Result codes shared by the core and plugins. Never renumbered. */
enum cairn_rc {
	CAIRN_OK = 0,
	CAIRN_EFAIL = 1,      /* permanent failure of another kind */
	CAIRN_ERETRY = 2,     /* transient (timeout, reset, 5xx): try again */
	CAIRN_EUNAVAIL = 3,   /* target absent: not mounted, host down */
	CAIRN_EAUTH = 4,      /* credentials or host key refused */
	CAIRN_EINTEGRITY = 5, /* data does not match its checksum */
	CAIRN_ENOSPC = 6,     /* no space left on the target */
	CAIRN_ECONFIG = 7,    /* bad or missing configuration key */
	CAIRN_ENOTFOUND = 8,  /* no such object */
	CAIRN_EPERM = 9,      /* permission denied, object locked */
	CAIRN_ELOCKED = 10,   /* another run holds the lock (core only) */
};

/* An error: a code and one line for the operator. Never holds secrets.
 * Frozen: never grows (see above). */
struct cairn_error {
	int code;
	char msg[512];
};

enum cairn_log_level {
	CAIRN_LOG_ERROR = 0,
	CAIRN_LOG_WARN = 1,
	CAIRN_LOG_INFO = 2,
	CAIRN_LOG_DEBUG = 3,
};

/* Non-zero when the struct at p, of type `type`, holds `member`: the only
 * safe way to read a member added after 2.0 from the other side. */
#define CAIRN_HAS(p, type, member) \
	((p)->size >= offsetof(type, member) + sizeof(((type *)0)->member))

/* A size or length not known in advance; get(): up to the end. */
#define CAIRN_SIZE_UNKNOWN UINT64_MAX
#define CAIRN_TO_END UINT64_MAX

/* ---- host services ------------------------------------------------- */

/*
 * What the core offers a plugin, passed to open() and valid until close()
 * returns. Deliberately small: memory, files and hashing are the
 * plugin's own (libc, its libraries).
 */
struct cairn_host {
	uint32_t size; /* sizeof(struct cairn_host) as the core built it */
	void *core;    /* opaque to plugins */
	/* Log one line (printf format, no newline) under the target's
	 * name, subject to the core's -q/-v. Never pass a secret. */
	void (*log)(const struct cairn_host *host, int level,
		    const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/* Non-zero once the run is asked to stop (SIGTERM, SIGINT, SIGHUP).
	 * A call that may wait long (write() on a full window, commit()
	 * waiting for parts, get() streaming, list() paging) polls it, and
	 * when set removes what it started and returns CAIRN_EFAIL with a
	 * message saying "interrupted". Never CAIRN_ERETRY: it would be
	 * retried. */
	int (*stopped)(const struct cairn_host *host);
};

/* ---- configuration: typed key specs and the accessor --------------- */

/*
 * The value syntax the core accepts for each type. An empty value
 * ("key =") counts as unset, for every type. Values that do not parse,
 * or fall outside [min, max], are refused by the core with FILE:LINE (or
 * the environment variable's name) before open() is called.
 */
enum cairn_key_type {
	/* 0 is no type: a zeroed spec is refused. */
	CAIRN_KEY_STRING = 1,   /* any text */
	CAIRN_KEY_BOOL = 2,     /* yes/no, true/false, on/off, 1/0; any case */
	CAIRN_KEY_INT = 3,      /* decimal, optional '-', fits int64_t */
	CAIRN_KEY_SIZE = 4,     /* bytes: "1048576", "64M", "64MiB", "64MB",
				 * units K M G T, all binary (1K = 1024) */
	CAIRN_KEY_DURATION = 5, /* seconds: "90", "30s", "1h30m", "7d";
				 * units s m h d w, a bare number is s */
	CAIRN_KEY_PATH = 6,     /* a local path; a leading "~/" becomes the
				 * effective user's home; must then be
				 * absolute. Not checked for existence: that
				 * is the plugin's (with its own message). */
};

/* Spec flags. */
#define CAIRN_KEY_REQUIRED (1u << 0) /* open() is not called without it */
#define CAIRN_KEY_SECRET (1u << 1)   /* credential: see below */

/*
 * One key a plugin reads from its [target NAME] section. The plugin
 * declares them all in one array ended by CAIRN_KEY_END; the core knows
 * no others for it, names an unknown one with FILE:LINE, and shows the
 * help in `cairn plugins` and in its messages.
 *
 * A SECRET key is refused (FILE:LINE, chmod 600) in a config file group
 * or others can read, and its value is never logged or printed, not even
 * by `cairn plugins`; it has no default. The core keeps refusing its own
 * secrets as before.
 *
 * The core refuses the whole plugin (naming the key) when a spec is
 * malformed: no name, a name that is not [a-z0-9_] or is one of the
 * core's target keys (plugin, enabled, keep_*, ...), an unknown type or
 * flag, REQUIRED or SECRET with a default, a default that does not parse
 * as its type or lies outside [min, max], or a size differing from the
 * first spec's. The core steps through the array by the first spec's
 * size, so the array stays readable when the struct grows.
 */
struct cairn_key_spec {
	uint32_t size;    /* sizeof(struct cairn_key_spec), by CAIRN_KEY */
	uint32_t type;    /* enum cairn_key_type */
	uint32_t flags;   /* CAIRN_KEY_REQUIRED | CAIRN_KEY_SECRET */
	const char *name; /* "port"; NULL ends the array */
	const char *def;  /* default, written as in a config file, or NULL */
	/* INT, SIZE, DURATION: the value must lie in [min, max] (bytes,
	 * seconds); checked only when max > min, so 0, 0 is "any". */
	int64_t min;
	int64_t max;
	const char *help; /* one line: "TCP port of the SSH server" */
};

#define CAIRN_KEY_RANGE(name, type, def, flags, min, max, help)          \
	{ sizeof(struct cairn_key_spec), (type), (flags), (name), (def),  \
	  (min), (max), (help) }
#define CAIRN_KEY(name, type, def, flags, help) \
	CAIRN_KEY_RANGE(name, type, def, flags, 0, 0, help)
#define CAIRN_KEY_END \
	{ sizeof(struct cairn_key_spec), 0, 0, NULL, NULL, 0, 0, NULL }

/*
 * Example:
 *	static const struct cairn_key_spec keys[] = {
 *		CAIRN_KEY("host", CAIRN_KEY_STRING, NULL, CAIRN_KEY_REQUIRED,
 *			  "SSH server to connect to"),
 *		CAIRN_KEY_RANGE("port", CAIRN_KEY_INT, "22", 0, 1, 65535,
 *				"TCP port of the SSH server"),
 *		CAIRN_KEY("agent", CAIRN_KEY_BOOL, "no", 0,
 *			  "authenticate with ssh-agent"),
 *		CAIRN_KEY_END,
 *	};
 */

/*
 * A target's configuration as the core read and validated it: the
 * [target NAME] section merged with CAIRN_TARGET_NAME_KEY environment
 * variables, defaults filled in from the specs. Valid from open() until
 * close() returns, like every string it hands out.
 *
 * Values are already checked against their spec, so a plugin never parses
 * one itself; it checks only what the spec cannot say (a bucket name's
 * form, a file's mode) and may name the place with where().
 *
 * Each getter takes a key the plugin declared. Asking for an undeclared
 * key, or through the wrong getter for its type, is a plugin bug: the
 * core logs it and returns NULL or 0.
 */
struct cairn_target_config {
	uint32_t size;    /* sizeof(struct cairn_target_config), core's */
	const char *name; /* the section name, e.g. "usb" */
	void *core;       /* opaque to plugins */
	/* The text of any key (a PATH already expanded), its default when
	 * unset, or NULL when unset without a default: the way to tell
	 * "unset" for every type. "cairn.KEY" reads KEY of the [cairn]
	 * section as the core resolved it (e.g. "cairn.archive_dir"). */
	const char *(*get_str)(const struct cairn_target_config *cfg,
			       const char *key);
	/* BOOL: 1 or 0; 0 when unset without a default. */
	int (*get_bool)(const struct cairn_target_config *cfg,
			const char *key);
	/* INT, SIZE (bytes), DURATION (seconds); 0 when unset without a
	 * default. Each getter serves only its own type. */
	int64_t (*get_int)(const struct cairn_target_config *cfg,
			   const char *key);
	int64_t (*get_size)(const struct cairn_target_config *cfg,
			    const char *key);
	int64_t (*get_duration)(const struct cairn_target_config *cfg,
				const char *key);
	/* Where the value came from, for a plugin's own message: "FILE:LINE",
	 * "environment CAIRN_TARGET_USB_PATH", "default", or NULL when
	 * unset. */
	const char *(*where)(const struct cairn_target_config *cfg,
			     const char *key);
};

/* ---- what open() reports about the target -------------------------- */

/* get() honours offset and length (else the core asks only 0, TO_END). */
#define CAIRN_PROP_RANGED_GET (1u << 0)
/* commit() publishes in one step and replaces an existing object of the
 * same name atomically: a reader sees the old object or the new one,
 * whole, never neither. Without it a replacing commit may leave a gap;
 * a new name is never visible before commit() either way. */
#define CAIRN_PROP_ATOMIC_COMMIT (1u << 1)
/* space() answers on this handle. */
#define CAIRN_PROP_SPACE (1u << 2)
/* retain() works on this handle (S3 Object Lock on the bucket). */
#define CAIRN_PROP_OBJECT_LOCK (1u << 3)
/* A transaction survives CAIRN_ERETRY from write() and commit(): see
 * "Resumable transactions" at write() below. */
#define CAIRN_PROP_RESUMABLE (1u << 4)

/* Filled by open(); the core zeroes it and sets size first. Per handle,
 * since it may depend on the configuration and on what the server
 * offers. */
struct cairn_target_props {
	uint32_t size;  /* set by the core */
	uint32_t flags; /* CAIRN_PROP_* */
	/* Handles the core may hold open at once to this target, each with
	 * its own transaction; 0 counts as 1 (a USB drive). The core opens
	 * one per target today. A plugin's own parallelism inside one
	 * transaction (S3 parts) is not counted here. */
	uint32_t max_handles;
};

/* Filled by space(); the core zeroes it and sets size first. */
struct cairn_space {
	uint32_t size;        /* set by the core */
	uint32_t block_size;  /* allocation unit in bytes, 0 if unknown */
	uint64_t free_bytes;  /* bytes this process may still write */
	uint64_t total_bytes; /* capacity, 0 if unknown */
};

/* ---- objects ------------------------------------------------------- */

/* One object: list() fills it (and sets size) for each callback; stat()
 * fills bytes, mtime and the lock of the core's (which set size and
 * name). */
struct cairn_object {
	uint32_t size;
	const char *name; /* base name; in list(), valid during the callback */
	uint64_t bytes;   /* length of the object */
	int64_t mtime;    /* seconds since the epoch, or 0 when unknown */
	/* since 2.1: in list(), the host folder the object is in when the
	 * target lists every host's (s3 all_hosts with a %h prefix), valid
	 * during the callback; NULL otherwise. */
	const char *host;
	/* since 2.2: in stat(), the Object Lock the store holds the object
	 * under (its current version), CAIRN_LOCK_*, and until when
	 * (seconds since the epoch); both 0 when it has none, or the
	 * plugin knows no locks. */
	uint32_t lock_mode;
	int64_t lock_until;
};

/* cairn_object.lock_mode (since 2.2). Never renumbered. */
enum cairn_lock_mode {
	CAIRN_LOCK_NONE = 0,
	CAIRN_LOCK_GOVERNANCE = 1, /* lifted early with a bypass permission */
	CAIRN_LOCK_COMPLIANCE = 2, /* lifted by nobody before its date */
};

/* Return non-zero from a list callback to stop the listing (list() then
 * returns CAIRN_OK). */
typedef int (*cairn_list_cb)(void *ctx, const struct cairn_object *obj);

/* Where get() delivers bytes: in order, each exactly once, never rewound,
 * in chunks of any non-zero length. buf is valid during the call only.
 * write() returns 0, or a cairn_rc to end the get(): the plugin stops
 * at once and returns that code (the core keeps its own message). */
struct cairn_sink {
	uint32_t size; /* sizeof(struct cairn_sink), core's */
	int (*write)(void *ctx, const void *buf, size_t len);
	void *ctx;
};

/* An upload in progress; each plugin defines the struct as it likes. */
struct cairn_txn;

/* ---- the operations ------------------------------------------------ */

struct cairn_target_ops {
	/* These three keep their layout in every major version. */
	uint16_t abi_major; /* CAIRN_ABI_MAJOR the plugin was built with */
	uint16_t abi_minor; /* CAIRN_ABI_MINOR the plugin was built with */
	uint32_t size;      /* sizeof(struct cairn_target_ops) as built */
	const char *name;   /* plugin name, e.g. "local"; matches `plugin =` */
	const char *version;
	/* The keys this plugin reads, ended by CAIRN_KEY_END; NULL when it
	 * reads none. The core's own target keys are not listed. */
	const struct cairn_key_spec *keys;

	/* Connect or check presence, and fill *props. *handle is passed to
	 * every later call. host and cfg stay valid until close(). On
	 * failure nothing is left to close. */
	int (*open)(const struct cairn_host *host,
		    const struct cairn_target_config *cfg,
		    struct cairn_target_props *props, void **handle,
		    struct cairn_error *err);
	/* Release everything; never fails. */
	void (*close)(void *handle);

	/*
	 * Transactional streaming put: begin(), write() any number of times,
	 * then exactly one of commit() or abort().
	 *
	 * Nothing is visible under `name` before commit() succeeds, and no
	 * listing shows the transaction's temporary. At most one transaction
	 * is open per handle, and while it is, the core calls nothing else
	 * on that handle (a send of several objects runs them one after the
	 * other; parallel sends take more handles, see max_handles). Local:
	 * temporary file, fsync, rename, directory fsync; ssh: temporary
	 * name, fsync where offered, rename; s3: one PUT when small, else
	 * multipart initiate, parts, complete, or abort.
	 *
	 * A temporary name must carry the final name (clean() below relies
	 * on it): ".NAME.partial" and the like.
	 */
	/* size: exactly the bytes the core will write, or
	 * CAIRN_SIZE_UNKNOWN. begin() may refuse early (CAIRN_ENOSPC, a
	 * name too long). On failure *txn is not set and nothing is left
	 * behind. An existing object named `name` stays as it is until
	 * commit(), which replaces it. */
	int (*begin)(void *handle, const char *name, uint64_t size,
		     struct cairn_txn **txn, struct cairn_error *err);
	/* Append len bytes (any length, 0 included); buf is valid during
	 * the call only, so the plugin copies or sends what it keeps and
	 * buffers as it needs (an S3 part). On failure the core's next and
	 * last call on the transaction is abort(), except as follows.
	 *
	 * Resumable transactions (props CAIRN_PROP_RESUMABLE, as open()
	 * reported it on this handle). When write() returns CAIRN_ERETRY,
	 * the call took none of buf, and the transaction still holds every
	 * byte of the writes that returned CAIRN_OK before it, including
	 * those it had buffered or failed to send (an S3 part whose upload
	 * failed stays with the transaction, to be sent again). The
	 * transaction and its handle stay usable: after a back-off the core
	 * calls write() again with the same buf and len, and the plugin
	 * first re-sends what it failed to send (the failed part, not the
	 * whole upload), then takes buf. The core may do so up to its
	 * `retries` times per call, or give up with abort(). commit() that
	 * returns CAIRN_ERETRY likewise leaves the transaction open, with
	 * nothing published: the core calls commit() again with the same
	 * sha256_hex, or abort(). Any other failure code ends the
	 * transaction's use as before (abort() next), and CAIRN_EUNAVAIL
	 * or a failure of begin() is never resumed. A plugin that cannot
	 * hold a transaction across a failure leaves the flag unset; the
	 * core then aborts and repeats the whole put on a fresh handle. */
	int (*write)(struct cairn_txn *txn, const void *buf, size_t len,
		     struct cairn_error *err);
	/* Publish under the final name. sha256_hex is the lowercase hex
	 * SHA-256 of every byte written, as the core computed it: a plugin
	 * that hashed what it sent, or whose store checks it, returns
	 * CAIRN_EINTEGRITY on a mismatch; others may ignore it (the core
	 * verifies after the commit anyway). Returns CAIRN_EFAIL when the
	 * bytes written differ from a known size. Returns only once the
	 * object is durable. Ends the transaction whatever it returns
	 * (except CAIRN_ERETRY with CAIRN_PROP_RESUMABLE, see write()): on
	 * failure nothing is under the final name and the temporary is
	 * removed as abort() would. */
	int (*commit)(struct cairn_txn *txn, const char *sha256_hex,
		      struct cairn_error *err);
	/* Drop the transaction and what it wrote (temporary file, multipart
	 * upload), best effort: clean() of a later run catches the rest.
	 * Ends the transaction; never fails. */
	void (*abort)(struct cairn_txn *txn);

	/* Deliver bytes [offset, offset + length) of `name` to sink, fewer
	 * only where the object ends; length CAIRN_TO_END reads to the end.
	 * offset == the object's length delivers nothing; beyond it,
	 * CAIRN_EFAIL. CAIRN_ENOTFOUND when there is no such object. On
	 * failure the sink may have received a prefix of the range (the
	 * core resumes from where it got, when RANGED_GET). */
	int (*get)(void *handle, const char *name, uint64_t offset,
		   uint64_t length, const struct cairn_sink *sink,
		   struct cairn_error *err);
	/* Fill obj->bytes and obj->mtime of `name` (and, since 2.2, its
	 * lock_mode and lock_until where the target locks objects);
	 * CAIRN_ENOTFOUND when there is no such object. */
	int (*stat)(void *handle, const char *name, struct cairn_object *obj,
		    struct cairn_error *err);
	/* Call cb for every complete object the target holds, in no
	 * particular order; never a temporary. */
	int (*list)(void *handle, cairn_list_cb cb, void *ctx,
		    struct cairn_error *err);
	/* Remove `name`; CAIRN_ENOTFOUND when it does not exist, CAIRN_EPERM
	 * while it is retained. */
	int (*del)(void *handle, const char *name, struct cairn_error *err);

	/* Optional (may be NULL): remove this plugin's temporary leftovers
	 * (partial files, unfinished multipart uploads) of killed runs whose
	 * final name starts with `prefix`, logging each at INFO. The core
	 * passes "NAME-backup-" while it holds config NAME's lock, so no
	 * live transfer of that config can match; since a temporary name
	 * carries its final name, another config's are never touched. */
	int (*clean)(void *handle, const char *prefix,
		     struct cairn_error *err);
	/* Optional (may be NULL): a quick health check for `cairn plugins`,
	 * e.g. reachable, authenticated, writable, free space. On success a
	 * short description may be left in err->msg (code CAIRN_OK). */
	int (*check)(void *handle, struct cairn_error *err);
	/* Optional (may be NULL), called only when open() set
	 * CAIRN_PROP_SPACE: free space now. The core checks that an archive
	 * and its sidecars fit, each rounded up to block_size, before it
	 * begins the first of them, and refuses with CAIRN_ENOSPC. */
	int (*space)(void *handle, struct cairn_space *sp,
		     struct cairn_error *err);
	/* Optional (may be NULL), called only when open() set
	 * CAIRN_PROP_OBJECT_LOCK: make `name` impossible to delete or
	 * overwrite before `until` (seconds since the epoch), with the lock
	 * mode the plugin's configuration names. */
	int (*retain)(void *handle, const char *name, int64_t until,
		      struct cairn_error *err);
};

/* The first members of every plugin's ops:
 *	static const struct cairn_target_ops ops = {
 *		CAIRN_TARGET_OPS_HEAD,
 *		.name = "local",
 *		...
 */
#define CAIRN_TARGET_OPS_HEAD                                  \
	.abi_major = CAIRN_ABI_MAJOR, .abi_minor = CAIRN_ABI_MINOR, \
	.size = sizeof(struct cairn_target_ops)

typedef const struct cairn_target_ops *(*cairn_plugin_entry_fn)(void);

/* Each plugin defines exactly this function. */
const struct cairn_target_ops *cairn_target_plugin(void);

/* ---- helpers for plugins (header only: nothing to link) ------------ */

/* Fill err (printf format) and return its code; for plugins' convenience. */
static inline int cairn_errf(struct cairn_error *err, int code,
			     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int cairn_errf(struct cairn_error *err, int code,
			     const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* The code for an errno value, the same mapping the core uses. */
static inline int cairn_errno_rc(int e)
{
	switch (e) {
	case ENOSPC:
#ifdef EDQUOT
	case EDQUOT:
#endif
		return CAIRN_ENOSPC;
	case EACCES:
	case EPERM:
	case EROFS:
		return CAIRN_EPERM;
	case ENOENT:
		return CAIRN_ENOTFOUND;
	case EAGAIN:
	case EINTR:
	case ETIMEDOUT:
		return CAIRN_ERETRY;
	default:
		return CAIRN_EFAIL;
	}
}

/* Fill err with "WHAT: strerror(errnum)" and return code, or when code
 * is 0 the code cairn_errno_rc() gives errnum. */
static inline int cairn_errnof(struct cairn_error *err, int code,
			       int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline int cairn_errnof(struct cairn_error *err, int code,
			       int errnum, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!code)
		code = cairn_errno_rc(errnum);
	return cairn_errf(err, code, "%s: %s", what, strerror(errnum));
}

/*
 * Notify plugins: where a [notify NAME] section sends word of a run
 * (healthchecks pings, webhooks). A notify plugin exports
 * CAIRN_NOTIFY_ENTRY, returning a const struct cairn_notify_ops that
 * begins, like the target ops, with the ABI version and its own size.
 * The core owns retries (a few, with back-off) and the timeout, and a
 * failed notification never fails the run: send() makes one attempt and
 * returns CAIRN_ERETRY for what is worth another (timeouts, 5xx).
 * The same rules as above keep old plugins working: members are only
 * appended, the core never reads past `size`.
 */
#define CAIRN_NOTIFY_ENTRY "cairn_notify_plugin"

/* What happened. */
enum cairn_notify_kind {
	CAIRN_NOTIFY_START = 0,      /* a backup begins */
	CAIRN_NOTIFY_SUCCESS = 1,    /* it made, verified and sent an archive */
	CAIRN_NOTIFY_FAILURE = 2,    /* it failed (or a target did) */
	CAIRN_NOTIFY_SUSPICIOUS = 3, /* success, but the shrink alarm went off */
};

/* A [notify NAME] section as the core read it (with CAIRN_NOTIFY_NAME_*
 * environment overrides). Valid during send(). */
struct cairn_notify_config {
	uint32_t size;     /* sizeof(struct cairn_notify_config), core's */
	const char *name;  /* the section name */
	const char *type;  /* `type =`, one of the plugin's types */
	void *core;        /* opaque to plugins */
	/* Value of `key`, or NULL when unset. */
	const char *(*get)(const struct cairn_notify_config *cfg,
			   const char *key);
	/* Log a line (printf format) under the section's name. */
	void (*log)(const struct cairn_notify_config *cfg, int level,
		    const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
};

/* One target's part in the run. */
struct cairn_notify_target {
	const char *name;
	const char *status; /* "success", "failure" or "skipped" */
	const char *error;  /* or NULL */
};

/* The event. Strings are valid during send() only. */
struct cairn_notify_event {
	uint32_t size;        /* sizeof(struct cairn_notify_event), core's */
	int kind;             /* enum cairn_notify_kind */
	const char *status;   /* "start", "success", "failure", "suspicious" */
	const char *config;   /* the config's `name`, e.g. "mss" */
	const char *host;     /* this machine's host name */
	const char *archive;  /* the archive's name, or NULL */
	const char *error;    /* what failed or dropped, or NULL */
	const char *log_tail; /* the run's last log lines, or NULL */
	uint64_t bytes;       /* the archive's size */
	double seconds;       /* how long the run took so far */
	const struct cairn_notify_target *targets;
	size_t ntargets;
};

struct cairn_notify_ops {
	uint16_t abi_major; /* CAIRN_ABI_MAJOR the plugin was built with */
	uint16_t abi_minor; /* CAIRN_ABI_MINOR the plugin was built with */
	uint32_t size;      /* sizeof(struct cairn_notify_ops) as built */
	const char *name;   /* plugin name; matches `plugin =` (default
			       "notify") */
	const char *version;
	/* NULL-terminated: the `type =` values it handles, and the keys
	 * it reads (the core's own, type, plugin and events, not listed). */
	const char *const *types;
	const char *const *keys;
	/* Check a section's keys before the run (NULL: none to check). */
	int (*check)(const struct cairn_notify_config *cfg,
		     struct cairn_error *err);
	/* One attempt to deliver ev, giving up after timeout seconds. */
	int (*send)(const struct cairn_notify_config *cfg,
		    const struct cairn_notify_event *ev, long timeout,
		    struct cairn_error *err);
};

typedef const struct cairn_notify_ops *(*cairn_notify_entry_fn)(void);

/* Each notify plugin defines exactly this function. */
const struct cairn_notify_ops *cairn_notify_plugin(void);

#ifdef __cplusplus
}
#endif
#endif /* CAIRN_PLUGIN_H */

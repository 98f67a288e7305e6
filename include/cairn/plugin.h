/*
 * cairn target plugin ABI.
 *
 * A plugin is a shared object (libtool module) that exports one symbol,
 * CAIRN_PLUGIN_ENTRY, returning a pointer to a const struct cairn_target_ops.
 * The struct begins with the ABI version and its own size so the loader can
 * reject a plugin built against an incompatible header before calling it.
 *
 * Rules that keep old plugins working:
 *  - a change that breaks existing plugins bumps CAIRN_ABI_MAJOR;
 *  - new members are only ever appended to the structs here and bump
 *    CAIRN_ABI_MINOR; the core never reads past a plugin's `size`;
 *  - result codes are never renumbered.
 * The structs the core allocates (cairn_target_config, cairn_put_file)
 * grow the same way; a member marked "since 1.1" is always set by a 1.1
 * core, so a plugin built with this header may use it, but needs a core
 * of ABI 1.1 or later.
 *
 * History: 1.0 first ABI. 1.1 cairn_target_config.stopped,
 * cairn_put_file.send_bytes, cairn_target_ops.clean.
 *
 * The core owns retries, logging policy and retention: a plugin translates
 * its library's errors into one of the codes below and returns.
 */
#ifndef CAIRN_PLUGIN_H
#define CAIRN_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CAIRN_ABI_MAJOR 1
#define CAIRN_ABI_MINOR 1

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
	CAIRN_EPERM = 9,      /* permission denied */
	CAIRN_ELOCKED = 10,   /* another run holds the lock (core only) */
};

/* An error: a code and one line for the operator. Never holds secrets. */
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

/*
 * A target's configuration as the core read it: the [target NAME] section
 * merged with CAIRN_TARGET_NAME_* environment variables. Valid from open()
 * until close().
 */
struct cairn_target_config {
	const char *name; /* the section name, e.g. "usb" */
	void *core;       /* opaque to plugins */
	/* Value of `key`, or NULL when unset. "cairn.KEY" reads KEY of the
	 * [cairn] section (e.g. "cairn.archive_dir"); older cores return
	 * NULL for it. */
	const char *(*get)(const struct cairn_target_config *cfg,
			   const char *key);
	/* Log a line (printf format) under the target's name. */
	void (*log)(const struct cairn_target_config *cfg, int level,
		    const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/* Since 1.1. Non-zero once the run is asked to stop (SIGTERM,
	 * SIGINT, SIGHUP). Long transfers poll it, remove what they wrote
	 * (temporary file, multipart upload) and return CAIRN_EFAIL. */
	int (*stopped)(const struct cairn_target_config *cfg);
};

/* One file handed to put(). */
struct cairn_put_file {
	const char *path;   /* local file to send */
	const char *name;   /* object name on the target (a base name) */
	uint64_t size;      /* bytes in path */
	const char *sha256; /* lowercase hex SHA-256 of the contents */
	/* Optional progress callback, may be NULL. */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	/* Since 1.1. Bytes of this file and of the files still to follow
	 * it in the same send (an archive and its sidecars), >= size. A
	 * plugin that can tell free space refuses with CAIRN_ENOSPC before
	 * writing anything when they do not all fit. */
	uint64_t send_bytes;
};

/* One object as list() reports it. */
struct cairn_object {
	const char *name; /* base name; valid during the callback only */
	uint64_t size;
	int64_t mtime; /* seconds since the epoch, or 0 when unknown */
};

/* Return non-zero from a list callback to stop the listing. */
typedef int (*cairn_list_cb)(void *ctx, const struct cairn_object *obj);

struct cairn_target_ops {
	uint16_t abi_major; /* CAIRN_ABI_MAJOR the plugin was built with */
	uint16_t abi_minor; /* CAIRN_ABI_MINOR the plugin was built with */
	uint32_t size;      /* sizeof(struct cairn_target_ops) as built */
	const char *name;   /* plugin name, e.g. "local"; matches `plugin =` */
	const char *version;
	/* NULL-terminated list of the keys this plugin reads, so the core can
	 * name an unknown key with FILE:LINE. The core's own target keys
	 * (plugin, keep_*) are not listed. */
	const char *const *keys;

	/* Connect or check presence; *handle is passed to every later call. */
	int (*open)(const struct cairn_target_config *cfg, void **handle,
		    struct cairn_error *err);
	/* Store one file. It must appear under `name` only when complete:
	 * write a temporary name, then rename. The core sends the archive
	 * first and its sidecars after it. */
	int (*put)(void *handle, const struct cairn_put_file *file,
		   struct cairn_error *err);
	/* Call cb for every object the target holds (no order required). */
	int (*list)(void *handle, cairn_list_cb cb, void *ctx,
		    struct cairn_error *err);
	/* Fetch `name` into the local file dest (created 0600 by the plugin,
	 * replaced if it exists). The core verifies it afterwards. */
	int (*get)(void *handle, const char *name, const char *dest,
		   struct cairn_error *err);
	/* Remove `name`; CAIRN_ENOTFOUND when it does not exist. */
	int (*del)(void *handle, const char *name, struct cairn_error *err);
	void (*close)(void *handle);
	/* Optional (may be NULL): a quick health check for `cairn plugins`,
	 * e.g. reachable, authenticated, writable, free space. On success a
	 * short description may be left in err->msg. */
	int (*check)(void *handle, struct cairn_error *err);
	/* Optional (may be NULL), since 1.1: remove this plugin's temporary
	 * leftovers (partial files, unfinished multipart uploads) of killed
	 * runs whose final name starts with `prefix`. The core passes
	 * "NAME-backup-" while it holds config NAME's lock, so no live
	 * transfer of that config can match; a temporary name must carry
	 * its final name so that another config's are never touched. */
	int (*clean)(void *handle, const char *prefix,
		     struct cairn_error *err);
};

typedef const struct cairn_target_ops *(*cairn_plugin_entry_fn)(void);

/* Each plugin defines exactly this function. */
const struct cairn_target_ops *cairn_target_plugin(void);

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

/* Archive storage in a directory, shared by the local and usb targets.
 * Plugin code: includes nothing of core/. */
#ifndef CAIRN_FILEOPS_H
#define CAIRN_FILEOPS_H

#include "cairn/plugin.h"

/* A directory store: dir must be absolute; host may be NULL. */
struct dir_store {
	char *dir;
	const struct cairn_host *host;
};

/* mkdir -p with mode; 0 or -1 (errno). */
int dir_mkdir_p(const char *path, unsigned mode);
/* A transaction writes .NAME.partial; commit fsyncs, renames and fsyncs
 * the directory. A partial file never survives a failure. */
int dir_begin(struct dir_store *s, const char *name, uint64_t size,
	      struct cairn_txn **txn, struct cairn_error *err);
int dir_write(struct cairn_txn *txn, const void *buf, size_t len,
	      struct cairn_error *err);
int dir_commit(struct cairn_txn *txn, const char *sha256_hex,
	       struct cairn_error *err);
void dir_abort(struct cairn_txn *txn);
int dir_get(struct dir_store *s, const char *name, uint64_t offset,
	    uint64_t length, const struct cairn_sink *sink,
	    struct cairn_error *err);
int dir_stat(struct dir_store *s, const char *name, struct cairn_object *o,
	     struct cairn_error *err);
int dir_list(struct dir_store *s, cairn_list_cb cb, void *ctx,
	     struct cairn_error *err);
int dir_del(struct dir_store *s, const char *name, struct cairn_error *err);
/* Remove the .NAME.partial files of killed runs whose NAME starts with
 * prefix. */
int dir_clean(struct dir_store *s, const char *prefix,
	      struct cairn_error *err);
int dir_space(struct dir_store *s, struct cairn_space *sp,
	      struct cairn_error *err);
/* Free bytes for an unprivileged writer at path, or -1. */
long long dir_free(const char *path);
/* "1.5 GiB" */
void dir_fmt_bytes(uint64_t n, char out[32]);

#endif

/* Archive storage in a directory, shared by the local and usb targets. */
#ifndef CAIRN_FILEOPS_H
#define CAIRN_FILEOPS_H

#include "cairn/plugin.h"

/* Copy file into dir as file->name: temporary name .NAME.partial,
 * copy_file_range, fsync, read back and hash, rename, directory fsync.
 * A partial file never survives, whatever fails; a stop asked through
 * cfg->stopped ends the copy. */
int dir_put(const char *dir, const struct cairn_put_file *file,
	    const struct cairn_target_config *cfg, struct cairn_error *err);
/* Remove the .NAME.partial files of killed runs whose NAME starts with
 * prefix. */
int dir_clean(const char *dir, const char *prefix,
	      const struct cairn_target_config *cfg, struct cairn_error *err);
int dir_list(const char *dir, cairn_list_cb cb, void *ctx,
	     struct cairn_error *err);
int dir_get(const char *dir, const char *name, const char *dest,
	    struct cairn_error *err);
int dir_del(const char *dir, const char *name, struct cairn_error *err);
/* Free bytes for an unprivileged writer at path, or -1. */
long long dir_free(const char *path);
/* Bytes a put needs free: the file and the rest of its send, each file
 * rounded up to the file system's blocks; 0 when statvfs fails. */
unsigned long long put_need(const char *dir, const struct cairn_put_file *f);

#endif

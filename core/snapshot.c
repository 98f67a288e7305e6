/* A consistent SQLite snapshot while the app keeps writing: the online
 * backup API copies every page inside one read transaction, so the copy
 * is one committed state, and the app's writers are not blocked in WAL
 * mode. The copy is checked before it goes into an archive. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cairn.h"

/* Reads map up to this much of a database (SQLite caps it at its
 * compile-time limit). */
#define MMAP_SIZE "1073741824"

static int db_err(struct cairn_error *err, sqlite3 *db, const char *what,
		  const char *path)
{
	return cairn_errf(err, CAIRN_EFAIL, "%s %s: %s", what, path,
			  db ? sqlite3_errmsg(db) : "out of memory");
}

int sqlite_snapshot(const char *src, const char *dest,
		    struct cairn_error *err)
{
	sqlite3 *s = NULL, *d = NULL;
	sqlite3_backup *b = NULL;
	int rc = CAIRN_EFAIL, r, tries = 0;

	/* One step copies every page: the stop is checked either side. */
	if ((rc = stop_check(err)))
		goto out;
	if (access(src, R_OK)) {
		rc = errno_err(err, 0, errno, "cannot read database %s", src);
		goto out;
	}
	if (sqlite3_open_v2(src, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = db_err(err, s, "cannot open database", src);
		goto out;
	}
	sqlite3_busy_timeout(s, 10000);
	/* Pages read through a mapping, not a pread(2) each. */
	sqlite3_exec(s, "PRAGMA mmap_size=" MMAP_SIZE, NULL, NULL, NULL);
	if (sqlite3_open_v2(dest, &d, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		rc = db_err(err, d, "cannot create snapshot", dest);
		goto out;
	}
	/* A private copy, checked then deleted: no journal, no fsyncs. */
	sqlite3_exec(d, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF",
		     NULL, NULL, NULL);
	b = sqlite3_backup_init(d, "main", s, "main");
	if (!b) {
		rc = db_err(err, d, "cannot start backup of", src);
		goto out;
	}
	/* -1: all pages in one step, i.e. one read transaction. */
	while ((r = sqlite3_backup_step(b, -1)) != SQLITE_DONE) {
		if ((r == SQLITE_BUSY || r == SQLITE_LOCKED) && tries++ < 100) {
			sqlite3_sleep(100);
			continue;
		}
		rc = cairn_errf(err, CAIRN_EFAIL, "snapshot of %s failed: %s",
				src, sqlite3_errstr(r));
		goto out;
	}
	rc = stop_check(err);
out:
	if (b && sqlite3_backup_finish(b) != SQLITE_OK && !rc)
		rc = db_err(err, d, "snapshot failed for", src);
	sqlite3_close(d);
	sqlite3_close(s);
	return rc;
}

void db_check_free(struct db_check *chk)
{
	free(chk->result);
	strv_free(&chk->rows);
	memset(chk, 0, sizeof(*chk));
}

/* "file:" URI of a path: '?', '#' and '%' (and anything else not
 * plain) percent-encoded, so the path is read as a path. */
static char *file_uri(const char *path)
{
	static const char hx[] = "0123456789ABCDEF";
	struct sbuf b = { 0 };

	sb_add(&b, "file:", 5);
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		char esc[3] = { '%', hx[*p >> 4], hx[*p & 15] };

		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/-._~", *p))
			sb_add(&b, (const char *)p, 1);
		else
			sb_add(&b, esc, 3);
	}
	sb_add(&b, "?immutable=1", 12);
	return b.s;
}

/* integrity_check of a big database stops when the run is asked to. */
static int on_progress(void *unused)
{
	(void)unused;
	return stop_signal() != 0;
}

int sqlite_check(const char *path, struct db_check *chk,
		 struct cairn_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct strv tables = { 0 };
	int rc = CAIRN_EFAIL;
	char *uri = NULL;

	db_check_free(chk);
	/* immutable: read the file as it is, create no -wal or -shm. */
	uri = file_uri(path);
	if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
			    NULL) != SQLITE_OK) {
		rc = db_err(err, db, "cannot open database", path);
		goto out;
	}
	sqlite3_progress_handler(db, 10000, on_progress, NULL);
	/* integrity_check visits pages more than once: a mapping, not a
	 * pread(2) per visit. */
	sqlite3_exec(db, "PRAGMA mmap_size=" MMAP_SIZE, NULL, NULL, NULL);
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL)) {
		chk->result = xstrdup(sqlite3_errmsg(db));
		rc = cairn_errf(err, CAIRN_EINTEGRITY,
				"%s fails integrity_check: %s", path,
				chk->result);
		goto out;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		chk->result = xstrdup((const char *)sqlite3_column_text(st, 0));
	else if ((rc = stop_check(err)))
		goto out;
	else
		chk->result = xstrdup(sqlite3_errmsg(db));
	sqlite3_finalize(st);
	st = NULL;
	chk->ok = !strcmp(chk->result, "ok");
	if (!chk->ok) {
		rc = cairn_errf(err, CAIRN_EINTEGRITY,
				"%s fails integrity_check: %s", path,
				chk->result);
		goto out;
	}
	sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE "
			   "type = 'table' AND name NOT LIKE 'sqlite_%' "
			   "ORDER BY name", -1, &st, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW)
		strv_push(&tables, (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	st = NULL;
	for (size_t i = 0; i < tables.n; i++) {
		char *q = sqlite3_mprintf("SELECT count(*) FROM \"%w\"",
					  tables.v[i]);
		long long n = -1;

		if (sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		st = NULL;
		sqlite3_free(q);
		char *line = xasprintf("%s=%lld", tables.v[i], n);

		strv_push(&chk->rows, line);
		free(line);
	}
	rc = CAIRN_OK;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	strv_free(&tables);
	free(uri);
	return rc;
}

bool is_sqlite_file(const char *path)
{
	char hdr[16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool yes;

	if (fd < 0)
		return false;
	yes = read(fd, hdr, 16) == 16 && !memcmp(hdr, "SQLite format 3", 16);
	close(fd);
	return yes;
}

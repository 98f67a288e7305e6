/*
 * Making a backup's archive: plan, snapshot, archive, verify, publish.
 * Nothing is published under a final name before it is complete and
 * read back from disk. (cmd_backup.c sends it on and prunes.)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cairn.h"

struct run {
	const struct config *cfg;
	struct comp_plan *plans;
	struct comp_stats *stats;
	struct archive_tap *tap; /* st->tap */
	char *staging;    /* private dir for snapshots and dumps */
	int staging_fd;   /* holds its flock (see leftovers.c) */
	dev_t skip_dev[3]; /* our own dirs, never archived */
	ino_t skip_ino[3];
	size_t nskip;
	struct incr inc;  /* an incremental night (incr.c) */
};

/* Databases and dumps first, then files components smallest first, so
 * a DB-only restore reads a few megabytes and stops. */
static int plan_order(const void *a, const void *b)
{
	const struct comp_plan *x = a, *y = b;
	int kx = comp_ops(x->c->type)->whole;
	int ky = comp_ops(y->c->type)->whole;

	if (kx != ky)
		return ky - kx;
	return (x->bytes > y->bytes) - (x->bytes < y->bytes);
}

static void skip_dir(struct run *r, const char *path)
{
	struct stat st;

	if (r->nskip < ARRAY_SIZE(r->skip_dev) && !stat(path, &st)) {
		r->skip_dev[r->nskip] = st.st_dev;
		r->skip_ino[r->nskip++] = st.st_ino;
	}
}

static void free_plans(struct run *r)
{
	for (size_t i = 0; r->plans && i < r->cfg->ncomps; i++)
		plan_free(&r->plans[i]);
	free(r->plans);
	for (size_t i = 0; r->stats && i < r->cfg->ncomps; i++) {
		strv_free(&r->stats[i].notes);
		db_check_free(&r->stats[i].db);
	}
	free(r->stats);
}

/* A path a required component names went away: the archive would
 * lack the component. (Files under it may come and go.) */
static bool vanished(const struct component *c, const char *rel,
		     const char *abs)
{
	if (!c->required || path_exists(abs))
		return false;
	for (size_t i = 0; i < c->paths.n; i++)
		if (!strcmp(c->paths.v[i], rel))
			return true;
	return false;
}

/* The targets' tees (streaming) and the read-back's, for the writer;
 * tees_part gives each its verdict back. */
static struct aw_tee *tees_join(struct run *r, struct aw_tee *rb_tee,
				int *n)
{
	int ntap = r->tap ? r->tap->ntees : 0;
	struct aw_tee *t = xcalloc((size_t)ntap + 1, sizeof(*t));

	if (ntap)
		memcpy(t, r->tap->tees, (size_t)ntap * sizeof(*t));
	if (rb_tee)
		t[ntap] = *rb_tee;
	*n = ntap + (rb_tee != NULL);
	return t;
}

static void tees_part(struct run *r, struct aw_tee *t,
		      struct aw_tee *rb_tee)
{
	int ntap = r->tap ? r->tap->ntees : 0;

	for (int i = 0; t && i < ntap; i++)
		r->tap->tees[i].rc = t[i].rc;
	if (t && rb_tee)
		rb_tee->rc = t[ntap].rc;
	free(t);
}

/*
 * Write the archive to tmp; on success hex is its SHA-256 and man_text
 * the manifest. The temp file is the caller's to rename or remove.
 */
static int write_archive(struct run *r, int fd, const char *name,
			 time_t started, char hex[65], struct sbuf *man_text,
			 uint64_t *bytes, const char *ixtmp, char ixhex[65],
			 struct aw_tee *rb_tee, struct cairn_error *err)
{
	const struct config *cfg = r->cfg;
	struct inv_cmd *cmds = NULL;
	struct aw_tee *tees = NULL;
	struct awriter w;
	struct progress prog;
	struct sbuf inv = { 0 };
	uint64_t total = 0;
	size_t ncmds = 0;
	int rc;

	inventory_run_commands(cfg, &cmds, &ncmds);
	for (size_t i = 0; i < cfg->ncomps; i++)
		total += r->plans[i].bytes;
	if ((rc = aw_open(&w, fd, cfg, err)))
		goto out;
	progress_begin(&prog, "backup", total);
	w.prog = &prog;
	w.tees = tees = tees_join(r, rb_tee, &w.ntees);
	if (cfg->self && (rc = aw_seal(&w, &cfg->crypt->r, err)))
		goto out_prog;
	for (size_t i = 0; i < cfg->ncomps; i++) {
		struct comp_plan *p = &r->plans[i];

		for (size_t j = 0; j < p->n; j++) {
			struct item *it = &p->items[j];
			char *abs;
			bool skipped;

			if ((rc = stop_check(err)))
				goto out_prog;
			if (incr_unchanged(&r->inc, &w, p, it))
				continue;
			incr_offer_frame(&r->inc, &w, p, it);
			abs = path_join(cfg->source, it->rel);
			rc = aw_add(&w, abs, it->data, it->rel, &it->st,
				    &skipped, err);
			if (!rc && skipped && vanished(p->c, it->rel, abs))
				rc = cairn_errf(err, CAIRN_ENOTFOUND,
						"component %s: %s vanished "
						"during the backup",
						p->c->name, abs);
			free(abs);
			if (rc)
				goto out_prog;
			if (skipped)
				p->stats->files -= !S_ISDIR(it->st.st_mode);
			else if (S_ISREG(it->st.st_mode))
				p->stats->bytes += (uint64_t)it->st.st_size;
		}
	}
	if ((rc = stop_check(err)))
		goto out_prog;
	incr_finish(&r->inc);
	if (w.reused)
		log_info("%llu unchanged whole members (%llu bytes) copied "
			 "compressed from %s", (unsigned long long)w.reused,
			 (unsigned long long)w.reused_bytes,
			 base_of(r->inc.prev));
	inventory_format(cfg, name, started, r->stats, cmds, ncmds, &inv);
	if ((rc = aw_add_buffer(&w, "inventory.txt", inv.s, inv.len, true,
				err)))
		goto out_prog;
	manifest_format(&w.man, man_text);
	if ((rc = aw_add_buffer(&w, "MANIFEST.sha256", man_text->s,
				man_text->len, false, err)))
		goto out_prog;
	if (!(rc = aw_close(&w, hex, err)))
		rc = aw_index_save(&w, ixtmp, ixhex, err);
	*bytes = w.disk_bytes;
out_prog:
	progress_end(&prog);
out:
	/* aw_free may still write (libarchive ends an unclosed archive):
	 * the tees go after it. */
	aw_free(&w);
	tees_part(r, tees, rb_tee);
	sb_free(&inv);
	inventory_free_commands(cmds, ncmds);
	return rc;
}

/* Read a written file back from disk and compare. Its pages are dropped
 * from the cache first, so the check reads what the disk holds (and a
 * nightly backup does not evict the app's working set). */
static int read_back(const char *path, const char *hex,
		     struct cairn_error *err)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	enum { N = 1 << 20 };
	unsigned char md[32], *buf = xmalloc(N);
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = CAIRN_EFAIL;
	char got[65];
	ssize_t n;

	if (fd < 0 || !c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		rc = errno_err(err, 0, errno, "cannot verify %s", path);
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	while ((n = read(fd, buf, N)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno_err(err, 0, errno, "cannot verify %s",
				       path);
			goto out;
		}
		EVP_DigestUpdate(c, buf, (size_t)n);
		if ((rc = stop_check(err)))
			goto out;
	}
	EVP_DigestFinal_ex(c, md, NULL);
	hex_encode(md, 32, got);
	if (strcmp(got, hex)) {
		rc = cairn_errf(err, CAIRN_EINTEGRITY,
				"%s reads back with SHA-256 %s, wrote %s",
				path, got, hex);
		goto out;
	}
	rc = CAIRN_OK;
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(c);
	free(buf);
	return rc;
}

/*
 * Reading back behind the writer. Each stretch of the archive, once
 * written, is forced to disk (sync_file_range), dropped from the cache
 * and read back into a SHA-256 by a thread while the rest is still
 * being made; the last stretch is read after the fsync. The check is
 * read_back's (what the disk holds hashes to what was written), without
 * a second pass over the whole archive at the end. If the thread cannot
 * start, read_back runs as before.
 */
enum { RB_CHUNK = 8 << 20, RB_BUF = 1 << 20 };

struct rback {
	int fd, wfd;          /* the .partial: read only, and the writer's */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t written, pos; /* under mu */
	bool done, quit, started, fallback;
	int err;              /* errno of a failed read, or -1: short */
	EVP_MD_CTX *c;
	unsigned char *buf;
	struct aw_tee tee;
};

/* The writer's tee: n more bytes are in the file. */
static int rb_wrote(void *ctx, const void *buf, size_t len)
{
	struct rback *b = ctx;

	(void)buf;
	pthread_mutex_lock(&b->mu);
	b->written += len;
	if (b->written - b->pos >= RB_CHUNK)
		pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	return CAIRN_OK;
}

/* Read [pos, pos + len) from disk into the hash. */
static bool rb_stretch(struct rback *b, uint64_t pos, uint64_t len,
		       bool synced)
{
	if (!synced && sync_file_range(b->wfd, (off_t)pos, (off_t)len,
				       SYNC_FILE_RANGE_WAIT_BEFORE |
				       SYNC_FILE_RANGE_WRITE |
				       SYNC_FILE_RANGE_WAIT_AFTER)) {
		b->fallback = true; /* read_back after the fsync, then */
		return false;
	}
	posix_fadvise(b->fd, (off_t)pos, (off_t)len, POSIX_FADV_DONTNEED);
	while (len) {
		ssize_t n = pread(b->fd, b->buf, len < RB_BUF ? (size_t)len
				  : RB_BUF, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			b->err = n ? errno : -1;
			return false;
		}
		EVP_DigestUpdate(b->c, b->buf, (size_t)n);
		pos += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return true;
}

static void *rb_main(void *ctx)
{
	struct rback *b = ctx;

	for (;;) {
		uint64_t pos, len;
		bool done;

		pthread_mutex_lock(&b->mu);
		while (!b->done && !b->quit && b->written - b->pos < RB_CHUNK)
			pthread_cond_wait(&b->cv, &b->mu);
		pos = b->pos;
		len = b->written - pos;
		done = b->done;
		pthread_mutex_unlock(&b->mu);
		if (b->quit || !len)
			break;
		if (!done && len > RB_CHUNK)
			len = RB_CHUNK;
		/* once done, the writer has fsync'd the whole file */
		if (!rb_stretch(b, pos, len, done))
			break;
		pthread_mutex_lock(&b->mu);
		b->pos += len;
		pthread_mutex_unlock(&b->mu);
	}
	return NULL;
}

static void rb_start(struct rback *b, const char *path, int wfd)
{
	memset(b, 0, sizeof(*b));
	b->wfd = wfd;
	b->fd = open(path, O_RDONLY | O_CLOEXEC);
	b->c = EVP_MD_CTX_new();
	b->buf = xmalloc(RB_BUF);
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	b->tee = (struct aw_tee){ rb_wrote, b, CAIRN_OK };
	b->started = b->fd >= 0 && b->c &&
		     EVP_DigestInit_ex(b->c, EVP_sha256(), NULL) &&
		     !pthread_create(&b->th, NULL, rb_main, b);
}

/* End the thread: with quit, at once; else after it read the rest. */
static void rb_stop(struct rback *b, bool quit)
{
	if (!b->started)
		return;
	pthread_mutex_lock(&b->mu);
	b->done = true;
	b->quit = quit;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->th, NULL);
	b->started = false;
}

static void rb_free(struct rback *b)
{
	rb_stop(b, true);
	if (b->fd >= 0)
		close(b->fd);
	EVP_MD_CTX_free(b->c);
	free(b->buf);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	memset(b, 0, sizeof(*b));
	b->fd = -1;
}

/* After the fsync: the whole file read back hashes to hex (read_back if
 * the thread never ran or its tee was dropped). */
static int rb_check(struct rback *b, const char *path, const char *hex,
		    uint64_t bytes, struct cairn_error *err)
{
	unsigned char md[32];
	char got[65];

	if (!b->started || b->tee.rc != CAIRN_OK)
		return read_back(path, hex, err);
	rb_stop(b, false);
	if (b->fallback)
		return read_back(path, hex, err);
	if (b->err > 0)
		return errno_err(err, 0, b->err, "cannot verify %s", path);
	if (b->err || b->pos != bytes)
		return cairn_errf(err, CAIRN_EINTEGRITY, "%s reads back "
				  "short: %llu of %llu bytes", path,
				  (unsigned long long)b->pos,
				  (unsigned long long)bytes);
	EVP_DigestFinal_ex(b->c, md, NULL);
	hex_encode(md, 32, got);
	if (strcmp(got, hex))
		return cairn_errf(err, CAIRN_EINTEGRITY,
				  "%s reads back with SHA-256 %s, wrote %s",
				  path, got, hex);
	return CAIRN_OK;
}

/* A sidecar under its temporary name, on disk before it is renamed;
 * sealed (r) it is encrypted. hex: the hash of what is on disk. */
static int write_temp(const char *path, const struct sbuf *b,
		      const struct age_recipients *r, char hex[65],
		      struct cairn_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct crypt_put cp = { .fd = -1 };
	unsigned char md[32];
	int rc;

	if (fd < 0)
		return errno_err(err, 0, errno, "cannot write %s", path);
	if (r) {
		if (!(rc = crypt_put_fd(&cp, r, fd, err)) &&
		    !(rc = crypt_put_buf(&cp, b->s, b->len, path, err)))
			rc = crypt_put_end(&cp, hex, err);
		crypt_put_free(&cp);
	} else {
		EVP_Digest(b->s, b->len, md, NULL, EVP_sha256(), NULL);
		hex_encode(md, 32, hex);
		rc = write_all(fd, b->s, b->len) ?
		     errno_err(err, 0, errno, "cannot write %s", path) : 0;
	}
	if (!rc && fsync(fd))
		rc = errno_err(err, 0, errno, "cannot fsync %s", path);
	if (close(fd) && !rc)
		rc = errno_err(err, 0, errno, "cannot write %s", path);
	return rc;
}

/* Testing aid: CAIRN_PUBLISH_PAUSE=N sleeps N s before each step of
 * publishing, so a test can kill the run between any two of them. */
static void publish_pause(void)
{
	const char *s = getenv("CAIRN_PUBLISH_PAUSE");
	long v = 0;

	if (s && parse_int(s, 0, 3600, &v) && v)
		sleep((unsigned)v);
}

/* NAME-backup-latest.EXT -> the archive, replaced atomically; the links
 * of other compressions would name older archives, so they go. */
static void update_latest(const struct config *cfg, const char *name)
{
	char *link = latest_link_path(cfg, cfg->compression);
	char *tmp = xasprintf("%s.tmp", link);

	unlink(tmp);
	if (symlink(name, tmp) || rename(tmp, link)) {
		log_warn("cannot update %s: %s", link, strerror(errno));
		unlink(tmp);
	}
	for (int c = COMP_ZSTD; c <= COMP_NONE; c++) {
		char *l = latest_link_path(cfg, c);
		struct stat st;

		if (c != (int)cfg->compression && !lstat(l, &st) &&
		    S_ISLNK(st.st_mode) && unlink(l))
			log_warn("cannot remove %s: %s", l, strerror(errno));
		free(l);
	}
	free(tmp);
	free(link);
}

/* The files of one archive: final names and the temporary ones. */
struct pub {
	char *name, *final, *tmp, *man, *mantmp, *side, *sidetmp;
	char *ix, *ixtmp; /* the index sidecar (seekable archives) */
	char ixhex[65];
	bool tmp_ours, man_done, side_done, done;
	bool ix_done;
};

/* dir/.BASE.partial: file's temporary name. */
static char *partial(const char *dir, const char *file)
{
	return xasprintf("%s/.%s.partial", dir, base_of(file));
}

/* An encrypted archive_dir's files are NAME.age and its sidecars the
 * .age ones (sidecar_named); p->name is NAME all the same. */
static void pub_names(struct pub *p, const struct config *cfg, time_t t,
		      bool incr)
{
	const char *dir = cfg->archive_dir;

	p->name = archive_name_kind(cfg, t, incr);
	p->final = xasprintf("%s/%s%s", dir, p->name,
			     cfg->self ? ".age" : "");
	p->tmp = partial(dir, p->final);
	p->man = sidecar_manifest(p->final);
	p->mantmp = partial(dir, p->man);
	p->side = sidecar_sha(p->final);
	p->sidetmp = partial(dir, p->side);
	p->ix = index_sidecar(p->final);
	p->ixtmp = partial(dir, p->ix);
}

/* Undo what an unfinished publication left; then free the names. */
static void pub_free(struct pub *p)
{
	if (!p->done) {
		if (p->tmp_ours) {
			unlink(p->tmp);
			unlink(p->mantmp);
			unlink(p->sidetmp);
			unlink(p->ixtmp);
		}
		if (p->ix_done)
			unlink(p->ix);
		if (p->side_done)
			unlink(p->side);
		if (p->man_done)
			unlink(p->man);
	}
	free(p->name);
	free(p->final);
	free(p->tmp);
	free(p->man);
	free(p->mantmp);
	free(p->side);
	free(p->sidetmp);
	free(p->ix);
	free(p->ixtmp);
	memset(p, 0, sizeof(*p));
}

/*
 * Verified on disk under temporary names, then published: manifest and
 * sidecar first, the archive last, so no final-named archive is ever
 * without its sidecar (a sidecar whose archive never came is a leftover
 * the next run removes).
 */
static int publish(struct pub *p, int fd, const char *hex,
		   const struct sbuf *man_text, const struct config *cfg,
		   struct rback *rb, uint64_t bytes, struct cairn_error *err)
{
	const struct age_recipients *seal = cfg->self ? &cfg->crypt->r
						      : NULL;
	const char *dir = cfg->archive_dir;
	struct sbuf side = { 0 };
	char man_hex[65], side_hex[65];
	int rc;

	if (fsync(fd)) {
		rc = errno_err(err, 0, errno, "cannot fsync %s", p->tmp);
		goto out;
	}
	if ((rc = rb_check(rb, p->tmp, hex, bytes, err)))
		goto out;
	/* The manifest copy beside the archive lets a restore know every
	 * member without reading the whole archive. */
	if ((rc = write_temp(p->mantmp, man_text, seal, man_hex, err)) ||
	    (rc = read_back(p->mantmp, man_hex, err)))
		goto out;
	if ((rc = read_back(p->ixtmp, p->ixhex, err)))
		goto out;
	manifest_line(&side, hex, base_of(p->final));
	manifest_line(&side, man_hex, base_of(p->man));
	manifest_line(&side, p->ixhex, base_of(p->ix));
	if ((rc = write_temp(p->sidetmp, &side, NULL, side_hex, err)) ||
	    (rc = stop_check(err)))
		goto out;
	publish_pause();
	if (rename(p->mantmp, p->man)) {
		rc = errno_err(err, 0, errno, "cannot rename to %s", p->man);
		goto out;
	}
	p->man_done = true;
	if (rename(p->ixtmp, p->ix)) {
		rc = errno_err(err, 0, errno, "cannot rename to %s", p->ix);
		goto out;
	}
	p->ix_done = true;
	publish_pause();
	if (rename(p->sidetmp, p->side)) {
		rc = errno_err(err, 0, errno, "cannot rename to %s", p->side);
		goto out;
	}
	p->side_done = true;
	fsync_dir(dir);
	publish_pause();
	if (rename(p->tmp, p->final)) {
		rc = errno_err(err, 0, errno, "cannot rename to %s",
			       p->final);
		goto out;
	}
	p->done = true;
	fsync_dir(dir);
	rc = CAIRN_OK;
out:
	sb_free(&side);
	return rc;
}

/*
 * Produce and verify the archive. On success *archive is its path and
 * st->sha256/bytes are set. Everything temporary is gone on return.
 */
/* The archive's names, at st->started or, when two runs would collide
 * in one second, the next free second (st->started moves with it). A
 * .partial still here after leftovers_clean is a live run's. */
static int pick_name(struct pub *p, const struct config *cfg, bool incr,
		     struct run_state *st, struct cairn_error *err)
{
	time_t stamp = st->started;
	int rc;

	for (;;) {
		char *other = archive_name_kind(cfg, stamp, !incr);
		char *op = path_join(cfg->archive_dir, other);
		bool taken = path_exists(op);

		free(other);
		free(op);
		pub_names(p, cfg, stamp, incr);
		if (!taken && !path_exists(p->final) && !path_exists(p->tmp))
			return CAIRN_OK;
		if (st->started != stamp)
			return cairn_errf(err, CAIRN_EFAIL,
					  "archive exists: %s", p->final);
		pub_free(p);
		sleep(1);
		if ((rc = stop_check(err)))
			return rc;
		stamp = st->started = time(NULL);
	}
}

/* Every component's members, planned by its type (snapshots and dumps
 * go into the staging dir), in plan_order. */
static int plan_all(struct run *r, struct cairn_error *err)
{
	const struct config *cfg = r->cfg;
	int rc;

	skip_dir(r, cfg->archive_dir);
	skip_dir(r, cfg->state_dir);
	skip_dir(r, r->staging);
	for (size_t i = 0; i < cfg->ncomps; i++) {
		struct comp_plan *p = &r->plans[i];

		p->cfg = cfg;
		p->c = &cfg->comps[i];
		p->stats = &r->stats[i];
		p->staging = r->staging;
		p->skip_dev = r->skip_dev;
		p->skip_ino = r->skip_ino;
		p->nskip = r->nskip;
		if ((rc = stop_check(err)) ||
		    (rc = comp_ops(p->c->type)->plan(p, err)))
			return rc;
		incr_sort_plan(&r->inc, p);
		/* Counted again as members are written. */
		r->stats[i].bytes = 0;
	}
	qsort(r->plans, cfg->ncomps, sizeof(*r->plans), plan_order);
	return CAIRN_OK;
}

static int make_archive(struct run *r, struct run_state *st,
			struct cairn_error *err)
{
	const struct config *cfg = r->cfg;
	struct sbuf man_text = { 0 };
	struct pub p = { 0 };
	struct rback rb = { .fd = -1 };
	uint64_t bytes = 0;
	char hex[65];
	struct stat sst;
	int fd = -1, rc = CAIRN_EFAIL;

	if (stat(cfg->source, &sst) || !S_ISDIR(sst.st_mode)) {
		rc = cairn_errf(err, CAIRN_ENOTFOUND,
				"source directory not found: %s", cfg->source);
		goto out;
	}
	if (mkdir_p(cfg->archive_dir, 0700)) {
		rc = errno_err(err, 0, errno, "cannot create archive_dir %s",
			       cfg->archive_dir);
		goto out;
	}
	if ((rc = incr_begin(cfg, st->force_full, st->started, &r->inc,
			     err)) ||
	    (rc = pick_name(&p, cfg, r->inc.on, st, err)) ||
	    (rc = held_create(p.tmp, &fd, err)))
		goto out;
	p.tmp_ours = true;
	rb_start(&rb, p.tmp, fd);
	if ((rc = held_staging(cfg, &r->staging, &r->staging_fd, err)) ||
	    (rc = plan_all(r, err)))
		goto out;
	if ((r->tap = st->tap))
		r->tap->start(r->tap, p.name);
	log_info("writing %s", p.final);
	if ((rc = stop_check(err)) ||
	    (rc = write_archive(r, fd, p.name, st->started, hex, &man_text,
				&bytes, p.ixtmp, p.ixhex,
				rb.started ? &rb.tee : NULL, err)) ||
	    (rc = publish(&p, fd, hex, &man_text, cfg, &rb, bytes, err)))
		goto out;
	/* Recorded only for an archive that exists. */
	st->bytes = bytes;
	memcpy(st->sha256, hex, sizeof(st->sha256));
	st->archive = xstrdup(p.final);
	update_latest(cfg, base_of(p.final));
	rc = CAIRN_OK;
out:
	rb_free(&rb);
	incr_free(&r->inc);
	pub_free(&p);
	/* Our flock on the .partial (or the archive) ends here. */
	if (fd >= 0)
		close(fd);
	if (r->staging)
		rm_rf(r->staging);
	if (r->staging_fd >= 0)
		close(r->staging_fd);
	r->staging_fd = -1;
	free(r->staging);
	r->staging = NULL;
	sb_free(&man_text);
	return rc;
}


int backup_archive(const struct config *cfg, struct run_state *st,
		   struct cairn_error *err)
{
	struct run r = { .cfg = cfg, .staging_fd = -1 };
	int rc;

	r.plans = xcalloc(cfg->ncomps, sizeof(*r.plans));
	r.stats = xcalloc(cfg->ncomps, sizeof(*r.stats));
	rc = make_archive(&r, st, err);
	if (!rc)
		shrink_check(cfg, r.stats, st);
	free_plans(&r);
	return rc;
}

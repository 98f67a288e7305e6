/*
 * `cairn backup`: plan, snapshot, archive, verify, publish, dispatch,
 * prune. Nothing is published under a final name before it is complete,
 * and nothing is pruned before the new archive is verified from disk.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cairn.h"

/* One thing to archive: a path under source and its lstat. */
struct item {
	char *rel;  /* member name, relative to source */
	char *data; /* snapshot/dump file that supplies the bytes, or NULL */
	struct stat st;
};

struct comp_plan {
	const struct component *c;
	struct item *items;
	size_t n;
	uint64_t bytes;
	struct comp_stats *stats;
};

struct run {
	const struct config *cfg;
	struct comp_plan *plans;
	struct comp_stats *stats;
	char *staging;    /* private dir for snapshots and dumps */
	dev_t skip_dev[3]; /* our own dirs, never archived */
	ino_t skip_ino[3];
	size_t nskip;
};

static void add_item(struct comp_plan *p, const char *rel, const char *data,
		     const struct stat *st)
{
	struct item *it;

	p->items = xrealloc(p->items, (p->n + 1) * sizeof(*p->items));
	it = &p->items[p->n++];
	it->rel = xstrdup(rel);
	it->data = data ? xstrdup(data) : NULL;
	it->st = *st;
	if (S_ISREG(st->st_mode))
		p->bytes += (uint64_t)st->st_size;
}

static bool excluded(const struct run *r, const struct component *c,
		     const char *rel, const struct stat *st)
{
	for (size_t i = 0; i < r->nskip; i++)
		if (st->st_dev == r->skip_dev[i] &&
		    st->st_ino == r->skip_ino[i])
			return true;
	for (size_t i = 0; i < c->excludes.n; i++)
		if (!fnmatch(c->excludes.v[i], rel, 0) ||
		    !fnmatch(c->excludes.v[i], base_of(rel), 0))
			return true;
	/* A live SQLite file belongs to its sqlite component's snapshot;
	 * a raw copy (and its -wal) would be torn. */
	for (size_t i = 0; i < r->cfg->ncomps; i++) {
		const struct component *o = &r->cfg->comps[i];
		size_t l;

		if (o->type != COMP_SQLITE)
			continue;
		l = strlen(o->paths.v[0]);
		if (!strncmp(rel, o->paths.v[0], l) &&
		    (!rel[l] || !strcmp(rel + l, "-wal") ||
		     !strcmp(rel + l, "-shm") ||
		     !strcmp(rel + l, "-journal")))
			return true;
	}
	return false;
}

/* Depth-first, names sorted, so archives of the same tree are alike. */
static int walk(struct run *r, struct comp_plan *p, const char *rel,
		struct cairn_error *err)
{
	char *abs = path_join(r->cfg->source, rel);
	struct strv names = { 0 };
	struct dirent *de;
	struct stat st;
	int rc = CAIRN_EFAIL;
	DIR *d;

	if (lstat(abs, &st)) {
		if (errno == ENOENT) { /* vanished since readdir */
			rc = CAIRN_OK;
			goto out;
		}
		rc = errno_err(err, 0, errno, "cannot read %s", abs);
		goto out;
	}
	if (excluded(r, p->c, rel, &st)) {
		rc = CAIRN_OK;
		goto out;
	}
	add_item(p, rel, NULL, &st);
	p->stats->files += !S_ISDIR(st.st_mode);
	if (!S_ISDIR(st.st_mode)) {
		rc = CAIRN_OK;
		goto out;
	}
	d = opendir(abs);
	if (!d) {
		rc = errno_err(err, 0, errno, "cannot read directory %s", abs);
		goto out;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strv_push(&names, de->d_name);
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), strv_cmp);
	for (size_t i = 0; i < names.n; i++) {
		char *sub = path_join(rel, names.v[i]);

		rc = walk(r, p, sub, err);
		free(sub);
		if (rc)
			goto out;
	}
	rc = CAIRN_OK;
out:
	strv_free(&names);
	free(abs);
	return rc;
}

static int plan_files(struct run *r, struct comp_plan *p,
		      struct cairn_error *err)
{
	for (size_t i = 0; i < p->c->paths.n; i++) {
		const char *rel = p->c->paths.v[i];
		char *abs = path_join(r->cfg->source, rel);
		bool missing = !path_exists(abs);
		int rc;

		free(abs);
		if (missing) {
			char *note;

			if (p->c->required)
				return cairn_errf(err, CAIRN_ENOTFOUND,
						  "component %s: path not "
						  "found: %s/%s", p->c->name,
						  r->cfg->source, rel);
			note = xasprintf("%s: missing (required = no)", rel);
			strv_push(&p->stats->notes, note);
			log_info("component %s: %s", p->c->name, note);
			free(note);
			continue;
		}
		if ((rc = walk(r, p, rel, err)))
			return rc;
	}
	return CAIRN_OK;
}

static int plan_sqlite(struct run *r, struct comp_plan *p,
		       struct cairn_error *err)
{
	const char *rel = p->c->paths.v[0];
	char *abs = path_join(r->cfg->source, rel);
	char *snap = xasprintf("%s/%s.db", r->staging, p->c->name);
	struct stat st;
	int rc = CAIRN_EFAIL;

	if (lstat(abs, &st)) {
		if (errno == ENOENT && !p->c->required) {
			strv_push(&p->stats->notes,
				  "database missing (required = no)");
			rc = CAIRN_OK;
		} else {
			rc = errno_err(err, 0, errno,
				       "component %s: cannot read database %s",
				       p->c->name, abs);
		}
		goto out;
	}
	log_info("snapshot of %s", abs);
	if ((rc = sqlite_snapshot(abs, snap, err)))
		goto out;
	if ((rc = sqlite_check(snap, &p->stats->db, err)))
		goto out;
	/* Live file's owner, mode and mtime; the snapshot's bytes. */
	add_item(p, rel, snap, &st);
	{
		struct stat ss;

		if (!stat(snap, &ss)) {
			p->items[p->n - 1].st.st_size = ss.st_size;
			p->bytes = (uint64_t)ss.st_size;
		}
	}
	p->stats->files = 1;
	rc = CAIRN_OK;
out:
	free(abs);
	free(snap);
	return rc;
}

static int plan_command(struct run *r, struct comp_plan *p,
			struct cairn_error *err)
{
	char *dump = xasprintf("%s/%s.dump", r->staging, p->c->name);
	struct stat st;
	int rc;

	rc = command_dump(p->c, dump, p->stats, err);
	if (!rc && stat(dump, &st))
		rc = errno_err(err, 0, errno, "cannot read dump %s", dump);
	if (!rc) {
		/* The member looks like a file the operator made now. */
		st.st_mode = S_IFREG | 0600;
		st.st_mtime = time(NULL);
		add_item(p, p->c->file, dump, &st);
		p->stats->files = 1;
	}
	free(dump);
	return rc;
}

static int plan_component(struct run *r, struct comp_plan *p,
			  struct cairn_error *err)
{
	switch (p->c->type) {
	case COMP_FILES:
		return plan_files(r, p, err);
	case COMP_SQLITE:
		return plan_sqlite(r, p, err);
	case COMP_COMMAND:
		return plan_command(r, p, err);
	}
	return CAIRN_EFAIL;
}

/* Databases and dumps first, then files components smallest first, so
 * a DB-only restore reads a few megabytes and stops. */
static int plan_order(const void *a, const void *b)
{
	const struct comp_plan *x = a, *y = b;
	int kx = x->c->type != COMP_FILES, ky = y->c->type != COMP_FILES;

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
	for (size_t i = 0; r->plans && i < r->cfg->ncomps; i++) {
		for (size_t j = 0; j < r->plans[i].n; j++) {
			free(r->plans[i].items[j].rel);
			free(r->plans[i].items[j].data);
		}
		free(r->plans[i].items);
	}
	free(r->plans);
	for (size_t i = 0; r->stats && i < r->cfg->ncomps; i++) {
		strv_free(&r->stats[i].notes);
		db_check_free(&r->stats[i].db);
	}
	free(r->stats);
}

/*
 * Write the archive to tmp; on success hex is its SHA-256 and man_text
 * the manifest. The temp file is the caller's to rename or remove.
 */
static int write_archive(struct run *r, int fd, const char *name,
			 time_t started, char hex[65], struct sbuf *man_text,
			 uint64_t *bytes, struct cairn_error *err)
{
	const struct config *cfg = r->cfg;
	struct inv_cmd *cmds = NULL;
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
	for (size_t i = 0; i < cfg->ncomps; i++) {
		struct comp_plan *p = &r->plans[i];

		for (size_t j = 0; j < p->n; j++) {
			struct item *it = &p->items[j];
			char *abs = path_join(cfg->source, it->rel);
			bool skipped;

			rc = aw_add(&w, abs, it->data, it->rel, &it->st,
				    &skipped, err);
			free(abs);
			if (rc)
				goto out_prog;
			if (skipped && !S_ISDIR(it->st.st_mode)) {
				p->stats->files--;
				if (S_ISREG(it->st.st_mode))
					p->stats->bytes -=
						(uint64_t)it->st.st_size;
			}
			if (S_ISREG(it->st.st_mode) && !skipped)
				p->stats->bytes += (uint64_t)it->st.st_size;
		}
	}
	inventory_format(cfg, name, started, r->stats, cmds, ncmds, &inv);
	if ((rc = aw_add_buffer(&w, "inventory.txt", inv.s, inv.len, true,
				err)))
		goto out_prog;
	manifest_format(&w.man, man_text);
	if ((rc = aw_add_buffer(&w, "MANIFEST.sha256", man_text->s,
				man_text->len, false, err)))
		goto out_prog;
	rc = aw_close(&w, hex, err);
	*bytes = w.out_bytes;
out_prog:
	progress_end(&prog);
out:
	aw_free(&w);
	sb_free(&inv);
	inventory_free_commands(cmds, ncmds);
	return rc;
}

/* Read the published archive back from disk and compare. Its pages are
 * dropped from the cache first, so the check reads what the disk holds
 * (and a nightly backup does not evict the app's working set). */
static int verify_written(const char *path, const char *hex,
			  const char *man_path, const char *man_hex,
			  struct cairn_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char got[65];

	if (fd >= 0) {
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
	if (sha256_file(path, got, NULL))
		return errno_err(err, 0, errno, "cannot verify %s", path);
	if (strcmp(got, hex))
		return cairn_errf(err, CAIRN_EINTEGRITY,
				  "%s reads back with SHA-256 %s, wrote %s",
				  path, got, hex);
	if (sha256_file(man_path, got, NULL))
		return errno_err(err, 0, errno, "cannot verify %s", man_path);
	if (strcmp(got, man_hex))
		return cairn_errf(err, CAIRN_EINTEGRITY,
				  "%s does not read back as written",
				  man_path);
	return CAIRN_OK;
}

/* NAME-backup-latest.EXT -> the archive, replaced atomically. */
static void update_latest(const struct config *cfg, const char *name)
{
	char *link = xasprintf("%s/%s-backup-latest%s", cfg->archive_dir,
			       cfg->name, compression_ext(cfg->compression));
	char *tmp = xasprintf("%s.tmp", link);

	unlink(tmp);
	if (symlink(name, tmp) || rename(tmp, link)) {
		log_warn("cannot update %s: %s", link, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	free(link);
}

/* Staging dirs of a killed run (they may hold a DB copy): we hold the
 * lock, so nobody else is using them. */
static void clear_leftovers(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		char *p;

		if (strncmp(de->d_name, ".cairn-staging.", 15))
			continue;
		p = path_join(dir, de->d_name);
		log_warn("removing %s, left by an interrupted run", p);
		rm_rf(p);
		free(p);
	}
	if (d)
		closedir(d);
}

/*
 * Produce and verify the archive. On success *archive is its path and
 * st->sha256/bytes are set. Everything temporary is gone on return.
 */
static int make_archive(struct run *r, struct run_state *st,
			time_t stamp, struct cairn_error *err)
{
	const struct config *cfg = r->cfg;
	char *name = NULL, *final = NULL, *tmp = NULL, *man = NULL,
	     *mantmp = NULL, *side = NULL;
	struct sbuf man_text = { 0 }, side_text = { 0 };
	char hex[65], man_hex[65];
	unsigned char md[32];
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
	/* Two runs in one second would collide: wait for the next. */
	for (;;) {
		free(name);
		free(final);
		name = archive_name(cfg, stamp);
		final = path_join(cfg->archive_dir, name);
		if (!path_exists(final))
			break;
		if (st->started != stamp) {
			rc = cairn_errf(err, CAIRN_EFAIL,
					"archive exists: %s", final);
			goto out;
		}
		sleep(1);
		stamp = st->started = time(NULL);
	}
	tmp = xasprintf("%s/.%s.partial", cfg->archive_dir, name);
	/* We hold the lock: a partial file is a killed run's leftover. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = errno_err(err, 0, errno, "cannot write to archive_dir %s",
			       cfg->archive_dir);
		goto out;
	}
	clear_leftovers(cfg->archive_dir);
	r->staging = xasprintf("%s/.cairn-staging.XXXXXX", cfg->archive_dir);
	if (!mkdtemp(r->staging)) {
		rc = errno_err(err, 0, errno, "cannot create %s", r->staging);
		free(r->staging);
		r->staging = NULL;
		goto out;
	}
	skip_dir(r, cfg->archive_dir);
	skip_dir(r, cfg->state_dir);
	skip_dir(r, r->staging);

	for (size_t i = 0; i < cfg->ncomps; i++) {
		r->plans[i].c = &cfg->comps[i];
		r->plans[i].stats = &r->stats[i];
		if ((rc = plan_component(r, &r->plans[i], err)))
			goto out;
		/* Counted again as members are written. */
		r->stats[i].bytes = 0;
	}
	qsort(r->plans, cfg->ncomps, sizeof(*r->plans), plan_order);

	log_info("writing %s", final);
	rc = write_archive(r, fd, name, st->started, hex, &man_text,
			   &st->bytes, err);
	if (rc)
		goto out;
	if (fsync(fd)) {
		rc = errno_err(err, 0, errno, "cannot fsync %s", tmp);
		goto out;
	}
	close(fd);
	fd = -1;

	/* The manifest copy beside the archive lets a restore know every
	 * member without reading the whole archive. */
	man = sidecar_manifest(final);
	if ((rc = write_file_atomic(man, man_text.s, man_text.len, 0600,
				    err)))
		goto out;
	EVP_Digest(man_text.s, man_text.len, md, NULL, EVP_sha256(), NULL);
	hex_encode(md, 32, man_hex);
	if (rename(tmp, final)) {
		rc = errno_err(err, 0, errno, "cannot rename to %s", final);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	fsync_dir(cfg->archive_dir);
	if ((rc = verify_written(final, hex, man, man_hex, err))) {
		unlink(final);
		goto out;
	}
	/* Only a verified archive gets its sidecar. */
	side = sidecar_sha(final);
	manifest_line(&side_text, hex, name);
	mantmp = xasprintf("%s.manifest", name);
	manifest_line(&side_text, man_hex, mantmp);
	if ((rc = write_file_atomic(side, side_text.s, side_text.len, 0600,
				    err))) {
		unlink(final);
		goto out;
	}
	memcpy(st->sha256, hex, sizeof(st->sha256));
	st->archive = xstrdup(final);
	update_latest(cfg, name);
	rc = CAIRN_OK;
out:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	if (rc && man)
		unlink(man);
	if (r->staging)
		rm_rf(r->staging);
	free(r->staging);
	r->staging = NULL;
	free(name);
	free(final);
	free(tmp);
	free(man);
	free(mantmp);
	free(side);
	sb_free(&man_text);
	sb_free(&side_text);
	return rc;
}

int prune_local(const struct config *cfg, bool dry_run,
		const char *protect, struct cairn_error *err)
{
	return prune_local_n(cfg, dry_run, protect, NULL, err);
}

/* Delete archive and sidecars of every archive retention drops; *n (if
 * not NULL) is how many it dropped. */
int prune_local_n(const struct config *cfg, bool dry_run,
		  const char *protect, size_t *n, struct cairn_error *err)
{
	struct catalog cat;
	struct snap *snaps;
	int rc;

	if ((rc = catalog_scan(cfg, &cat, err)))
		return rc;
	snaps = xcalloc(cat.n, sizeof(*snaps));
	for (size_t i = 0; i < cat.n; i++) {
		snaps[i].name = cat.a[i].name;
		snaps[i].time = cat.a[i].time;
	}
	retention_select(snaps, cat.n, &cfg->keep);
	for (size_t i = 0; i < cat.n; i++) {
		char *p, *s, *m;

		/* The archive this run made is never pruned, whatever the
		 * clock said when older ones were named. */
		if (snaps[i].keep ||
		    (protect && !strcmp(protect, snaps[i].name)))
			continue;
		if (n)
			(*n)++;
		p = path_join(cfg->archive_dir, snaps[i].name);
		s = sidecar_sha(p);
		m = sidecar_manifest(p);
		log_info("%s %s", dry_run ? "would remove" : "removing",
			 snaps[i].name);
		if (!dry_run) {
			/* Sidecar first: an archive without it is never
			 * taken for a verified one. */
			unlink(s);
			if (unlink(p) && errno != ENOENT)
				log_warn("cannot remove %s: %s", p,
					 strerror(errno));
			unlink(m);
		}
		free(p);
		free(s);
		free(m);
	}
	if (!dry_run)
		fsync_dir(cfg->archive_dir);
	free(snaps);
	catalog_free(&cat);
	return CAIRN_OK;
}

static char *env_pair(const char *k, const char *v)
{
	return xasprintf("%s=%s", k, v ? v : "");
}

static void run_end_hook(const struct config *cfg,
			 const struct run_state *st)
{
	char *env[4];
	struct cairn_error e = { 0, "" };

	env[0] = env_pair("CAIRN_ARCHIVE", st->archive);
	env[1] = env_pair("CAIRN_STATUS", st->success ? "success" :
			  "failure");
	env[2] = env_pair("CAIRN_ERROR", st->error);
	env[3] = NULL;
	if (run_hook(cfg, st->success ? HOOK_POST_BACKUP : HOOK_ON_FAILURE,
		     env, &e))
		log_warn("%s", e.msg);
	for (int i = 0; i < 3; i++)
		free(env[i]);
}

int cmd_backup(const struct config *cfg, const struct backup_opts *o)
{
	struct run r = { .cfg = cfg };
	struct run_state st = { 0 };
	struct cairn_error err = { 0, "" };
	struct lock lk = { -1, NULL };
	struct catalog cat = { 0 };
	char *logp = NULL;
	double t0 = now_mono();
	int rc, exit_code;

	for (size_t i = 0; i < o->ntargets; i++)
		if (!config_target(cfg, o->targets[i])) {
			log_error("--target %s: no such target in %s",
				  o->targets[i], cfg->path);
			return EXIT_USAGE;
		}
	if ((rc = lock_acquire(cfg, &lk, &err))) {
		log_error("%s", err.msg);
		return rc_exit(rc);
	}
	if ((rc = restore_recover(cfg, &err)))
		goto out;
	logp = path_join(cfg->state_dir, "backup.log");
	log_open_file(logp);
	st.started = o->fake_time ? o->fake_time : time(NULL);
	log_info("backup of %s started (config %s)", cfg->source, cfg->path);

	{
		char *env[] = { "CAIRN_STATUS=running", NULL };

		if ((rc = run_hook(cfg, HOOK_PRE_BACKUP, env, &err)))
			goto out;
	}
	r.plans = xcalloc(cfg->ncomps, sizeof(*r.plans));
	r.stats = xcalloc(cfg->ncomps, sizeof(*r.stats));
	if ((rc = make_archive(&r, &st, st.started, &err)))
		goto out;
	{
		char sz[32];

		fmt_bytes(st.bytes, sz);
		log_info("archive %s verified (%s, sha256 %.16s…)",
			 base_of(st.archive), sz, st.sha256);
	}
	if (!o->no_targets)
		dispatch_all(cfg, o, &st);
	if ((rc = prune_local(cfg, false, base_of(st.archive), &err)))
		goto out;
	if (!o->no_targets)
		dispatch_prune(cfg, o, &st);
	rc = CAIRN_OK;
out:
	st.success = rc == CAIRN_OK;
	st.finished = time(NULL);
	st.seconds = now_mono() - t0;
	if (rc) {
		snprintf(st.error, sizeof(st.error), "%s", err.msg);
		log_error("%s", err.msg);
	}
	exit_code = rc_exit(rc);
	if (rc == CAIRN_OK)
		for (size_t i = 0; i < st.ntargets; i++)
			if (st.targets[i].rc && !st.targets[i].skipped)
				exit_code = EXIT_TARGET;
	if (rc != CAIRN_ELOCKED && lk.fd >= 0) {
		struct cairn_error e2 = { 0, "" };

		if (state_write(cfg, &st, &e2))
			log_error("%s", e2.msg);
		catalog_scan(cfg, &cat, &e2);
		if (metrics_write(cfg, &st, cat.n, &e2))
			log_error("%s", e2.msg);
		catalog_free(&cat);
		run_end_hook(cfg, &st);
		log_info("backup %s in %.1f s",
			 exit_code == EXIT_OK ? "succeeded" :
			 exit_code == EXIT_TARGET ? "made, a target failed" :
			 "failed", st.seconds);
	}
	log_close_file();
	lock_release(&lk);
	free_plans(&r);
	for (size_t i = 0; i < st.ntargets; i++)
		free(st.targets[i].name);
	free(st.targets);
	free(st.archive);
	free(logp);
	return exit_code;
}

/*
 * `cairn restore MODE`: verify, stage, check, swap.
 *
 * Nothing live is touched until the archive's sidecar checksum matches,
 * every staged file matches the manifest and every staged database
 * passes integrity_check. The swap moves each replaced path into a
 * safety net and the staged one into place, with a journal in state_dir
 * written before the first rename; a run killed mid-swap is rolled back
 * by the next cairn command, so live data is never a mix of old and new.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>
#include <openssl/evp.h>

#include "cairn.h"

#define JOURNAL_MAGIC "cairn-restore-journal 1"

/* One path the swap replaces, relative to the live root. */
struct swap {
	char *rel;
	bool had_live; /* live/rel existed before the swap */
	bool staged;   /* staging/rel exists to be placed */
};

struct restore {
	const struct config *cfg;
	const struct restore_opts *o;
	const struct component **comps;
	size_t ncomps;
	char *archive;
	char *live;    /* where files go: source, or --to */
	char *staging; /* same file system as live */
	char *net;     /* safety net */
	struct manifest man;
	bool *want;    /* per manifest entry: part of this mode */
	struct swap *sw;
	size_t nsw;
	uint64_t staged_bytes;
};

/* Which of the mode's components holds member `name` (NULL: none). */
static const struct component *owner(const struct restore *r,
				     const char *name)
{
	for (size_t i = 0; i < r->ncomps; i++) {
		const struct component *c = r->comps[i];

		for (size_t j = 0; j < c->paths.n; j++) {
			size_t l = strlen(c->paths.v[j]);

			if (!strncmp(name, c->paths.v[j], l) &&
			    (!name[l] || name[l] == '/'))
				return c;
		}
	}
	return NULL;
}

static int pick_mode(struct restore *r, struct cairn_error *err)
{
	const struct config *cfg = r->cfg;
	const struct mode *m = NULL;
	struct sbuf known = { 0 };

	r->comps = xcalloc(cfg->ncomps, sizeof(*r->comps));
	if (!strcmp(r->o->mode, "full")) {
		for (size_t i = 0; i < cfg->ncomps; i++)
			r->comps[r->ncomps++] = &cfg->comps[i];
		return CAIRN_OK;
	}
	for (size_t i = 0; i < cfg->nmodes; i++)
		if (!strcmp(cfg->modes[i].name, r->o->mode))
			m = &cfg->modes[i];
	if (!m) {
		int rc;

		sb_add(&known, "full", 4);
		for (size_t i = 0; i < cfg->nmodes; i++)
			sb_printf(&known, ", %s", cfg->modes[i].name);
		rc = cairn_errf(err, CAIRN_ECONFIG,
				"unknown restore mode '%s'; known modes: %s",
				r->o->mode, known.s);
		sb_free(&known);
		return rc;
	}
	for (size_t i = 0; i < m->comps.n; i++)
		r->comps[r->ncomps++] = config_component(cfg, m->comps.v[i]);
	return CAIRN_OK;
}

/* Lexically resolve a link target against the link's directory; true if
 * it stays inside the destination. */
static bool link_inside(const char *member, const char *target)
{
	char *dir, *joined;
	int depth = 0;
	bool ok = true;

	if (*target == '/' || !*target)
		return false;
	dir = dir_of(member);
	joined = strcmp(dir, ".") ? path_join(dir, target) : xstrdup(target);
	for (char *p = joined; *p && ok;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && !strncmp(p, "..", 2))
			ok = --depth >= 0;
		else if (n && !(n == 1 && *p == '.'))
			depth++;
		p += n + (p[n] == '/');
	}
	free(joined);
	free(dir);
	return ok;
}

static int refuse(struct cairn_error *err, const char *name, const char *why)
{
	return cairn_errf(err, CAIRN_EINTEGRITY,
			  "refusing archive member '%s': %s; nothing was "
			  "restored", name, why);
}

/* Extract the mode's members into staging, hashing each file against
 * the manifest. Reading stops once the mode's members are all out:
 * components are contiguous and small ones come first. */
static int stage(struct restore *r, bool dry_run, struct cairn_error *err)
{
	struct archive *a = NULL, *disk = NULL;
	struct archive_entry *e;
	size_t want_left = 0, extracted = 0;
	bool early_ok = true;
	int cwd = -1, r2, rc;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	for (size_t i = 0; i < r->man.n; i++) {
		r->want[i] = owner(r, r->man.e[i].path) != NULL;
		want_left += r->want[i];
	}
	/* A component with no files (only links or dirs) has no manifest
	 * line to tell us when it has been read: read to the end. */
	for (size_t i = 0; i < r->ncomps; i++) {
		bool any = false;

		for (size_t j = 0; j < r->man.n && !any; j++)
			any = r->want[j] && owner(r, r->man.e[j].path) ==
						    r->comps[i];
		early_ok &= any;
	}
	if ((rc = ar_open_read(r->archive, &a, err)))
		goto out;
	if (!dry_run) {
		disk = archive_write_disk_new();
		archive_write_disk_set_options(disk,
			ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
			(geteuid() == 0 ? ARCHIVE_EXTRACT_OWNER : 0) |
			ARCHIVE_EXTRACT_SECURE_SYMLINKS |
			ARCHIVE_EXTRACT_SECURE_NODOTDOT |
			ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
		archive_write_disk_set_standard_lookup(disk);
		cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (chdir(r->staging)) {
			rc = errno_err(err, 0, errno, "cannot enter %s",
				       r->staging);
			goto out;
		}
	}
	while ((r2 = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		const char *hl = archive_entry_hardlink(e);
		const char *sl = archive_entry_symlink(e);
		const struct manifest_entry *m;
		mode_t type = archive_entry_filetype(e);

		while (name && !strncmp(name, "./", 2))
			name += 2;
		if (!name || !path_is_safe(name)) {
			rc = refuse(err, archive_entry_pathname(e),
				    "absolute or '..' path");
			goto out;
		}
		if (!owner(r, name)) {
			if (want_left == 0 && early_ok && extracted)
				break; /* past the mode's components */
			continue;
		}
		if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
			rc = refuse(err, name, "not a file, directory or link");
			goto out;
		}
		if (sl && !link_inside(name, sl)) {
			rc = refuse(err, name, "symbolic link points outside "
				    "the destination");
			goto out;
		}
		if (hl && (!path_is_safe(hl) || !owner(r, hl))) {
			rc = refuse(err, name, "hard link to a file outside "
				    "the restore");
			goto out;
		}
		archive_entry_set_pathname(e, name);
		extracted++;
		m = type == AE_IFREG ? manifest_find(&r->man, name) : NULL;
		if (type == AE_IFREG && !m) {
			rc = refuse(err, name, "not in the manifest");
			goto out;
		}
		if (m && r->want[m - r->man.e]) {
			r->want[m - r->man.e] = false;
			want_left--;
		}
		if (dry_run) {
			r->staged_bytes += (uint64_t)archive_entry_size(e);
			continue;
		}
		if (archive_write_header(disk, e) != ARCHIVE_OK) {
			rc = refuse(err, name, archive_error_string(disk));
			goto out;
		}
		if (type == AE_IFREG && !hl) {
			unsigned char d[32];
			char hex[65];

			EVP_DigestInit_ex(md, EVP_sha256(), NULL);
			for (;;) {
				const void *buf;
				size_t len;
				la_int64_t off;
				int k = archive_read_data_block(a, &buf, &len,
								&off);

				if (k == ARCHIVE_EOF)
					break;
				if (k != ARCHIVE_OK) {
					rc = cairn_errf(err, CAIRN_EINTEGRITY,
						"%s: archive damaged: %s",
						name, archive_error_string(a));
					goto out;
				}
				EVP_DigestUpdate(md, buf, len);
				if (archive_write_data_block(disk, buf, len,
							     off) < 0) {
					rc = errno_err(err, 0,
						archive_errno(disk) ?
						archive_errno(disk) : EIO,
						"cannot write %s/%s",
						r->staging, name);
					goto out;
				}
				r->staged_bytes += len;
			}
			EVP_DigestFinal_ex(md, d, NULL);
			hex_encode(d, 32, hex);
			if (strcmp(hex, m->hex)) {
				rc = cairn_errf(err, CAIRN_EINTEGRITY,
						"%s does not match the manifest; "
						"nothing was restored", name);
				goto out;
			}
		}
		if (archive_write_finish_entry(disk) != ARCHIVE_OK) {
			rc = errno_err(err, 0, archive_errno(disk) ?
				       archive_errno(disk) : EIO,
				       "cannot write %s/%s", r->staging, name);
			goto out;
		}
	}
	if (r2 != ARCHIVE_OK && r2 != ARCHIVE_EOF) {
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: archive damaged: "
				"%s", base_of(r->archive),
				archive_error_string(a));
		goto out;
	}
	if (want_left) {
		for (size_t i = 0; i < r->man.n; i++)
			if (r->want[i]) {
				rc = cairn_errf(err, CAIRN_EINTEGRITY,
						"%s is in the manifest but "
						"not in the archive",
						r->man.e[i].path);
				goto out;
			}
	}
	if (disk && archive_write_close(disk) != ARCHIVE_OK) {
		rc = cairn_errf(err, CAIRN_EFAIL, "cannot finish %s: %s",
				r->staging, archive_error_string(disk));
		goto out;
	}
	rc = CAIRN_OK;
out:
	if (cwd >= 0) {
		if (fchdir(cwd))
			rc = rc ? rc : errno_err(err, 0, errno, "fchdir");
		close(cwd);
	}
	if (disk)
		archive_write_free(disk);
	if (a)
		archive_read_free(a);
	EVP_MD_CTX_free(md);
	return rc;
}

/* Links are checked one by one as they are extracted; together they can
 * still lead out (a -> b/../x with b -> ..). Let the kernel resolve each
 * staged link beneath the staging root and refuse any that escapes. */
static int links_beneath(int root, const char *rel, struct cairn_error *err)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH };
	char *dirpath = *rel ? xstrdup(rel) : xstrdup(".");
	struct dirent *de;
	int dfd, rc = CAIRN_OK;
	DIR *d;

	dfd = openat(root, dirpath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		     O_CLOEXEC);
	free(dirpath);
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return CAIRN_OK; /* a file, not a directory */
	}
	while (!rc && (de = readdir(d))) {
		char *sub;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = *rel ? path_join(rel, de->d_name) : xstrdup(de->d_name);
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			free(sub);
			continue;
		}
		if (S_ISLNK(st.st_mode)) {
			long fd = syscall(SYS_openat2, root, sub, &how,
					  sizeof(how));

			if (fd >= 0)
				close((int)fd);
			else if (errno == EXDEV || errno == ELOOP)
				rc = refuse(err, sub, "symbolic links lead "
					    "outside the destination");
		} else if (S_ISDIR(st.st_mode)) {
			rc = links_beneath(root, sub, err);
		}
		free(sub);
	}
	closedir(d);
	return rc;
}

/* SQLite files must pass integrity_check before they go live. */
static int check_staged(struct restore *r, struct cairn_error *err)
{
	int root = open(r->staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int lrc = root < 0 ? errno_err(err, 0, errno, "cannot open %s",
				       r->staging)
			   : links_beneath(root, "", err);

	if (root >= 0)
		close(root);
	if (lrc)
		return lrc;
	for (size_t i = 0; i < r->ncomps; i++) {
		const struct component *c = r->comps[i];
		struct db_check chk = { 0 };
		char *p;
		int rc;

		if (c->type != COMP_SQLITE)
			continue;
		p = path_join(r->staging, c->paths.v[0]);
		rc = path_exists(p) ? sqlite_check(p, &chk, err) : CAIRN_OK;
		if (!rc && chk.result)
			log_info("%s: integrity_check ok", c->paths.v[0]);
		db_check_free(&chk);
		free(p);
		if (rc)
			return rc;
	}
	return CAIRN_OK;
}

static void add_swap(struct restore *r, const char *rel)
{
	char *live = path_join(r->live, rel), *st = path_join(r->staging, rel);

	for (size_t i = 0; i < r->nsw; i++)
		if (!strcmp(r->sw[i].rel, rel))
			goto out;
	r->sw = xrealloc(r->sw, (r->nsw + 1) * sizeof(*r->sw));
	r->sw[r->nsw].rel = xstrdup(rel);
	r->sw[r->nsw].had_live = path_exists(live);
	r->sw[r->nsw].staged = path_exists(st);
	r->nsw++;
out:
	free(live);
	free(st);
}

/* The paths a mode replaces: each component path, and for a database
 * its -wal, -shm and -journal (a leftover WAL would corrupt the restored
 * file). Command components are fed to their restore command instead. */
static void plan_swaps(struct restore *r)
{
	static const char *const db_side[] = { "-wal", "-shm", "-journal" };

	for (size_t i = 0; i < r->ncomps; i++) {
		const struct component *c = r->comps[i];

		if (c->type == COMP_COMMAND)
			continue;
		for (size_t j = 0; j < c->paths.n; j++) {
			add_swap(r, c->paths.v[j]);
			if (c->type != COMP_SQLITE)
				continue;
			for (size_t k = 0; k < ARRAY_SIZE(db_side); k++) {
				char *s = xasprintf("%s%s", c->paths.v[j],
						    db_side[k]);

				add_swap(r, s);
				free(s);
			}
		}
	}
}

static char *journal_path(const struct config *cfg)
{
	return path_join(cfg->state_dir, "restore.journal");
}

static int journal_write(const struct restore *r, struct cairn_error *err)
{
	struct sbuf b = { 0 };
	char *p = journal_path(r->cfg);
	int rc;

	sb_printf(&b, "%s\nlive %s\nstaging %s\nnet %s\n", JOURNAL_MAGIC,
		  r->live, r->staging, r->net);
	for (size_t i = 0; i < r->nsw; i++)
		sb_printf(&b, "path %d %d %s\n", r->sw[i].had_live,
			  r->sw[i].staged, r->sw[i].rel);
	rc = write_file_atomic(p, b.s, b.len, 0600, err);
	sb_free(&b);
	free(p);
	return rc;
}

static int move(const char *from, const char *to, const char *root)
{
	char *dir = dir_of(to);
	struct stat st;
	int rc = 0;

	/* Parents created as the live root is: the app must reach them. */
	if (!path_exists(dir)) {
		rc = mkdir_p(dir, 0700);
		if (!rc && !stat(root, &st)) {
			if (chown(dir, st.st_uid, st.st_gid))
				rc = 0; /* best effort as non-root */
			chmod(dir, st.st_mode & 07777);
		}
	}
	if (!rc)
		rc = rename(from, to);
	free(dir);
	return rc;
}

/* Undo a swap, as far as it went. Idempotent: safe to repeat after a
 * crash during the rollback itself. */
static int rollback(const char *live, const char *staging, const char *net,
		    const struct swap *sw, size_t n)
{
	int rc = 0;

	for (size_t i = n; i-- > 0;) {
		char *l = path_join(live, sw[i].rel);
		char *s = path_join(staging, sw[i].rel);
		char *o = path_join(net, sw[i].rel);
		bool placed = sw[i].staged && !path_exists(s) &&
			      path_exists(l) &&
			      (!sw[i].had_live || path_exists(o));

		if (placed && rm_rf(l)) {
			log_error("rollback: cannot remove %s: %s", l,
				  strerror(errno));
			rc = -1;
		}
		if (sw[i].had_live && path_exists(o) && !path_exists(l) &&
		    rename(o, l)) {
			log_error("rollback: cannot move %s back: %s", o,
				  strerror(errno));
			rc = -1;
		}
		free(l);
		free(s);
		free(o);
	}
	return rc;
}

static double pause_secs(void)
{
	const char *s = getenv("CAIRN_SWAP_PAUSE");
	long v = 0;

	return s && parse_int(s, 0, 3600, &v) ? (double)v : 0;
}

static int swap_in(struct restore *r, struct cairn_error *err)
{
	long pause = (long)pause_secs();

	for (size_t i = 0; i < r->nsw; i++) {
		const struct swap *w = &r->sw[i];
		char *l = path_join(r->live, w->rel);
		char *s = path_join(r->staging, w->rel);
		char *o = path_join(r->net, w->rel);
		int rc = 0;

		if (w->had_live && move(l, o, r->live))
			rc = errno_err(err, 0, errno, "cannot move %s to %s", l,
				       o);
		/* Testing aid: widen the window a crash must not harm. */
		if (pause)
			sleep((unsigned)pause);
		if (!rc && w->staged && move(s, l, r->live))
			rc = errno_err(err, 0, errno, "cannot move %s to %s", s,
				       l);
		free(l);
		free(s);
		free(o);
		if (rc)
			return rc;
	}
	fsync_dir(r->live);
	return CAIRN_OK;
}

static int run_commands(struct restore *r, struct cairn_error *err)
{
	for (size_t i = 0; i < r->ncomps; i++) {
		const struct component *c = r->comps[i];
		char *p;
		int rc;

		if (c->type != COMP_COMMAND)
			continue;
		p = path_join(r->staging, c->file);
		rc = command_restore(c, p, err);
		free(p);
		if (rc)
			return rc;
	}
	return CAIRN_OK;
}

/* A dir beside `live` on its file system, or inside it when live is a
 * mount point. */
static char *beside(const char *live, const char *suffix)
{
	char *parent = dir_of(live);
	struct stat a, b;
	char *p;

	if (!stat(live, &a) && !stat(parent, &b) && a.st_dev == b.st_dev)
		p = xasprintf("%s%s", live, suffix);
	else
		p = xasprintf("%s/.cairn%s", live, suffix);
	free(parent);
	return p;
}

static int prepare_dirs(struct restore *r, struct cairn_error *err)
{
	char ts[32];
	struct tm tm;
	time_t now = time(NULL);

	if (r->o->to) {
		struct stat st;

		if (!stat(r->o->to, &st)) {
			size_t n = 0;
			DIR *d = opendir(r->o->to);
			struct dirent *de;

			while (d && (de = readdir(d)))
				n += strcmp(de->d_name, ".") &&
				     strcmp(de->d_name, "..");
			if (d)
				closedir(d);
			if (!S_ISDIR(st.st_mode) || n)
				return cairn_errf(err, CAIRN_ECONFIG,
						  "--to %s: not an empty "
						  "directory", r->o->to);
		}
	}
	if (mkdir_p(r->live, 0700))
		return errno_err(err, 0, errno, "cannot create %s", r->live);
	if (r->o->to) {
		r->staging = path_join(r->live, ".cairn-staging.XXXXXX");
	} else {
		char *b = beside(r->live, ".cairn-staging.XXXXXX");

		r->staging = b;
	}
	if (!mkdtemp(r->staging)) {
		int rc = errno_err(err, 0, errno, "cannot create %s",
				   r->staging);

		free(r->staging);
		r->staging = NULL;
		return rc;
	}
	if (r->o->to)
		return CAIRN_OK; /* no safety net for --to */
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "/%Y-%m-%d_%H%M%S", &tm);
	{
		char *base = beside(r->live, ".pre-restore");

		if (mkdir_p(base, 0700)) {
			int rc = errno_err(err, 0, errno, "cannot create %s",
					   base);

			free(base);
			return rc;
		}
		/* Never share a safety net with an earlier restore. */
		for (int i = 1; !r->net; i++) {
			r->net = i == 1 ? xasprintf("%s%s", base, ts)
					: xasprintf("%s%s.%d", base, ts, i);
			if (mkdir(r->net, 0700) && errno == EEXIST && i < 100) {
				free(r->net);
				r->net = NULL;
			}
		}
		free(base);
	}
	return CAIRN_OK;
}

static uint64_t du(const char *path)
{
	struct stat st;
	uint64_t n = 0;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st))
		return 0;
	if (!S_ISDIR(st.st_mode))
		return (uint64_t)st.st_size;
	if (!(d = opendir(path)))
		return 0;
	while ((de = readdir(d))) {
		char *p;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = path_join(path, de->d_name);
		n += du(p);
		free(p);
	}
	closedir(d);
	return n;
}

static void print_plan(struct restore *r)
{
	printf("restore mode %s from %s into %s\n", r->o->mode,
	       base_of(r->archive), r->live);
	for (size_t i = 0; i < r->ncomps; i++) {
		const struct component *c = r->comps[i];

		for (size_t j = 0; j < c->paths.n; j++) {
			char *l = path_join(r->live, c->paths.v[j]);
			char sz[32];

			fmt_bytes(du(l), sz);
			if (c->type == COMP_COMMAND)
				printf("  run restore of component %s from "
				       "%s\n", c->name, c->paths.v[j]);
			else if (path_exists(l))
				printf("  replace %s (%s now)\n",
				       c->paths.v[j], sz);
			else
				printf("  create  %s\n", c->paths.v[j]);
			free(l);
		}
	}
	{
		char sz[32];

		fmt_bytes(r->staged_bytes, sz);
		printf("  %s from the archive\n", sz);
	}
}

static bool confirm(const struct restore *r)
{
	char line[16];

	fprintf(stderr, "Replace live data in %s with mode %s from %s? "
		"[y/N] ", r->live, r->o->mode, base_of(r->archive));
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

static char *hook_env(const char *k, const char *v)
{
	return xasprintf("%s=%s", k, v ? v : "");
}

static int restore_live(struct restore *r, struct cairn_error *err)
{
	const struct config *cfg = r->cfg;
	char *env[5], *jp = journal_path(cfg);
	int rc;

	env[0] = hook_env("CAIRN_ARCHIVE", r->archive);
	env[1] = hook_env("CAIRN_MODE", r->o->mode);
	env[2] = hook_env("CAIRN_SAFETY_NET", r->net);
	env[3] = hook_env("CAIRN_STATUS", "restoring");
	env[4] = NULL;
	if ((rc = run_hook(cfg, HOOK_PRE_RESTORE, env, err)))
		goto out;
	plan_swaps(r);
	if ((rc = journal_write(r, err)))
		goto out;
	rc = swap_in(r, err);
	if (!rc)
		rc = run_commands(r, err);
	if (!rc)
		rc = run_hook(cfg, HOOK_POST_RESTORE, env, err);
	if (!rc && (rc = run_hook(cfg, HOOK_VERIFY_RESTORE, env, err)))
		snprintf(err->msg + strlen(err->msg),
			 sizeof(err->msg) - strlen(err->msg),
			 "; verification failed");
	if (rc) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		if (rollback(r->live, r->staging, r->net, r->sw, r->nsw))
			cairn_errf(err, CAIRN_EFAIL, "%s; ROLLBACK INCOMPLETE, "
				   "see %s and %s", msg, r->net, jp);
		else {
			cairn_errf(err, CAIRN_EFAIL, "%s; rolled back, the "
				   "previous data is in place again", msg);
			/* Done: a later run must not roll back again. */
			unlink(jp);
			fsync_dir(cfg->state_dir);
		}
		/* Let the app come back up on the old data. */
		if (cfg->hooks[HOOK_POST_RESTORE]) {
			struct cairn_error e2 = { 0, "" };

			free(env[3]);
			env[3] = hook_env("CAIRN_STATUS", "rolled-back");
			run_hook(cfg, HOOK_POST_RESTORE, env, &e2);
		}
		goto out;
	}
	unlink(jp);
	fsync_dir(cfg->state_dir);
	rc = CAIRN_OK;
out:
	/* Nothing was replaced: no safety net to keep. */
	rmdir(r->net);
	for (int i = 0; i < 4; i++)
		free(env[i]);
	free(jp);
	return rc;
}

static int restore_to(struct restore *r, struct cairn_error *err)
{
	plan_swaps(r);
	for (size_t i = 0; i < r->ncomps; i++)
		if (r->comps[i]->type == COMP_COMMAND)
			add_swap(r, r->comps[i]->file);
	for (size_t i = 0; i < r->nsw; i++) {
		char *s = path_join(r->staging, r->sw[i].rel);
		char *l = path_join(r->live, r->sw[i].rel);
		int rc = 0;

		if (r->sw[i].staged && move(s, l, r->live))
			rc = errno_err(err, 0, errno, "cannot move %s", s);
		free(s);
		free(l);
		if (rc)
			return rc;
	}
	return CAIRN_OK;
}

static bool journal_pending(const struct config *cfg)
{
	char *p = journal_path(cfg);
	bool yes = path_exists(p);

	free(p);
	return yes;
}

int restore_recover(const struct config *cfg, struct cairn_error *err)
{
	char *p = journal_path(cfg), *text, *live = NULL, *staging = NULL,
	     *net = NULL;
	struct swap *sw = NULL;
	size_t n = 0, len;
	int rc = CAIRN_OK;

	text = read_file(p, &len);
	if (!text)
		goto out;
	if (strncmp(text, JOURNAL_MAGIC "\n", strlen(JOURNAL_MAGIC) + 1)) {
		rc = cairn_errf(err, CAIRN_EFAIL, "%s: not a cairn restore "
				"journal; move it away to continue", p);
		goto out;
	}
	log_warn("a restore was interrupted; rolling it back (%s)", p);
	for (char *line = strtok(text, "\n"); line;
	     line = strtok(NULL, "\n")) {
		int had, staged, off = 0;

		if (!strncmp(line, "live ", 5))
			live = line + 5;
		else if (!strncmp(line, "staging ", 8))
			staging = line + 8;
		else if (!strncmp(line, "net ", 4))
			net = line + 4;
		else if (sscanf(line, "path %d %d %n", &had, &staged,
				&off) == 2 && off) {
			sw = xrealloc(sw, (n + 1) * sizeof(*sw));
			sw[n].rel = line + off;
			sw[n].had_live = had;
			sw[n].staged = staged;
			n++;
		}
	}
	if (!live || !staging || !net) {
		rc = cairn_errf(err, CAIRN_EFAIL, "%s: incomplete journal; "
				"move it away to continue", p);
		goto out;
	}
	if (rollback(live, staging, net, sw, n)) {
		rc = cairn_errf(err, CAIRN_EFAIL, "rollback of the interrupted "
				"restore is incomplete; see %s and %s", net, p);
		goto out;
	}
	rm_rf(staging);
	rmdir(net);
	unlink(p);
	fsync_dir(cfg->state_dir);
	log_warn("rolled back: %s holds the data it had before the restore",
		 live);
out:
	free(sw);
	free(text);
	free(p);
	return rc;
}

/* Keep a verified fetched archive in archive_dir: after losing the disk,
 * the next restore need not fetch it again. */
static void keep_fetched(const struct config *cfg, const char *dir,
			 const char *archive, bool ok)
{
	if (ok && archive) {
		char *names[3] = { xstrdup(base_of(archive)),
				   sidecar_manifest(base_of(archive)),
				   sidecar_sha(base_of(archive)) };

		for (int i = 0; i < 3; i++) {
			char *from = path_join(dir, names[i]);
			char *to = path_join(cfg->archive_dir, names[i]);

			if (!path_exists(to))
				rename(from, to);
			free(from);
			free(to);
			free(names[i]);
		}
		fsync_dir(cfg->archive_dir);
	}
	rm_rf(dir);
}

static bool replaced(const struct restore *r)
{
	for (size_t i = 0; i < r->nsw; i++)
		if (r->sw[i].had_live)
			return true;
	return false;
}

int cmd_restore(const struct config *cfg, const struct restore_opts *o)
{
	struct restore r = { .cfg = cfg, .o = o };
	struct cairn_error err = { 0, "" };
	struct lock lk = { -1, NULL };
	char *fetch_dir = NULL;
	bool live = !o->to;
	int rc;

	if ((rc = pick_mode(&r, &err)))
		goto out;
	if (live && !o->dry_run && !o->yes && !isatty(STDIN_FILENO)) {
		rc = cairn_errf(&err, CAIRN_ECONFIG,
				"restore replaces live data; pass --yes");
		goto out;
	}
	if ((rc = lock_acquire(cfg, &lk, &err)) ||
	    (rc = restore_recover(cfg, &err)))
		goto out;
	if (o->from) {
		if (mkdir_p(cfg->archive_dir, 0700)) {
			rc = errno_err(&err, 0, errno, "cannot create %s",
				       cfg->archive_dir);
			goto out;
		}
		fetch_dir = xasprintf("%s/.cairn-fetch.XXXXXX",
				      cfg->archive_dir);
		if (!mkdtemp(fetch_dir)) {
			rc = errno_err(&err, 0, errno, "cannot create %s",
				       fetch_dir);
			goto out;
		}
		if ((rc = target_fetch(cfg, o->from, o->archive, fetch_dir,
				       &r.archive, &err)))
			goto out;
	} else if ((rc = catalog_resolve(cfg, o->archive, &r.archive, &err))) {
		goto out;
	}
	log_info("verifying %s", r.archive);
	if ((rc = verify_sidecar(r.archive, &err))) {
		snprintf(err.msg + strlen(err.msg),
			 sizeof(err.msg) - strlen(err.msg),
			 "; refusing to restore, live data untouched");
		goto out;
	}
	if ((rc = manifest_load(r.archive, &r.man, &err)))
		goto out;
	r.want = xcalloc(r.man.n ? r.man.n : 1, sizeof(bool));
	r.live = xstrdup(o->to ? o->to : cfg->source);

	if (o->dry_run) {
		if (!(rc = stage(&r, true, &err)))
			print_plan(&r);
		goto out;
	}
	if (live && !o->yes && !confirm(&r)) {
		rc = cairn_errf(&err, CAIRN_ECONFIG, "restore cancelled");
		goto out;
	}
	if ((rc = prepare_dirs(&r, &err)))
		goto out;
	log_info("staging mode %s in %s", o->mode, r.staging);
	if ((rc = stage(&r, false, &err)) || (rc = check_staged(&r, &err)))
		goto out;
	rc = live ? restore_live(&r, &err) : restore_to(&r, &err);
	if (rc)
		goto out;
	if (live && replaced(&r))
		printf("restored mode %s from %s; replaced files are in %s\n",
		       o->mode, base_of(r.archive), r.net);
	else
		printf("restored mode %s from %s into %s\n", o->mode,
		       base_of(r.archive), r.live);
out:
	if (rc)
		log_error("%s", err.msg);
	if (r.staging && (rc == CAIRN_OK || !journal_pending(cfg)))
		rm_rf(r.staging);
	if (fetch_dir)
		keep_fetched(cfg, fetch_dir, r.archive, rc == CAIRN_OK);
	if (r.net)
		rmdir(r.net); /* only if nothing went into it */
	for (size_t i = 0; i < r.nsw; i++)
		free(r.sw[i].rel);
	free(r.sw);
	free(r.comps);
	free(r.want);
	manifest_free(&r.man);
	free(r.archive);
	free(r.live);
	free(r.staging);
	free(r.net);
	free(fetch_dir);
	lock_release(&lk);
	return rc_exit(rc);
}

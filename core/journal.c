/*
 * The restore journal: written to state_dir before the first change to
 * live data, removed once the restore is complete or fully rolled back.
 * A run killed in between leaves it, and the next command that takes
 * the lock rolls the swap back from it. Its paths are checked before
 * anything is done with them: only paths beneath the configured source
 * and the staging and safety-net dirs a restore of it makes.
 *
 *   cairn-restore-journal 2
 *   live SOURCE / staging DIR / net DIR
 *   mkdir REL                       a directory the restore created
 *   path HAD_LIVE STAGED REL        a path moved to the net and/or placed
 *   attr MODE UID GID SEC NSEC REL  a directory's metadata before
 *
 * Also here: the safety nets restores leave (listed for status and
 * prune; the one a pending journal names is in use), and the scratch
 * dirs of dead runs.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn.h"

#define JOURNAL_V1 "cairn-restore-journal 1"
#define JOURNAL_V2 "cairn-restore-journal 2"

char *journal_path(const struct config *cfg)
{
	return path_join(cfg->state_dir, "restore.journal");
}

char *live_path(const char *root, const char *rel)
{
	return strcmp(rel, ".") ? path_join(root, rel) : xstrdup(root);
}

int journal_write(const struct config *cfg, const struct journal *j,
		  struct cairn_error *err)
{
	struct sbuf b = { 0 };
	char *p = journal_path(cfg);
	int rc;

	sb_printf(&b, "%s\nlive %s\nstaging %s\nnet %s\n", JOURNAL_V2,
		  j->live, j->staging, j->net);
	for (size_t i = 0; i < j->n; i++) {
		const struct swap *w = &j->sw[i];

		if (w->kind == SWAP_MKDIR)
			sb_printf(&b, "mkdir %s\n", w->rel);
		else if (w->kind == SWAP_MOVE)
			sb_printf(&b, "path %d %d %s\n", w->had_live,
				  w->staged, w->rel);
		else
			sb_printf(&b, "attr %o %u %u %lld %ld %s\n",
				  (unsigned)(w->mode & 07777),
				  (unsigned)w->uid, (unsigned)w->gid,
				  (long long)w->mtime.tv_sec,
				  (long)w->mtime.tv_nsec, w->rel);
	}
	rc = write_file_atomic(p, b.s, b.len, 0600, err);
	sb_free(&b);
	free(p);
	return rc;
}

void journal_done(const struct config *cfg)
{
	char *p = journal_path(cfg);

	unlink(p);
	fsync_dir(cfg->state_dir);
	free(p);
}

bool journal_pending(const struct config *cfg)
{
	char *p = journal_path(cfg);
	bool yes = path_exists(p);

	free(p);
	return yes;
}

/* Put a directory's metadata back (no link is followed). */
void apply_meta(const char *path, mode_t mode, uid_t uid, gid_t gid,
		const struct timespec *mtime)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, 0 } };
	struct stat st;

	if (lstat(path, &st) || S_ISLNK(st.st_mode))
		return;
	if (geteuid() == 0 && (st.st_uid != uid || st.st_gid != gid) &&
	    lchown(path, uid, gid))
		log_warn("cannot set the owner of %s: %s", path,
			 strerror(errno));
	if (chmod(path, mode & 07777))
		log_warn("cannot set the mode of %s: %s", path,
			 strerror(errno));
	if (mtime) {
		ts[1] = *mtime;
		utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
	}
}

/* Remove the empty directories of a tree (a safety net that ended up
 * holding nothing); whatever holds a file stays. */
void prune_empty(const char *path)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(path, &st) || !S_ISDIR(st.st_mode) || !(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		char *sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = path_join(path, de->d_name);
		prune_empty(sub);
		free(sub);
	}
	closedir(d);
	rmdir(path);
}

static int undo_move(const struct journal *j, const struct swap *w)
{
	char *l = live_path(j->live, w->rel);
	char *s = path_join(j->staging, w->rel);
	char *o = w->had_live ? path_join(j->net, w->rel) : NULL;
	bool placed = w->staged && !path_exists(s) && path_exists(l) &&
		      (!o || path_exists(o));
	int rc = 0;

	if (placed && rm_rf(l)) {
		log_error("rollback: cannot remove %s: %s", l,
			  strerror(errno));
		rc = -1;
	}
	if (o && path_exists(o) && !path_exists(l) &&
	    rename(o, l)) {
		log_error("rollback: cannot move %s back: %s", o,
			  strerror(errno));
		rc = -1;
	}
	free(l);
	free(s);
	free(o);
	return rc;
}

/* Undo a swap as far as it went: moves in reverse, then the directories
 * it made, then the metadata of those it kept (renames in them changed
 * their mtimes). Idempotent: safe to repeat after a crash during the
 * rollback itself. */
int journal_rollback(const struct journal *j)
{
	int rc = 0;

	for (size_t i = j->n; i-- > 0;)
		if (j->sw[i].kind == SWAP_MOVE && undo_move(j, &j->sw[i]))
			rc = -1;
	for (size_t i = j->n; i-- > 0;)
		if (j->sw[i].kind == SWAP_MKDIR) {
			char *l = live_path(j->live, j->sw[i].rel);

			rmdir(l); /* only if empty: nothing else is lost */
			free(l);
		}
	for (size_t i = j->n; i-- > 0;)
		if (j->sw[i].kind == SWAP_ATTR) {
			const struct swap *w = &j->sw[i];
			char *l = live_path(j->live, w->rel);

			apply_meta(l, w->mode, w->uid, w->gid, &w->mtime);
			free(l);
		}
	fsync_dir(j->live);
	return rc;
}

/* A relative path with no '.', '..' or empty component. */
static bool rel_ok(const char *rel)
{
	if (!path_is_safe(rel))
		return false;
	for (const char *p = rel; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 1 && *p == '.')
			return false;
		p += n + (p[n] == '/');
	}
	return true;
}

static char *strip_slash(const char *p)
{
	char *s = xstrdup(p);
	size_t l = strlen(s);

	while (l > 1 && s[l - 1] == '/')
		s[--l] = '\0';
	return s;
}

/* Is `path` DIR/PREFIX followed by one more name part? */
static bool child_named(const char *path, const char *dir, const char *prefix)
{
	size_t dl = strlen(dir), pl = strlen(prefix);
	const char *rest;

	if (strncmp(path, dir, dl) || path[dl] != '/')
		return false;
	rest = path + dl + 1;
	if (strncmp(rest, prefix, pl))
		return false;
	rest += pl;
	return *rest && !strchr(rest, '/') && strcmp(rest, ".") &&
	       strcmp(rest, "..");
}

/* The staging and net dirs a restore into `live` makes (see
 * prepare_dirs() in restore.c), and nothing else. */
static bool journal_dirs_ok(const char *live, const char *staging,
			    const char *net)
{
	char *parent = dir_of(live), *pre = xasprintf("%s.cairn-staging.",
						      base_of(live));
	char *nb1 = xasprintf("%s.pre-restore", live);
	char *nb2 = xasprintf("%s/.cairn.pre-restore", live);
	bool ok = (child_named(staging, parent, pre) ||
		   child_named(staging, live, ".cairn-staging.")) &&
		  (child_named(net, nb1, "") || child_named(net, nb2, ""));

	free(parent);
	free(pre);
	free(nb1);
	free(nb2);
	return ok;
}

static int parse_line(struct journal *j, char *line)
{
	struct swap w = { 0 };
	unsigned mode, uid, gid;
	long long sec;
	long nsec;
	int had, staged, off = 0;

	if (!strncmp(line, "live ", 5)) {
		j->live = line + 5;
		return 0;
	}
	if (!strncmp(line, "staging ", 8)) {
		j->staging = line + 8;
		return 0;
	}
	if (!strncmp(line, "net ", 4)) {
		j->net = line + 4;
		return 0;
	}
	if (!strncmp(line, "mkdir ", 6)) {
		w.kind = SWAP_MKDIR;
		w.rel = line + 6;
		if (strcmp(w.rel, ".") && !rel_ok(w.rel))
			return -1;
	} else if (sscanf(line, "path %d %d %n", &had, &staged, &off) == 2 &&
		   off) {
		w.kind = SWAP_MOVE;
		w.rel = line + off;
		w.had_live = had;
		w.staged = staged;
		if (!rel_ok(w.rel))
			return -1;
	} else if (sscanf(line, "attr %o %u %u %lld %ld %n", &mode, &uid, &gid,
			  &sec, &nsec, &off) == 5 && off) {
		w.kind = SWAP_ATTR;
		w.rel = line + off;
		w.mode = (mode_t)mode;
		w.uid = (uid_t)uid;
		w.gid = (gid_t)gid;
		w.mtime.tv_sec = (time_t)sec;
		w.mtime.tv_nsec = nsec;
		if (!rel_ok(w.rel))
			return -1;
	} else {
		return -1;
	}
	j->sw = xrealloc(j->sw, (j->n + 1) * sizeof(*j->sw));
	j->sw[j->n++] = w;
	return 0;
}

/* Parse and check the journal text (modified in place). */
static int journal_parse(const struct config *cfg, const char *p,
			 char *text, struct journal *j,
			 struct cairn_error *err)
{
	char *src = strip_slash(cfg->source), *live = NULL, *save = NULL;
	int rc = CAIRN_OK;

	if (strncmp(text, JOURNAL_V1 "\n", strlen(JOURNAL_V1) + 1) &&
	    strncmp(text, JOURNAL_V2 "\n", strlen(JOURNAL_V2) + 1)) {
		rc = cairn_errf(err, CAIRN_EFAIL, "%s: not a cairn restore "
				"journal; move it away to continue", p);
		goto out;
	}
	for (char *line = strtok_r(strchr(text, '\n') + 1, "\n", &save);
	     line && !rc; line = strtok_r(NULL, "\n", &save))
		if (parse_line(j, line))
			rc = cairn_errf(err, CAIRN_EFAIL, "%s: refusing a "
					"journal line that names a path "
					"outside the source: '%.200s'; move "
					"it away to continue", p, line);
	if (rc)
		goto out;
	if (!j->live || !j->staging || !j->net) {
		rc = cairn_errf(err, CAIRN_EFAIL, "%s: incomplete journal; "
				"move it away to continue", p);
		goto out;
	}
	live = strip_slash(j->live);
	if (strcmp(live, src) || !journal_dirs_ok(live, j->staging, j->net))
		rc = cairn_errf(err, CAIRN_EFAIL, "%s: refusing a journal "
				"for %s (staging %s, net %s), not a restore "
				"of source %s; move it away to continue", p,
				j->live, j->staging, j->net, cfg->source);
out:
	free(live);
	free(src);
	return rc;
}

int restore_recover(const struct config *cfg, struct cairn_error *err)
{
	struct journal j = { 0 };
	char *p = journal_path(cfg), *text;
	size_t len;
	int rc = CAIRN_OK;

	text = read_file(p, &len);
	if (!text) {
		restore_leftovers(cfg);
		goto out;
	}
	if ((rc = journal_parse(cfg, p, text, &j, err)))
		goto out;
	log_warn("a restore was interrupted; rolling it back (%s)", p);
	if (journal_rollback(&j)) {
		rc = cairn_errf(err, CAIRN_EFAIL, "rollback of the "
				"interrupted restore is incomplete; see %s "
				"and %s", j.net, p);
		goto out;
	}
	rm_rf(j.staging);
	prune_empty(j.net);
	{
		char *base = dir_of(j.net);

		rmdir(base);
		free(base);
	}
	journal_done(cfg);
	log_warn("rolled back: %s holds the data it had before the restore",
		 j.live);
	restore_leftovers(cfg);
out:
	free(j.sw);
	free(text);
	free(p);
	return rc;
}

int scratch_lock(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Remove DIR/PREFIX* directories no live run holds (each run holds a
 * flock on its own scratch dir while it works). */
static void clear_dirs(const char *dir, const char *prefix)
{
	size_t pl = strlen(prefix);
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		char *p;
		int fd;

		if (strncmp(de->d_name, prefix, pl) || !de->d_name[pl])
			continue;
		p = path_join(dir, de->d_name);
		if ((fd = scratch_lock(p)) >= 0) {
			log_warn("removing %s, left by an interrupted run", p);
			rm_rf(p);
			close(fd);
		}
		free(p);
	}
	if (d)
		closedir(d);
}

void restore_leftovers(const struct config *cfg)
{
	char *src = strip_slash(cfg->source), *parent = dir_of(src);
	char *pre = xasprintf("%s.cairn-staging.", base_of(src));

	if (journal_pending(cfg))
		goto out; /* its staging dir may be needed */
	clear_dirs(parent, pre);
	clear_dirs(src, ".cairn-staging.");
	clear_dirs(cfg->archive_dir, ".cairn-fetch.");
	clear_dirs(cfg->state_dir, ".cairn-verify.");
	clear_dirs(cfg->state_dir, ".cairn-drill.");
out:
	free(pre);
	free(parent);
	free(src);
}

/* Safety nets: what restores replaced, in SOURCE.pre-restore/STAMP, or
 * SOURCE/.cairn.pre-restore/STAMP when the source is a mount point (the
 * two places restore.c's prepare_dirs() picks). */
static uint64_t tree_bytes(const char *path)
{
	struct stat st;
	struct dirent *de;
	uint64_t n = 0;
	DIR *d;

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
		n += tree_bytes(p);
		free(p);
	}
	closedir(d);
	return n;
}

/* The safety net a pending restore.journal names (rollback needs it). */
static char *net_in_use(const struct config *cfg)
{
	char *p = journal_path(cfg), *text, *net;
	size_t len;

	text = read_file(p, &len);
	free(p);
	if (!text)
		return NULL;
	net = strstr(text, "\nnet ");
	if (net) {
		net += 5;
		net[strcspn(net, "\n")] = '\0';
		net = xstrdup(net);
	}
	free(text);
	return net;
}

static int net_by_time(const void *a, const void *b)
{
	const struct safety_net *x = a, *y = b;

	return (x->time > y->time) - (x->time < y->time);
}

void safety_nets_scan(const struct config *cfg, struct safety_nets *sn)
{
	char *bases[2], *busy = net_in_use(cfg);

	memset(sn, 0, sizeof(*sn));
	bases[0] = xasprintf("%s.pre-restore", cfg->source);
	bases[1] = xasprintf("%s/.cairn.pre-restore", cfg->source);
	for (size_t b = 0; b < ARRAY_SIZE(bases); b++) {
		DIR *d = opendir(bases[b]);
		struct dirent *de;

		while (d && (de = readdir(d))) {
			struct safety_net *n;
			struct stat st;
			char *p;

			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			p = path_join(bases[b], de->d_name);
			if (lstat(p, &st) || !S_ISDIR(st.st_mode)) {
				free(p);
				continue;
			}
			sn->v = xrealloc(sn->v, (sn->n + 1) * sizeof(*sn->v));
			n = &sn->v[sn->n++];
			n->path = p;
			n->time = st.st_mtime;
			n->bytes = tree_bytes(p);
			n->in_use = busy && !strcmp(busy, p);
			sn->bytes += n->bytes;
		}
		if (d)
			closedir(d);
	}
	if (sn->n)
		qsort(sn->v, sn->n, sizeof(*sn->v), net_by_time);
	sn->dirs[0] = bases[0];
	sn->dirs[1] = bases[1];
	free(busy);
}

void safety_nets_free(struct safety_nets *sn)
{
	for (size_t i = 0; i < sn->n; i++)
		free(sn->v[i].path);
	free(sn->v);
	free(sn->dirs[0]);
	free(sn->dirs[1]);
	memset(sn, 0, sizeof(*sn));
}

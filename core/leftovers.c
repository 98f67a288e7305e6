/*
 * What killed runs leave in archive_dir: .ARCHIVE.partial and the
 * sidecar temps beside it, sidecars whose archive never got its final
 * name, staging dirs (which may hold a copy of the database).
 *
 * A live run holds an flock on its .partial and on its staging dir for
 * as long as it runs, so a candidate whose flock we can take is a dead
 * run's leftover, whichever config made it; and every name carries the
 * config's name, so one config never even looks at another's.
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

#define STAGING ".cairn-staging."

/* Hold an flock on fd, and make sure path still names it (a cleaner may
 * have taken the name between our create and our lock). */
static int hold(int fd, const char *path, struct cairn_error *err)
{
	struct stat a, b;

	if (flock(fd, LOCK_EX | LOCK_NB))
		return errno_err(err, CAIRN_EFAIL, errno, "cannot lock %s",
				 path);
	if (fstat(fd, &a) || lstat(path, &b) || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		return cairn_errf(err, CAIRN_EFAIL,
				  "%s was removed as it was created", path);
	return CAIRN_OK;
}

int held_create(const char *path, int *fdp, struct cairn_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc;

	*fdp = -1;
	if (fd < 0)
		return errno_err(err, 0, errno, "cannot create %s", path);
	if ((rc = hold(fd, path, err))) {
		close(fd);
		return rc;
	}
	*fdp = fd;
	return CAIRN_OK;
}

int held_staging(const struct config *cfg, char **dirp, int *fdp,
		 struct cairn_error *err)
{
	char *dir = xasprintf("%s/" STAGING "%s.XXXXXX", cfg->archive_dir,
			      cfg->name);
	int fd, rc;

	*dirp = NULL;
	*fdp = -1;
	if (!mkdtemp(dir)) {
		rc = errno_err(err, 0, errno, "cannot create %s", dir);
		free(dir);
		return rc;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (rc = hold(fd, dir, err))) {
		if (fd < 0)
			rc = errno_err(err, 0, errno, "cannot open %s", dir);
		else
			close(fd);
		rmdir(dir);
		free(dir);
		return rc;
	}
	*dirp = dir;
	*fdp = fd;
	return CAIRN_OK;
}

/* No live run holds path: it is absent, or we could take its flock. */
static bool unheld(const char *path, bool dir)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
			    (dir ? O_DIRECTORY : 0));
	bool ok = true;

	if (fd < 0)
		return errno == ENOENT;
	if (flock(fd, LOCK_EX | LOCK_NB))
		ok = false;
	close(fd);
	return ok;
}

/* ".cairn-staging.NAME.XXXXXX" of this config, or an unnamed one
 * ".cairn-staging.XXXXXX" of an older cairn. */
static bool is_staging(const struct config *cfg, const char *f)
{
	size_t nl = strlen(cfg->name), sl = strlen(STAGING);

	if (strncmp(f, STAGING, sl))
		return false;
	f += sl;
	if (strlen(f) == 6 && !strchr(f, '.'))
		return true;
	return !strncmp(f, cfg->name, nl) && f[nl] == '.' &&
	       strlen(f + nl + 1) == 6 && !strchr(f + nl + 1, '.');
}

/*
 * The archive a leftover belongs to: ".A.partial", ".A.sha256.partial",
 * ".A.manifest.partial", "A.sha256", "A.manifest", and the temps of
 * older versions "A.sha256.tmp.PID", "A.manifest.tmp.PID"; of an
 * encrypted A = N.age, also N.manifest.age, N.index.age and their temps.
 * Returns A (malloc'd) or NULL; *side is true for the final-named
 * sidecars.
 */
static char *owner_of(const struct config *cfg, const char *f, bool *side)
{
	static const struct {
		const char *sfx;
		bool hidden, side, age; /* age: N's, for A = N.age */
	} kinds[] = {
		{ ".manifest.age.partial", true, false, true },
		{ ".index.age.partial", true, false, true },
		{ ".manifest.age", false, true, true },
		{ ".index.age", false, true, true },
		{ ".sha256.partial", true, false, false },
		{ ".manifest.partial", true, false, false },
		{ ".index.partial", true, false, false },
		{ ".partial", true, false, false },
		{ ".sha256", false, true, false },
		{ ".manifest", false, true, false },
		{ ".index", false, true, false },
	};
	char *a = xstrdup(f[0] == '.' ? f + 1 : f), *p;
	size_t l = strlen(a);

	*side = false;
	if (f[0] != '.' && ((p = strstr(a, ".sha256.tmp.")) ||
			    (p = strstr(a, ".manifest.tmp.")))) {
		const char *pid = strstr(p + 1, ".tmp.") + 5;

		if (*pid && strspn(pid, "0123456789") == strlen(pid)) {
			*p = '\0';
			goto named;
		}
		goto no;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		size_t s = strlen(kinds[i].sfx);

		if (l > s && !strcmp(a + l - s, kinds[i].sfx)) {
			if ((f[0] == '.') != kinds[i].hidden)
				goto no;
			a[l - s] = '\0';
			*side = kinds[i].side;
			if (kinds[i].age) {
				p = xasprintf("%s.age", a);
				free(a);
				a = p;
			}
			goto named;
		}
	}
	goto no;
named:
	if (!archive_name_parse(cfg->name, a, NULL))
		goto no;
	return a;
no:
	free(a);
	return NULL;
}

static void drop(const char *p, bool dir)
{
	log_warn("removing %s, left by an interrupted run", p);
	if ((dir ? rm_rf(p) : unlink(p)) && errno != ENOENT)
		log_warn("cannot remove %s: %s", p, strerror(errno));
}

static void clean_one(const struct config *cfg, const char *f)
{
	char *p = path_join(cfg->archive_dir, f), *a, *part, *fin;
	struct stat st;
	bool side;

	if (is_staging(cfg, f)) {
		if (!lstat(p, &st) && S_ISDIR(st.st_mode) && unheld(p, true))
			drop(p, true);
		free(p);
		return;
	}
	if (!(a = owner_of(cfg, f, &side))) {
		free(p);
		return;
	}
	part = xasprintf("%s/.%s.partial", cfg->archive_dir, a);
	fin = path_join(cfg->archive_dir, a);
	/* The lock first, then the final name: a live run renames its
	 * sidecars, then the archive, while it holds the .partial. */
	if (unheld(part, false) && !(side && path_exists(fin)))
		drop(p, false);
	free(part);
	free(fin);
	free(a);
	free(p);
}

int leftovers_clean(const struct config *cfg)
{
	struct strv names = { 0 };
	struct dirent *de;
	DIR *d = opendir(cfg->archive_dir);

	if (!d) {
		if (errno == ENOENT)
			return CAIRN_OK;
		log_warn("cannot read archive_dir %s: %s", cfg->archive_dir,
			 strerror(errno));
		return CAIRN_EFAIL;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strv_push(&names, de->d_name);
	closedir(d);
	for (size_t i = 0; i < names.n; i++)
		clean_one(cfg, names.v[i]);
	/* A latest link being replaced when the run died. */
	for (int c = COMP_ZSTD; c <= COMP_NONE; c++) {
		char *l = latest_link_path(cfg, c);
		char *t = xasprintf("%s.tmp", l);
		struct stat st;

		if (!lstat(t, &st) && S_ISLNK(st.st_mode))
			drop(t, false);
		free(t);
		free(l);
	}
	strv_free(&names);
	fsync_dir(cfg->archive_dir);
	return CAIRN_OK;
}

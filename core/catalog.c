/* The archives of one config in archive_dir: names, sidecars, lookup. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn.h"

const char *compression_ext(enum compression c)
{
	switch (c) {
	case COMP_ZSTD:
		return ".tar.zst";
	case COMP_GZIP:
		return ".tar.gz";
	default:
		return ".tar";
	}
}

char *archive_name(const struct config *cfg, time_t t)
{
	return archive_name_kind(cfg, t, false);
}

/* An incremental's name says so, for tar users and for retention on a
 * target, which sees names only: NAME-backup-TIME.incr.tar.zst. */
char *archive_name_kind(const struct config *cfg, time_t t, bool incr)
{
	struct tm tm;
	char ts[32];

	/* UTC: ordering, `latest` and retention never depend on TZ or
	 * daylight saving. */
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d_%H%M%S", &tm);
	return xasprintf("%s-backup-%s%s%s", cfg->name, ts,
			 incr ? INCR_EXT : "",
			 compression_ext(cfg->compression));
}

bool archive_name_is_incr(const char *file)
{
	size_t l = strlen(file);

	for (int c = COMP_ZSTD; c <= COMP_NONE; c++) {
		char *sfx = xasprintf(INCR_EXT "%s", compression_ext(c));
		size_t sl = strlen(sfx);
		bool yes = l > sl && !strcmp(file + l - sl, sfx);

		free(sfx);
		if (yes)
			return true;
	}
	return false;
}

bool archive_name_parse(const char *cfg_name, const char *file, time_t *t)
{
	static const char *const exts[] = {
		".tar.zst", ".tar.gz", ".tar",
		INCR_EXT ".tar.zst", INCR_EXT ".tar.gz", INCR_EXT ".tar",
	};
	size_t nl = strlen(cfg_name), rl;
	struct tm tm = { 0 };
	const char *p;
	char *end;

	if (strncmp(file, cfg_name, nl) || strncmp(file + nl, "-backup-", 8))
		return false;
	p = file + nl + 8;
	/* YYYY-MM-DD_HHMMSS, digits exactly where expected. */
	for (int i = 0; i < 17; i++) {
		bool sep = i == 4 || i == 7 || i == 10;

		if (sep ? p[i] != (i == 10 ? '_' : '-')
			: (p[i] < '0' || p[i] > '9'))
			return false;
	}
	/* NAME.age: the same archive, encrypted (encrypt = age) */
	rl = strlen(p + 17) - (ends_with(p + 17, ".age") ? 4 : 0);
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++)
		if (rl == strlen(exts[i]) && !strncmp(p + 17, exts[i], rl))
			goto ok;
	return false;
ok:
	end = strptime(p, "%Y-%m-%d_%H%M%S", &tm);
	if (!end || end != p + 17)
		return false;
	if (t)
		*t = timegm(&tm);
	return true;
}

char *sidecar_sha(const char *archive)
{
	return xasprintf("%s.sha256", archive);
}

/* NAME.SIDE, or NAME.SIDE.age beside an encrypted NAME.age. */
char *sidecar_named(const char *archive, const char *side)
{
	if (ends_with(archive, ".age"))
		return xasprintf("%.*s.%s.age", (int)strlen(archive) - 4,
				 archive, side);
	return xasprintf("%s.%s", archive, side);
}

char *sidecar_manifest(const char *archive)
{
	return sidecar_named(archive, "manifest");
}

static int by_time(const void *a, const void *b)
{
	const struct archive_info *x = a, *y = b;

	if (x->time != y->time)
		return (x->time < y->time) - (x->time > y->time);
	return strcmp(y->name, x->name);
}

int catalog_scan(const struct config *cfg, struct catalog *cat,
		 struct cairn_error *err)
{
	struct dirent *de;
	DIR *d;

	memset(cat, 0, sizeof(*cat));
	d = opendir(cfg->archive_dir);
	if (!d) {
		if (errno == ENOENT)
			return CAIRN_OK;
		return errno_err(err, 0, errno, "cannot read archive_dir %s",
				 cfg->archive_dir);
	}
	while ((de = readdir(d))) {
		struct archive_info *a;
		struct stat st;
		time_t t;
		char *p, *side;

		if (!archive_name_parse(cfg->name, de->d_name, &t))
			continue;
		p = path_join(cfg->archive_dir, de->d_name);
		if (lstat(p, &st) || !S_ISREG(st.st_mode)) {
			free(p);
			continue;
		}
		side = sidecar_sha(p);
		cat->a = xrealloc(cat->a, (cat->n + 1) * sizeof(*cat->a));
		a = &cat->a[cat->n++];
		a->name = xstrdup(de->d_name);
		a->time = t;
		a->size = (uint64_t)st.st_size;
		a->incr = archive_name_is_incr(de->d_name);
		a->has_sidecar = path_exists(side);
		free(side);
		free(p);
	}
	closedir(d);
	if (cat->n)
		qsort(cat->a, cat->n, sizeof(*cat->a), by_time);
	return CAIRN_OK;
}

void catalog_free(struct catalog *cat)
{
	for (size_t i = 0; i < cat->n; i++)
		free(cat->a[i].name);
	free(cat->a);
	memset(cat, 0, sizeof(*cat));
}

char *latest_link_path(const struct config *cfg, enum compression c)
{
	return xasprintf("%s/%s-backup-latest%s%s", cfg->archive_dir,
			 cfg->name, compression_ext(c),
			 cfg->self ? ".age" : "");
}

char *catalog_latest(const struct config *cfg)
{
	char *link = latest_link_path(cfg, cfg->compression), *p = NULL;
	char target[4096], *side;
	struct stat st;
	ssize_t n;

	n = readlink(link, target, sizeof(target) - 1);
	free(link);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	if (strchr(target, '/') || !archive_name_parse(cfg->name, target,
						       NULL))
		return NULL;
	p = path_join(cfg->archive_dir, target);
	side = sidecar_sha(p);
	if (lstat(p, &st) || !S_ISREG(st.st_mode) || !path_exists(side)) {
		free(p);
		p = NULL;
	}
	free(side);
	return p;
}

int catalog_resolve(const struct config *cfg, const char *which, char **path,
		    struct cairn_error *err)
{
	struct catalog cat;
	int rc;

	*path = NULL;
	if (which && strcmp(which, "latest")) {
		*path = strchr(which, '/') ? xstrdup(which)
					   : path_join(cfg->archive_dir, which);
		if (!path_exists(*path)) {
			rc = cairn_errf(err, CAIRN_ENOTFOUND,
					"archive not found: %s; see 'cairn "
					"list'", *path);
			free(*path);
			*path = NULL;
			return rc;
		}
		return CAIRN_OK;
	}
	/* The archive the last run made and verified, whatever the clock
	 * said when the others were named. */
	if ((*path = catalog_latest(cfg)))
		return CAIRN_OK;
	if ((rc = catalog_scan(cfg, &cat, err)))
		return rc;
	/* Newest complete archive: one without a sidecar never verified. */
	for (size_t i = 0; i < cat.n && !*path; i++)
		if (cat.a[i].has_sidecar)
			*path = path_join(cfg->archive_dir, cat.a[i].name);
	catalog_free(&cat);
	if (!*path)
		return cairn_errf(err, CAIRN_ENOTFOUND,
				  "no archive of '%s' in %s", cfg->name,
				  cfg->archive_dir);
	return CAIRN_OK;
}

/* Which files a sidecar may name: the archive and the sidecars beside
 * it, each once. Anything else (a hostile --from target's sidecar naming
 * the archive 100 times, or some other file) is refused before a single
 * byte is hashed. */
static int sidecar_names_ok(const char *side, const char *archive,
			    const struct manifest *m, struct cairn_error *err)
{
	const char *base = base_of(archive);
	char *allowed[3];
	bool seen[3] = { false, false, false };
	int rc = CAIRN_OK;

	allowed[0] = xstrdup(base);
	allowed[1] = sidecar_manifest(base);
	allowed[2] = sidecar_named(base, "index");
	for (size_t i = 0; i < m->n && !rc; i++) {
		const char *p = m->e[i].path;
		size_t k;

		for (k = 0; k < ARRAY_SIZE(allowed); k++)
			if (!strcmp(p, allowed[k]))
				break;
		if (strchr(p, '/') || k == ARRAY_SIZE(allowed))
			rc = cairn_errf(err, CAIRN_EINTEGRITY,
					"%s: unexpected name %s (only %s and "
					"its .manifest and .index)", side, p,
					base);
		else if (seen[k])
			rc = cairn_errf(err, CAIRN_EINTEGRITY,
					"%s: %s is named twice", side, p);
		else
			seen[k] = true;
	}
	if (!rc && !seen[0])
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s does not cover %s",
				side, base);
	for (size_t k = 0; k < ARRAY_SIZE(allowed); k++)
		free(allowed[k]);
	return rc;
}

int verify_sidecar(const char *archive, struct cairn_error *err)
{
	return verify_sidecar_part(archive, NULL, err);
}

int verify_sidecar_part(const char *archive, const char *skip,
			struct cairn_error *err)
{
	char *side = sidecar_sha(archive), *dir = dir_of(archive), *text;
	struct manifest m = { 0 };
	int rc = CAIRN_EINTEGRITY;
	size_t len, bad = 0;

	text = read_file(side, &len);
	if (!text) {
		rc = cairn_errf(err, CAIRN_EINTEGRITY,
				"cannot read checksum sidecar %s: %s; "
				"refusing to trust %s", side,
				strerror(errno), base_of(archive));
		goto out;
	}
	if (manifest_parse(text, len, &m, &bad)) {
		rc = cairn_errf(err, CAIRN_EINTEGRITY,
				"%s:%zu: not a sha256sum line", side, bad);
		goto out;
	}
	if ((rc = sidecar_names_ok(side, archive, &m, err)))
		goto out;
	/* Each name is there once: each file is hashed once. */
	for (size_t i = 0; i < m.n; i++) {
		char hex[65], *p, *bytes = NULL;
		size_t blen = 0;
		bool ok;

		if (skip && !strcmp(m.e[i].path, skip))
			continue;
		p = path_join(dir, m.e[i].path);
		/* The archive is only hashed; its sidecars are kept. */
		if (!strcmp(m.e[i].path, base_of(archive)) ?
		    sha256_file(p, hex, NULL) :
		    sha256_file_keep(p, hex, &bytes, &blen)) {
			rc = errno_err(err, CAIRN_EINTEGRITY, errno,
				       "cannot check %s", p);
			free(p);
			goto out;
		}
		ok = !strcmp(hex, m.e[i].hex);
		kept_put(p, ok ? bytes : NULL, blen);
		if (!ok)
			free(bytes);
		free(p);
		if (!ok) {
			rc = cairn_errf(err, CAIRN_EINTEGRITY,
					"%s does not match its checksum in %s",
					m.e[i].path, base_of(side));
			goto out;
		}
	}
	rc = CAIRN_OK;
out:
	manifest_free(&m);
	free(text);
	free(dir);
	free(side);
	return rc;
}

/* Load ARCHIVE.manifest (covered by the sidecar just verified). */
int manifest_load(const char *archive, struct manifest *m,
		  struct cairn_error *err)
{
	char *p = sidecar_manifest(archive), *text = NULL;
	const char *bytes;
	size_t len, bad = 0;
	int rc = CAIRN_OK;

	memset(m, 0, sizeof(*m));
	if (!(bytes = kept_get(p, &len))) /* else as it was checked */
		bytes = text = read_file(p, &len);
	if (!bytes)
		rc = errno_err(err, CAIRN_EINTEGRITY, errno, "cannot read %s",
			       p);
	else if (manifest_parse(bytes, len, m, &bad))
		rc = cairn_errf(err, CAIRN_EINTEGRITY,
				"%s:%zu: not a sha256sum line", p, bad);
	free(text);
	free(p);
	return rc;
}

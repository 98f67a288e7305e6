/*
 * Staging: an archive's members extracted into a private directory and
 * checked, the one way restore, drill and verify --deep read an archive.
 *
 * Every file is hashed against the manifest as it is written; paths
 * that are absolute or hold '..' are refused, as are members written
 * through a link (libarchive's secure-symlinks check), hard links to
 * files outside the restore, and links whose value claims to stay
 * inside the tree but which the kernel resolves outside it. A link's
 * value may point anywhere: it is stored, never followed while writing.
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

static int mx_cmp(const void *a, const void *b)
{
	const struct manifest_entry *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

/* manifest_find, by binary search: thousands of members. */
static const struct manifest_entry *find_m(const struct stage *s,
					   const char *path)
{
	struct manifest_entry key = { .path = (char *)path };
	const struct manifest_entry *kp = &key, *const *hit;

	hit = bsearch(&kp, s->mx, s->man->n, sizeof(*s->mx), mx_cmp);
	return hit ? *hit : NULL;
}

/* Is member `name` one of s->only (an incremental's older archive:
 * only the files its INDEX says this archive holds)? */
static bool only_has(const struct stage *s, const char *name)
{
	return !s->only || bsearch(&name, s->only->v, s->only->n,
				   sizeof(char *), strv_cmp);
}

/* Which of the components holds member `name` (-1: none). */
static long owner_of(const struct stage *s, const char *name)
{
	if (!only_has(s, name))
		return -1;
	for (size_t i = 0; i < s->ncomps; i++) {
		const struct component *c = s->comps[i];

		for (size_t j = 0; j < c->paths.n; j++) {
			size_t l = strlen(c->paths.v[j]);

			if (!strncmp(name, c->paths.v[j], l) &&
			    (!name[l] || name[l] == '/'))
				return (long)i;
		}
	}
	return -1;
}

/* Is directory `name` a proper ancestor of a component path? */
static bool above_component(const struct stage *s, const char *name)
{
	size_t l = strlen(name);

	for (size_t i = 0; i < s->ncomps; i++)
		for (size_t j = 0; j < s->comps[i]->paths.n; j++) {
			const char *p = s->comps[i]->paths.v[j];

			if (!strcmp(name, ".") ||
			    (!strncmp(p, name, l) && p[l] == '/'))
				return true;
		}
	return false;
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
			  "refusing archive member '%s': %s", name, why);
}

static void set_meta(struct staged_entry *se, const char *name,
		     struct archive_entry *e)
{
	free(se->path);
	se->path = xstrdup(name);
	se->mode = archive_entry_mode(e);
	se->uid = (uid_t)archive_entry_uid(e);
	se->gid = (gid_t)archive_entry_gid(e);
	se->mtime.tv_sec = archive_entry_mtime(e);
	se->mtime.tv_nsec = archive_entry_mtime_nsec(e);
}

static void add_entry(struct staged_entry **v, size_t *n, size_t *cap,
		      const char *name, struct archive_entry *e, bool dedup)
{
	for (size_t i = 0; dedup && i < *n; i++)
		if (!strcmp((*v)[i].path, name)) { /* a later copy wins */
			set_meta(&(*v)[i], name, e);
			return;
		}
	if (!cap || *n == *cap) {
		if (cap)
			*cap = *cap ? 2 * *cap : 64;
		*v = xrealloc(*v, (cap ? *cap : *n + 1) * sizeof(**v));
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	set_meta(&(*v)[(*n)++], name, e);
}

/* Testing aid: widen the window in which a stop hits the staging. */
static void stage_pause(void)
{
	const char *s = getenv("CAIRN_STAGE_PAUSE");
	long v = 0;

	if (s && parse_int(s, 0, 3600, &v))
		for (long i = 0; i < v * 10 && !stop_signal(); i++)
			usleep(100000);
}

/* Copy the current member's bytes to disk (NULL: hash only). */
static int copy_member(struct stage *s, struct archive *a,
		       struct archive *disk, const char *name,
		       EVP_MD_CTX *md, char hex[65], struct cairn_error *err)
{
	unsigned char d[32];

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int k = archive_read_data_block(a, &buf, &len, &off);

		if (k == ARCHIVE_EOF)
			break;
		if (k != ARCHIVE_OK)
			return cairn_errf(err, CAIRN_EINTEGRITY,
					  "%s: archive damaged: %s", name,
					  archive_error_string(a));
		if (stop_check(err))
			return CAIRN_EFAIL;
		EVP_DigestUpdate(md, buf, len);
		if (disk && archive_write_data_block(disk, buf, len, off) < 0)
			return errno_err(err, 0, archive_errno(disk) ?
					 archive_errno(disk) : EIO,
					 "cannot write %s/%s", s->dir, name);
		s->bytes += len;
	}
	EVP_DigestFinal_ex(md, d, NULL);
	hex_encode(d, 32, hex);
	return CAIRN_OK;
}

/* The archive's own MANIFEST.sha256 must say what the sidecar says. */
static int inner_manifest(struct stage *s, struct archive *a,
			  struct cairn_error *err)
{
	struct manifest in = { 0 };
	struct sbuf b = { 0 };
	size_t bad = 0;
	int rc = CAIRN_OK;

	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int k = archive_read_data_block(a, &buf, &len, &off);

		if (k == ARCHIVE_EOF)
			break;
		if (k != ARCHIVE_OK) {
			rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: archive "
					"damaged: %s", base_of(s->archive),
					archive_error_string(a));
			goto out;
		}
		sb_add(&b, buf, len);
	}
	if (manifest_parse(b.s ? b.s : "", b.len, &in, &bad)) {
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: MANIFEST.sha256:"
				"%zu: not a sha256sum line",
				base_of(s->archive), bad);
		goto out;
	}
	for (size_t i = 0; i < in.n && !rc; i++) {
		const struct manifest_entry *m = find_m(s, in.e[i].path);

		if (!m || strcmp(m->hex, in.e[i].hex))
			rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: member "
					"%s: MANIFEST.sha256 in the archive "
					"differs from the manifest copy",
					base_of(s->archive), in.e[i].path);
	}
	if (!rc && in.n != s->man->n)
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: MANIFEST.sha256 "
				"in the archive lists %zu members, the "
				"manifest copy %zu", base_of(s->archive),
				in.n, s->man->n);
	s->inner_manifest = true;
out:
	manifest_free(&in);
	sb_free(&b);
	return rc;
}

/* The archive's INDEX must be the .index sidecar's bytes (when the
 * archive has one: one fetched alone may not). */
static int inner_index(struct stage *s, struct archive *a, EVP_MD_CTX *md,
		       struct cairn_error *err)
{
	char *side = index_sidecar(s->archive), hex[65], want[65];
	int rc;

	if ((rc = copy_member(s, a, NULL, "INDEX", md, hex, err)))
		goto out;
	if (sha256_file(side, want, NULL))
		goto out;
	if (strcmp(hex, want))
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: member INDEX "
				"differs from %s", base_of(s->archive),
				base_of(side));
out:
	free(side);
	return rc;
}

/* A member outside the components: verify --deep still hashes it. */
static int other_member(struct stage *s, struct archive *a,
			struct archive_entry *e, const char *name,
			bool *want, EVP_MD_CTX *md, struct cairn_error *err)
{
	const struct manifest_entry *m;
	char hex[65];
	int rc;

	if (archive_entry_filetype(e) != AE_IFREG)
		return CAIRN_OK;
	if (!strcmp(name, "MANIFEST.sha256"))
		return inner_manifest(s, a, err);
	if (!strcmp(name, "INDEX"))
		return inner_index(s, a, md, err);
	s->files++;
	if (!(m = find_m(s, name)))
		return cairn_errf(err, CAIRN_EINTEGRITY, "%s: member %s is "
				  "not in the manifest", base_of(s->archive),
				  name);
	want[m - s->man->e] = false;
	if (archive_entry_hardlink(e))
		return CAIRN_OK; /* its bytes are the target's */
	if ((rc = copy_member(s, a, NULL, name, md, hex, err)))
		return rc;
	if (strcmp(hex, m->hex))
		return cairn_errf(err, CAIRN_EINTEGRITY, "%s: member %s does "
				  "not match the manifest",
				  base_of(s->archive), name);
	return CAIRN_OK;
}

/* Checks on one member of the components before it is written. */
static int admit(const struct stage *s, struct archive_entry *e,
		 const char *name, struct cairn_error *err)
{
	const char *hl = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);

	if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		return refuse(err, name, "not a file, directory or link");
	if (hl) {
		const char *h = hl;
		char *copy;

		while (!strncmp(h, "./", 2))
			h += 2;
		if (!path_is_safe(h) || owner_of(s, h) < 0)
			return refuse(err, name, "hard link to a file outside "
				      "the restore");
		if (h != hl) {
			copy = xstrdup(h);
			archive_entry_set_hardlink(e, copy);
			free(copy);
		}
	}
	if (type == AE_IFREG && !find_m(s, name))
		return refuse(err, name, "not in the manifest");
	return CAIRN_OK;
}

/* Write one member of the components to staging, checking its bytes. */
static int put_member(struct stage *s, struct archive *a,
		      struct archive *disk, struct archive_entry *e,
		      const char *name, EVP_MD_CTX *md,
		      struct cairn_error *err)
{
	const struct manifest_entry *m = find_m(s, name);
	char hex[65];
	int rc;

	if (archive_write_header(disk, e) != ARCHIVE_OK)
		return refuse(err, name, archive_error_string(disk));
	if (archive_entry_filetype(e) == AE_IFREG &&
	    !archive_entry_hardlink(e)) {
		if ((rc = copy_member(s, a, disk, name, md, hex, err)))
			return rc;
		if (strcmp(hex, m->hex))
			return cairn_errf(err, CAIRN_EINTEGRITY, "%s: member "
					  "%s does not match the manifest",
					  base_of(s->archive), name);
	}
	if (archive_write_finish_entry(disk) != ARCHIVE_OK)
		return errno_err(err, 0, archive_errno(disk) ?
				 archive_errno(disk) : EIO,
				 "cannot write %s/%s", s->dir, name);
	return CAIRN_OK;
}

static struct archive *disk_writer(void)
{
	struct archive *disk = archive_write_disk_new();

	archive_write_disk_set_options(disk,
		ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
		(geteuid() == 0 ? ARCHIVE_EXTRACT_OWNER : 0) |
		ARCHIVE_EXTRACT_SECURE_SYMLINKS |
		ARCHIVE_EXTRACT_SECURE_NODOTDOT |
		ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	archive_write_disk_set_standard_lookup(disk);
	return disk;
}

/* "./a/b/" -> "a/b"; "./" -> "." */
static const char *member_name(struct archive_entry *e, char **copy)
{
	const char *name = archive_entry_pathname(e);
	size_t l;

	*copy = NULL;
	if (!name)
		return NULL;
	while (!strncmp(name, "./", 2))
		name += 2;
	l = strlen(name);
	if (l && name[l - 1] == '/') {
		*copy = xstrdup(name);
		while (l && (*copy)[l - 1] == '/')
			(*copy)[--l] = '\0';
		name = *copy;
	}
	return *name ? name : ".";
}

/* Seeking: the members the index promises in the frames read. */
struct seek_want {
	char *path;
	char type;
	uint64_t size;
	bool seen;
};

static int want_cmp(const void *a, const void *b)
{
	return strcmp(((const struct seek_want *)a)->path,
		      ((const struct seek_want *)b)->path);
}

/* A member of the components read from a frame: the index said so. */
static int seek_check(struct stage *s, struct archive_entry *e,
		      const char *name, struct cairn_error *err)
{
	struct seek_want key = { .path = (char *)name }, *w;
	mode_t t = archive_entry_filetype(e);
	char type = archive_entry_hardlink(e) ? 'h' : t == AE_IFDIR ? 'd'
		    : t == AE_IFLNK ? 'l' : 'f';

	if (!s->want)
		return CAIRN_OK;
	w = bsearch(&key, s->want, s->nwant, sizeof(*w), want_cmp);
	if (!w || w->type != type ||
	    w->size != (uint64_t)archive_entry_size(e))
		return cairn_errf(err, CAIRN_EINTEGRITY, "%s: member %s is "
				  "not where the index says",
				  base_of(s->archive), name);
	w->seen = true;
	return CAIRN_OK;
}

static int seek_all_seen(const struct stage *s, struct cairn_error *err)
{
	for (size_t i = 0; i < s->nwant; i++)
		if (!s->want[i].seen)
			return cairn_errf(err, CAIRN_EINTEGRITY, "%s: member "
					  "%s is not where the index says",
					  base_of(s->archive),
					  s->want[i].path);
	return CAIRN_OK;
}

static int read_members(struct stage *s, struct archive *a,
			struct archive *disk, bool *want, size_t want_left,
			bool early_ok, struct cairn_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct archive_entry *e;
	size_t staged = 0;
	int r2 = ARCHIVE_OK, rc = CAIRN_OK;

	while (!rc && (r2 = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		char *copy;
		const char *name;
		const struct manifest_entry *m;
		long c;

		if ((rc = stop_check(err)))
			break;
		name = member_name(e, &copy);
		if (!name || (strcmp(name, ".") && !path_is_safe(name))) {
			rc = refuse(err, archive_entry_pathname(e),
				    "absolute or '..' path");
		} else if ((c = strcmp(name, ".") ? owner_of(s, name) : -1) <
			   0) {
			if (archive_entry_filetype(e) == AE_IFDIR &&
			    above_component(s, name))
				add_entry(&s->parents, &s->nparents, NULL,
					  name, e, true);
			if (s->every_member)
				rc = other_member(s, a, e, name, want, md,
						  err);
			else if (!want_left && early_ok && staged) {
				free(copy);
				break; /* past the components */
			}
		} else if (!(rc = admit(s, e, name, err)) &&
			   !(rc = seek_check(s, e, name, err))) {
			s->seen[c] = true;
			archive_entry_set_pathname(e, name);
			add_entry(&s->e, &s->n, &s->ecap, name, e,
				  false);
			m = archive_entry_filetype(e) == AE_IFREG ?
			    find_m(s, name) : NULL;
			if (m && want[m - s->man->e]) {
				want[m - s->man->e] = false;
				want_left--;
			}
			if (m)
				s->files++;
			if (!disk)
				s->bytes += (uint64_t)archive_entry_size(e);
			else
				rc = put_member(s, a, disk, e, name, md, err);
			if (!rc && !staged++ && disk)
				stage_pause();
		}
		free(copy);
	}
	if (!rc && r2 != ARCHIVE_OK && r2 != ARCHIVE_EOF)
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: archive damaged: "
				"%s", base_of(s->archive),
				archive_error_string(a));
	for (size_t i = 0; !rc && i < s->man->n; i++)
		if (want[i])
			rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: %s is in "
					"the manifest but not in the archive",
					base_of(s->archive),
					s->man->e[i].path);
	if (!rc && s->want)
		rc = seek_all_seen(s, err);
	if (!rc && s->every_member && !s->inner_manifest)
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: no "
				"MANIFEST.sha256 member", base_of(s->archive));
	EVP_MD_CTX_free(md);
	return rc;
}

/* Links are checked one by one as they are extracted; together they can
 * still lead out (a -> b/../x with b -> ..). A link whose value stays
 * inside must resolve beneath the staging root too; the kernel says. */
static int links_beneath(int root, const char *rel, struct cairn_error *err)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH };
	struct dirent *de;
	int dfd, rc = CAIRN_OK;
	DIR *d;

	dfd = openat(root, *rel ? rel : ".", O_RDONLY | O_DIRECTORY |
		     O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return CAIRN_OK; /* a file, not a directory */
	}
	while (!rc && (de = readdir(d))) {
		char *sub, val[4096];
		struct stat st;
		ssize_t vl;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = *rel ? path_join(rel, de->d_name) : xstrdup(de->d_name);
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			free(sub);
			continue;
		}
		if (S_ISLNK(st.st_mode) &&
		    (vl = readlinkat(dirfd(d), de->d_name, val,
				     sizeof(val) - 1)) >= 0 &&
		    (val[vl] = '\0', link_inside(sub, val))) {
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

/* The links of the staged tree, then each type's own check (SQLite:
 * integrity_check), before anything goes live. */
static int check_staged(struct stage *s, struct cairn_error *err)
{
	int root = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = root < 0 ? errno_err(err, 0, errno, "cannot open %s", s->dir)
			  : links_beneath(root, "", err);

	if (root >= 0)
		close(root);
	for (size_t i = 0; !rc && i < s->ncomps; i++) {
		const struct component *c = s->comps[i];
		const struct comp_ops *ops = comp_ops(c->type);

		if (ops->check_staged)
			rc = ops->check_staged(c, s->dir, s->every_member,
					       &s->dbs, err);
	}
	return rc;
}

/* Index the manifest and mark the members to read: want[i] for each
 * manifest line of the components (every line, for --deep). *early_ok:
 * reading may stop once they are all read. */
static void stage_index(struct stage *s, bool *want, size_t *want_left,
			bool *early_ok)
{
	s->seen = xcalloc(s->ncomps ? s->ncomps : 1, sizeof(bool));
	s->mx = xcalloc(s->man->n + 1, sizeof(*s->mx));
	for (size_t i = 0; i < s->man->n; i++)
		s->mx[i] = &s->man->e[i];
	qsort(s->mx, s->man->n, sizeof(*s->mx), mx_cmp);
	*want_left = 0;
	for (size_t i = 0; i < s->man->n; i++) {
		want[i] = s->every_member ||
			  owner_of(s, s->man->e[i].path) >= 0;
		*want_left += want[i];
	}
	/* A component with no files (only links or dirs, or none at all)
	 * has no manifest line to tell us when it has been read: then read
	 * to the end. Components are contiguous, small ones first. */
	*early_ok = !s->every_member;
	for (size_t i = 0; i < s->ncomps && *early_ok; i++) {
		bool any = false;

		for (size_t j = 0; j < s->man->n && !any; j++)
			any = owner_of(s, s->man->e[j].path) == (long)i;
		*early_ok = any;
	}
}

/*
 * Extract into s->dir. libarchive's disk writer resolves member names
 * against the working directory, and its secure-symlinks check covers
 * every component of the name: so the names stay relative and we enter
 * the staging dir for the extraction (an absolute name would be checked
 * through the links above the source, and refused). cairn runs one
 * extraction at a time, and the old directory is always restored.
 */
static int extract(struct stage *s, struct archive *a, bool *want,
		   size_t want_left, bool early_ok, struct cairn_error *err)
{
	struct archive *disk = disk_writer();
	int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (cwd < 0 || chdir(s->dir)) {
		rc = errno_err(err, 0, errno, "cannot enter %s", s->dir);
		goto out;
	}
	rc = read_members(s, a, disk, want, want_left, early_ok, err);
	if (!rc && archive_write_close(disk) != ARCHIVE_OK)
		rc = cairn_errf(err, CAIRN_EFAIL, "cannot finish %s: %s",
				s->dir, archive_error_string(disk));
	if (fchdir(cwd) && !rc)
		rc = errno_err(err, 0, errno, "cannot return from %s",
			       s->dir);
out:
	if (cwd >= 0)
		close(cwd);
	archive_write_free(disk);
	return rc;
}

static bool comp_of(const char *name, enum compression *c)
{
	static const char *const names[] = { "zstd", "gzip", "none" };

	for (int i = COMP_ZSTD; i <= COMP_NONE; i++)
		if (!strcmp(name, names[i])) {
			*c = (enum compression)i;
			return true;
		}
	return false;
}

static void want_add(struct stage *s, const struct index_rec *r,
		     size_t *cap)
{
	if (s->nwant == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		s->want = xrealloc(s->want, *cap * sizeof(*s->want));
	}
	s->want[s->nwant++] = (struct seek_want){ xstrdup(r->path), r->type,
						  r->size, false };
}

/*
 * The frames holding the components' members and the directories above
 * them, in file order, from the index. A record of a file another
 * archive holds (an incremental's) is skipped: incr_stage stages it
 * from that archive.
 */
static int select_frames(struct stage *s, struct ar_frame **f, size_t *nf,
			 enum compression *comp, bool *seekable,
			 struct cairn_error *err)
{
	struct index_reader ix;
	const struct index_rec *r;
	size_t cap = 0, wcap = 0;
	int got, rc;

	*nf = 0;
	*seekable = true;
	if ((rc = index_open(&ix, s->index, err)))
		return rc;
	if (!comp_of(ix.compression, comp)) {
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: unknown "
				"compression %s", s->index, ix.compression);
		goto out;
	}
	while ((got = index_next(&ix, &r, err)) > 0) {
		bool mine = owner_of(s, r->path) >= 0;

		if (!mine && !(r->type == 'd' && above_component(s, r->path)))
			continue;
		if (*r->archive)
			continue;
		if (mine)
			want_add(s, r, &wcap);
		if (*nf && (*f)[*nf - 1].off == r->frame_off)
			continue;
		if (*nf && (*f)[*nf - 1].off > r->frame_off) {
			rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: frames out "
					"of order", s->index);
			goto out;
		}
		if (*nf == cap) {
			cap = cap ? 2 * cap : 16;
			*f = xrealloc(*f, cap * sizeof(**f));
		}
		(*f)[(*nf)++] = (struct ar_frame){ r->frame_off, r->frame_len };
	}
	if (got < 0)
		rc = -got;
	if (s->nwant)
		qsort(s->want, s->nwant, sizeof(*s->want), want_cmp);
out:
	index_close(&ix);
	return rc;
}

/* Read the components from their frames only. */
static int stage_seek(struct stage *s, bool *want, size_t want_left,
		      bool *seekable, struct cairn_error *err)
{
	struct ar_frame *f = NULL;
	struct archive *a = NULL;
	struct reader *own = NULL;
	enum compression comp = COMP_ZSTD; /* set by select_frames */
	size_t nf;
	int rc;

	if ((rc = select_frames(s, &f, &nf, &comp, seekable, err)) ||
	    !*seekable)
		goto out;
	s->sought = true;
	s->nframes = nf;
	log_debug("%s: reading %zu frames", base_of(s->archive), nf);
	if ((!s->rd && (rc = reader_open_file(s->archive, &own, err))) ||
	    (rc = ar_open_frames_rd(s->rd ? s->rd : own, comp, f, nf,
				    &s->read_bytes, &a, err)))
		goto out;
	/* Read every frame to its end: the index is checked as we go. */
	if (s->dir)
		rc = extract(s, a, want, want_left, false, err);
	else
		rc = read_members(s, a, NULL, want, want_left, false, err);
out:
	if (a)
		archive_read_free(a);
	reader_close(own);
	free(f);
	return rc;
}

/* What this run staged goes, for a second try: its files and links,
 * never what another archive of an incremental's chain staged into the
 * same directory (its directories stay: the second try sets them). */
static void unstage(const struct stage *s)
{
	for (size_t i = s->mark.n; s->dir && i < s->n; i++) {
		char *p;

		if (S_ISDIR(s->e[i].mode))
			continue;
		p = path_join(s->dir, s->e[i].path);
		unlink(p);
		free(p);
	}
}

/* After a failed seek: as if nothing had been read. */
static void stage_reset(struct stage *s)
{
	struct staged_entry *e = s->e;
	size_t n = s->n, cap = s->ecap;

	unstage(s);
	for (size_t i = s->mark.n; i < n; i++)
		free(e[i].path);
	s->e = NULL;
	s->n = 0;
	stage_free(s);
	s->e = e;
	s->n = s->mark.n;
	s->ecap = cap;
	s->bytes = s->mark.bytes;
	s->files = s->mark.files;
	s->read_bytes = 0;
	s->dbs = 0;
	s->inner_manifest = s->sought = false;
}

/* The index failed us: the whole archive, its hash checked first
 * (ignoring the index's own line: it is the part that failed). */
static int fall_back(struct stage *s, int rc, bool *want, size_t *left,
		     bool *early_ok, struct cairn_error *err)
{
	char *ix = index_sidecar(base_of(s->archive));

	if (rc)
		log_warn("%s; reading the whole archive", err->msg);
	stage_reset(s);
	stage_index(s, want, left, early_ok);
	rc = s->unverified ? verify_sidecar_part(s->archive, ix, err)
			   : CAIRN_OK;
	if (rc)
		snprintf(err->msg + strlen(err->msg),
			 sizeof(err->msg) - strlen(err->msg),
			 "; refusing to restore, live data untouched");
	free(ix);
	return rc;
}

int stage_run(struct stage *s, struct cairn_error *err)
{
	struct archive *a = NULL;
	bool *want = xcalloc(s->man->n ? s->man->n : 1, sizeof(bool));
	size_t want_left;
	bool early_ok, seekable = false;
	int rc;

	/* What an incremental's older archives staged before this run. */
	s->mark.n = s->n;
	s->mark.files = s->files;
	s->mark.bytes = s->bytes;
	stage_index(s, want, &want_left, &early_ok);
	if (s->index && !s->every_member) {
		rc = stage_seek(s, want, want_left, &seekable, err);
		if ((seekable && rc != CAIRN_EINTEGRITY) || stop_signal())
			goto out;
		/* Over a target: the caller fetches the whole archive. */
		if (s->rd) {
			s->need_whole = true;
			goto out;
		}
		if ((rc = fall_back(s, rc, want, &want_left, &early_ok, err)))
			goto out;
	}
	if ((rc = ar_open_read(s->archive, &a, err)))
		goto out;
	if (s->dir)
		rc = extract(s, a, want, want_left, early_ok, err);
	else
		rc = read_members(s, a, NULL, want, want_left, early_ok, err);
	if (!rc && s->dir)
		rc = check_staged(s, err);
out:
	if (!rc && s->sought && s->dir)
		rc = check_staged(s, err);
	if (a)
		archive_read_free(a);
	free(want);
	return rc;
}

void stage_free(struct stage *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->e[i].path);
	for (size_t i = 0; i < s->nparents; i++)
		free(s->parents[i].path);
	free(s->e);
	free(s->parents);
	free(s->seen);
	free(s->mx);
	for (size_t i = 0; i < s->nwant; i++)
		free(s->want[i].path);
	free(s->want);
	s->want = NULL;
	s->nwant = 0;
	s->mx = NULL;
	s->e = s->parents = NULL;
	s->seen = NULL;
	s->n = s->nparents = s->ecap = 0;
}

/*
 * Encrypted copies on a target (encrypt = age): the archive goes out as
 * NAME.age, its manifest and index copies as NAME.manifest.age and
 * NAME.index.age, each encrypted on its way into the target's put (no
 * copy on disk; the archive usually as backup writes it, in stream.c,
 * else from the finished file here), then NAME.age.sha256 over the
 * ciphertexts, so `sha256sum -c` and verify work on the target without
 * the key. A fetch decrypts in the sink of each get (every chunk
 * authenticated, the final one present: no ciphertext lands on disk,
 * and only authentic plaintext), checks the ciphertexts' hashes against
 * that sidecar and writes the local sidecar of the plaintexts, so a
 * restore goes on as from any archive.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cairn.h"

struct to_put {
	struct bput *p;
	struct cairn_error err;
};

static int put_sink(void *ctx, const void *buf, size_t len)
{
	struct to_put *t = ctx;

	return backend_write(t->p, buf, len, &t->err);
}

/* One local file, encrypted into object `name`; its ciphertext hash. */
static int put_one(struct backend *b, const struct crypt *c,
		   const char *path, const char *name, char hex[65],
		   uint64_t *bytes, struct cairn_error *err)
{
	struct bput p;
	struct to_put t = { &p, { 0, "" } };
	struct stat st;
	int rc;

	if (stat(path, &st))
		return errno_err(err, CAIRN_EFAIL, errno, "cannot read %s",
				 path);
	if ((rc = backend_begin(b, name, age_size(&c->r,
						  (uint64_t)st.st_size),
				&p, err)))
		return rc;
	rc = crypt_put_file(path, &c->r, put_sink, &t, hex, bytes, err);
	if (rc && t.err.code)
		*err = t.err; /* the target's own words */
	if (rc)
		backend_abort(&p);
	else
		rc = backend_commit(&p, hex, err);
	return rc;
}

/* A small object from memory (the sidecar). */
static int put_text(struct backend *b, const char *name, const char *text,
		    size_t len, struct cairn_error *err)
{
	unsigned char h[32];
	unsigned int hn = 0;
	char hex[65];
	struct bput p;
	int rc;

	if (!EVP_Digest(text, len, h, &hn, EVP_sha256(), NULL))
		return cairn_errf(err, CAIRN_EFAIL, "libcrypto: SHA-256");
	hex_encode(h, 32, hex);
	if ((rc = backend_begin(b, name, len, &p, err)))
		return rc;
	if ((rc = backend_write(&p, text, len, err)))
		return rc;
	return backend_commit(&p, hex, err);
}

/* A send that failed part way: what it put is removed again. */
static void unput(struct backend *b, char *names[4])
{
	for (int i = 4; i-- > 0;) {
		struct cairn_error e = { 0, "" };

		if (names[i] && backend_del(b, names[i], &e) == CAIRN_OK)
			log_info("target %s: removed %s of the failed send",
				 b->t->name, names[i]);
	}
}

/* CAIRN_ENOSPC before anything is sent unless all of them fit. */
static int fits(struct backend *b, const struct crypt *c,
		const char *const paths[], int n, struct cairn_error *err)
{
	uint64_t size[4] = { 0, 0, 0, 0 };

	for (int i = 0; i < n; i++) {
		struct stat st;

		if (stat(paths[i], &st))
			return errno_err(err, CAIRN_EFAIL, errno, "cannot read "
					 "%s", paths[i]);
		size[i] = age_size(&c->r, (uint64_t)st.st_size);
	}
	size[n] = 300; /* the sidecar */
	return backend_fits(b, size, n + 1, err);
}

/* On an Object Lock target the copy is locked as a plain one is, from
 * the time in its name: every object, before the run goes on. */
static int age_lock(struct backend *b, const char *archive,
		    struct cairn_error *err)
{
	time_t until = objlock_put_until(b, archive);

	return until ? objlock_hold(b, base_of(archive), until, err)
		     : CAIRN_OK;
}

/* The copies from paths[from] on (0: all; 1: the archive's ciphertext
 * is on the target already, committed under ahex), then the sidecar. */
static int put_copies(struct backend *b, const struct crypt *c,
		      const char *archive, int from, const char *ahex,
		      uint64_t *bytes, struct cairn_error *err)
{
	char *man = sidecar_manifest(archive), *ix = index_sidecar(archive);
	const char *paths[3] = { archive, man, ix };
	char *names[4] = { NULL, NULL, NULL, NULL }, hex[65];
	int np = path_exists(ix) ? 3 : 2; /* older archives: no index */
	struct sbuf side = { 0 };
	uint64_t n = 0;
	int rc, i;

	*bytes = 0;
	rc = fits(b, c, paths + from, np - from, err);
	for (i = 0; i < np && !rc; i++) {
		names[i] = crypt_object(c, xstrdup(base_of(paths[i])));
		if (i < from)
			manifest_line(&side, ahex, names[i]);
		else if (!(rc = stop_check(err)) &&
			 !(rc = put_one(b, c, paths[i], names[i], hex, &n,
					err))) {
			manifest_line(&side, hex, names[i]);
			*bytes += n;
		}
	}
	if (!rc) {
		names[3] = sidecar_sha(names[0]);
		rc = put_text(b, names[3], side.s, side.len, err);
		*bytes += side.len;
	}
	if (!rc)
		rc = age_lock(b, archive, err);
	if (rc)
		unput(b, names);
	for (i = 0; i < 4; i++)
		free(names[i]);
	sb_free(&side);
	free(man);
	free(ix);
	return rc;
}

int age_put_archive(struct backend *b, const struct crypt *c,
		    const char *archive, uint64_t *bytes,
		    struct cairn_error *err)
{
	return put_copies(b, c, archive, 0, NULL, bytes, err);
}

int age_put_streamed(struct backend *b, const struct crypt *c,
		     const char *archive, const char *ahex, uint64_t *bytes,
		     struct cairn_error *err)
{
	return put_copies(b, c, archive, 1, ahex, bytes, err);
}

/* ---- fetch: each object decrypted in the sink of its get ---- */

static int mem_write(void *ctx, const void *buf, size_t len)
{
	struct sbuf *b = ctx;

	if (b->len + len > 1 << 16) /* a sidecar is a few lines */
		return CAIRN_EINTEGRITY;
	sb_add(b, buf, len);
	return CAIRN_OK;
}

static int mem_reset(void *ctx)
{
	((struct sbuf *)ctx)->len = 0;
	return CAIRN_OK;
}

/* The ciphertext sums in the target's sidecar obj: name -> hex. */
static int cipher_sums(struct backend *b, const char *obj,
		       struct manifest *m, struct cairn_error *err)
{
	struct sbuf text = { 0 };
	size_t bad = 0;
	int rc = backend_get_sink(b, obj, mem_write, mem_reset, &text, err);

	if (rc == CAIRN_EINTEGRITY)
		rc = cairn_errf(err, rc, "%s: too long for a sidecar", obj);
	else if (!rc && manifest_parse(text.s ? text.s : "", text.len, m,
				       &bad))
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s:%zu: not a "
				"sha256sum line", obj, bad);
	sb_free(&text);
	return rc;
}

struct fget {
	struct crypt_get g;
	const struct age_identities *ids;
	int fd;
};

static int fget_write(void *ctx, const void *buf, size_t len)
{
	return crypt_get_write(&((struct fget *)ctx)->g, buf, len);
}

/* A retry that cannot resume: decrypt afresh into an empty file. */
static int fget_reset(void *ctx)
{
	struct fget *f = ctx;
	struct cairn_error e = { 0, "" };

	crypt_get_free(&f->g);
	if (ftruncate(f->fd, 0) || lseek(f->fd, 0, SEEK_SET) < 0)
		return CAIRN_EFAIL;
	return crypt_get_begin(&f->g, f->ids, f->fd, &e);
}

/* Object obj decrypted into dir/NAME (obj less ".age") as it arrives,
 * its ciphertext checked against the sidecar's line; the plaintext's
 * hash into phex. */
static int open_one(struct backend *b, const struct manifest *m,
		    const char *dir, const char *obj,
		    const struct age_identities *ids, char phex[65],
		    struct cairn_error *err)
{
	const struct manifest_entry *e = manifest_find(m, obj);
	char *name = crypt_plain_name(obj), *plain = path_join(dir, name);
	struct fget f = { .ids = ids };
	char chex[65];
	int rc;

	if (!e) {
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: not in its "
				"sidecar", obj);
		goto out;
	}
	f.fd = open(plain, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (f.fd < 0) {
		rc = errno_err(err, CAIRN_EFAIL, errno, "%s", plain);
		goto out;
	}
	if (!(rc = crypt_get_begin(&f.g, ids, f.fd, err)))
		rc = backend_get_sink(b, obj, fget_write, fget_reset, &f,
				      err);
	if (!rc || f.g.dec.err.code)
		rc = crypt_get_end(&f.g, obj, chex, phex, err);
	crypt_get_free(&f.g);
	if (!rc && strcmp(chex, e->hex))
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s does not match "
				"its checksum in its sidecar", obj);
	if (!rc && fsync(f.fd))
		rc = errno_err(err, CAIRN_EFAIL, errno, "%s", plain);
	close(f.fd);
	if (rc)
		unlink(plain);
out:
	free(name);
	free(plain);
	return rc;
}

/* The objects of archive on the target, in the order they are fetched:
 * the manifest, the index (if the sidecar names one), the archive. */
static int fetch_all(struct backend *b, const struct crypt *c,
		     const struct manifest *m, const char *dir,
		     const char *archive, bool whole,
		     const struct age_identities *ids, struct sbuf *side,
		     struct cairn_error *err)
{
	char *plain[3] = { sidecar_manifest(archive), index_sidecar(archive),
			   xstrdup(archive) };
	char hex[3][65];
	int rc = CAIRN_OK, i;

	for (i = 0; i < 3 && !rc; i++) {
		char *obj = crypt_object(c, xstrdup(plain[i]));

		hex[i][0] = '\0';
		if (i == 2 && !whole) { /* only the index is wanted: the
					 * line is the ciphertext's */
			const struct manifest_entry *e = manifest_find(m, obj);

			snprintf(hex[i], 65, "%s", e ? e->hex : "");
		} else if (i != 1 || manifest_find(m, obj)) {
			rc = stop_check(err);
			if (!rc)
				rc = open_one(b, m, dir, obj, ids, hex[i],
					      err);
		}
		free(obj);
	}
	/* The local sidecar, as backup writes it (archive, manifest,
	 * index), of what decrypted. */
	for (i = 0; !rc && i < 3; i++)
		if (*hex[(i + 2) % 3])
			manifest_line(side, hex[(i + 2) % 3],
				      plain[(i + 2) % 3]);
	for (i = 0; i < 3; i++)
		free(plain[i]);
	return rc;
}

/* rc; CAIRN_EAUTH (no identity opened obj's header) says so, naming it. */
static int no_match(int rc, const char *obj, struct cairn_error *err)
{
	if (rc == CAIRN_EAUTH)
		cairn_errf(err, rc, "%s: no identity matches its recipients",
			   obj);
	return rc;
}

int age_fetch(struct backend *b, const struct crypt *c, const char *dir,
	      const char *archive, bool whole, struct cairn_error *err)
{
	struct age_identities ids = { 0 };
	struct manifest m = { 0 };
	char *obj = crypt_object(c, xstrdup(archive));
	char *cside = sidecar_sha(obj), *side = sidecar_sha(archive);
	char *side_path = path_join(dir, side);
	struct sbuf text = { 0 };
	int rc;

	if ((rc = crypt_identities(c, NULL, obj, &ids, err)) ||
	    (rc = cipher_sums(b, cside, &m, err)) ||
	    (rc = fetch_all(b, c, &m, dir, archive, whole, &ids, &text,
			    err)))
		goto out;
	rc = write_file_atomic(side_path, text.s, text.len, 0600, err);
out:
	no_match(rc, obj, err);
	sb_free(&text);
	manifest_free(&m);
	age_identities_free(&ids);
	free(obj);
	free(cside);
	free(side);
	free(side_path);
	return rc;
}

/* ---- ranged: plaintext read from the target's ciphertext ---- */

struct age_rd {
	struct crypt_reader c;
	struct reader *under; /* the ciphertext: ranged gets */
};

static int age_rd_pread(void *ctx, uint64_t off, void *buf, size_t len,
			size_t *got, struct cairn_error *err)
{
	return crypt_reader_pread(&((struct age_rd *)ctx)->c, off, buf, len,
				  got, err);
}

/* A plaintext range is the run of whole chunks that hold it. */
static void age_rd_hint(void *ctx, uint64_t off, uint64_t len)
{
	struct age_rd *a = ctx;
	uint64_t k0 = off / AGE_CHUNK;
	uint64_t k1 = (off + len + AGE_CHUNK - 1) / AGE_CHUNK;

	reader_hint(a->under, a->c.s.payload_off + k0 * AGE_CCHUNK,
		    (k1 - k0) * AGE_CCHUNK);
}

static uint64_t age_rd_fetched(void *ctx)
{
	return reader_fetched(((struct age_rd *)ctx)->under);
}

static void age_rd_close(void *ctx)
{
	struct age_rd *a = ctx;

	crypt_reader_close(&a->c);
	reader_close(a->under);
	free(a);
}

static const struct reader_ops age_rd_ops = {
	age_rd_pread, age_rd_hint, age_rd_fetched, age_rd_close
};

int age_reader_open(struct backend *b, const struct crypt *c,
		    const char *archive, uint64_t size, struct reader **rd,
		    struct cairn_error *err)
{
	struct age_identities ids = { 0 };
	struct age_rd *a;
	char *obj = crypt_object(c, xstrdup(archive));
	int rc = crypt_identities(c, NULL, obj, &ids, err);

	*rd = NULL;
	if (rc) {
		backend_close(b);
		free(b);
		goto out;
	}
	a = xcalloc(1, sizeof(*a));
	a->under = reader_open_target(b, obj, size);
	/* The header is a few hundred bytes: not a read-ahead's MiB. */
	reader_hint(a->under, 0, 4096);
	rc = no_match(crypt_reader_open(&a->c, &ids, size, reader_read_at,
					a->under, err), obj, err);
	if (!rc)
		*rd = reader_new(&age_rd_ops, a, a->c.plain,
				 a->under->what);
	else
		age_rd_close(a);
out:
	age_identities_free(&ids);
	free(obj);
	return rc;
}

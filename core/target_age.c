/*
 * Encrypted copies on a target (encrypt = age): the archive goes out as
 * NAME.age and its manifest copy as NAME.manifest.age, each encrypted
 * on its way into the target's streaming put (no copy on disk), then
 * NAME.age.sha256 over the ciphertexts, so `sha256sum -c` and verify
 * work on the target without the key. A fetch checks the ciphertexts
 * against that sidecar, decrypts (every chunk authenticated, the final
 * one present) and writes the local sidecar of the plaintexts, so a
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
static void unput(struct backend *b, char *names[3])
{
	for (int i = 3; i-- > 0;) {
		struct cairn_error e = { 0, "" };

		if (names[i] && backend_del(b, names[i], &e) == CAIRN_OK)
			log_info("target %s: removed %s of the failed send",
				 b->t->name, names[i]);
	}
}

/* CAIRN_ENOSPC before anything is sent unless all three fit. */
static int fits(struct backend *b, const struct crypt *c,
		const char *const paths[2], struct cairn_error *err)
{
	uint64_t size[3] = { 0, 0, 200 };

	for (int i = 0; i < 2; i++) {
		struct stat st;

		if (stat(paths[i], &st))
			return errno_err(err, CAIRN_EFAIL, errno, "cannot read "
					 "%s", paths[i]);
		size[i] = age_size(&c->r, (uint64_t)st.st_size);
	}
	return backend_fits(b, size, 3, err);
}

int age_put_archive(struct backend *b, const struct crypt *c,
		    const char *archive, uint64_t *bytes,
		    struct cairn_error *err)
{
	char *man = sidecar_manifest(archive), hex[65];
	const char *paths[2] = { archive, man };
	char *names[3] = { NULL, NULL, NULL };
	struct sbuf side = { 0 };
	uint64_t n = 0;
	int rc, i;

	*bytes = 0;
	rc = fits(b, c, paths, err);
	for (i = 0; i < 2 && !rc; i++) {
		names[i] = crypt_object(c, xstrdup(base_of(paths[i])));
		if (!(rc = stop_check(err)) &&
		    !(rc = put_one(b, c, paths[i], names[i], hex, &n, err))) {
			manifest_line(&side, hex, names[i]);
			*bytes += n;
		}
	}
	if (!rc) {
		names[2] = sidecar_sha(names[0]);
		rc = put_text(b, names[2], side.s, side.len, err);
		*bytes += side.len;
	}
	if (rc)
		unput(b, names);
	for (i = 0; i < 3; i++)
		free(names[i]);
	sb_free(&side);
	free(man);
	return rc;
}

/* The ciphertext sums in the target's sidecar: name -> hex. */
static int cipher_sums(const char *side_path, struct manifest *m,
		       struct cairn_error *err)
{
	size_t len, bad = 0;
	char *text = read_file(side_path, &len);
	int rc = CAIRN_OK;

	if (!text)
		return errno_err(err, CAIRN_EINTEGRITY, errno, "cannot read "
				 "%s", side_path);
	if (manifest_parse(text, len, m, &bad))
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s:%zu: not a "
				"sha256sum line", base_of(side_path), bad);
	free(text);
	return rc;
}

/* Decrypt dir/NAME.age into dir/NAME, its ciphertext checked against
 * the sidecar's line for it; the plaintext's hash into phex. */
static int open_one(const struct manifest *m, const char *dir,
		    const char *obj, const struct age_identities *ids,
		    char phex[65], struct cairn_error *err)
{
	const struct manifest_entry *e = manifest_find(m, obj);
	char *src = path_join(dir, obj), *plain = xstrdup(src), chex[65];
	char buf[1 << 16];
	struct crypt_get g;
	int in = -1, out = -1, rc;
	ssize_t n = 0;

	plain[strlen(plain) - 4] = '\0'; /* less ".age" */
	rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s: not in its sidecar",
			obj);
	if (!e)
		goto out;
	in = open(src, O_RDONLY | O_CLOEXEC);
	out = open(plain, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (in < 0 || out < 0) {
		rc = errno_err(err, CAIRN_EFAIL, errno, "%s", in < 0 ? src
								  : plain);
		goto out;
	}
	rc = crypt_get_begin(&g, ids, out, err);
	while (!rc && (n = read(in, buf, sizeof(buf))) > 0)
		if ((rc = crypt_get_write(&g, buf, (size_t)n)))
			break;
	if (!rc && n < 0)
		rc = errno_err(err, CAIRN_EFAIL, errno, "cannot read %s", src);
	if (!rc || g.dec.err.code)
		rc = crypt_get_end(&g, obj, chex, phex, err);
	crypt_get_free(&g);
	if (!rc && strcmp(chex, e->hex))
		rc = cairn_errf(err, CAIRN_EINTEGRITY, "%s does not match "
				"its checksum in its sidecar", obj);
	if (!rc && fsync(out))
		rc = errno_err(err, CAIRN_EFAIL, errno, "%s", plain);
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc)
		unlink(plain);
	unlink(src); /* the ciphertext has served */
	free(src);
	free(plain);
	return rc;
}

int age_open_fetched(const struct crypt *c, const char *dir,
		     const char *archive, struct cairn_error *err)
{
	struct age_identities ids = { 0 };
	struct manifest m = { 0 };
	char *obj = crypt_object(c, xstrdup(archive));
	char *man = sidecar_manifest(archive);
	char *mobj = crypt_object(c, xstrdup(man)), *cside = sidecar_sha(obj);
	char *cside_path = path_join(dir, cside), ahex[65], mhex[65];
	char *side = sidecar_sha(archive), *side_path = path_join(dir, side);
	struct sbuf text = { 0 };
	int rc;

	if ((rc = crypt_identities(c, NULL, &ids, err)) ||
	    (rc = cipher_sums(cside_path, &m, err)))
		goto out;
	if ((rc = open_one(&m, dir, mobj, &ids, mhex, err)) ||
	    (rc = open_one(&m, dir, obj, &ids, ahex, err)))
		goto out;
	/* The local sidecar, as backup writes it, of what decrypted. */
	manifest_line(&text, ahex, archive);
	manifest_line(&text, mhex, man);
	rc = write_file_atomic(side_path, text.s, text.len, 0600, err);
out:
	if (rc == CAIRN_EAUTH)
		cairn_errf(err, rc, "%s: no identity matches its recipients",
			   obj);
	unlink(cside_path);
	sb_free(&text);
	manifest_free(&m);
	age_identities_free(&ids);
	free(obj);
	free(man);
	free(mobj);
	free(cside);
	free(cside_path);
	free(side);
	free(side_path);
	return rc;
}

/*
 * `cairn verify --target NAME`: a target's copies, checked where they
 * are. For each archive: every object it needs is there; its .sha256
 * names only its own objects; each object that sidecar covers hashes,
 * streamed (no copy on disk), to its line, and a get delivers as many
 * bytes as stat() says (and as the local copy has, when there is one);
 * on a target with Object Lock every object is locked, in the mode the
 * target names, at least as long as the tier it is kept as requires.
 * An encrypted target's sidecar is over the ciphertexts, so all of this
 * works without a key. --deep then fetches the archive into scratch
 * (decrypting an encrypted one, which takes its identity) and runs the
 * local deep verify on it (verify_target_deep).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cairn.h"

/* A sidecar larger than this is not one of ours. */
#define SIDE_MAX (1u << 20)

static const char *const lock_names[] = { "none", "GOVERNANCE",
					  "COMPLIANCE" };

struct vt {
	const struct config *cfg;
	const struct target *t;
	struct backend b;
	struct strv objs;  /* every object the target lists */
	struct strv names; /* archives (plain names) any object is of */
	struct snap *snaps;
	unsigned *rules;
	size_t nsnaps;
	long lock[5];
	uint32_t mode;     /* CAIRN_LOCK_* the target's object_lock names */
};

static void problem(struct tverdict *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void problem(struct tverdict *v, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	strv_push(&v->problems, line);
}

static bool has(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return true;
	return false;
}

/* The archive an object is of: NAME, NAME.sha256, NAME.manifest,
 * NAME.index (or their .age names), or NULL. */
static char *archive_of(const struct config *cfg, const char *obj)
{
	static const char *const ext[] = { ".sha256", ".manifest",
					   ".index" };
	char *name = crypt_plain_name(obj);
	size_t l = strlen(name);

	for (size_t i = 0; i < ARRAY_SIZE(ext); i++) {
		size_t k = strlen(ext[i]);

		if (l > k && !strcmp(name + l - k, ext[i])) {
			name[l - k] = '\0';
			break;
		}
	}
	if (archive_name_parse(cfg->name, name, NULL))
		return name;
	free(name);
	return NULL;
}

static int collect(void *ctx, const struct cairn_object *o)
{
	struct vt *vt = ctx;
	char *name = archive_of(vt->cfg, o->name);

	strv_push(&vt->objs, o->name);
	if (name && !has(&vt->names, name))
		strv_push(&vt->names, name);
	free(name);
	return 0;
}

/* ---- Object Lock: what each archive should be locked until ------- */

/* The target's own retention over its complete archives, as prune
 * computes it, and the rules (tiers) that keep each. */
static void lock_plan(struct vt *vt)
{
	const struct tkey *k = config_tkey(&vt->b.keys, "object_lock");
	size_t n = 0;

	vt->mode = !k || !k->text ? CAIRN_LOCK_NONE
		   : !strcasecmp(k->text, "compliance") ?
		   CAIRN_LOCK_COMPLIANCE : CAIRN_LOCK_GOVERNANCE;
	objlock_periods(&vt->b, vt->lock);
	vt->snaps = xcalloc(vt->names.n + 1, sizeof(*vt->snaps));
	for (size_t i = 0; i < vt->names.n; i++) {
		const char *name = vt->names.v[i];
		char *side = crypt_object(vt->t->crypt, sidecar_sha(name));

		if (has(&vt->objs, side)) {
			vt->snaps[n].name = name;
			vt->snaps[n].incr = archive_name_is_incr(name);
			archive_name_parse(vt->cfg->name, name,
					   &vt->snaps[n++].time);
		}
		free(side);
	}
	vt->nsnaps = n;
	retention_chains(vt->snaps, n, &vt->t->keep);
	vt->rules = xcalloc(n + 1, sizeof(*vt->rules));
	retention_select_tiers(vt->snaps, n, &vt->t->keep, vt->rules);
}

/* Until when archive `name` must be locked now: its put's lock, or its
 * tier's if longer; 0 when nothing is required any more. */
static time_t lock_wanted(const struct vt *vt, const char *name)
{
	time_t now = time(NULL), want = objlock_put_until(&vt->b, name);
	time_t tier = 0;
	for (size_t i = 0; i < vt->nsnaps; i++)
		if (!strcmp(vt->snaps[i].name, name))
			tier = retention_lock_until(&vt->snaps[i],
						    vt->rules[i], vt->lock,
						    now);
	if (tier > want)
		want = tier;
	return want > now ? want : 0;
}

static void check_lock(const struct vt *vt, struct tverdict *v,
		       const struct cairn_object *o, time_t want)
{
	char have[32], need[32];

	if (!want)
		return;
	fmt_utc(want, need);
	fmt_utc((time_t)o->lock_until, have);
	if (o->lock_mode == CAIRN_LOCK_NONE || o->lock_until <= time(NULL))
		problem(v, "%s: not locked, but its retention wants it "
			"locked until %s", o->name, need);
	else if (o->lock_mode != vt->mode)
		problem(v, "%s: locked %s, but object_lock = %s", o->name,
			lock_names[o->lock_mode % 3],
			lock_names[vt->mode % 3]);
	/* A second's rounding by the store is no shortfall. */
	else if (o->lock_until + 1 < (int64_t)want)
		problem(v, "%s: locked only until %s, its retention wants "
			"%s", o->name, have, need);
}

/* ---- reading objects --------------------------------------------- */

struct hash_sink {
	EVP_MD_CTX *md;
};

static int hash_write(void *ctx, const void *buf, size_t len)
{
	struct hash_sink *h = ctx;

	return EVP_DigestUpdate(h->md, buf, len) ? 0 : CAIRN_EFAIL;
}

static void hash_restart(void *ctx)
{
	struct hash_sink *h = ctx;

	EVP_DigestInit_ex(h->md, EVP_sha256(), NULL);
}

/* The sha256 of object `name`, streamed; *got: its bytes. */
static int hash_object(struct backend *b, const char *name, char hex[65],
		       uint64_t *got, struct cairn_error *err)
{
	struct hash_sink h = { EVP_MD_CTX_new() };
	struct cairn_sink sink = { sizeof(sink), hash_write, &h };
	unsigned char md[32];
	unsigned int mdlen = 0;
	int rc;

	if (!h.md || !EVP_DigestInit_ex(h.md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(h.md);
		return cairn_errf(err, CAIRN_EFAIL, "libcrypto: SHA-256");
	}
	rc = backend_get_stream(b, name, &sink, hash_restart, got, err);
	if (!rc && !EVP_DigestFinal_ex(h.md, md, &mdlen))
		rc = cairn_errf(err, CAIRN_EFAIL, "libcrypto: SHA-256");
	if (!rc)
		hex_encode(md, 32, hex);
	EVP_MD_CTX_free(h.md);
	return rc;
}

static int mem_write(void *ctx, const void *buf, size_t len)
{
	struct sbuf *s = ctx;

	if (s->len + len > SIDE_MAX)
		return CAIRN_EINTEGRITY;
	sb_add(s, buf, len);
	return 0;
}

static void mem_restart(void *ctx)
{
	((struct sbuf *)ctx)->len = 0;
}

/* The target's sidecar `side`, parsed into m; false (a problem noted)
 * when it cannot be read or is not a sidecar. */
static bool read_sidecar(struct vt *vt, struct tverdict *v,
			 const char *side, struct manifest *m)
{
	struct cairn_error e = { 0, "" };
	struct cairn_sink sink;
	struct sbuf s = { 0 };
	uint64_t got = 0;
	size_t bad = 0;
	int rc;

	sink.size = sizeof(sink);
	sink.write = mem_write;
	sink.ctx = &s;
	sb_add(&s, "", 0);
	rc = backend_get_stream(&vt->b, side, &sink, mem_restart, &got, &e);
	if (rc == CAIRN_ENOTFOUND)
		problem(v, "%s: missing", side);
	else if (rc)
		problem(v, "%s: cannot read it: %s", side, s.len >= SIDE_MAX ?
			"larger than any sidecar" : e.msg);
	else if (manifest_parse(s.s ? s.s : "", s.len, m, &bad))
		problem(v, "%s:%zu: not a sha256sum line", side, bad);
	sb_free(&s);
	return !rc && !bad;
}

/* ---- one archive ------------------------------------------------- */

/* The objects of archive `name` on this target: the archive, .manifest,
 * .sha256 and .index, or their .age names; n of them. */
static int object_names(const struct vt *vt, const char *name,
			char *obj[4])
{
	const struct crypt *c = vt->t->crypt;

	obj[0] = crypt_object(c, xstrdup(name));
	obj[1] = crypt_object(c, sidecar_manifest(name));
	obj[2] = crypt_object(c, sidecar_sha(name));
	obj[3] = crypt_object(c, index_sidecar(name));
	return 4;
}

/* An object the sidecar covers: there, hashing to its line, of the size
 * stat() says (and the local copy's, if any). */
static void check_object(struct vt *vt, struct tverdict *v,
			 const struct manifest_entry *me, const char *side,
			 const struct cairn_object *o)
{
	struct cairn_error e = { 0, "" };
	char hex[65], *local;
	uint64_t got = 0;
	struct stat st;
	int rc;

	if ((rc = hash_object(&vt->b, me->path, hex, &got, &e))) {
		problem(v, "%s: cannot read it: %s", me->path, e.msg);
		return;
	}
	v->objects++;
	if (got != o->bytes)
		problem(v, "%s: a get delivered %llu bytes, stat says %llu",
			me->path, (unsigned long long)got,
			(unsigned long long)o->bytes);
	if (strcmp(hex, me->hex))
		problem(v, "%s: sha256 %.12s..., but %s says %.12s...",
			me->path, hex, side, me->hex);
	if (vt->t->crypt->on)
		return; /* the recipients may have changed since */
	local = path_join(vt->cfg->archive_dir, me->path);
	if (!stat(local, &st) && (uint64_t)st.st_size != o->bytes)
		problem(v, "%s: %llu bytes on the target, %llu in %s",
			me->path, (unsigned long long)o->bytes,
			(unsigned long long)st.st_size, local);
	free(local);
}

/* The sidecar names exactly the archive's own objects, the archive
 * and its manifest among them. */
static void check_names(struct tverdict *v, const struct manifest *m,
			char *const obj[4], int n, const char *side)
{
	for (size_t i = 0; i < m->n; i++) {
		bool ours = false;

		for (int k = 0; k < n && !ours; k++)
			ours = k != 2 && !strcmp(m->e[i].path, obj[k]);
		if (!ours)
			problem(v, "%s: names %s, not an object of %s", side,
				m->e[i].path, v->name);
	}
	for (int k = 0; k < 2; k++)
		if (!manifest_find(m, obj[k]))
			problem(v, "%s: does not cover %s", side, obj[k]);
}

static void verify_one(struct vt *vt, struct tverdict *v, bool deep)
{
	struct cairn_object o[4];
	struct manifest m = { 0 };
	bool side_ok, there[4] = { false, false, false, false };
	char *obj[4] = { NULL, NULL, NULL, NULL };
	time_t want = backend_lockable(&vt->b) ? lock_wanted(vt, v->name) : 0;
	int n = object_names(vt, v->name, obj);

	side_ok = read_sidecar(vt, v, obj[2], &m);
	if (side_ok)
		check_names(v, &m, obj, n, obj[2]);
	for (int k = 0; k < n; k++) {
		struct cairn_error e = { 0, "" };
		/* An older archive has no .index: needed when listed. */
		bool need = k < 3 || manifest_find(&m, obj[k]) ||
			    (!side_ok && has(&vt->objs, obj[k]));
		int rc = backend_stat(&vt->b, obj[k], &o[k], &e);

		if (!rc)
			there[k] = true;
		else if (rc != CAIRN_ENOTFOUND)
			problem(v, "%s: cannot stat it: %s", obj[k], e.msg);
		else if (need && k != 2) /* a missing sidecar is noted */
			problem(v, "%s: missing", obj[k]);
		if (there[k])
			check_lock(vt, v, &o[k], want);
	}
	for (size_t i = 0; side_ok && i < m.n; i++)
		for (int k = 0; k < n; k++)
			if (there[k] && k != 2 && !strcmp(m.e[i].path, obj[k]))
				check_object(vt, v, &m.e[i], obj[2], &o[k]);
	v->locks = want != 0;
	if (deep && !v->problems.n) {
		struct cairn_error e = { 0, "" };

		if (verify_target_deep(vt->cfg, vt->t, v->name, &v->members,
				       &v->dbs, &e))
			problem(v, "%s: %s", obj[0], e.msg);
		else
			v->deep = true;
	}
	manifest_free(&m);
	for (int k = 0; k < 4; k++)
		free(obj[k]);
}

/* ---- the deep check ---------------------------------------------- */

int verify_target_deep(const struct config *cfg, const struct target *t,
		       const char *name, size_t *members, size_t *dbs,
		       struct cairn_error *err)
{
	char *dir = xasprintf("%s/.cairn-verify-target.XXXXXX",
			      cfg->state_dir), *path = NULL;
	struct manifest man = { 0 };
	uint64_t indexed = 0;
	int lock = -1, rc;

	*members = *dbs = 0;
	/* An encrypted copy is decrypted as it is fetched (its identity:
	 * --identity, CAIRN_IDENTITY or identity_file); each STREAM chunk
	 * is authenticated on the way. */
	if (mkdir_p(cfg->state_dir, 0700) || !mkdtemp(dir)) {
		rc = errno_err(err, 0, errno, "cannot create %s", dir);
		free(dir);
		return rc;
	}
	lock = scratch_lock(dir);
	if (!(rc = target_fetch(cfg, t->name, name, dir, &path, err)) &&
	    !(rc = verify_sidecar(path, err)) &&
	    !(rc = verify_index(path, &indexed, err)) &&
	    !(rc = manifest_load(path, &man, err)))
		rc = verify_deep(cfg, path, &man, members, dbs, err);
	manifest_free(&man);
	rm_rf(dir);
	if (lock >= 0)
		close(lock);
	free(path);
	free(dir);
	return rc;
}

/* ---- the target -------------------------------------------------- */

/* The archives to check: all, the named one, or the newest complete. */
static int pick(struct vt *vt, const char *which, struct strv *out,
		struct cairn_error *err)
{
	const char *best = NULL;
	time_t bt = 0;
	char *want;

	if (vt->names.n)
		qsort(vt->names.v, vt->names.n, sizeof(char *), strv_cmp);
	if (!which) {
		for (size_t i = 0; i < vt->names.n; i++)
			strv_push(out, vt->names.v[i]);
		return CAIRN_OK;
	}
	want = crypt_plain_name(base_of(which));
	for (size_t i = 0; i < vt->names.n; i++) {
		const char *n = vt->names.v[i];
		char *side = crypt_object(vt->t->crypt, sidecar_sha(n));
		time_t tm = 0;

		archive_name_parse(vt->cfg->name, n, &tm);
		if (strcmp(which, "latest") ? !strcmp(want, n) :
		    has(&vt->objs, side) && (!best || tm >= bt)) {
			best = n;
			bt = tm;
		}
		free(side);
	}
	free(want);
	if (!best)
		return cairn_errf(err, CAIRN_ENOTFOUND, "no %s archive of "
				  "'%s' there", strcmp(which, "latest") ?
				  which : "complete", vt->cfg->name);
	strv_push(out, best);
	return CAIRN_OK;
}

int verify_target(const struct config *cfg, const struct target *t,
		  const char *which, bool deep, struct tverify *out,
		  struct cairn_error *err)
{
	struct vt vt = { .cfg = cfg, .t = t };
	struct strv sel = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	/* Decrypting needs an identity: none is a usage error up front,
	 * as for every command that reads an encrypted target. */
	if (deep && t->crypt->on) {
		struct age_identities ids = { 0 };
		char *what = xasprintf("target %s", t->name);

		rc = crypt_identities(t->crypt, NULL, what, &ids, err);
		age_identities_free(&ids);
		free(what);
		if (rc)
			return rc;
	}
	if ((rc = backend_open(&vt.b, cfg, t, false, err)) ||
	    (rc = backend_list(&vt.b, collect, &vt, err)) ||
	    (rc = pick(&vt, which, &sel, err)))
		goto out;
	if (backend_lockable(&vt.b))
		lock_plan(&vt);
	out->v = xcalloc(sel.n + 1, sizeof(*out->v));
	for (size_t i = 0; i < sel.n && !(rc = stop_check(err)); i++) {
		struct tverdict *v = &out->v[out->n++];

		v->name = xstrdup(sel.v[i]);
		verify_one(&vt, v, deep);
	}
out:
	strv_free(&sel);
	strv_free(&vt.objs);
	strv_free(&vt.names);
	free(vt.snaps);
	free(vt.rules);
	backend_close(&vt.b);
	return rc;
}

void tverify_free(struct tverify *tv)
{
	for (size_t i = 0; i < tv->n; i++) {
		free(tv->v[i].name);
		strv_free(&tv->v[i].problems);
	}
	free(tv->v);
	memset(tv, 0, sizeof(*tv));
}

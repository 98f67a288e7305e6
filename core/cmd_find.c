/* `cairn find PATTERN [--target NAME] [--json]`: which archives hold
 * members matching PATTERN (a path, a directory, or a glob matched
 * against the whole path or the base name), newest archive first; from
 * their indexes (a target's indexes are fetched, never its archives). */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cairn.h"

static bool matches(const char *pat, const char *path)
{
	return index_match(pat, path) || !fnmatch(pat, path, 0) ||
	       !fnmatch(pat, base_of(path), 0);
}

/* The matches of one archive, printed or added to arr. */
static int find_in(const char *archive, const char *pat, json_object *arr,
		   size_t *hits, struct cairn_error *err)
{
	const struct index_rec *r;
	struct members m;
	int got, rc;

	if ((rc = members_open(&m, archive, err)))
		return rc;
	while ((got = members_next(&m, &r, err)) > 0) {
		if (!matches(pat, r->path))
			continue;
		(*hits)++;
		if (arr) {
			json_object *o = ls_json(r);

			json_object_object_add(o, "archive",
					       json_object_new_string(
						       base_of(archive)));
			json_object_array_add(arr, o);
		} else {
			printf("%s  %s  %llu\n", base_of(archive), r->path,
			       (unsigned long long)r->size);
		}
	}
	members_close(&m);
	return got < 0 ? -got : CAIRN_OK;
}

struct remote_ix {
	const struct config *cfg;
	struct strv names;
};

static int collect(void *ctx, const struct cairn_object *o)
{
	struct remote_ix *rx = ctx;
	char *name = crypt_plain_name(o->name); /* NAME.age: as NAME */

	if (archive_name_parse(rx->cfg->name, name, NULL))
		strv_push(&rx->names, name);
	free(name);
	return 0;
}

/* An encrypted target's archive n: its index and manifest decrypted
 * into dir (target_age.c); CAIRN_ENOTFOUND if it has no index. */
static int fetch_encrypted(struct backend *b, const char *dir,
			   const char *n, struct cairn_error *err)
{
	char *ix = path_join(dir, n), *p = index_sidecar(ix);
	int rc = age_fetch(b, b->t->crypt, dir, n, false, err);

	if (!rc && !path_exists(p))
		rc = CAIRN_ENOTFOUND; /* an older archive: not searched */
	free(ix);
	free(p);
	return rc;
}

/* A target's archives: their sidecars and indexes into dir. */
static int fetch_indexes(const struct config *cfg, const char *target,
			 const char *dir, struct strv *names,
			 struct cairn_error *err)
{
	const struct target *t = config_read_target(cfg, target);
	struct remote_ix rx = { .cfg = cfg };
	struct backend b = { 0 };
	int rc;

	if (!t)
		return cairn_errf(err, CAIRN_ECONFIG, "no target '%s' "
				  "configured", target);
	if ((rc = backend_open(&b, cfg, t, false, err)) ||
	    (rc = backend_list(&b, collect, &rx, err)))
		goto out;
	if (rx.names.n)
		qsort(rx.names.v, rx.names.n, sizeof(char *), strv_cmp);
	for (size_t i = rx.names.n; i-- > 0 && !rc;) {
		const char *n = rx.names.v[i];
		char *side[3] = { sidecar_sha(n), sidecar_manifest(n),
				  index_sidecar(n) };

		if (t->crypt->on)
			rc = fetch_encrypted(&b, dir, n, err);
		for (int k = 0; k < 3 && !rc && !t->crypt->on; k++) {
			char *dest = path_join(dir, side[k]);

			rc = backend_get_file(&b, side[k], dest, err);
			free(dest);
		}
		if (!rc) /* its index: found without the archive */
			strv_push(names, n);
		else if (rc == CAIRN_ENOTFOUND)
			rc = CAIRN_OK; /* an older or incomplete archive */
		for (int k = 0; k < 3; k++)
			free(side[k]);
	}
out:
	strv_free(&rx.names);
	backend_close(&b);
	return rc;
}

static int find_all(const struct config *cfg, const char *pat,
		    const char *target, const char *dir, json_object *arr,
		    size_t *hits, struct cairn_error *err)
{
	struct strv names = { 0 };
	struct catalog cat = { 0 };
	int rc;

	if (target)
		rc = fetch_indexes(cfg, target, dir, &names, err);
	else if (!(rc = catalog_scan(cfg, &cat, err)))
		for (size_t i = 0; i < cat.n; i++)
			if (cat.a[i].has_sidecar)
				strv_push(&names, cat.a[i].name);
	for (size_t i = 0; !rc && i < names.n; i++) {
		char *p = path_join(target ? dir : cfg->archive_dir,
				    names.v[i]);

		/* Remote: the sidecar covers what was fetched. */
		rc = find_in(p, pat, arr, hits, err);
		free(p);
	}
	catalog_free(&cat);
	strv_free(&names);
	return rc;
}

int cmd_find(const struct config *cfg, char **ops, int nops,
	     const char *target, bool json)
{
	struct cairn_error err = { 0, "" };
	json_object *arr = json ? json_object_new_array() : NULL;
	char *dir = NULL;
	size_t hits = 0;
	int rc;

	if (nops != 1) {
		rc = cairn_errf(&err, CAIRN_ECONFIG, "find: which pattern? "
				"(cairn find PATTERN)");
		goto out;
	}
	if (target) {
		dir = xasprintf("%s/.cairn-find.XXXXXX", cfg->state_dir);
		if (mkdir_p(cfg->state_dir, 0700) || !mkdtemp(dir)) {
			rc = errno_err(&err, 0, errno, "cannot create %s", dir);
			free(dir);
			dir = NULL; /* nothing to remove */
			goto out;
		}
	}
	if ((rc = find_all(cfg, ops[0], target, dir, arr, &hits, &err)))
		goto out;
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "schema", json_object_new_int(1));
		json_object_object_add(o, "pattern",
				       json_object_new_string(ops[0]));
		json_object_object_add(o, "matches", arr);
		arr = NULL;
		printf("%s\n", json_object_to_json_string_ext(
			       o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else if (!hits) {
		printf("no archive holds %s\n", ops[0]);
	}
out:
	if (rc)
		log_error("%s", err.msg);
	if (dir) /* (mkdtemp's suffix may hold an X) */
		rm_rf(dir);
	free(dir);
	json_object_put(arr);
	return rc_exit(rc);
}

/* `cairn ls [ARCHIVE|latest] [PATH...] [--target NAME] [--json]`: the
 * members of one archive (from its index; an older archive's headers),
 * like tar -tv; with --target, of a target's copy (its index fetched). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cairn.h"

/* Is the first operand an archive (a name of this config, a path, or
 * "latest") rather than a member path? */
static bool is_archive(const struct config *cfg, const char *s)
{
	return !strcmp(s, "latest") || strstr(s, ".tar") ||
	       archive_name_parse(cfg->name, base_of(s), NULL);
}

/* The archive operand, if the first is one, taken off ops. */
static const char *take_archive(const struct config *cfg, char **ops,
				int *nops)
{
	const char *which = NULL;

	if (*nops && is_archive(cfg, ops[0])) {
		which = ops[0];
		memmove(ops, ops + 1, (size_t)(*nops - 1) * sizeof(*ops));
		(*nops)--;
	}
	return which;
}

int ls_archive(const struct config *cfg, char **ops, int *nops,
	       char **path, struct cairn_error *err)
{
	return catalog_resolve(cfg, take_archive(cfg, ops, nops), path, err);
}

int ls_target(const struct config *cfg, const char *target, bool whole,
	      char **ops, int *nops, char **dir, char **path,
	      struct cairn_error *err)
{
	const char *which = take_archive(cfg, ops, nops);

	*dir = xasprintf("%s/.cairn-find.XXXXXX", cfg->state_dir);
	if (mkdir_p(cfg->state_dir, 0700) || !mkdtemp(*dir)) {
		int rc = errno_err(err, 0, errno, "cannot create %s", *dir);

		free(*dir);
		*dir = NULL;
		return rc;
	}
	return (whole ? target_fetch : target_fetch_index)(
		cfg, target, which ? base_of(which) : NULL, *dir, path, err);
}

static void mode_string(const struct index_rec *r, char m[11])
{
	static const char rwx[] = "rwxrwxrwx";

	m[0] = r->type == 'd' ? 'd' : r->type == 'l' ? 'l'
	       : r->type == 'h' ? 'h' : '-';
	for (int i = 0; i < 9; i++)
		m[i + 1] = r->mode & (0400 >> i) ? rwx[i] : '-';
	m[10] = '\0';
}

static void print_text(const struct index_rec *r)
{
	char m[11], when[32], own[64];
	time_t t = (time_t)(r->mtime_ns / 1000000000);
	struct tm tm;

	mode_string(r, m);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", gmtime_r(&t, &tm));
	if (*r->uname)
		snprintf(own, sizeof(own), "%s/%s", r->uname,
			 *r->gname ? r->gname : "-");
	else
		snprintf(own, sizeof(own), "%lu/%lu", (unsigned long)r->uid,
			 (unsigned long)r->gid);
	printf("%s %-17s %12llu %s %s%s%s\n", m, own,
	       (unsigned long long)r->size, when, r->path,
	       r->type == 'l' ? " -> " : r->type == 'h' ? " link to " : "",
	       r->type == 'l' || r->type == 'h' ? r->link : "");
}

json_object *ls_json(const struct index_rec *r)
{
	json_object *o = json_object_new_object();
	char ts[40], mode[8];
	time_t t = (time_t)(r->mtime_ns / 1000000000);
	struct tm tm;

	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", gmtime_r(&t, &tm));
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%09lldZ",
		 (long long)(r->mtime_ns % 1000000000));
	snprintf(mode, sizeof(mode), "%04o", (unsigned)r->mode);
	json_object_object_add(o, "path", json_object_new_string(r->path));
	json_object_object_add(o, "type", json_object_new_string(
				       index_type_name(r->type)));
	json_object_object_add(o, "size", json_object_new_int64(
				       (int64_t)r->size));
	json_object_object_add(o, "mode", json_object_new_string(mode));
	json_object_object_add(o, "uid", json_object_new_int64(r->uid));
	json_object_object_add(o, "gid", json_object_new_int64(r->gid));
	json_object_object_add(o, "user", json_object_new_string(r->uname));
	json_object_object_add(o, "group", json_object_new_string(r->gname));
	json_object_object_add(o, "mtime", json_object_new_string(ts));
	if (*r->link)
		json_object_object_add(o, "link",
				       json_object_new_string(r->link));
	if (*r->sha256)
		json_object_object_add(o, "sha256",
				       json_object_new_string(r->sha256));
	return o;
}

/* Every PATH matched a member, or the first that did not is named. */
static int all_matched(const char *archive, char **ops, int nops,
		       const bool *hit, struct cairn_error *err)
{
	for (int i = 0; i < nops; i++)
		if (!hit[i])
			return cairn_errf(err, CAIRN_ENOTFOUND, "%s: not in %s;"
					  " see 'cairn ls %s'", ops[i],
					  base_of(archive), base_of(archive));
	return CAIRN_OK;
}

/* Stream the members: the JSON array is printed as it goes. */
static int list(const char *archive, char **ops, int nops, bool json,
		struct cairn_error *err)
{
	bool *hit = xcalloc((size_t)nops + 1, sizeof(bool));
	const struct index_rec *r;
	struct members m;
	size_t n = 0;
	int got, rc;

	if ((rc = members_open(&m, archive, err)))
		goto out;
	if (json) {
		json_object *a = json_object_new_string(base_of(archive));

		printf("{\"schema\":1,\"archive\":%s,\"members\":[",
		       json_object_to_json_string(a));
		json_object_put(a);
	}
	while ((got = members_next(&m, &r, err)) > 0) {
		bool want = !nops;
		json_object *o;

		for (int i = 0; i < nops; i++)
			if (index_match(ops[i], r->path))
				want = hit[i] = true;
		if (!want)
			continue;
		if (!json) {
			print_text(r);
		} else {
			o = ls_json(r);
			printf("%s%s", n ? "," : "",
			       json_object_to_json_string(o));
			json_object_put(o);
		}
		n++;
	}
	if (json)
		printf("]}\n");
	rc = got < 0 ? -got : all_matched(archive, ops, nops, hit, err);
	members_close(&m);
out:
	free(hit);
	return rc;
}

int cmd_ls(const struct config *cfg, char **ops, int nops,
	   const char *target, bool json)
{
	struct cairn_error err = { 0, "" };
	char *path = NULL, *dir = NULL;
	int rc = target ? ls_target(cfg, target, false, ops, &nops, &dir,
				    &path, &err)
			: ls_archive(cfg, ops, &nops, &path, &err);

	if (!rc)
		rc = list(path, ops, nops, json, &err);
	if (rc)
		log_error("%s", err.msg);
	if (dir)
		rm_rf(dir);
	free(dir);
	free(path);
	return rc_exit(rc);
}

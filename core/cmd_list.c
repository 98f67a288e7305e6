/* `cairn list`: the archives of archive_dir with their status and last
 * check (or, with --target, what a target holds). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cairn.h"

/* When an archive last passed a check: its last verify, else the time
 * its sidecar was written (a backup verifies from disk first). 0: never.
 */
static time_t last_verified(const struct config *cfg,
			    const struct archive_info *a, json_object *e)
{
	char *p, *side;
	struct stat st;
	time_t t;

	if (e)
		return utc_parse(json_str(e, "last_ok"));
	if (!a->has_sidecar)
		return 0;
	p = path_join(cfg->archive_dir, a->name);
	side = sidecar_sha(p);
	t = stat(side, &st) ? 0 : st.st_mtime;
	free(side);
	free(p);
	return t;
}

/* The bytes an archive holds itself (and, for JSON, the restore
 * point's and the archives it needs), from its index; NULLs when it
 * has none. */
static void add_holdings(json_object *o, const struct holdings *h,
			 bool known)
{
	json_object *needs = NULL;

	if (known) {
		needs = json_object_new_array();
		for (size_t i = 0; i < h->needs.n; i++)
			json_object_array_add(needs,
				json_object_new_string(h->needs.v[i]));
	}
	json_object_object_add(o, "holds_bytes", known ?
			       json_object_new_uint64(h->held) : NULL);
	json_object_object_add(o, "holds_files", known ?
			       json_object_new_uint64(h->files_held) : NULL);
	json_object_object_add(o, "tree_bytes", known ?
			       json_object_new_uint64(h->tree) : NULL);
	json_object_object_add(o, "tree_files", known ?
			       json_object_new_uint64(h->files) : NULL);
	json_object_object_add(o, "needs", needs);
}

static bool holdings_of(const struct config *cfg, const char *name,
			struct holdings *h)
{
	struct cairn_error err = { 0, "" };
	char *p = path_join(cfg->archive_dir, name);
	bool ok = !incr_holdings(p, h, &err);

	if (!ok && err.code != CAIRN_ENOTFOUND)
		log_warn("%s", err.msg);
	free(p);
	return ok;
}

int cmd_list(const struct config *cfg, const char *target, bool json)
{
	struct cairn_error err = { 0, "" };
	struct catalog cat;
	json_object *arr, *vs;

	if (target)
		return list_target(cfg, target, json);
	if (catalog_scan(cfg, &cat, &err)) {
		log_error("%s", err.msg);
		return EXIT_FAILED;
	}
	vs = verify_state_read(cfg);
	arr = json ? json_object_new_array() : NULL;
	if (!json && !cat.n)
		printf("no archives in %s\n", cfg->archive_dir);
	for (size_t i = 0; i < cat.n; i++) {
		const struct archive_info *a = &cat.a[i];
		json_object *e = verify_entry(vs, cfg, a->name);
		const char *vst = json_str(e, "status");
		bool corrupt = vst && !strcmp(vst, "corrupt");
		const char *status = corrupt ? "CORRUPT" : a->has_sidecar ?
				     "verified" : "incomplete";
		time_t vt = last_verified(cfg, a, e);
		struct holdings h;
		bool known = holdings_of(cfg, a->name, &h);
		char ts[32], sz[32], held[32] = "-", vts[32] = "-";

		fmt_utc(a->time, ts);
		fmt_bytes(a->size, sz);
		if (known)
			fmt_bytes(h.held, held);
		if (vt)
			fmt_utc(vt, vts);
		if (arr) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "name",
					       json_object_new_string(a->name));
			json_object_object_add(o, "time",
					       json_object_new_string(ts));
			json_object_object_add(o, "bytes",
					       json_object_new_uint64(a->size));
			json_object_object_add(o, "status",
					       json_object_new_string(status));
			json_object_object_add(o, "verified", vt ?
				json_object_new_string(vts) : NULL);
			json_object_object_add(o, "checked",
				json_str_or_null(json_str(e, "checked")));
			json_object_object_add(o, "verify_error",
				json_str_or_null(json_str(e, "error")));
			json_object_object_add(o, "where",
					       json_object_new_string("local"));
			json_object_object_add(o, "kind",
				json_object_new_string(a->incr ? "incr" :
						       "full"));
			add_holdings(o, &h, known);
			json_object_array_add(arr, o);
		} else {
			/* size on disk, then the file bytes it holds */
			printf("%-44s %s %s %10s %10s  %-10s %-20s local\n",
			       a->name, a->incr ? "incr" : "full", ts, sz,
			       held, status, vts);
		}
		if (known)
			strv_free(&h.needs);
	}
	if (arr) {
		json_object *doc = json_doc();

		json_object_object_add(doc, "archives", arr);
		json_emit(doc, false);
	}
	json_object_put(vs);
	catalog_free(&cat);
	return EXIT_OK;
}

/* `cairn prune`: retention locally and on every enabled target, and
 * safety nets older than safety_net_days. */
#include "config.h"

#include <stdio.h>

#include <json-c/json.h>

#include "cairn.h"

static json_object *json_names(const struct strv *v)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < v->n; i++)
		json_object_array_add(a, json_object_new_string(v->v[i]));
	return a;
}

/* --json: what was (or, with --dry-run, would be) removed locally. */
static void prune_json(bool dry_run, const struct strv *local,
		       const struct strv *nets, int rc)
{
	json_object *o = json_doc();

	json_object_object_add(o, "dry_run", json_object_new_boolean(dry_run));
	json_object_object_add(o, "ok", json_object_new_boolean(!rc));
	json_object_object_add(o, "archives", json_names(local));
	json_object_object_add(o, "safety_nets", json_names(nets));
	json_emit(o, false);
}

int cmd_prune(const struct config *cfg, bool dry_run, bool json)
{
	struct cairn_error err = { 0, "" };
	struct strv local = { 0 }, nets = { 0 };
	struct lock lk;
	size_t targets = 0;
	int rc;

	if ((rc = lock_acquire(cfg, &lk, &err))) {
		log_error("%s", err.msg);
		return rc_exit(rc);
	}
	if (!(rc = restore_recover(cfg, &err))) {
		if (!dry_run)
			leftovers_clean(cfg);
		rc = prune_local(cfg, dry_run, NULL, &local, &err);
	}
	if (rc) {
		log_error("%s", err.msg);
		goto out;
	}
	if (prune_nets(cfg, dry_run, &nets))
		rc = CAIRN_EFAIL;
	for (size_t i = 0; i < cfg->ntargets; i++)
		targets += cfg->targets[i].enabled;
	if (prune_targets(cfg, dry_run))
		rc = CAIRN_EFAIL;
	/* Targets say what they remove themselves. */
	if (!rc && !local.n && !nets.n)
		log_info("nothing to prune%s", targets ? " locally" : "");
out:
	if (json)
		prune_json(dry_run, &local, &nets, rc);
	strv_free(&local);
	strv_free(&nets);
	lock_release(&lk);
	return rc_exit(rc);
}

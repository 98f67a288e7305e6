/* `cairn drill [MODE] [--target NAME] [--json]`: under the lock, after
 * an interrupted restore is rolled back and leftovers removed, test-
 * restore the latest archive (drill.c), record the proof, update the
 * metrics. Exit 0 if the archive restores and every check passes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <json-c/json.h>

#include "cairn.h"

static void drill_print(const struct drill_result *res, int rc,
			const struct cairn_error *err, bool json)
{
	json_object *j;

	if (!json) {
		if (!rc)
			printf("drill of %s (%s): OK (%zu members against the "
			       "manifest, %zu databases pass integrity_check, "
			       "%zu tables' row counts match, %zu command "
			       "drills) in %.1f s\n", res->archive, res->where,
			       res->members, res->dbs, res->tables,
			       res->commands, res->seconds);
		return;
	}
	j = json_object_new_object();
	json_object_object_add(j, "schema", json_object_new_int(1));
	json_object_object_add(j, "target",
			       json_object_new_string(res->where));
	drill_json(j, res, rc, err);
	json_object_object_add(j, "tables",
			       json_object_new_uint64(res->tables));
	json_object_object_add(j, "commands",
			       json_object_new_uint64(res->commands));
	printf("%s\n", json_object_to_json_string_ext(j,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
}

int cmd_drill(const struct config *cfg, const struct drill_opts *o,
	      bool json)
{
	struct drill_result res = { 0 };
	struct cairn_error err = { 0, "" };
	struct lock lk = { -1, NULL };
	double t0 = now_mono();
	int rc;

	if (o->target && !config_read_target(cfg, o->target)) {
		log_error("--target %s: no such target in %s", o->target,
			  cfg->path);
		return EXIT_USAGE;
	}
	if ((rc = lock_acquire(cfg, &lk, &err))) {
		log_error("%s", err.msg);
		return rc_exit(rc);
	}
	res.started = time(NULL);
	if (!(rc = restore_recover(cfg, &err))) {
		leftovers_clean(cfg);
		rc = drill_run(cfg, o, &res, &err);
	}
	res.where = drill_where(cfg, o);
	res.finished = time(NULL);
	res.seconds = now_mono() - t0;
	if (rc)
		log_error("drill (%s): %s", res.where, err.msg);
	/* A config error is no verdict on the archive. */
	if (rc != CAIRN_ECONFIG) {
		stop_clear();
		drill_record(cfg, o, &res, rc, &err);
		if (metrics_write(cfg, &err))
			log_error("%s", err.msg);
	}
	drill_print(&res, rc, &err, json);
	lock_release(&lk);
	free(res.archive);
	return rc_exit(rc);
}

/*
 * `cairn backup`: under the lock, after rolling back an interrupted
 * restore and clearing leftovers, run pre_backup, make and verify the
 * archive (backup.c), send it to the targets (dispatch.c), then prune
 * (prune.c, dispatch.c) and record the run (state.c). Nothing is pruned
 * before the new archive is verified from disk.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <json-c/json.h>

#include "cairn.h"

static char *env_pair(const char *k, const char *v)
{
	return xasprintf("%s=%s", k, v ? v : "");
}

static void run_end_hook(const struct config *cfg,
			 const struct run_state *st)
{
	char *env[4];
	struct cairn_error e = { 0, "" };

	env[0] = env_pair("CAIRN_ARCHIVE", st->archive);
	env[1] = env_pair("CAIRN_STATUS", st->success ? "success" :
			  "failure");
	env[2] = env_pair("CAIRN_ERROR", st->error);
	env[3] = NULL;
	if (run_hook(cfg, st->success ? HOOK_POST_BACKUP : HOOK_ON_FAILURE,
		     env, &e))
		log_warn("%s", e.msg);
	/* A shrink alarm: the archive is good, what it holds may not be. */
	if (st->success && st->suspicious) {
		free(env[1]);
		free(env[2]);
		env[1] = env_pair("CAIRN_STATUS", "suspicious");
		env[2] = env_pair("CAIRN_ERROR", st->shrink);
		if (run_hook(cfg, HOOK_ON_FAILURE, env, &e))
			log_warn("%s", e.msg);
	}
	for (int i = 0; i < 3; i++)
		free(env[i]);
}

/* pre_backup, the verified archive, the targets, retention. */
static int backup_steps(const struct config *cfg, const struct backup_opts *o,
			struct run_state *st, struct cairn_error *err)
{
	char *env[] = { "CAIRN_STATUS=running", NULL };
	char sz[32];
	int rc;

	if ((rc = stop_check(err)) ||
	    (rc = run_hook(cfg, HOOK_PRE_BACKUP, env, err)) ||
	    (rc = stop_check(err)))
		return rc;
	if (!o->no_targets) { /* the upload overlaps archiving */
		st->streams = streams_new(cfg, o);
		st->tap = &st->streams->tap;
	}
	if ((rc = backup_archive(cfg, st, err)))
		return rc;
	fmt_bytes(st->bytes, sz);
	log_info("archive %s verified (%s, sha256 %.16s…)",
		 base_of(st->archive), sz, st->sha256);
	/* A stop from here on keeps the verified archive (it is a good
	 * restore point) but the run is recorded as a failure. */
	if (!o->no_targets)
		dispatch_all(cfg, o, st);
	if ((rc = stop_check(err)) ||
	    (rc = prune_local(cfg, false, base_of(st->archive), NULL,
				 err)))
		return rc;
	if (!o->no_targets)
		dispatch_prune(cfg, o, st);
	return stop_check(err);
}

/* last_backup.json, targets.json, metrics, then post_backup or
 * on_failure (which may run now: a second signal stops it too). */
static void record(const struct config *cfg, const struct run_state *st,
		   int exit_code, struct notify_set *ns)
{
	struct cairn_error e2 = { 0, "" };

	stop_clear();
	if (state_write(cfg, st, &e2))
		log_error("%s", e2.msg);
	if (metrics_write(cfg, &e2))
		log_error("%s", e2.msg);
	run_end_hook(cfg, st);
	notify_event(cfg, ns, exit_code != EXIT_OK ? CAIRN_NOTIFY_FAILURE :
		     st->suspicious ? CAIRN_NOTIFY_SUSPICIOUS :
		     CAIRN_NOTIFY_SUCCESS, st, st->seconds);
	log_info("backup %s in %.1f s",
		 exit_code == EXIT_OK ? "succeeded" :
		 exit_code == EXIT_TARGET ? "made, a target failed" :
		 "failed", st->seconds);
}

/* backup --json: the last line, like restic's summary. */
static void json_summary(const struct run_state *st, int exit_code)
{
	json_object *o = json_doc(), *tg = json_object_new_object();

	json_object_object_add(o, "message_type",
			       json_object_new_string("summary"));
	json_object_object_add(o, "status", json_object_new_string(
			       st->success ? "success" : "failure"));
	json_object_object_add(o, "exit", json_object_new_int(exit_code));
	json_object_object_add(o, "archive", json_str_or_null(st->archive ?
			       base_of(st->archive) : NULL));
	json_object_object_add(o, "bytes", json_object_new_uint64(st->bytes));
	json_object_object_add(o, "sha256", json_str_or_null(*st->sha256 ?
			       st->sha256 : NULL));
	json_object_object_add(o, "started", json_time(st->started));
	json_object_object_add(o, "finished", json_time(st->finished));
	json_object_object_add(o, "seconds",
			       json_object_new_double(st->seconds));
	for (size_t i = 0; i < st->ntargets; i++) {
		const struct target_result *r = &st->targets[i];
		json_object *t = json_object_new_object();

		json_object_object_add(t, "status", json_object_new_string(
				       r->skipped ? "skipped" : r->rc ?
				       "failure" : "success"));
		json_object_object_add(t, "bytes",
				       json_object_new_uint64(r->bytes));
		json_object_object_add(t, "seconds",
				       json_object_new_double(r->seconds));
		json_object_object_add(t, "error",
				       json_str_or_null(r->rc ? r->error : NULL));
		json_object_object_add(tg, r->name, t);
	}
	json_object_object_add(o, "targets", tg);
	json_object_object_add(o, "error", json_str_or_null(st->success ?
			       NULL : st->error));
	json_emit(o, true);
}

int cmd_backup(const struct config *cfg, const struct backup_opts *o)
{
	struct run_state st = { .force_full = o->full };
	struct cairn_error err = { 0, "" };
	struct lock lk = { -1, NULL };
	struct notify_set ns = { 0 };
	char *logp = NULL;
	double t0 = now_mono();
	int rc, exit_code;

	for (size_t i = 0; i < o->ntargets; i++)
		if (!config_target(cfg, o->targets[i])) {
			log_error("--target %s: no such target in %s",
				  o->targets[i], cfg->path);
			return EXIT_USAGE;
		}
	progress_json = o->json;
	if ((rc = lock_acquire(cfg, &lk, &err))) {
		log_error("%s", err.msg);
		return rc_exit(rc);
	}
	/* From here every end is recorded, and told. */
	notify_open(cfg, &ns);
	if ((rc = restore_recover(cfg, &err)))
		goto out;
	logp = path_join(cfg->state_dir, "backup.log");
	log_open_file(logp);
	st.started = o->fake_time ? o->fake_time : time(NULL);
	log_info("backup of %s started (config %s)", cfg->source, cfg->path);
	notify_event(cfg, &ns, CAIRN_NOTIFY_START, &st, 0);
	/* We hold the lock: whatever a killed run of ours left goes. */
	leftovers_clean(cfg);
	rc = backup_steps(cfg, o, &st, &err);
	streams_free(st.streams); /* aborts what was not committed */
	st.streams = NULL;
	st.tap = NULL;
out:
	/* The stop, not what it broke (a killed hook or dump), is why. */
	if (rc && stop_signal())
		stop_check(&err);
	st.success = rc == CAIRN_OK;
	st.finished = time(NULL);
	st.seconds = now_mono() - t0;
	if (rc) {
		snprintf(st.error, sizeof(st.error), "%s", err.msg);
		log_error("%s", err.msg);
	}
	exit_code = rc_exit(rc);
	if (rc == CAIRN_OK)
		for (size_t i = 0; i < st.ntargets; i++)
			if (st.targets[i].rc && !st.targets[i].skipped)
				exit_code = EXIT_TARGET;
	if (rc != CAIRN_ELOCKED && lk.fd >= 0)
		record(cfg, &st, exit_code, &ns);
	notify_close(&ns);
	if (o->json)
		json_summary(&st, exit_code);
	log_close_file();
	lock_release(&lk);
	for (size_t i = 0; i < st.ntargets; i++)
		free(st.targets[i].name);
	free(st.targets);
	free(st.archive);
	free(logp);
	return exit_code;
}

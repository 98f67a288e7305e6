/*
 * Restoring a verified archive (cmd_restore.c checks its sidecar
 * first): stage, check, plan, swap.
 *
 * Nothing live is touched until the archive's sidecar checksum matches,
 * every staged file matches the manifest and every staged database
 * passes integrity_check (stage.c). A files component is merged like
 * the runbook's `tar -x`: each path the archive holds replaces the live
 * one, live files it does not hold stay (--exact moves them to the
 * safety net); a database is replaced whole. Every replaced path goes
 * to the safety net first, with a journal in state_dir written before
 * the first change (journal.c): a run stopped by a signal rolls back at
 * once, a killed one is rolled back by the next cairn command.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cairn.h"

struct restore {
	struct rplan p;	/* cfg, o, live, staging, net_base, the plan */
	const struct component **comps;
	size_t ncomps;
	char *archive;
	char *net;      /* this restore's safety net; made when needed */
	int staging_lock;
	struct manifest man;
	struct stage st;
	bool swapping; /* live data may have been touched */
};

/* Plan -------------------------------------------------------------- */

/* Each component's swap, planned by its type, over the staged tree. */
static int plan(struct restore *r, struct cairn_error *err)
{
	int rc;

	r->p.parents = r->st.parents;
	r->p.nparents = r->st.nparents;
	if ((rc = tree_build(&r->p.root, r->st.e, r->st.n, err)))
		return rc;
	for (size_t i = 0; i < r->ncomps; i++) {
		const struct component *c = r->comps[i];

		if ((rc = comp_ops(c->type)->restore_plan(&r->p, c, err)))
			return rc;
	}
	return CAIRN_OK;
}

/* A mode whose components the archive lacks would replace live data
 * with nothing. `full` skips optional ones missing at backup time. */
static int check_components(struct restore *r, struct cairn_error *err)
{
	bool full = !strcmp(r->p.o->mode, "full");
	size_t k = 0;

	for (size_t i = 0; i < r->ncomps; i++) {
		const struct component *c = r->comps[i];

		if (r->st.seen[i]) {
			r->comps[k++] = c;
		} else if (full && !c->required) {
			log_info("component %s: not in %s (required = no); "
				 "left as it is", c->name,
				 base_of(r->archive));
		} else {
			return cairn_errf(err, CAIRN_ENOTFOUND, "%s holds no "
					  "member of component %s (%s); "
					  "nothing was restored",
					  base_of(r->archive), c->name,
					  c->paths.v[0]);
		}
	}
	r->ncomps = k;
	return CAIRN_OK;
}

/* Swap -------------------------------------------------------------- */

static void swap_pause(void)
{
	const char *s = getenv("CAIRN_SWAP_PAUSE");
	long v = 0;

	/* Testing aid: widen the window a crash or a stop must not harm. */
	if (s && parse_int(s, 0, 3600, &v))
		for (long i = 0; i < v * 10 && !stop_signal(); i++)
			usleep(100000);
}

/* rename, never over an existing path. */
static int move_new(const char *from, const char *to)
{
	if (!renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE))
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (path_exists(to)) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

static int do_op(struct restore *r, const struct swap *w,
		 struct cairn_error *err)
{
	char *l = live_path(r->p.live, w->rel), *s = NULL, *o = NULL;
	int rc = CAIRN_OK;

	if (w->kind == SWAP_MKDIR) {
		if (mkdir(l, 0700) && errno != EEXIST)
			rc = errno_err(err, 0, errno, "cannot create %s", l);
		else
			apply_meta(l, w->mode, w->uid, w->gid, NULL);
		goto out;
	}
	if (w->kind != SWAP_MOVE)
		goto out;
	s = path_join(r->p.staging, w->rel);
	if (w->had_live) {
		char *od;

		o = path_join(r->net, w->rel);
		od = dir_of(o);
		if (mkdir_p(od, 0700) || move_new(l, o))
			rc = errno_err(err, 0, errno, "cannot move %s to %s",
				       l, o);
		free(od);
		swap_pause();
	}
	if (!rc && w->staged && move_new(s, l))
		rc = errno_err(err, 0, errno, "cannot move %s to %s", s, l);
out:
	free(l);
	free(s);
	free(o);
	return rc;
}

static int swap_in(struct restore *r, struct cairn_error *err)
{
	int rc = CAIRN_OK;

	for (size_t i = 0; i < r->p.j.n && !rc; i++)
		if (!(rc = stop_check(err)))
			rc = do_op(r, &r->p.j.sw[i], err);
	if (rc)
		return rc;
	/* Children before parents: the plan is top-down. */
	for (size_t i = r->p.nfix; i-- > 0;) {
		const struct fix *f = &r->p.fix[i];
		char *l = live_path(r->p.live, f->rel);

		apply_meta(l, f->mode, f->uid, f->gid,
			   f->has_time ? &f->mtime : NULL);
		free(l);
	}
	fsync_dir(r->p.live);
	return stop_check(err);
}

static bool replaces(const struct restore *r)
{
	for (size_t i = 0; i < r->p.j.n; i++)
		if (r->p.j.sw[i].kind == SWAP_MOVE && r->p.j.sw[i].had_live)
			return true;
	return false;
}

/* The safety net, made only when something goes into it. */
static int make_net(struct restore *r, struct cairn_error *err)
{
	if (!replaces(r))
		return CAIRN_OK;
	if (mkdir_p(r->p.net_base, 0700) || mkdir(r->net, 0700))
		return errno_err(err, 0, errno, "cannot create %s", r->net);
	return CAIRN_OK;
}

static void drop_net(struct restore *r)
{
	if (r->net)
		prune_empty(r->net);
	if (r->p.net_base)
		rmdir(r->p.net_base);
}

/* What a type does once the swap is done (a dump's restore command). */
static int run_commands(struct restore *r, struct cairn_error *err)
{
	for (size_t i = 0; i < r->ncomps; i++) {
		const struct component *c = r->comps[i];
		const struct comp_ops *ops = comp_ops(c->type);
		int rc;

		if (ops->restore_run &&
		    (rc = ops->restore_run(c, r->p.staging, err)))
			return rc;
	}
	return CAIRN_OK;
}

/* Directories ------------------------------------------------------- */

/* Missing directories above the source, as `mkdir -p` with umask 022
 * would make them. */
static int mkdirs_0755(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; !rc; s++) {
		if (*s && *s != '/')
			continue;
		{
			char c = *s;

			*s = '\0';
			if (!mkdir(p, 0755))
				chmod(p, 0755);
			else if (errno != EEXIST)
				rc = -1;
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return rc;
}

/* Staging beside live on its file system (inside it on a mount point,
 * where a rename cannot cross), locked while we use it; the safety
 * net's name, beside it too. */
static int prepare_dirs(struct restore *r, struct cairn_error *err)
{
	char *parent = dir_of(r->p.live), ts[32];
	struct stat a, b;
	bool inside = true;
	struct tm tm;
	time_t now = time(NULL);
	int rc = CAIRN_OK;

	if (r->p.o->to) {
		if (mkdir_p(r->p.live, 0700))
			rc = errno_err(err, 0, errno, "cannot create %s",
				       r->p.live);
	} else if (stat(r->p.live, &a)) {
		inside = false;
		if (mkdirs_0755(parent))
			rc = errno_err(err, 0, errno, "cannot create %s",
				       parent);
	} else {
		inside = stat(parent, &b) || a.st_dev != b.st_dev;
	}
	if (rc)
		goto out;
	r->p.staging = inside ? path_join(r->p.live, ".cairn-staging.XXXXXX")
			    : xasprintf("%s.cairn-staging.XXXXXX", r->p.live);
	if (!mkdtemp(r->p.staging)) {
		rc = errno_err(err, 0, errno, "cannot create %s", r->p.staging);
		free(r->p.staging);
		r->p.staging = NULL;
		goto out;
	}
	r->staging_lock = scratch_lock(r->p.staging);
	if (r->p.o->to)
		goto out; /* no safety net for --to */
	r->p.net_base = inside ? path_join(r->p.live, ".cairn.pre-restore")
			     : xasprintf("%s.pre-restore", r->p.live);
	/* UTC, like archive names. */
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d_%H%M%S", &tm);
	/* Never share a safety net with an earlier restore. */
	for (int i = 1; !r->net; i++) {
		r->net = i == 1 ? xasprintf("%s/%s", r->p.net_base, ts)
				: xasprintf("%s/%s.%d", r->p.net_base, ts, i);
		if (path_exists(r->net) && i < 100) {
			free(r->net);
			r->net = NULL;
		}
	}
out:
	free(parent);
	r->p.j.live = r->p.live;
	r->p.j.staging = r->p.staging;
	r->p.j.net = r->net;
	return rc;
}

/* Output ------------------------------------------------------------ */

/* --dry-run --json: the plan; cairn(1) has the schema. */
static void print_plan_json(struct restore *r)
{
	static const char *const names[N_COUNTS] = { "add", "replace", "keep",
						     "remove" };
	struct rplan *p = &r->p;
	json_object *o = json_doc(), *tot = json_object_new_object();

	json_object_object_add(o, "mode", json_object_new_string(p->o->mode));
	json_object_object_add(o, "archive",
			       json_object_new_string(base_of(r->archive)));
	json_object_object_add(o, "into", json_object_new_string(p->live));
	json_object_object_add(o, "exact",
			       json_object_new_boolean(p->o->exact));
	for (int i = 0; i < N_COUNTS; i++)
		json_object_object_add(tot, names[i],
				       json_object_new_uint64(p->cnt[i]));
	json_object_object_add(tot, "bytes",
			       json_object_new_uint64(r->st.bytes));
	json_object_object_add(o, "total", tot);
	json_object_object_add(o, "components", p->jcounts ? p->jcounts :
			       json_object_new_array());
	json_object_object_add(o, "paths", p->jpaths ? p->jpaths :
			       json_object_new_array());
	p->jcounts = p->jpaths = NULL; /* o owns them now */
	json_emit(o, false);
}

static void print_plan(struct restore *r)
{
	const struct rplan *p = &r->p;
	char sz[32];

	if (p->o->json) {
		print_plan_json(r);
		return;
	}
	printf("restore mode %s from %s into %s (%s)\n", p->o->mode,
	       base_of(r->archive), p->live, p->o->exact ? "exact: what the "
	       "archive lacks goes to the safety net" : "merge: files the "
	       "archive lacks stay; --exact moves them aside");
	fputs(p->summary.s ? p->summary.s : "", stdout);
	fputs(p->detail.s ? p->detail.s : "", stdout);
	fmt_bytes(r->st.bytes, sz);
	printf("  total: add %zu, replace %zu, keep %zu, remove %zu; %s from "
	       "the archive\n", p->cnt[N_ADD], p->cnt[N_REPLACE],
	       p->cnt[N_KEEP], p->cnt[N_REMOVE], sz);
}

static void print_done(struct restore *r)
{
	for (size_t i = 0; i < r->p.kept.n; i++)
		printf("kept (not in the archive): %s\n", r->p.kept.v[i]);
	printf("restored mode %s from %s: %zu added, %zu replaced, %zu kept, "
	       "%zu removed", r->p.o->mode, base_of(r->archive),
	       r->p.cnt[N_ADD], r->p.cnt[N_REPLACE], r->p.cnt[N_KEEP],
	       r->p.cnt[N_REMOVE]);
	if (!r->p.o->to && replaces(r))
		printf("; replaced files are in %s\n", r->net);
	else
		printf("; into %s\n", r->p.live);
}

static bool confirm(const struct restore *r)
{
	char line[16];

	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };

	fprintf(stderr, "Restore mode %s from %s into %s (%s)? [y/N] ",
		r->p.o->mode, base_of(r->archive), r->p.live,
		r->p.o->exact ? "exact" : "merge");
	/* Reads restart after a signal: poll, so Ctrl-C ends the prompt. */
	while (!stop_signal() && poll(&pfd, 1, 200) == 0)
		;
	if (stop_signal() || !fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

/* Run --------------------------------------------------------------- */

static char *hook_env(const char *k, const char *v)
{
	return xasprintf("%s=%s", k, v ? v : "");
}

/* After a failure or a stop: put the old data back. */
static void undo(struct restore *r, char **env, struct cairn_error *err)
{
	const struct config *cfg = r->p.cfg;
	char msg[512], *jp = journal_path(cfg);

	if (stop_signal())
		stop_check(err); /* a hook killed by the stop: say why */
	snprintf(msg, sizeof(msg), "%s", err->msg);
	if (journal_rollback(&r->p.j)) {
		cairn_errf(err, CAIRN_EFAIL, "%s; ROLLBACK INCOMPLETE, see %s "
			   "and %s", msg, r->net, jp);
	} else {
		cairn_errf(err, CAIRN_EFAIL, "%s; rolled back, the previous "
			   "data is in place again", msg);
		/* Done: a later run must not roll back again. */
		journal_done(cfg);
		drop_net(r);
	}
	/* Let the app come back up on the old data. */
	if (cfg->hooks[HOOK_POST_RESTORE] && !stop_signal()) {
		struct cairn_error e2 = { 0, "" };

		free(env[3]);
		env[3] = hook_env("CAIRN_STATUS", "rolled-back");
		run_hook(cfg, HOOK_POST_RESTORE, env, &e2);
	}
	free(jp);
}

static int restore_live(struct restore *r, struct cairn_error *err)
{
	const struct config *cfg = r->p.cfg;
	char *env[5];
	int rc;

	env[0] = hook_env("CAIRN_ARCHIVE", r->archive);
	env[1] = hook_env("CAIRN_MODE", r->p.o->mode);
	env[2] = hook_env("CAIRN_SAFETY_NET", r->net);
	env[3] = hook_env("CAIRN_STATUS", "restoring");
	env[4] = NULL;
	if ((rc = run_hook(cfg, HOOK_PRE_RESTORE, env, err))) {
		if (stop_signal())
			stop_check(err);
		goto out;
	}
	if ((rc = stop_check(err)) || (rc = make_net(r, err)))
		goto out;
	r->swapping = true;
	if ((rc = journal_write(cfg, &r->p.j, err))) {
		drop_net(r);
		goto out;
	}
	rc = swap_in(r, err);
	if (!rc)
		rc = run_commands(r, err);
	if (!rc)
		rc = run_hook(cfg, HOOK_POST_RESTORE, env, err);
	if (!rc && (rc = run_hook(cfg, HOOK_VERIFY_RESTORE, env, err)))
		snprintf(err->msg + strlen(err->msg),
			 sizeof(err->msg) - strlen(err->msg),
			 "; verification failed");
	if (!rc)
		rc = stop_check(err);
	if (rc) {
		undo(r, env, err);
		rc = CAIRN_EFAIL;
		goto out;
	}
	journal_done(cfg);
out:
	for (int i = 0; i < 4; i++)
		free(env[i]);
	return rc;
}

static int restore_to(struct restore *r, struct cairn_error *err)
{
	int rc;

	r->swapping = true;
	rc = swap_in(r, err);

	if (rc)
		journal_rollback(&r->p.j); /* --to holds nothing else */
	return rc;
}

/* Stage (or, for --dry-run, read), check and plan. */
static int stage_and_plan(struct restore *r, struct cairn_error *err)
{
	int rc;

	r->st.archive = r->archive;
	r->st.man = &r->man;
	r->st.comps = r->comps;
	r->st.ncomps = r->ncomps;
	r->st.dir = r->p.o->dry_run ? NULL : r->p.staging;
	r->st.index = r->p.o->seek_index;
	r->st.unverified = r->st.index != NULL;
	r->st.rd = r->p.o->rd;
	r->st.chain = &r->p.o->chain;
	if (!r->p.o->dry_run)
		log_info("staging mode %s in %s", r->p.o->mode, r->p.staging);
	if ((rc = incr_stage(&r->st, err)) ||
	    (rc = check_components(r, err)) || (rc = plan(r, err)))
		return rc;
	return stop_check(err);
}

static void restore_free(struct restore *r)
{
	rplan_free(&r->p);
	stage_free(&r->st);
	manifest_free(&r->man);
	free(r->archive);
	free(r->net);
}


int restore_archive(const struct config *cfg, const struct restore_opts *o,
		    const struct component **comps, size_t ncomps,
		    const char *archive, bool *touched,
		    struct cairn_error *err)
{
	struct restore r = { .p = { .cfg = cfg, .o = o }, .comps = comps,
			     .ncomps = ncomps, .staging_lock = -1 };
	int rc;

	r.archive = xstrdup(archive);
	if ((rc = manifest_load(r.archive, &r.man, err)))
		goto out;
	r.p.live = xstrdup(o->to ? o->to : cfg->source);
	for (size_t l = strlen(r.p.live); l > 1 && r.p.live[l - 1] == '/';)
		r.p.live[--l] = '\0';
	if (o->dry_run) {
		r.p.staging = xstrdup("");
		if (!(rc = stage_and_plan(&r, err)))
			print_plan(&r);
		goto out;
	}
	if (!o->to && !o->yes && !confirm(&r)) {
		rc = stop_signal() ? stop_check(err)
				   : cairn_errf(err, CAIRN_ECONFIG,
						"restore cancelled");
		goto out;
	}
	if ((rc = prepare_dirs(&r, err)) || (rc = stage_and_plan(&r, err)))
		goto out;
	rc = o->to ? restore_to(&r, err) : restore_live(&r, err);
	if (!rc)
		print_done(&r);
out:
	*touched = r.swapping;
	/* A pending journal still needs the staging dir and the net. */
	if (r.p.staging && *r.p.staging && (rc == CAIRN_OK ||
					!journal_pending(cfg)))
		rm_rf(r.p.staging);
	if (r.staging_lock >= 0)
		close(r.staging_lock);
	if (r.p.net_base && (rc == CAIRN_OK || !journal_pending(cfg))) {
		if (r.net)
			rmdir(r.net); /* only if nothing went into it */
		rmdir(r.p.net_base);
	}
	restore_free(&r);
	return rc;
}

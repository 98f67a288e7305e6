/*
 * Drills: proof that the latest archive (local, or a target's copy)
 * restores. It is fetched or found, its checksums verified, every
 * member test-restored into a private scratch dir under state_dir
 * (manifest, hostile paths and links, SQLite integrity_check), each
 * database's row counts compared with the archive's inventory.txt, each
 * command component with a `drill` command restored into a throwaway,
 * and `[hooks] drill` run on the copy with CAIRN_DRILL_DIR. The scratch
 * always goes (a killed drill's is a leftover the next locked run
 * removes: it is flocked while in use). The verdict is recorded per
 * target ("local" for archive_dir) in state_dir/drills.json.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cairn.h"

struct drill {
	const struct config *cfg;
	const struct drill_opts *o;
	struct drill_result *res;
	char *scratch;  /* state_dir/.cairn-drill.XXXXXX */
	char *tree;     /* scratch/restore: the test-restored copy */
	char *archive;  /* its path (in archive_dir, or scratch/fetch) */
	const struct component **comps;
	size_t ncomps;
	struct manifest man;
};

/* The archive: the latest in archive_dir, or fetched from the target. */
static int drill_find(struct drill *d, struct cairn_error *err)
{
	char *fetch;
	int rc;

	if (!d->o->target)
		return catalog_resolve(d->cfg, "latest", &d->archive, err);
	fetch = path_join(d->scratch, "fetch");
	if (mkdir(fetch, 0700))
		rc = errno_err(err, 0, errno, "cannot create %s", fetch);
	else
		rc = target_fetch(d->cfg, d->o->target, NULL, fetch,
				  &d->archive, err);
	free(fetch);
	return rc;
}

/* inventory.txt of the archive, copied out into the scratch dir. */
static char *read_inventory(struct drill *d, struct cairn_error *err)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	char *p = path_join(d->scratch, "inventory.txt"), *text = NULL, hex[65];
	uint64_t n;
	size_t len;
	int fd = -1, rc = CAIRN_OK;

	if ((rc = ar_open_read(d->archive, &a, err)))
		goto out;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);

		if (!strncmp(name, "./", 2))
			name += 2;
		if (strcmp(name, "inventory.txt"))
			continue;
		if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			       0600)) < 0) {
			errno_err(err, 0, errno, "cannot create %s", p);
			goto out;
		}
		if (!ar_copy_data(a, fd, "inventory.txt", hex, &n, err))
			text = read_file(p, &len);
		goto out;
	}
	cairn_errf(err, CAIRN_EINTEGRITY, "%s: no inventory.txt member",
		   base_of(d->archive));
out:
	if (fd >= 0)
		close(fd);
	if (a)
		archive_read_free(a);
	free(p);
	return text;
}

/* The "rows: TABLE=N" lines of component `comp` in inventory text. */
static void inventory_rows(const char *text, const char *comp,
			   struct strv *rows)
{
	size_t cl = strlen(comp);
	bool in = false;

	while (text && *text) {
		size_t n = strcspn(text, "\n");

		if (!strncmp(text, "  [", 3))
			in = !strncmp(text + 3, comp, cl) && text[3 + cl] == ']';
		else if (in && n > 10 && !strncmp(text, "    rows: ", 10)) {
			char *r = xasprintf("%.*s", (int)(n - 10), text + 10);

			strv_push(rows, r);
			free(r);
		} else if (n && text[0] != ' ')
			in = false;
		text += n + (text[n] == '\n');
	}
}

/* Each restored database has the row counts its inventory recorded. */
static int check_rows(struct drill *d, struct cairn_error *err)
{
	char *inv = NULL;
	int rc = CAIRN_OK;

	for (size_t i = 0; !rc && i < d->ncomps; i++) {
		const struct component *c = d->comps[i];
		struct strv want = { 0 };
		struct db_check chk = { 0 };
		char *db;

		/* A database the test-restore staged (its type said so
		 * when it checked it). */
		db = path_join(d->tree, c->paths.v[0]);
		if (!comp_ops(c->type)->whole || !is_sqlite_file(db)) {
			free(db);
			continue;
		}
		if (!inv && !(inv = read_inventory(d, err))) {
			free(db);
			return CAIRN_EINTEGRITY;
		}
		inventory_rows(inv, c->name, &want);
		if (!(rc = sqlite_check(db, &chk, err)))
			for (size_t j = 0; !rc && j < want.n; j++) {
				bool same = false;

				for (size_t k = 0; k < chk.rows.n; k++)
					same |= !strcmp(chk.rows.v[k],
							want.v[j]);
				if (!same)
					rc = cairn_errf(err, CAIRN_EINTEGRITY,
						"%s: component %s: restored "
						"rows differ from inventory.txt "
						"(%s)", base_of(d->archive),
						c->name, want.v[j]);
			}
		d->res->tables += want.n;
		db_check_free(&chk);
		strv_free(&want);
		free(db);
	}
	free(inv);
	return rc;
}

/* Command components with a `drill` command: it gets the dump on stdin
 * and a throwaway directory, as restore gets the live system. */
static int run_command_drills(struct drill *d, struct cairn_error *err)
{
	int rc = CAIRN_OK;

	for (size_t i = 0; !rc && i < d->ncomps; i++) {
		const struct component *c = d->comps[i];
		char *dump, *throw, *env[3];
		struct exec_result r = { 0 };
		int fd;

		if (!c->drill) /* config.c: command components only */
			continue;
		dump = path_join(d->tree, c->paths.v[0]);
		throw = xasprintf("%s/throwaway-%s", d->scratch, c->name);
		env[0] = xasprintf("CAIRN_DRILL_DIR=%s", throw);
		env[1] = xasprintf("CAIRN_DRILL_FILE=%s", dump);
		env[2] = NULL;
		log_info("component %s: running its drill command", c->name);
		if (mkdir(throw, 0700) ||
		    (fd = open(dump, O_RDONLY | O_CLOEXEC)) < 0) {
			rc = errno_err(err, 0, errno, "component %s: cannot "
				       "drill %s", c->name, dump);
		} else {
			if (exec_shell(c->drill, env, (int)c->timeout, fd, -1,
				       4096, &r))
				rc = errno_err(err, 0, errno, "component %s: "
					       "cannot run drill", c->name);
			else if (r.status)
				rc = cairn_errf(err, CAIRN_EFAIL, "component "
						"%s: drill command %s %d: %s",
						c->name, r.timed_out ?
						"timed out, status" : "exited",
						r.status, r.output ? r.output :
						"");
			close(fd);
			d->res->commands += !rc;
		}
		exec_result_free(&r);
		free(env[0]);
		free(env[1]);
		free(throw);
		free(dump);
	}
	return rc ? rc : stop_check(err);
}

static int drill_hook(struct drill *d, struct cairn_error *err)
{
	char *env[5];
	int rc;

	env[0] = xasprintf("CAIRN_DRILL_DIR=%s", d->tree);
	env[1] = xasprintf("CAIRN_ARCHIVE=%s", base_of(d->archive));
	env[2] = xasprintf("CAIRN_TARGET=%s", d->res->where);
	env[3] = xasprintf("CAIRN_MODE=%s", d->o->mode);
	env[4] = NULL;
	rc = run_hook(d->cfg, HOOK_DRILL, env, err);
	for (int i = 0; i < 4; i++)
		free(env[i]);
	return rc ? rc : stop_check(err);
}

/* Checksums, the test-restore, rows, command drills, the hook. */
static int drill_steps(struct drill *d, struct cairn_error *err)
{
	struct stage s = { .every_member = true };
	int rc;

	if ((rc = drill_find(d, err)))
		return rc;
	d->res->archive = xstrdup(base_of(d->archive));
	log_info("drill of %s (%s): verifying", d->res->archive,
		 d->res->where);
	if ((rc = verify_sidecar(d->archive, err)) ||
	    (rc = manifest_load(d->archive, &d->man, err)) ||
	    (rc = stop_check(err)))
		return rc;
	d->tree = path_join(d->scratch, "restore");
	if (mkdir(d->tree, 0700))
		return errno_err(err, 0, errno, "cannot create %s", d->tree);
	s.archive = d->archive;
	s.man = &d->man;
	s.comps = d->comps;
	s.ncomps = d->ncomps;
	s.dir = d->tree;
	rc = stage_run(&s, err);
	d->res->members = s.files;
	d->res->dbs = s.dbs;
	stage_free(&s);
	if (rc || (rc = stop_check(err)) || (rc = check_rows(d, err)) ||
	    (rc = run_command_drills(d, err)))
		return rc;
	return drill_hook(d, err);
}

const char *drill_where(const struct config *cfg, const struct drill_opts *o)
{
	if (!o->target || (cfg->self && !strcmp(o->target, cfg->self->name)))
		return "local";
	return o->target;
}

int drill_run(const struct config *cfg, const struct drill_opts *o,
	      struct drill_result *res, struct cairn_error *err)
{
	struct drill d = { .cfg = cfg, .o = o, .res = res };
	int lock = -1, rc;

	res->where = drill_where(cfg, o);
	if ((rc = restore_components(cfg, o->mode, &d.comps, &d.ncomps,
				     err)))
		return rc;
	d.scratch = xasprintf("%s/.cairn-drill.XXXXXX", cfg->state_dir);
	if (mkdir_p(cfg->state_dir, 0700) || !mkdtemp(d.scratch)) {
		rc = errno_err(err, 0, errno, "cannot create %s", d.scratch);
		goto out;
	}
	lock = scratch_lock(d.scratch);
	rc = drill_steps(&d, err);
	/* The stop, not what it broke, is why. */
	if (rc && stop_signal())
		rc = stop_check(err);
out:
	if (lock >= 0 || path_exists(d.scratch))
		rm_rf(d.scratch);
	if (lock >= 0)
		close(lock);
	manifest_free(&d.man);
	free(d.comps);
	free(d.scratch);
	free(d.tree);
	free(d.archive);
	return rc;
}

void drill_json(struct json_object *o, const struct drill_result *res, int rc,
		const struct cairn_error *err)
{
	json_object_object_add(o, "status", json_object_new_string(
		rc ? "failure" : "success"));
	json_object_object_add(o, "archive", res->archive ?
			       json_object_new_string(res->archive) : NULL);
	json_object_object_add(o, "members",
			       json_object_new_uint64(res->members));
	json_object_object_add(o, "databases",
			       json_object_new_uint64(res->dbs));
	json_object_object_add(o, "seconds",
			       json_object_new_double(res->seconds));
	json_object_object_add(o, "error", rc ?
			       json_object_new_string(err->msg) : NULL);
}

void drill_record(const struct config *cfg, const struct drill_opts *o,
		  const struct drill_result *res, int rc,
		  const struct cairn_error *err)
{
	struct cairn_error e2 = { 0, "" };
	char *p = path_join(cfg->state_dir, "drills.json");
	json_object *all = drills_load(cfg), *prev = NULL,
		    *e = json_object_new_object();
	const char *last_ok;

	json_object_object_get_ex(all, res->where, &prev);
	last_ok = json_str(prev, "last_success");
	drill_json(e, res, rc, err);
	json_object_object_add(e, "mode", json_object_new_string(o->mode));
	json_object_object_add(e, "started", json_time(res->started));
	json_object_object_add(e, "finished", json_time(res->finished));
	json_object_object_add(e, "last_success", !rc ?
		json_time(res->finished) : last_ok ?
		json_object_new_string(last_ok) : NULL);
	json_object_object_add(all, res->where, e);
	if (mkdir_p(cfg->state_dir, 0700) || json_write_state(p, all, &e2))
		log_error("cannot record the drill in %s: %s", p,
			  e2.msg[0] ? e2.msg : strerror(errno));
	json_object_put(all);
	free(p);
}

/*
 * type = sqlite: one database file, archived from an online-backup
 * snapshot (snapshot.c) and checked before it goes in; restored whole,
 * with its -wal, -shm and -journal removed, after integrity_check of
 * the staged copy.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cairn.h"

static int sqlite_plan(struct comp_plan *p, struct cairn_error *err)
{
	const char *rel = p->c->paths.v[0];
	char *abs = path_join(p->cfg->source, rel);
	char *snap = xasprintf("%s/%s.db", p->staging, p->c->name);
	struct stat st;
	int rc = CAIRN_EFAIL;

	if (lstat(abs, &st)) {
		if (errno == ENOENT && !p->c->required) {
			strv_push(&p->stats->notes,
				  "database missing (required = no)");
			rc = CAIRN_OK;
		} else {
			rc = errno_err(err, 0, errno,
				       "component %s: cannot read database %s",
				       p->c->name, abs);
		}
		goto out;
	}
	log_info("snapshot of %s", abs);
	if ((rc = sqlite_snapshot(abs, snap, err)))
		goto out;
	if ((rc = sqlite_check(snap, &p->stats->db, err)))
		goto out;
	/* Live file's owner, mode and mtime; the snapshot's bytes. */
	plan_add(p, rel, snap, &st);
	{
		struct stat ss;

		if (!stat(snap, &ss)) {
			p->items[p->n - 1].st.st_size = ss.st_size;
			p->bytes = (uint64_t)ss.st_size;
		}
	}
	p->stats->files = 1;
	rc = CAIRN_OK;
out:
	free(abs);
	free(snap);
	return rc;
}

/* The database, and its -wal, -shm and -journal (a leftover WAL would
 * corrupt the restored file), are replaced whole. */
static int sqlite_restore_plan(struct rplan *r, const struct component *c,
			       struct cairn_error *err)
{
	const char *rel = c->paths.v[0];
	char *abs;
	bool had;
	size_t before[N_COUNTS];

	(void)err;
	if (rplan_overlaps(r, rel))
		return CAIRN_OK;
	abs = path_join(r->live, rel);
	had = path_exists(abs);
	memcpy(before, r->cnt, sizeof(before));
	rplan_parents(r, rel);
	rplan_note(r, had ? "replace" : "add", rel);
	r->cnt[had ? N_REPLACE : N_ADD]++;
	rplan_move(r, rel, had, true);
	for (const char *const *sb = c->siblings; sb && *sb; sb++) {
		char *s = xasprintf("%s%s", rel, *sb);
		char *a = path_join(r->live, s);

		if (path_exists(a)) {
			rplan_note(r, "remove", s);
			r->cnt[N_REMOVE]++;
			rplan_move(r, s, true, false);
		}
		free(a);
		free(s);
	}
	rplan_count(r, c, rel, before);
	free(abs);
	return CAIRN_OK;
}

/* A staged database must pass integrity_check before it goes live. */
static int sqlite_check_staged(const struct component *c, const char *dir,
			       bool every_member, size_t *checked,
			       struct cairn_error *err)
{
	struct db_check chk = { 0 };
	char *p = path_join(dir, c->paths.v[0]);
	int rc = CAIRN_OK;

	/* verify --deep: as before, databases only; restore: whatever
	 * is staged must be one. */
	if (is_sqlite_file(p) || (path_exists(p) && !every_member)) {
		rc = sqlite_check(p, &chk, err);
		if (!rc && chk.result)
			log_info("%s: integrity_check ok", c->paths.v[0]);
		(*checked)++;
	}
	db_check_free(&chk);
	free(p);
	return rc;
}

static void sqlite_inventory(const struct component *c,
			     const struct comp_stats *s, struct sbuf *b)
{
	(void)c;
	sb_printf(b, "    integrity_check: %s\n",
		  s->db.result ? s->db.result : "not run");
	for (size_t j = 0; j < s->db.rows.n; j++)
		sb_printf(b, "    rows: %s\n", s->db.rows.v[j]);
}

const struct comp_ops comp_sqlite_ops = {
	.whole = true,
	.plan = sqlite_plan,
	.restore_plan = sqlite_restore_plan,
	.check_staged = sqlite_check_staged,
	.inventory = sqlite_inventory,
};

/* Retention in archive_dir, and old safety nets: what `cairn prune` and
 * a backup (after its archive is verified) remove locally. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cairn.h"

/* Remove one archive and its sidecars from archive_dir. */
static void drop_archive(const struct config *cfg, const char *name)
{
	char *p = path_join(cfg->archive_dir, name);
	char *s = sidecar_sha(p), *m = sidecar_manifest(p);
	char *x = index_sidecar(p);

	/* Sidecar first: an archive without it is never taken for a
	 * verified one. */
	unlink(s);
	if (unlink(p) && errno != ENOENT)
		log_warn("cannot remove %s: %s", p, strerror(errno));
	unlink(m);
	unlink(x);
	free(p);
	free(s);
	free(m);
	free(x);
}

/* The chains, when there are any, for the operator to check. */
void prune_show_chains(const char *where, const struct snap *snaps,
		       size_t n)
{
	struct sbuf b = { 0 };
	size_t incrs = 0;
	char *line, *save = NULL;

	for (size_t i = 0; i < n; i++)
		incrs += snaps[i].incr;
	if (!incrs)
		return;
	retention_describe(snaps, n, &b);
	for (line = strtok_r(b.s, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		log_info("%s%s", where, line);
	sb_free(&b);
}

/* Delete archive and sidecars of every archive no kept restore point
 * needs; *dropped (if not NULL) gets their names. */
int prune_local(const struct config *cfg, bool dry_run,
		const char *protect, struct strv *dropped,
		struct cairn_error *err)
{
	struct catalog cat;
	struct snap *snaps;
	char *latest;
	size_t n = 0;
	int rc;

	if ((rc = catalog_scan(cfg, &cat, err)))
		return rc;
	latest = catalog_latest(cfg);
	snaps = xcalloc(cat.n, sizeof(*snaps));
	for (size_t i = 0; i < cat.n; i++) {
		/* Never verified: neither counted as a restore point nor
		 * deleted as one. */
		if (!cat.a[i].has_sidecar) {
			log_warn("%s has no .sha256 sidecar; retention "
				 "leaves it alone", cat.a[i].name);
			continue;
		}
		snaps[n].name = cat.a[i].name;
		snaps[n].time = cat.a[i].time;
		snaps[n].incr = cat.a[i].incr;
		/* The archive this run made, and the one the latest link
		 * names, are never pruned (nor what they need), whatever
		 * the clock said when the others were named; nor the
		 * archive a shrink alarm holds. */
		snaps[n++].held =
			(protect && !strcmp(protect, cat.a[i].name)) ||
			(latest && !strcmp(base_of(latest), cat.a[i].name)) ||
			shrink_held(cfg, cat.a[i].name);
	}
	retention_chains(snaps, n, &cfg->keep);
	if (dry_run)
		prune_show_chains("", snaps, n);
	for (size_t i = 0; i < n; i++) {
		if (snaps[i].needed)
			continue;
		if (dropped)
			strv_push(dropped, snaps[i].name);
		log_info("%s %s", dry_run ? "would remove" : "removing",
			 snaps[i].name);
		if (!dry_run)
			drop_archive(cfg, snaps[i].name);
	}
	if (!dry_run)
		fsync_dir(cfg->archive_dir);
	free(latest);
	free(snaps);
	catalog_free(&cat);
	return CAIRN_OK;
}

/* Remove safety nets older than safety_net_days; *gone gets their
 * paths. */
int prune_nets(const struct config *cfg, bool dry_run, struct strv *gone)
{
	struct safety_nets sn;
	time_t now = time(NULL);
	int rc = CAIRN_OK;

	safety_nets_scan(cfg, &sn);
	for (size_t i = 0; i < sn.n; i++) {
		const struct safety_net *s = &sn.v[i];
		char sz[32], ts[32];

		if (s->in_use || now - s->time < cfg->safety_net_days * 86400)
			continue;
		strv_push(gone, s->path);
		fmt_bytes(s->bytes, sz);
		fmt_utc(s->time, ts);
		log_info("%s safety net %s (%s, from %s)", dry_run ?
			 "would remove" : "removing", s->path, sz, ts);
		if (!dry_run && rm_rf(s->path) && errno != ENOENT) {
			log_error("cannot remove safety net %s: %s", s->path,
				  strerror(errno));
			rc = CAIRN_EFAIL;
		}
	}
	/* The holder goes once empty (rmdir refuses otherwise). */
	for (size_t b = 0; !dry_run && gone->n && b < ARRAY_SIZE(sn.dirs);
	     b++)
		rmdir(sn.dirs[b]);
	safety_nets_free(&sn);
	return rc;
}

/* `cairn prune`: retention locally and on every enabled target, and
 * safety nets older than safety_net_days. */
#include "config.h"

#include <stdio.h>

#include "cairn.h"

int cmd_prune(const struct config *cfg, bool dry_run)
{
	struct cairn_error err = { 0, "" };
	struct lock lk;
	size_t local = 0, nets = 0, targets = 0;
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
	if (!rc && !local && !nets)
		log_info("nothing to prune%s", targets ? " locally" : "");
out:
	lock_release(&lk);
	return rc_exit(rc);
}

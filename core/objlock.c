/*
 * Object Lock per retention tier. A target whose plugin keeps objects
 * under a lock (s3 with object_lock) has lock_last, lock_daily, ...,
 * lock_yearly: a new archive and its sidecars are put locked for
 * lock_last; each prune then extends the lock of every archive a tier
 * keeps to that tier's period (retention_lock_until), so a monthly stays
 * locked as long as a monthly is kept. A lock is never shortened.
 */
#include "config.h"

#include <stdlib.h>

#include "cairn.h"

static const char *const lock_keys[5] = {
	"lock_last", "lock_daily", "lock_weekly", "lock_monthly",
	"lock_yearly",
};

void objlock_periods(const struct backend *b, long lock[5])
{
	for (int r = 0; r < 5; r++) {
		const struct tkey *k = config_tkey(&b->keys, lock_keys[r]);

		lock[r] = k && k->num > 0 ? (long)k->num : 0;
	}
}

time_t objlock_put_until(const struct backend *b, const char *archive)
{
	long lock[5], most = 0;
	time_t at = 0;

	if (!backend_lockable(b))
		return 0;
	archive_name_parse(b->cfg->name, base_of(archive), &at);
	objlock_periods(b, lock);
	for (int r = 0; r < 5; r++)
		if (lock[r] > most)
			most = lock[r];
	/* Without lock_last the longest: better locked too long than not. */
	most = lock[0] ? lock[0] : most;
	return most ? at + most : 0;
}

int objlock_hold(struct backend *b, const char *archive, time_t until,
		 struct cairn_error *err)
{
	const struct crypt *c = b->t->crypt;
	char *obj = crypt_object(c, xstrdup(archive));
	/* An encrypted copy's names: A.age, A.age.sha256, A.manifest.age,
	 * A.index.age. */
	char *names[4] = { obj, sidecar_sha(obj),
			   crypt_object(c, sidecar_manifest(archive)),
			   crypt_object(c, index_sidecar(archive)) };
	int rc = CAIRN_OK;

	for (int i = 0; i < 4 && !rc; i++) {
		rc = backend_retain(b, names[i], (int64_t)until, err);
		/* A sidecar this archive never had. */
		if (rc == CAIRN_ENOTFOUND && i)
			rc = CAIRN_OK;
	}
	for (int i = 0; i < 4; i++)
		free(names[i]);
	return rc;
}

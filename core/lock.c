/* One kernel lock per state_dir. flock dies with the process, so a
 * crashed run never leaves a stale lock; the pid inside is only for the
 * message. The file itself is never removed (that would race). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cairn.h"

int lock_acquire(const struct config *cfg, struct lock *lk,
		 struct cairn_error *err)
{
	char buf[32] = "";
	int rc = CAIRN_EFAIL;
	ssize_t n;

	lk->fd = -1;
	lk->path = path_join(cfg->state_dir, "lock");
	if (mkdir_p(cfg->state_dir, 0700)) {
		rc = errno_err(err, 0, errno, "cannot create state_dir %s",
			       cfg->state_dir);
		goto out;
	}
	lk->fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lk->fd < 0) {
		rc = errno_err(err, 0, errno, "cannot open lock %s", lk->path);
		goto out;
	}
	if (flock(lk->fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK) {
			rc = errno_err(err, 0, errno, "cannot lock %s",
				       lk->path);
			goto out;
		}
		n = pread(lk->fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		rc = cairn_errf(err, CAIRN_ELOCKED,
				"another cairn run holds the lock %s (pid %s)",
				lk->path, *buf ? buf : "unknown");
		goto out;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(lk->fd, 0) || pwrite(lk->fd, buf, (size_t)n, 0) != n) {
		rc = errno_err(err, 0, errno, "cannot write %s", lk->path);
		goto out;
	}
	rc = CAIRN_OK;
out:
	if (rc)
		lock_release(lk);
	return rc;
}

void lock_release(struct lock *lk)
{
	if (lk->fd >= 0)
		close(lk->fd);
	lk->fd = -1;
	free(lk->path);
	lk->path = NULL;
}

/* type = command: a dump command whose stdout becomes an archive member
 * (`file`), and a restore command that reads it back on stdin once the
 * member is staged; with --to the dump itself is restored. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cairn.h"

enum { STDERR_CAP = 2048 };

/* The last few lines of stderr, on one line, for the error message. */
static void tail_lines(const char *out, char *buf, size_t n)
{
	const char *p = out ? out + strlen(out) : NULL;
	int lines = 0;
	size_t j = 0;

	if (!p) {
		*buf = '\0';
		return;
	}
	while (p > out && (p[-1] == '\n' || p[-1] == ' '))
		p--;
	const char *end = p;

	while (p > out && lines < 3)
		if (*--p == '\n')
			lines++;
	if (*p == '\n')
		p++;
	for (; p < end && j + 1 < n; p++)
		buf[j++] = *p == '\n' ? '|' : *p;
	buf[j] = '\0';
}

static int command_run(const struct component *c, const char *cmd,
		       const char *what, int in_fd, int out_fd,
		       int *status, struct cairn_error *err)
{
	struct exec_result r;
	char tail[600];
	int rc = CAIRN_EFAIL;

	if (exec_shell(cmd, NULL, (int)c->timeout, in_fd, out_fd, STDERR_CAP,
		       &r)) {
		rc = errno_err(err, 0, errno, "component %s: cannot run %s",
			       c->name, what);
		goto out;
	}
	if (status)
		*status = r.status;
	if (r.status) {
		tail_lines(r.output, tail, sizeof(tail));
		log_error("component %s: %s output: %s", c->name, what,
			  r.output ? r.output : "");
		rc = cairn_errf(err, CAIRN_EFAIL,
				"component %s: %s %s %d%s%s", c->name, what,
				r.timed_out ? "timed out, status" : "exited",
				r.status, *tail ? ": " : "", tail);
		goto out;
	}
	rc = CAIRN_OK;
out:
	exec_result_free(&r);
	return rc;
}

static int command_dump(const struct component *c, const char *dest,
			struct comp_stats *stats, struct cairn_error *err)
{
	double t0 = now_mono();
	int fd, rc;

	log_info("component %s: running dump", c->name);
	fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno_err(err, 0, errno, "cannot create %s", dest);
	rc = command_run(c, c->dump, "dump", -1, fd, &stats->dump_status, err);
	if (!rc && fsync(fd))
		rc = errno_err(err, 0, errno, "cannot write %s", dest);
	close(fd);
	stats->dump_seconds = now_mono() - t0;
	if (rc)
		unlink(dest);
	return rc;
}

static int command_restore(const struct component *c, const char *src,
			   struct cairn_error *err)
{
	int fd, rc;

	log_info("component %s: running restore", c->name);
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno_err(err, 0, errno, "cannot read %s", src);
	rc = command_run(c, c->restore, "restore", fd, -1, NULL, err);
	close(fd);
	return rc;
}
static int command_plan(struct comp_plan *p, struct cairn_error *err)
{
	char *dump = xasprintf("%s/%s.dump", p->staging, p->c->name);
	struct stat st;
	int rc;

	rc = command_dump(p->c, dump, p->stats, err);
	if (!rc && stat(dump, &st))
		rc = errno_err(err, 0, errno, "cannot read dump %s", dump);
	if (!rc) {
		/* The member looks like a file the operator made now. */
		st.st_mode = S_IFREG | 0600;
		st.st_mtime = time(NULL);
		plan_add(p, p->c->file, dump, &st);
		p->stats->files = 1;
	}
	free(dump);
	return rc;
}

/* --to: the dump itself; live: its restore command, after the swap. */
static int command_restore_plan(struct rplan *r, const struct component *c,
				struct cairn_error *err)
{
	(void)err;
	if (r->o->to) {
		rplan_parents(r, c->file);
		r->cnt[N_ADD]++;
		rplan_move(r, c->file, false, true);
	} else {
		sb_printf(&r->summary, "  %s: run its restore command on %s\n",
			  c->name, c->file);
	}
	return CAIRN_OK;
}

static int command_restore_run(const struct component *c,
			       const char *staging, struct cairn_error *err)
{
	char *p = path_join(staging, c->file);
	int rc = command_restore(c, p, err);

	free(p);
	return rc;
}

static void command_inventory(const struct component *c,
			      const struct comp_stats *s, struct sbuf *b)
{
	(void)c;
	sb_printf(b, "    dump: exit %d in %.1f s\n", s->dump_status,
		  s->dump_seconds);
}

const struct comp_ops comp_command_ops = {
	.whole = true,
	.plan = command_plan,
	.restore_plan = command_restore_plan,
	.restore_run = command_restore_run,
	.inventory = command_inventory,
};

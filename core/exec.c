/* Child processes: hooks, [inventory] commands and dump/restore commands.
 * Each runs as `sh -c` in its own process group so a timeout kills the
 * whole pipeline, not just the shell. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn.h"

/* Keep the last `cap` bytes of a child's output: the end says why. */
static void keep_tail(struct sbuf *b, const char *data, size_t n, size_t cap)
{
	sb_add(b, data, n);
	if (b->len > cap) {
		memmove(b->s, b->s + b->len - cap, cap);
		b->len = cap;
		b->s[cap] = '\0';
	}
}

static int reap(pid_t pid, int *status)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		*status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		*status = 128 + WTERMSIG(st);
	return 0;
}

int exec_shell(const char *cmd, char *const *env, int timeout, int in_fd,
	       int out_fd, size_t cap, struct exec_result *res)
{
	struct sbuf out = { 0 };
	double deadline = timeout > 0 ? now_mono() + timeout : 0;
	int pfd[2], rc = -1;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	if (pipe2(pfd, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		dup2(in_fd >= 0 ? in_fd : null, STDIN_FILENO);
		dup2(out_fd >= 0 ? out_fd : pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		for (; env && *env; env++)
			putenv(*env);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	signals_child(pid);
	close(pfd[1]);
	sb_add(&out, "", 0);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int ms = -1, n;
		char buf[4096];

		/* A stop reached the group already; one that ignores it
		 * gets the timeout's treatment two seconds on. */
		if (stop_signal() && (!deadline || deadline > now_mono() + 2))
			deadline = now_mono() + 2;
		if (deadline) {
			double left = deadline - now_mono();

			ms = left > 0 ? (int)(left * 1000) + 1 : 0;
		}
		n = poll(&p, 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			/* Timed out (or stopped): the group, politely, then
			 * firmly. */
			res->timed_out = !stop_signal();
			kill(-pid, SIGTERM);
			for (int i = 0; i < 20; i++) {
				if (waitpid(pid, NULL, WNOHANG) == pid) {
					res->status = 128 + SIGTERM;
					goto done;
				}
				usleep(100000);
			}
			kill(-pid, SIGKILL);
			break;
		}
		ssize_t r = read(pfd[0], buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		keep_tail(&out, buf, (size_t)r, cap);
	}
	if (reap(pid, &res->status))
		goto done;
	rc = 0;
done:
	signals_child(0);
	close(pfd[0]);
	if (res->timed_out)
		rc = 0;
	res->output = out.s;
	return rc;
}

void exec_result_free(struct exec_result *res)
{
	free(res->output);
	res->output = NULL;
}

int run_hook(const struct config *cfg, enum hook h, char *const *env,
	     struct cairn_error *err)
{
	struct exec_result r;
	int rc = CAIRN_EFAIL;

	if (!cfg->hooks[h])
		return CAIRN_OK;
	log_info("running %s hook", hook_names[h]);
	if (exec_shell(cfg->hooks[h], env, 3600, -1, -1, 4096, &r)) {
		errno_err(err, CAIRN_EFAIL, errno, "cannot run %s hook",
			  hook_names[h]);
		goto out;
	}
	if (r.output && *r.output)
		log_info("%s: %s", hook_names[h], r.output);
	if (r.status != 0) {
		cairn_errf(err, CAIRN_EFAIL, "%s hook %s %d",
			   hook_names[h],
			   r.timed_out ? "timed out, status" : "exited",
			   r.status);
		goto out;
	}
	rc = CAIRN_OK;
out:
	exec_result_free(&r);
	return rc;
}

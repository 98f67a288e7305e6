/*
 * SIGTERM (systemctl stop, timeout), SIGINT (Ctrl-C) and SIGHUP ask a
 * run to stop. The handler only records the first signal and passes it
 * on to the process group of the child being run (a dump, a hook); the
 * stages poll stop_check() in their loops and unwind through their
 * cleanup labels, so an interrupted run removes what it wrote and
 * records why it stopped.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cairn.h"

static volatile sig_atomic_t stop_sig;
static volatile sig_atomic_t child_pgid;

static void on_stop(int sig)
{
	if (!stop_sig)
		stop_sig = sig;
	if (child_pgid > 0)
		kill(-(pid_t)child_pgid, SIGTERM);
}

void signals_install(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	/* Restarted calls keep libraries' I/O simple; every loop that
	 * can run long polls the flag instead. */
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

int stop_signal(void)
{
	return stop_sig;
}

int stop_check(struct cairn_error *err)
{
	if (!stop_sig)
		return CAIRN_OK;
	return cairn_errf(err, CAIRN_EFAIL, "interrupted by SIG%s",
			  sigabbrev_np(stop_sig) ?
			  sigabbrev_np(stop_sig) : "?");
}

void signals_child(pid_t pgid)
{
	child_pgid = pgid;
	/* A signal that came before the child existed reaches it now. */
	if (pgid > 0 && stop_sig)
		kill(-pgid, SIGTERM);
}

void stop_clear(void)
{
	stop_sig = 0;
}

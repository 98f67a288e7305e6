/* Logging: plain lines on stderr, timestamped lines in backup.log, and a
 * progress bar when stderr is a terminal. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cairn.h"

int log_verbosity = 1;
static FILE *log_file;
static bool bar_shown;

void log_open_file(const char *path)
{
	if (log_file)
		return;
	log_file = fopen(path, "ae");
}

void log_close_file(void)
{
	if (log_file)
		fclose(log_file);
	log_file = NULL;
}

static void clear_bar(void)
{
	if (bar_shown) {
		fputs("\r\033[K", stderr);
		bar_shown = false;
	}
}

void logmsg(int level, const char *fmt, ...)
{
	static const char *const tag[] = { "error: ", "warning: ", "", "" };
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (level <= (log_verbosity ? log_verbosity + 1 : 0)) {
		clear_bar();
		fprintf(stderr, "cairn: %s%s\n", tag[level & 3], line);
	}
	if (log_file && level <= CAIRN_LOG_INFO) {
		char ts[32];

		fmt_utc(time(NULL), ts);
		fprintf(log_file, "%s %s%s\n", ts, tag[level & 3], line);
		fflush(log_file);
	}
}

bool progress_json;

/* backup --json: a status line at the start, the end, and each second
 * between (what is a target or "backup": no quoting needed). */
static void json_status(const struct progress *p, double t)
{
	printf("{\"schema\":1,\"message_type\":\"status\",\"what\":\"%s\","
	       "\"bytes_done\":%llu,\"total_bytes\":%llu,"
	       "\"percent_done\":%.4f,\"seconds_elapsed\":%.1f}\n", p->what,
	       (unsigned long long)p->done, (unsigned long long)p->total,
	       p->total ? (double)p->done / (double)p->total : 0.0,
	       t - p->start);
	fflush(stdout);
}

void progress_begin(struct progress *p, const char *what, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->total = total;
	p->start = p->last = now_mono();
	p->on = log_verbosity > 0 && isatty(STDERR_FILENO);
	if (progress_json)
		json_status(p, p->start);
}

static void draw(struct progress *p, double t)
{
	double el = t - p->start, rate = el > 0 ? p->done / el : 0;
	double pct = p->total ? 100.0 * p->done / p->total : 0;
	char done[32], eta[32] = "--:--";
	int width = 24, fill = (int)(pct * width / 100);

	if (rate > 0 && p->total > p->done) {
		long s = (long)((p->total - p->done) / rate);

		snprintf(eta, sizeof(eta), "%02ld:%02ld", s / 60, s % 60);
	}
	fmt_bytes(p->done, done);
	fprintf(stderr, "\r\033[K%-8s [%.*s%*s] %5.1f%% %s %.1f MB/s ETA %s",
		p->what, fill, "########################", width - fill, "",
		pct > 100 ? 100 : pct, done, rate / 1e6, eta);
	bar_shown = true;
}

void progress_add(struct progress *p, uint64_t n)
{
	double t;

	p->done += n;
	if (progress_json && (t = now_mono()) - p->jlast >= 1.0) {
		p->jlast = t;
		json_status(p, t);
	}
	if (!p->on)
		return;
	t = now_mono();
	if (t - p->last < 0.1)
		return;
	p->last = t;
	draw(p, t);
}

void progress_end(struct progress *p)
{
	if (progress_json)
		json_status(p, now_mono());
	if (p->on)
		clear_bar();
}

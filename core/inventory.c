/* inventory.txt: enough about the system and the archive that a restore
 * months later can be judged without the machine that made it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cairn.h"

enum { INV_TIMEOUT = 10, INV_CAP = 64 * 1024 };

void inventory_run_commands(const struct config *cfg, struct inv_cmd **out,
			    size_t *n)
{
	struct inv_cmd *c = xcalloc(cfg->inv_cmds.n, sizeof(*c));

	for (size_t i = 0; i < cfg->inv_cmds.n; i++) {
		struct exec_result r;
		double t0 = now_mono();

		c[i].name = xstrdup(cfg->inv_names.v[i]);
		if (exec_shell(cfg->inv_cmds.v[i], NULL, INV_TIMEOUT, -1, -1,
			       INV_CAP, &r)) {
			c[i].status = -1;
			c[i].output = xstrdup("could not run");
		} else {
			c[i].status = r.status;
			c[i].timed_out = r.timed_out;
			c[i].output = r.output;
		}
		c[i].seconds = now_mono() - t0;
		if (c[i].status)
			log_warn("inventory command.%s %s %d", c[i].name,
				 c[i].timed_out ? "timed out, status"
						: "exited", c[i].status);
	}
	*out = c;
	*n = cfg->inv_cmds.n;
}

void inventory_free_commands(struct inv_cmd *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].name);
		free(c[i].output);
	}
	free(c);
}

static void disk_line(struct sbuf *b, const char *label, const char *path)
{
	struct statvfs sv;
	char fr[32], tot[32];

	if (statvfs(path, &sv)) {
		sb_printf(b, "  %-12s %s: unknown\n", label, path);
		return;
	}
	fmt_bytes((uint64_t)sv.f_bavail * sv.f_frsize, fr);
	fmt_bytes((uint64_t)sv.f_blocks * sv.f_frsize, tot);
	sb_printf(b, "  %-12s %s: %s free of %s\n", label, path, fr, tot);
}

static void indent(struct sbuf *b, const char *text)
{
	while (text && *text) {
		size_t n = strcspn(text, "\n");

		sb_printf(b, "    %.*s\n", (int)n, text);
		text += n + (text[n] == '\n');
	}
}

void inventory_format(const struct config *cfg, const char *archive,
		      time_t started, const struct comp_stats *stats,
		      const struct inv_cmd *cmds, size_t ncmds,
		      struct sbuf *b)
{
	struct utsname u;
	char host[256] = "?", ts[32], sz[32];

	gethostname(host, sizeof(host) - 1);
	uname(&u);
	fmt_utc(started, ts);
	sb_printf(b, "cairn inventory\n");
	sb_printf(b, "version:     cairn %s\n", PACKAGE_VERSION);
	sb_printf(b, "host:        %s\n", host);
	sb_printf(b, "kernel:      %s %s %s\n", u.sysname, u.release,
		  u.machine);
	sb_printf(b, "time:        %s\n", ts);
	sb_printf(b, "config:      %s\n", cfg->path);
	sb_printf(b, "source:      %s\n", cfg->source);
	sb_printf(b, "archive:     %s\n", archive);
	sb_printf(b, "\ncomponents:\n");
	for (size_t i = 0; i < cfg->ncomps; i++) {
		const struct component *c = &cfg->comps[i];
		const struct comp_stats *s = &stats[i];

		fmt_bytes(s->bytes, sz);
		sb_printf(b, "  [%s] %s:", c->name, config_type_name(c->type));
		for (size_t j = 0; j < c->paths.n; j++)
			sb_printf(b, " %s", c->paths.v[j]);
		sb_printf(b, "\n    files: %llu  bytes: %llu (%s)\n",
			  (unsigned long long)s->files,
			  (unsigned long long)s->bytes, sz);
		if (comp_ops(c->type)->inventory)
			comp_ops(c->type)->inventory(c, s, b);
		for (size_t j = 0; j < s->notes.n; j++)
			sb_printf(b, "    note: %s\n", s->notes.v[j]);
	}
	sb_printf(b, "\ndisk usage:\n");
	disk_line(b, "source", cfg->source);
	disk_line(b, "archive_dir", cfg->archive_dir);
	for (size_t i = 0; i < ncmds; i++) {
		sb_printf(b, "\ncommand.%s: %s %d (%.1f s)\n", cmds[i].name,
			  cmds[i].timed_out ? "timed out, status" : "exit",
			  cmds[i].status, cmds[i].seconds);
		indent(b, cmds[i].output);
	}
}

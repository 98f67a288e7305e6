/* Unit tests for restore_components: a mode's components, each once,
 * however often the mode lists them and however few components the
 * config has (pick_mode() sized its array from the config's component
 * count and overflowed on `components = db db db db db`). Built by
 * hand, not by config_load, so the check stands whatever the config
 * accepts. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn.h"

#include "unit.h"

int main(void)
{
	struct component comps[4] = {
		{ .name = "db" }, { .name = "audio" }, { .name = "config" },
		{ .name = "logs" },
	};
	struct mode modes[2] = { { .name = "db" }, { .name = "two" } };
	struct config cfg = { .comps = comps, .ncomps = 4, .modes = modes,
			      .nmodes = 2 };
	struct cairn_error err = { 0, "" };
	const struct component **v = NULL;
	size_t n = 0;

	for (int i = 0; i < 5; i++)
		strv_push(&modes[0].comps, "db");
	strv_split(&modes[1].comps, "logs audio logs audio db db");

	check(restore_components(&cfg, "db", &v, &n, &err) == CAIRN_OK,
	      "mode db db db db db", err.msg);
	check(n == 1 && v[0] == &comps[0], "db once", NULL);
	free(v);
	check(restore_components(&cfg, "two", &v, &n, &err) == CAIRN_OK,
	      "mode two", err.msg);
	check(n == 3 && v[0] == &comps[3] && v[1] == &comps[1] &&
	      v[2] == &comps[0], "logs, audio, db once each, in order", NULL);
	free(v);
	check(restore_components(&cfg, "full", &v, &n, &err) == CAIRN_OK &&
	      n == 4, "full: every component", NULL);
	free(v);
	check(restore_components(&cfg, "nope", &v, &n, &err) ==
	      CAIRN_ECONFIG && strstr(err.msg, "full, db, two"),
	      "unknown mode named", err.msg);
	strv_free(&modes[0].comps);
	strv_free(&modes[1].comps);
	printf("1..%d\n", ntests);
	return failures ? 1 : 0;
}

/* Unit tests for the parse helpers in core/util.c: durations (status
 * --max-age), integers, booleans, safe relative paths. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cairn.h"

static int ntests, failures;

static void check(int cond, const char *what)
{
	ntests++;
	if (!cond)
		failures++;
	printf("%s %d - %s\n", cond ? "ok" : "not ok", ntests, what);
}

static void duration_ok(const char *s, long want)
{
	long got = -12345;
	char what[128];
	bool ok = parse_duration(s, &got);

	snprintf(what, sizeof(what), "parse_duration(\"%s\") = %ld (got %s%ld)",
		 s, want, ok ? "" : "failure, ", got);
	check(ok && got == want, what);
}

static void duration_bad(const char *s)
{
	long got = -12345;
	char what[128];
	bool ok = parse_duration(s, &got);

	snprintf(what, sizeof(what), "parse_duration(\"%s\") is refused", s);
	check(!ok && got == -12345, what);
}

int main(void)
{
	duration_ok("30s", 30);
	duration_ok("90m", 90 * 60);
	duration_ok("26h", 26 * 3600);
	duration_ok("7d", 7 * 86400);
	duration_ok("2w", 14 * 86400);
	duration_ok("1h30m", 5400);
	duration_ok("1d12h", 36 * 3600);
	duration_ok("90", 90);
	duration_ok("0", 0);
	duration_bad("");
	duration_bad("h");
	duration_bad("5x");
	duration_bad("-1");
	duration_bad("1h-");
	duration_bad(" 5m");
	duration_bad("5 m");
	duration_bad("99999999999999999999s");
	duration_bad("9999999999999999w");

	{
		long v = -1;

		check(parse_int("42", 0, 100, &v) && v == 42,
		      "parse_int 42 in 0..100");
		check(!parse_int("101", 0, 100, &v), "parse_int 101 > max");
		check(!parse_int("-1", 0, 100, &v), "parse_int -1 < min");
		check(!parse_int("4x", 0, 100, &v), "parse_int 4x");
		check(!parse_int("", 0, 100, &v), "parse_int empty");
	}
	{
		bool b = false;

		check(parse_bool("yes", &b) && b, "parse_bool yes");
		check(parse_bool("No", &b) && !b, "parse_bool No");
		check(parse_bool("true", &b) && b, "parse_bool true");
		check(parse_bool("off", &b) && !b, "parse_bool off");
		check(!parse_bool("maybe", &b), "parse_bool maybe refused");
	}
	check(path_is_safe("data/sound_machine.db"), "safe: data/x.db");
	check(path_is_safe("Sounds"), "safe: Sounds");
	check(path_is_safe("a/..b/c"), "safe: '..b' is a name");
	check(!path_is_safe(""), "unsafe: empty");
	check(!path_is_safe("/etc/passwd"), "unsafe: absolute");
	check(!path_is_safe("../evil"), "unsafe: ../evil");
	check(!path_is_safe("a/../../evil"), "unsafe: a/../../evil");
	check(!path_is_safe("a/.."), "unsafe: a/..");
	check(!path_is_safe("a//b"), "unsafe: empty component");
	printf("1..%d\n", ntests);
	return failures ? 1 : 0;
}

/* Unit tests for the sha256sum-format manifest: format/parse round trip,
 * coreutils' escaping of '\\', newline and CR, and bad lines reported by
 * number. The escaping is compared with sha256sum itself. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn.h"

#include "unit.h"

#define H1 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define H2 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static const char *const names[] = {
	"data/sound_machine.db",
	"Sounds/uploads/a file with spaces.wav",
	"Sounds/new\nline.wav",
	"Sounds/back\\slash.wav",
	"Sounds/both\\n\n.wav",
	"Sounds/cr\r.wav",
	"Sounds/ütf-8 ♪.wav",
	"inventory.txt",
};

static void round_trip(void)
{
	struct manifest m = { 0 }, back = { 0 };
	struct sbuf text = { 0 };
	size_t bad = 0;
	bool same;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		manifest_add(&m, i % 2 ? H2 : H1, names[i]);
	manifest_format(&m, &text);
	check(manifest_parse(text.s, text.len, &back, &bad) == 0,
	      "formatted manifest parses", NULL);
	same = back.n == m.n;
	for (size_t i = 0; same && i < m.n; i++)
		same = !strcmp(back.e[i].path, m.e[i].path) &&
		       !strcmp(back.e[i].hex, m.e[i].hex);
	check(same, "round trip keeps every name and hash, in order", NULL);
	check(manifest_find(&back, "Sounds/new\nline.wav") &&
	      !strcmp(manifest_find(&back, "Sounds/new\nline.wav")->hex, H1),
	      "manifest_find finds a name with a newline", NULL);
	check(!manifest_find(&back, "Sounds/missing.wav"),
	      "manifest_find: absent name", NULL);
	/* One line per entry: the newline in a name is escaped. */
	{
		size_t lines = 0;

		for (size_t i = 0; i < text.len; i++)
			lines += text.s[i] == '\n';
		check(lines == m.n, "one text line per entry", NULL);
	}
	check(strstr(text.s, "\\" H1 "  Sounds/new\\nline.wav\n") != NULL,
	      "newline escaped with a leading backslash", text.s);
	check(strstr(text.s, "\\" H2 "  Sounds/back\\\\slash.wav\n") != NULL,
	      "backslash doubled with a leading backslash", NULL);
	check(!strncmp(text.s, H1 "  data/sound_machine.db\n",
		       strlen(H1 "  data/sound_machine.db\n")),
	      "plain names are not escaped", NULL);
	manifest_free(&back);
	manifest_free(&m);
	sb_free(&text);
}

/* Our lines for files in a temp dir equal sha256sum's own lines. */
static void like_coreutils(void)
{
	static const char *const files[] = { "plain", "a\\b", "c\nd", "e\rf",
					     "g h" };
	char dir[] = "/tmp/cairn-unit-manifest.XXXXXX", cmd[256];
	struct sbuf ours = { 0 }, theirs = { 0 };
	char buf[4096];
	size_t n;
	FILE *p;

	if (!mkdtemp(dir)) {
		check(0, "mkdtemp", NULL);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *path = path_join(dir, files[i]), hex[65];
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || write(fd, files[i], strlen(files[i])) < 0)
			check(0, "write test file", path);
		if (fd >= 0)
			close(fd);
		sha256_file(path, hex, NULL);
		manifest_line(&ours, hex, files[i]);
		free(path);
	}
	/* Same order as the list above. */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && sha256sum -- plain 'a\\b' \"$(printf 'c\\nd')\" "
		 "\"$(printf 'e\\rf')\" 'g h'", dir);
	p = popen(cmd, "r");
	sb_add(&theirs, "", 0);
	while (p && (n = fread(buf, 1, sizeof(buf), p)) > 0)
		sb_add(&theirs, buf, n);
	if (p)
		pclose(p);
	check(theirs.len && !strcmp(ours.s, theirs.s),
	      "manifest lines are byte for byte sha256sum's", theirs.s);
	/* And what sha256sum wrote, we parse. */
	{
		struct manifest m;
		size_t bad = 0;
		bool ok = !manifest_parse(theirs.s, theirs.len, &m, &bad) &&
			  m.n == ARRAY_SIZE(files);

		for (size_t i = 0; ok && i < m.n; i++)
			ok = !strcmp(m.e[i].path, files[i]);
		check(ok, "sha256sum's own output parses to the same names",
		      NULL);
		manifest_free(&m);
	}
	/* sha256sum -c accepts our text. */
	{
		char *sum = path_join(dir, "SUMS");
		struct cairn_error err = { 0, "" };

		write_file_atomic(sum, ours.s, ours.len, 0600, &err);
		snprintf(cmd, sizeof(cmd),
			 "cd %s && sha256sum --quiet -c SUMS >/dev/null 2>&1",
			 dir);
		check(system(cmd) == 0, "sha256sum -c accepts our lines",
		      NULL);
		free(sum);
	}
	rm_rf(dir);
	sb_free(&ours);
	sb_free(&theirs);
}

static void bad_line(const char *what, const char *text, size_t want)
{
	struct manifest m;
	size_t bad = 0;
	char detail[64];
	int rc = manifest_parse(text, strlen(text), &m, &bad);

	snprintf(detail, sizeof(detail), "rc %d, line %zu", rc, bad);
	check(rc == -1 && bad == want && m.n == 0 && !m.e, what, detail);
}

static void bad_lines(void)
{
	bad_line("garbage on line 2", H1 "  a\nnot a checksum line\n"
		 H2 "  b\n", 2);
	bad_line("short hash on line 1", "abc  a\n", 1);
	bad_line("non-hex digit", "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a\n", 1);
	bad_line("one space only", H1 " a\n", 1);
	bad_line("empty name", H1 "  \n", 1);
	bad_line("unknown escape \\t on line 3", H1 "  a\n" H1 "  b\n\\" H1
		 "  c\\td\n", 3);
	bad_line("trailing lone backslash", "\\" H1 "  c\\\n", 1);
	{
		struct manifest m;
		size_t bad = 0;
		const char *t = H1 "  a\n\n" H2 " *b\n" H1 "  c";
		int rc = manifest_parse(t, strlen(t), &m, &bad);

		check(rc == 0 && m.n == 3 && !strcmp(m.e[1].path, "b") &&
		      !strcmp(m.e[2].path, "c"),
		      "blank line, binary marker '*', no final newline", NULL);
		manifest_free(&m);
	}
	{
		struct manifest m;
		size_t bad = 0;
		char t[128];
		int rc;

		snprintf(t, sizeof(t), "%s  x\n", H1);
		for (char *p = t; *p != ' '; p++)
			if (*p >= 'a' && *p <= 'f')
				*p -= 32;
		rc = manifest_parse(t, strlen(t), &m, &bad);
		check(rc == 0 && m.n == 1 && !strcmp(m.e[0].hex, H1),
		      "upper-case hex is read as lower case", NULL);
		manifest_free(&m);
	}
	{
		struct manifest m;
		size_t bad = 0;

		check(manifest_parse("", 0, &m, &bad) == 0 && m.n == 0,
		      "empty text is an empty manifest", NULL);
		manifest_free(&m);
	}
	{
		/* A NUL inside a line is not a name. */
		struct manifest m;
		size_t bad = 0;
		char t[80];

		snprintf(t, sizeof(t), "%s  a", H1);
		t[67] = '\0';
		memcpy(t + 68, "b\n", 2);
		check(manifest_parse(t, 70, &m, &bad) == -1 && bad == 1,
		      "NUL byte in a name is a bad line", NULL);
	}
}

int main(void)
{
	round_trip();
	like_coreutils();
	bad_lines();
	printf("1..%d\n", ntests);
	return failures ? 1 : 0;
}

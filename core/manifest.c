/* MANIFEST.sha256: one `sha256sum` line per member, so `sha256sum -c`
 * checks an extracted tree. Names with '\\' or newlines are escaped the
 * way coreutils does it: a leading backslash marks the line. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cairn.h"

void manifest_line(struct sbuf *out, const char *hex, const char *path)
{
	bool esc = strpbrk(path, "\\\n\r") != NULL;

	if (esc)
		sb_add(out, "\\", 1);
	sb_add(out, hex, 64);
	sb_add(out, "  ", 2);
	for (const char *p = path; *p; p++) {
		if (esc && *p == '\\')
			sb_add(out, "\\\\", 2);
		else if (esc && *p == '\n')
			sb_add(out, "\\n", 2);
		else if (esc && *p == '\r')
			sb_add(out, "\\r", 2);
		else
			sb_add(out, p, 1);
	}
	sb_add(out, "\n", 1);
}

void manifest_add(struct manifest *m, const char *hex, const char *path)
{
	/* Doubling: an archive of a big tree has ~10^5 members. */
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->e = xrealloc(m->e, m->cap * sizeof(*m->e));
	}
	memcpy(m->e[m->n].hex, hex, 65);
	m->e[m->n].path = xstrdup(path);
	m->n++;
}

void manifest_format(const struct manifest *m, struct sbuf *out)
{
	sb_add(out, "", 0);
	for (size_t i = 0; i < m->n; i++)
		manifest_line(out, m->e[i].hex, m->e[i].path);
}

static bool parse_line(const char *s, size_t n, struct manifest *m)
{
	bool esc = n && *s == '\\';
	char hex[65], *path;
	size_t i, j;

	if (esc) {
		s++;
		n--;
	}
	if (n < 67 || s[64] != ' ' || (s[65] != ' ' && s[65] != '*'))
		return false;
	for (i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return false;
		hex[i] = (char)tolower((unsigned char)s[i]);
	}
	hex[64] = '\0';
	path = xmalloc(n - 66 + 1);
	for (i = 66, j = 0; i < n; i++) {
		char c = s[i];

		if (esc && c == '\\') {
			if (++i >= n)
				goto bad;
			c = s[i] == 'n' ? '\n' : s[i] == 'r' ? '\r' : s[i];
			if (c != '\n' && c != '\r' && c != '\\')
				goto bad;
		}
		if (c == '\0')
			goto bad;
		path[j++] = c;
	}
	path[j] = '\0';
	manifest_add(m, hex, path);
	free(path);
	return true;
bad:
	free(path);
	return false;
}

int manifest_parse(const char *text, size_t len, struct manifest *m,
		   size_t *bad_line)
{
	size_t line = 0;
	const char *p = text, *end = text + len;

	memset(m, 0, sizeof(*m));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		line++;
		if (n && !parse_line(p, n, m)) {
			if (bad_line)
				*bad_line = line;
			manifest_free(m);
			return -1;
		}
		p += n + 1;
	}
	return 0;
}

const struct manifest_entry *manifest_find(const struct manifest *m,
					   const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->e[i].path, path))
			return &m->e[i];
	return NULL;
}

void manifest_free(struct manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->e[i].path);
	free(m->e);
	m->e = NULL;
	m->n = m->cap = 0;
}

/* Unit tests for the archive index (core/index.c): write and read back
 * records with odd names (TAB, newline, CR, backslash, control bytes,
 * UTF-8 and non-UTF-8 bytes), one line of 20 TAB-separated fields per
 * record, refusal of damaged indexes (truncated, miscounted, bad fields,
 * bad escapes), lookups and path/glob matching. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn.h"

#include "unit.h"

#define H1 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const char *const names[] = {
	"data/sound_machine.db",
	"Sounds/uploads/a file with spaces.wav",
	"Sounds/tab\there.wav",
	"Sounds/new\nline.wav",
	"Sounds/back\\slash\\n.wav",
	"Sounds/cr\r.wav",
	"Sounds/bell\a\x1b\x7f.wav",
	"Sounds/ütf-8 ♪.wav",
	"Sounds/latin1-\xe9\xff.wav",
	"#not a comment",
	"end",
	"-",
};

static void fill(struct index_rec *r, size_t i)
{
	memset(r, 0, sizeof(*r));
	r->type = "fdlh"[i % 4];
	r->path = (char *)names[i];
	r->size = i * 1000003u;
	r->mode = (mode_t)(i % 2 ? 04755 : 0644);
	r->uid = (uid_t)i;
	r->gid = (gid_t)(i + 1);
	r->uname = (char *)(i % 3 ? "root" : "");
	r->gname = (char *)"gr\toup";
	r->mtime_ns = i == 3 ? -1500000000 : 1764633600123456789 + (long)i;
	r->ctime_ns = 1764633600987654321;
	r->ino = 1234567 + i;
	r->dev = 2049;
	if (r->type == 'f' || r->type == 'h')
		memcpy(r->sha256, H1, 65);
	r->link = (char *)(r->type == 'l' ? "../x\ny" : r->type == 'h'
			   ? names[0] : "");
	r->hdr_off = i * 4096;
	r->data_off = i * 4096 + 512 * (i % 3 + 1);
	r->frame_off = i * 100;
	r->frame_len = 100;
	r->frame_uoff = (i / 2) * 8192;
	r->archive = (char *)(i == 5 ? "mss-backup-2026-02-11_031500.tar.zst"
			      : "");
}

static bool same(const struct index_rec *a, const struct index_rec *b)
{
	return a->type == b->type && !strcmp(a->path, b->path) &&
	       a->size == b->size && a->mode == b->mode &&
	       a->uid == b->uid && a->gid == b->gid &&
	       !strcmp(a->uname, b->uname) && !strcmp(a->gname, b->gname) &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns &&
	       a->ino == b->ino && a->dev == b->dev &&
	       !strcmp(a->sha256, b->sha256) && !strcmp(a->link, b->link) &&
	       a->hdr_off == b->hdr_off && a->data_off == b->data_off &&
	       a->frame_off == b->frame_off && a->frame_len == b->frame_len &&
	       a->frame_uoff == b->frame_uoff &&
	       !strcmp(a->archive, b->archive);
}

static char *write_index(size_t *len)
{
	struct index_writer w;
	struct index_rec r;
	struct cairn_error err = { 0 };
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	index_writer_open(&w, f, "zstd", 4194304);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		fill(&r, i);
		index_writer_add(&w, &r);
	}
	check(index_writer_close(&w, "mem", &err) == CAIRN_OK,
	      "writer closes", err.msg);
	fclose(f);
	return buf;
}

static void round_trip(void)
{
	size_t len, i = 0, lines = 0;
	char *text = write_index(&len);
	FILE *f = fmemopen(text, len, "r");
	struct index_reader r;
	struct index_rec want;
	const struct index_rec *x;
	struct cairn_error err = { 0 };
	bool all = true, fields = true;
	int got;

	check(index_open_fp(&r, f, "mem", &err) == CAIRN_OK, "reader opens",
	      err.msg);
	check(!strcmp(r.compression, "zstd") && r.frame_size == 4194304,
	      "header: compression and frame size", r.compression);
	while ((got = index_next(&r, &x, &err)) > 0) {
		fill(&want, i);
		if (i >= ARRAY_SIZE(names) || !same(x, &want)) {
			all = false;
			printf("# record %zu differs: %s\n", i, x->path);
		}
		i++;
	}
	check(got == 0, "reader reaches the end line", err.msg);
	check(all && i == ARRAY_SIZE(names),
	      "every record comes back identical, odd names included", NULL);
	index_close(&r);
	fclose(f);
	/* Stock tools: a record is one line of exactly 20 TAB fields. */
	for (char *l = text, *nl; (nl = strchr(l, '\n')); l = nl + 1) {
		size_t tabs = 0;

		for (char *p = l; p < nl; p++)
			tabs += *p == '\t';
		lines++;
		if (lines > 2 && strncmp(l, "end\t", 4) && tabs != 19)
			fields = false;
		if ((unsigned char)*l < 0x20)
			fields = false;
	}
	check(lines == ARRAY_SIZE(names) + 3,
	      "header, column line, one line per record, end line", NULL);
	check(fields, "each record has 20 TAB-separated fields", NULL);
	check(strstr(text, "\tSounds/tab\\there.wav\t") &&
	      strstr(text, "\tSounds/new\\nline.wav\t") &&
	      strstr(text, "\tSounds/back\\\\slash\\\\n.wav\t") &&
	      strstr(text, "\tSounds/bell\\x07\\x1b\\x7f.wav\t") &&
	      strstr(text, "\tSounds/latin1-\xe9\xff.wav\t"),
	      "escapes: \\t \\n \\\\ \\xHH; other bytes as they are", NULL);
	check(strstr(text, "\t4755\t") && strstr(text, "\t-1500000000\t"),
	      "mode in octal, times in signed nanoseconds", NULL);
	free(text);
}

/* Read a whole index from text; the reader's verdict. */
static int read_all(const char *text, struct cairn_error *err)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct index_reader r;
	const struct index_rec *x;
	int got, rc;

	if ((rc = index_open_fp(&r, f, "idx", err))) {
		fclose(f);
		return -rc;
	}
	while ((got = index_next(&r, &x, err)) > 0)
		;
	index_close(&r);
	fclose(f);
	return got;
}

static void damaged(void)
{
	size_t len;
	char *text = write_index(&len), *t, *p;
	struct cairn_error err = { 0 };

	check(read_all(text, &err) == 0, "the intact index reads", err.msg);
	/* Truncated: no end line, then a cut record. */
	t = xstrdup(text);
	*strstr(t, "end\t") = '\0';
	check(read_all(t, &err) == -CAIRN_EINTEGRITY &&
	      strstr(err.msg, "truncated"), "missing end line refused",
	      err.msg);
	t[strlen(t) - 7] = '\0';
	check(read_all(t, &err) == -CAIRN_EINTEGRITY,
	      "record cut in the middle refused", err.msg);
	free(t);
	/* A miscount: a record dropped. */
	t = xstrdup(text);
	p = strstr(t, "\nd\t");
	memmove(p + 1, strchr(p + 1, '\n') + 1, strlen(strchr(p + 1, '\n')));
	check(read_all(t, &err) == -CAIRN_EINTEGRITY &&
	      strstr(err.msg, "count"), "a dropped record is detected",
	      err.msg);
	free(t);
	/* A bad number, a bad escape, a bad hash, a bad type. */
	t = xstrdup(text);
	p = strstr(t, "\t4755\t");
	p[1] = '9';
	check(read_all(t, &err) == -CAIRN_EINTEGRITY &&
	      strstr(err.msg, "idx:4: bad index record (field 3)"),
	      "a bad mode names the line and field", err.msg);
	free(t);
	t = xstrdup(text);
	p = strstr(t, "\\x1b");
	p[1] = 'q';
	check(read_all(t, &err) == -CAIRN_EINTEGRITY,
	      "a bad escape is refused", err.msg);
	free(t);
	t = xstrdup(text);
	p = strstr(t, H1);
	p[5] = 'X';
	check(read_all(t, &err) == -CAIRN_EINTEGRITY,
	      "a bad sha256 is refused", err.msg);
	free(t);
	t = xstrdup(text);
	p = strstr(t, "\nd\t");
	p[1] = 'z';
	check(read_all(t, &err) == -CAIRN_EINTEGRITY,
	      "an unknown type is refused", err.msg);
	free(t);
	t = xstrdup(text);
	memcpy(t, "cairn-index 2", 13);
	check(read_all(t, &err) == -CAIRN_EINTEGRITY &&
	      strstr(err.msg, "not a cairn index"),
	      "another version is refused", err.msg);
	free(t);
	t = xasprintf("%sf\tlate\n", text);
	check(read_all(t, &err) == -CAIRN_EINTEGRITY,
	      "data after the end line is refused", err.msg);
	free(t);
	free(text);
}

static void find(void)
{
	char path[] = "/tmp/unit-index.XXXXXX";
	int fd = mkstemp(path);
	size_t len;
	char *text = write_index(&len);
	struct index_rec r;
	struct cairn_error err = { 0 };

	check(fd >= 0 && write(fd, text, len) == (ssize_t)len,
	      "temp index written", NULL);
	close(fd);
	check(index_find(path, "Sounds/new\nline.wav", &r, &err) ==
	      CAIRN_OK && r.type == 'h' && !strcmp(r.link, names[0]),
	      "index_find finds an escaped name", err.msg);
	index_rec_free(&r);
	check(index_find(path, "Sounds/nope.wav", &r, &err) ==
	      CAIRN_ENOTFOUND && strstr(err.msg, "Sounds/nope.wav") &&
	      strstr(err.msg, "cairn ls"),
	      "absent path: named, cairn ls suggested", err.msg);
	{
		char *side = index_sidecar("/a/x.tar.zst");

		check(!strcmp(side, "/a/x.tar.zst.index"), "sidecar name",
		      side);
		free(side);
	}
	unlink(path);
	free(text);
}

static void match(void)
{
	static const struct {
		const char *pat, *path;
		bool m;
	} t[] = {
		{ "Sounds", "Sounds", true },
		{ "Sounds", "Sounds/a.wav", true },
		{ "Sounds/", "Sounds/x/a.wav", true },
		{ "./Sounds", "Sounds/a.wav", true },
		{ "Sounds", "Soundsx/a.wav", false },
		{ "Sounds/a.wav", "Sounds/a.wav", true },
		{ "Sounds/a.wav", "Sounds/a.wavx", false },
		{ "*.wav", "Sounds/up/a.wav", true },
		{ "Sounds/*.wav", "Sounds/up/a.wav", true },
		{ "Sounds/*.wav", "data/a.wav", false },
		{ "Sounds/u*", "Sounds/up/a.wav", true },
		{ "data/*.db", "data/sound_machine.db", true },
		{ "data/?.db", "data/sound_machine.db", false },
		{ ".", "anything/at/all", true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char what[160];

		snprintf(what, sizeof(what), "match %s %s: %s", t[i].pat,
			 t[i].path, t[i].m ? "yes" : "no");
		check(index_match(t[i].pat, t[i].path) == t[i].m, what, NULL);
	}
}

int main(void)
{
	round_trip();
	damaged();
	find();
	match();
	printf("1..%d\n", ntests);
	return failures != 0;
}

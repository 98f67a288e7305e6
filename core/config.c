/*
 * Configuration: an INI file read with inih, then CAIRN_* environment
 * overrides, then validation into struct config. Every error names where
 * the value came from (FILE:LINE or the variable) and the key.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "cairn.h"

const char *const hook_names[HOOK_N] = {
	"pre_backup", "post_backup", "on_failure",
	"pre_restore", "post_restore", "verify_restore",
	"drill",
};

/* Keys no config file may hold unless only its owner can read it. */
static const char *const secret_keys[] = {
	"secret_key", "session_token", "passphrase", "password",
};

static const char *const cairn_keys[] = {
	"name", "source", "archive_dir", "state_dir", "compression",
	"compression_level", "threads", "keep_last", "keep_daily",
	"keep_weekly", "keep_monthly", "keep_yearly", "metrics_file",
	"safety_net_days",
	"frame_size",
	"incremental",
	"full_every",
	"shrink_alarm", "min_copies", /* drills, shrink alarm, copies */
	NULL,
};
static const char *const component_keys[] = {
	"type", "path", "required", "exclude", "dump", "restore", "file",
	"timeout",
	"drill", "shrink_alarm", /* drills, shrink alarm */
	NULL,
};
static const char *const mode_keys[] = { "components", NULL };
static const char *const target_core_keys[] = {
	"plugin", "enabled", "keep_last", "keep_daily", "keep_weekly",
	"keep_monthly", "keep_yearly", "retries", "retry_delay", "bwlimit",
	"offsite", /* status --copies */
	"lock_last", "lock_daily", "lock_weekly", "lock_monthly", "lock_yearly",
	NULL,
};

/* Component types: `type = NAME`, how their keys read, and the live
 * files beside their path that they own. Each type's operations are in
 * its comp_NAME.c (comp.c). */
static const char *const sqlite_siblings[] = { "-wal", "-shm", "-journal",
					       NULL };
static const struct comp_type_def {
	const char *name;
	enum comp_type type;
	bool command;  /* dump, restore and file instead of path */
	bool one_path; /* path names one file */
	const char *const *siblings;
} comp_types[] = {
	{ "files", COMP_FILES, false, false, NULL },
	{ "sqlite", COMP_SQLITE, false, true, sqlite_siblings },
	{ "command", COMP_COMMAND, true, false, NULL },
};

static const struct comp_type_def *type_def(enum comp_type t)
{
	for (size_t i = 0; i < ARRAY_SIZE(comp_types); i++)
		if (comp_types[i].type == t)
			return &comp_types[i];
	return NULL;
}

const char *config_type_name(enum comp_type t)
{
	return type_def(t) ? type_def(t)->name : "?";
}

/* Sections that carry a name, and the key whose env var may create one. */
static const struct {
	const char *kind;
	bool named;
	const char *creator;
} kinds[] = {
	{ "cairn", false, NULL },     { "component", true, "type" },
	{ "mode", true, "components" }, { "target", true, "plugin" },
	{ "hooks", false, NULL },     { "inventory", false, NULL },
	{ "notify", true, "type" },
};

struct parse {
	const char *file;
	FILE *fp;
	int line;
	int read_errno;
	bool continuation;
	struct config *cfg;
	struct section *cur;
	struct cairn_error *err;
	bool failed;
	bool loose_mode; /* file readable by group or others */
};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* The core's own secrets, in any section, and a plugin's SECRET keys. */
bool config_key_is_secret(const struct cairn_key_spec *specs,
			  const char *key)
{
	const struct cairn_key_spec *k = config_spec_find(specs, key);

	for (size_t i = 0; i < ARRAY_SIZE(secret_keys); i++)
		if (!strcmp(key, secret_keys[i]))
			return true;
	return k && (k->flags & CAIRN_KEY_SECRET);
}

bool config_is_core_target_key(const char *key)
{
	return in_list(target_core_keys, key);
}

const struct cairn_key_spec *config_spec_find(
	const struct cairn_key_spec *specs, const char *key)
{
	uint32_t step = specs ? specs->size : 0;

	for (const struct cairn_key_spec *k = specs; k && k->name;
	     k = (const void *)((const char *)k + step))
		if (!strcmp(k->name, key))
			return k;
	return NULL;
}

/* "64M", "64MiB", "64MB", "1048576": binary units. */
static bool parse_size(const char *s, int64_t *out)
{
	static const char units[] = "KMGT";
	const char *u;
	char *end;
	long long v;
	int shift = 0;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0 || !isdigit((unsigned char)*s))
		return false;
	if (*end) {
		if (!(u = strchr(units, toupper((unsigned char)*end))))
			return false;
		shift = 10 * (int)(u - units + 1);
		end++;
		if (!strcasecmp(end, "ib") || !strcasecmp(end, "b"))
			end += strlen(end);
		if (*end || v > (INT64_MAX >> shift))
			return false;
	}
	*out = (int64_t)v << shift;
	return true;
}

int config_parse_typed(uint32_t type, const char *text, int64_t *num,
		       char **str)
{
	const char *home;
	long l;
	bool b;
	char *end;

	*num = 0;
	*str = NULL;
	switch (type) {
	case CAIRN_KEY_STRING:
		break;
	case CAIRN_KEY_BOOL:
		if (!parse_bool(text, &b))
			return -1;
		*num = b;
		break;
	case CAIRN_KEY_INT:
		errno = 0;
		*num = strtoll(text, &end, 10);
		if (errno || end == text || *end)
			return -1;
		break;
	case CAIRN_KEY_SIZE:
		if (!parse_size(text, num))
			return -1;
		break;
	case CAIRN_KEY_DURATION:
		if (!parse_duration(text, &l))
			return -1;
		*num = l;
		break;
	case CAIRN_KEY_PATH:
		if (!strncmp(text, "~/", 2) && (home = getenv("HOME")) &&
		    *home == '/') {
			*str = xasprintf("%s/%s", home, text + 2);
			return 0;
		}
		if (*text != '/')
			return -1;
		break;
	default:
		return -1;
	}
	*str = xstrdup(text);
	return 0;
}

static const char *const type_want[] = {
	"", "text", "yes or no", "a whole number", "a size (64M, 1G)",
	"a duration (30s, 1h30m, 7d)", "an absolute path",
};

static bool typed_ok(const struct cairn_key_spec *k, const char *text,
		     int64_t *num, char **str)
{
	if (config_parse_typed(k->type, text, num, str))
		return false;
	if (k->type != CAIRN_KEY_INT && k->type != CAIRN_KEY_SIZE &&
	    k->type != CAIRN_KEY_DURATION)
		return true;
	return k->max <= k->min || (*num >= k->min && *num <= k->max);
}

static int typed_bad(struct cairn_error *e, const char *where,
		     const struct cairn_key_spec *k)
{
	if (k->max > k->min && k->type <= CAIRN_KEY_PATH)
		return cairn_errf(e, CAIRN_ECONFIG, "%s: bad value for '%s': "
				  "want %s in %lld..%lld", where, k->name,
				  type_want[k->type], (long long)k->min,
				  (long long)k->max);
	return cairn_errf(e, CAIRN_ECONFIG, "%s: bad value for '%s': want "
			  "%s", where, k->name,
			  k->type <= CAIRN_KEY_PATH ? type_want[k->type] : "?");
}

static int kind_index(const char *kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i].kind, kind))
			return (int)i;
	return -1;
}

static struct section *find_section(struct config *cfg, const char *kind,
				    const char *name)
{
	for (size_t i = 0; i < cfg->nsecs; i++) {
		struct section *s = &cfg->secs[i];

		if (!strcmp(s->kind, kind) &&
		    ((!name && !s->name) ||
		     (name && s->name && !strcmp(name, s->name))))
			return s;
	}
	return NULL;
}

static struct section *add_section(struct config *cfg, const char *kind,
				   const char *name, const char *where)
{
	struct section *s;

	cfg->secs = xrealloc(cfg->secs, (cfg->nsecs + 1) * sizeof(*s));
	s = &cfg->secs[cfg->nsecs++];
	memset(s, 0, sizeof(*s));
	s->kind = xstrdup(kind);
	s->name = name ? xstrdup(name) : NULL;
	s->where = xstrdup(where);
	return s;
}

const struct kv *section_get(const struct section *sec, const char *key)
{
	if (sec && sec->top && !strncmp(key, "cairn.", 6))
		return section_get(sec->top, key + 6);
	for (size_t i = 0; sec && i < sec->nkv; i++)
		if (!strcmp(sec->kv[i].key, key))
			return &sec->kv[i];
	return NULL;
}

static void set_kv(struct section *s, const char *key, const char *val,
		   const char *where, bool append)
{
	struct kv *kv = (struct kv *)section_get(s, key);

	if (kv && append) {
		char *v = xasprintf("%s %s", kv->val, val);

		free(kv->val);
		kv->val = v;
		return;
	}
	if (!kv) {
		s->kv = xrealloc(s->kv, (s->nkv + 1) * sizeof(*kv));
		kv = &s->kv[s->nkv++];
		kv->key = xstrdup(key);
	} else {
		free(kv->val);
		free(kv->where);
	}
	kv->val = xstrdup(val);
	kv->where = xstrdup(where);
	kv->loose = false;
}

void config_target_set(const struct target *t, const char *key,
		       const char *val, const char *where)
{
	set_kv(t->sec, key, val, where, false);
}

static void perr(struct parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void perr(struct parse *p, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (p->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cairn_errf(p->err, CAIRN_ECONFIG, "%s:%d: %s", p->file, p->line, msg);
	p->failed = true;
}

/* "[component db]" -> kind "component", name "db". */
static void section_header(struct parse *p, const char *line)
{
	char kind[64] = "", name[128] = "", where[512];
	const char *end = strchr(line, ']');
	int k, n;

	if (!end)
		return; /* inih reports it */
	n = sscanf(line, "[%63s %127[^]]", kind, name);
	if (n >= 1 && kind[strlen(kind) - 1] == ']')
		kind[strlen(kind) - 1] = '\0';
	k = kind_index(kind);
	if (k < 0) {
		perr(p, "unknown section [%.*s]", (int)(end - line - 1),
		     line + 1);
		return;
	}
	if (kinds[k].named != (n == 2 && *name)) {
		perr(p, kinds[k].named ? "section [%s] needs a name"
				       : "section [%s] takes no name", kind);
		return;
	}
	for (char *q = name + strlen(name); q > name && isspace(q[-1]);)
		*--q = '\0';
	snprintf(where, sizeof(where), "%s:%d", p->file, p->line);
	p->cur = find_section(p->cfg, kind, n == 2 ? name : NULL);
	if (p->cur) {
		perr(p, "section [%s%s%s] appears twice", kind,
		     n == 2 ? " " : "", n == 2 ? name : "");
		return;
	}
	p->cur = add_section(p->cfg, kind, n == 2 ? name : NULL, where);
}

/*
 * inih reads through this, so we know each key's line number. One call
 * is one whole line: a longer one, or a NUL byte, is an error here
 * rather than a fragment inih would misparse.
 */
static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	size_t n = 0, l;
	int c = EOF;
	const char *t;

	if (p->failed)
		return NULL;
	while (n + 1 < (size_t)num && (c = getc(p->fp)) != EOF) {
		if (!c) {
			p->line++;
			perr(p, "NUL byte in line");
			return NULL;
		}
		str[n++] = (char)c;
		if (c == '\n')
			break;
	}
	if (ferror(p->fp)) {
		p->read_errno = errno ? errno : EIO;
		return NULL;
	}
	if (!n)
		return NULL;
	str[n] = '\0';
	p->line++;
	l = n;
	if (str[l - 1] == '\n')
		l--;
	if (l && str[l - 1] == '\r')
		l--;
	if (l > CONFIG_MAX_LINE || (str[n - 1] != '\n' && c != EOF)) {
		perr(p, "line longer than %d bytes", CONFIG_MAX_LINE);
		return NULL;
	}
	p->continuation = *str == ' ' || *str == '\t';
	for (t = str; isspace((unsigned char)*t); t++)
		;
	if (*t == '[')
		section_header(p, t);
	return str;
}

static bool key_known(const struct section *s, const char *key)
{
	switch (kind_index(s->kind)) {
	case 0:
		return in_list(cairn_keys, key) || in_list(crypt_keys, key);
	case 1:
		return in_list(component_keys, key);
	case 2:
		return in_list(mode_keys, key);
	case 3:
		return true; /* plugin keys are checked when it loads */
	case 4:
		for (int h = 0; h < HOOK_N; h++)
			if (!strcmp(key, hook_names[h]))
				return true;
		return false;
	case 5:
		return !strncmp(key, "command.", 8) && key[8];
	case 6:
		return true; /* notify.c checks them against the plugin's */
	}
	return false;
}

static int handler(void *user, const char *section, const char *key,
		   const char *value)
{
	struct parse *p = user;
	char where[512];

	(void)section;
	if (p->failed)
		return 1;
	if (!p->cur) {
		perr(p, "key '%s' outside any section", key);
		return 0;
	}
	if (!key_known(p->cur, key)) {
		perr(p, "unknown key '%s' in [%s%s%s]", key, p->cur->kind,
		     p->cur->name ? " " : "",
		     p->cur->name ? p->cur->name : "");
		return 0;
	}
	if (config_key_is_secret(NULL, key) && p->loose_mode) {
		cairn_errf(p->err, CAIRN_ECONFIG,
			   "%s:%d: holds '%s' but is readable by group or "
			   "others; chmod 600 %s", p->file, p->line, key,
			   p->file);
		p->failed = true;
		return 0;
	}
	if (!p->continuation && section_get(p->cur, key)) {
		perr(p, "duplicate key '%s'", key);
		return 0;
	}
	snprintf(where, sizeof(where), "%s:%d", p->file, p->line);
	set_kv(p->cur, key, value, where, p->continuation);
	/* A plugin's secrets are known once it loads. */
	((struct kv *)section_get(p->cur, key))->loose = p->loose_mode;
	return 1;
}

static void upper_ident(char *out, size_t n, const char *in)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < n; i++)
		out[i] = isalnum((unsigned char)in[i])
				 ? (char)toupper((unsigned char)in[i])
				 : '_';
	out[i] = '\0';
}

static void lower_key(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/*
 * CAIRN_<KIND>_<NAME>_<KEY>: find the longest configured NAME that the
 * rest starts with; NULL when none.
 */
static struct section *env_named(struct config *cfg, const char *kind,
				 const char *rest, const char **key)
{
	struct section *best = NULL;
	size_t bestlen = 0;

	for (size_t i = 0; i < cfg->nsecs; i++) {
		char up[256];
		size_t l;

		if (strcmp(cfg->secs[i].kind, kind) || !cfg->secs[i].name)
			continue;
		upper_ident(up, sizeof(up), cfg->secs[i].name);
		l = strlen(up);
		if (l > bestlen && !strncmp(rest, up, l) && rest[l] == '_') {
			best = &cfg->secs[i];
			bestlen = l;
		}
	}
	if (best)
		*key = rest + bestlen + 1;
	return best;
}

/* Variables cairn sets for hooks or reads itself; not config keys. */
static const char *const env_reserved[] = {
	"CONFIG", "PLUGIN_DIR", "ARCHIVE", "STATUS", "ERROR", "MODE",
	"SAFETY_NET", "TARGET", "SWAP_PAUSE", "STAGE_PAUSE", "RETRY_DELAY",
	"PUBLISH_PAUSE",
	"DRILL_DIR", "DRILL_FILE",
	"IDENTITY", /* the age identity file (crypt.c) */
	NULL,
};

static int apply_env_var(struct config *cfg, const char *var,
			 const char *val, bool create, struct cairn_error *e)
{
	char name[256];
	const char *rest = var + 6, *key = NULL;
	struct section *s = NULL;
	size_t i;

	for (i = 1; i < ARRAY_SIZE(kinds); i++) {
		char up[32];
		size_t l;

		upper_ident(up, sizeof(up), kinds[i].kind);
		if (!strcmp(kinds[i].kind, "hooks") ||
		    !strcmp(kinds[i].kind, "inventory")) {
			l = strlen(up);
			if (strncmp(rest, up, l) || rest[l] != '_')
				continue;
			key = rest + l + 1;
			s = find_section(cfg, kinds[i].kind, NULL);
			if (!s)
				s = add_section(cfg, kinds[i].kind, NULL,
						var);
			break;
		}
		l = strlen(up);
		if (strncmp(rest, up, l) || rest[l] != '_')
			continue;
		s = env_named(cfg, kinds[i].kind, rest + l + 1, &key);
		if (!s && create) {
			/* CAIRN_TARGET_X_PLUGIN defines target "x". */
			char cre[32];
			size_t rl = strlen(rest + l + 1), cl;

			upper_ident(cre, sizeof(cre), kinds[i].creator);
			cl = strlen(cre);
			if (rl > cl + 1 &&
			    !strcmp(rest + l + 1 + rl - cl, cre) &&
			    rest[l + 1 + rl - cl - 1] == '_') {
				snprintf(name, sizeof(name), "%.*s",
					 (int)(rl - cl - 1), rest + l + 1);
				lower_key(name);
				s = add_section(cfg, kinds[i].kind, name,
						var);
				key = rest + l + 1 + rl - cl;
			}
		}
		break;
	}
	if (i == ARRAY_SIZE(kinds)) {
		/* [cairn] keys have no section part. */
		s = find_section(cfg, "cairn", NULL);
		if (!s)
			s = add_section(cfg, "cairn", NULL, var);
		key = rest;
	}
	if (!s || !key || !*key)
		return create ? CAIRN_OK : cairn_errf(e, CAIRN_ECONFIG,
			"%s: no such section (define it with its %s first)",
			var, i < ARRAY_SIZE(kinds) && kinds[i].creator ?
			kinds[i].creator : "section");
	snprintf(name, sizeof(name), "%s", key);
	lower_key(name);
	if (!strcmp(s->kind, "inventory")) {
		if (strncmp(name, "command_", 8))
			return cairn_errf(e, CAIRN_ECONFIG,
					  "%s: unknown key", var);
		name[7] = '.';
	}
	if (!key_known(s, name))
		return cairn_errf(e, CAIRN_ECONFIG, "%s: unknown key '%s'",
				  var, name);
	set_kv(s, name, val, var, false);
	return CAIRN_OK;
}

static bool env_is_reserved(const char *rest)
{
	for (const char *const *r = env_reserved; *r; r++) {
		size_t l = strlen(*r);

		if (!strncmp(rest, *r, l) && rest[l] == '=')
			return true;
	}
	return false;
}

/*
 * Two passes: variables that define sections (…_PLUGIN, …_TYPE) first,
 * so that CAIRN_TARGET_X_PATH finds target x whatever environ's order.
 */
static int apply_env(struct config *cfg, char **env, struct cairn_error *e)
{
	for (int pass = 0; pass < 2; pass++) {
		for (char **ep = env; ep && *ep; ep++) {
			const char *eq = strchr(*ep, '=');
			char var[256];
			int rc;

			if (strncmp(*ep, "CAIRN_", 6) || !eq ||
			    env_is_reserved(*ep + 6))
				continue;
			snprintf(var, sizeof(var), "%.*s", (int)(eq - *ep),
				 *ep);
			if (pass == 0) {
				bool creator = false;

				for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
					if (kinds[i].creator) {
						char up[32];
						size_t vl = strlen(var), cl;

						upper_ident(up, sizeof(up),
							    kinds[i].creator);
						cl = strlen(up);
						creator |= vl > cl &&
						  !strcmp(var + vl - cl, up) &&
						  var[vl - cl - 1] == '_';
					}
				if (!creator)
					continue;
			}
			rc = apply_env_var(cfg, var, eq + 1, pass == 0, e);
			if (rc)
				return rc;
		}
	}
	return CAIRN_OK;
}

/* Typed values --------------------------------------------------------- */

static int bad_value(struct cairn_error *e, const struct kv *kv,
		     const char *want)
{
	return cairn_errf(e, CAIRN_ECONFIG, "%s: bad value for '%s': %s",
			  kv->where, kv->key, want);
}

static int get_str(const struct section *s, const char *key, char **out,
		   bool required, struct cairn_error *e)
{
	const struct kv *kv = section_get(s, key);

	if (!kv || !*kv->val) {
		if (required)
			return cairn_errf(e, CAIRN_ECONFIG,
					  "%s: missing required key '%s' in "
					  "[%s%s%s]", s->where, key, s->kind,
					  s->name ? " " : "",
					  s->name ? s->name : "");
		return CAIRN_OK;
	}
	free(*out);
	*out = xstrdup(kv->val);
	return CAIRN_OK;
}

static int get_long(const struct section *s, const char *key, long min,
		    long max, long *out, struct cairn_error *e)
{
	const struct kv *kv = section_get(s, key);
	char want[96];

	if (!kv)
		return CAIRN_OK;
	if (!parse_int(kv->val, min, max, out)) {
		snprintf(want, sizeof(want), "want a whole number %ld..%ld",
			 min, max);
		return bad_value(e, kv, want);
	}
	return CAIRN_OK;
}

/* A size: bytes, or with a K/M/G suffix (powers of 1024, "4M", "4MiB"). */
static int get_size(const struct section *s, const char *key, long min,
		    long max, long *out, struct cairn_error *e)
{
	const struct kv *kv = section_get(s, key);
	char *end, want[96];
	long long v;
	int shift = 0;

	if (!kv)
		return CAIRN_OK;
	errno = 0;
	v = strtoll(kv->val, &end, 10);
	if (*end && strchr("kKmMgG", *end)) {
		shift = strchr("kK", *end) ? 10 : strchr("mM", *end) ? 20 : 30;
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
	}
	if (end == kv->val || *end || errno || v < 0 ||
	    v > (LLONG_MAX >> shift) || (v << shift) < min ||
	    (v << shift) > max) {
		snprintf(want, sizeof(want), "want a size %ldK..%ldM, such "
			 "as 4M", min >> 10, max >> 20);
		return bad_value(e, kv, want);
	}
	*out = (long)(v << shift);
	return CAIRN_OK;
}

static int get_bool(const struct section *s, const char *key, bool *out,
		    struct cairn_error *e)
{
	const struct kv *kv = section_get(s, key);

	if (kv && !parse_bool(kv->val, out))
		return bad_value(e, kv, "want yes or no");
	return CAIRN_OK;
}

/* A percentage, "20%" or "20"; "off" or "no" is 100 (a drop can never
 * exceed it). */
static int get_percent(const struct section *s, const char *key, long *out,
		       struct cairn_error *e)
{
	const struct kv *kv = section_get(s, key);
	char buf[32];
	size_t l;

	if (!kv)
		return CAIRN_OK;
	if (!strcmp(kv->val, "off") || !strcmp(kv->val, "no")) {
		*out = 100;
		return CAIRN_OK;
	}
	l = strlen(kv->val);
	snprintf(buf, sizeof(buf), "%.*s", (int)(l && kv->val[l - 1] == '%' ?
		 l - 1 : l), kv->val);
	if (l >= sizeof(buf) || !parse_int(buf, 0, 100, out))
		return bad_value(e, kv, "want a percentage 0%..100% or off");
	return CAIRN_OK;
}

static int get_policy(const struct section *s, struct policy *p,
		      struct cairn_error *e)
{
	const long max = 100000;

	if (get_long(s, "keep_last", 0, max, &p->last, e) ||
	    get_long(s, "keep_daily", 0, max, &p->daily, e) ||
	    get_long(s, "keep_weekly", 0, max, &p->weekly, e) ||
	    get_long(s, "keep_monthly", 0, max, &p->monthly, e) ||
	    get_long(s, "keep_yearly", 0, max, &p->yearly, e))
		return CAIRN_ECONFIG;
	return CAIRN_OK;
}

static bool ident_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

/* An entry of v that an earlier one repeats, or NULL. */
static const char *strv_repeat(const struct strv *v)
{
	for (size_t i = 1; i < v->n; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(v->v[i], v->v[j]))
				return v->v[i];
	return NULL;
}

/* `type =`: one of comp_types, or an error listing them. */
static int get_type(const struct section *s, size_t *t, struct cairn_error *e)
{
	struct sbuf want = { 0 };
	char *type = NULL;
	int rc;

	if ((rc = get_str(s, "type", &type, true, e)))
		return rc;
	for (*t = 0; *t < ARRAY_SIZE(comp_types); (*t)++)
		if (!strcmp(type, comp_types[*t].name))
			break;
	free(type);
	if (*t < ARRAY_SIZE(comp_types))
		return CAIRN_OK;
	sb_printf(&want, "want");
	for (size_t i = 0; i < ARRAY_SIZE(comp_types); i++)
		sb_printf(&want, "%s %s", i == 0 ? "" : i + 1 ==
			  ARRAY_SIZE(comp_types) ? " or" : ",",
			  comp_types[i].name);
	rc = bad_value(e, section_get(s, "type"), want.s);
	sb_free(&want);
	return rc;
}

static int build_component(const struct section *s, struct component *c,
			   struct cairn_error *e)
{
	const struct kv *kv;
	const char *dup;
	size_t t;

	c->name = xstrdup(s->name);
	c->required = true;
	c->timeout = 3600;
	c->shrink_alarm = -1;
	if (get_type(s, &t, e) || get_bool(s, "required", &c->required, e) ||
	    get_long(s, "timeout", 1, 7 * 86400, &c->timeout, e) ||
	    get_percent(s, "shrink_alarm", &c->shrink_alarm, e) ||
	    get_str(s, "drill", &c->drill, false, e))
		return CAIRN_ECONFIG;
	c->type = comp_types[t].type;
	c->siblings = comp_types[t].siblings;

	if (c->drill && !comp_types[t].command)
		return bad_value(e, section_get(s, "drill"), "only command "
				 "components take a drill command");
	if (comp_types[t].command) {
		if (get_str(s, "dump", &c->dump, true, e) ||
		    get_str(s, "restore", &c->restore, true, e) ||
		    get_str(s, "file", &c->file, true, e))
			return CAIRN_ECONFIG;
		if (!path_is_safe(c->file))
			return bad_value(e, section_get(s, "file"),
					 "want a relative path without '..'");
		strv_push(&c->paths, c->file);
	} else {
		if (!(kv = section_get(s, "path")) || !*kv->val)
			return cairn_errf(e, CAIRN_ECONFIG,
					  "%s: missing required key 'path' "
					  "in [component %s]", s->where,
					  s->name);
		strv_split(&c->paths, kv->val);
		if (comp_types[t].one_path && c->paths.n != 1)
			return bad_value(e, kv, "want one database file");
		for (size_t i = 0; i < c->paths.n; i++) {
			size_t l = strlen(c->paths.v[i]);

			while (l > 1 && c->paths.v[i][l - 1] == '/')
				c->paths.v[i][--l] = '\0';
			if (!path_is_safe(c->paths.v[i]))
				return bad_value(e, kv,
						 "want paths relative to "
						 "source, without '..'");
		}
		if ((dup = strv_repeat(&c->paths)))
			return cairn_errf(e, CAIRN_ECONFIG,
					  "%s: component '%s' lists path "
					  "'%s' twice", kv->where, c->name,
					  dup);
	}
	if ((kv = section_get(s, "exclude")))
		strv_split(&c->excludes, kv->val);
	return CAIRN_OK;
}

static bool strv_contains(const struct strv *v, const char *str)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], str))
			return true;
	return false;
}

/* Two components backing up the same path would restore it twice. */
static int check_shared_paths(struct config *cfg, struct cairn_error *e)
{
	const char *key;

	for (size_t i = 1; i < cfg->ncomps; i++) {
		const struct component *c = &cfg->comps[i];

		for (size_t j = 0; j < i; j++)
			for (size_t k = 0; k < c->paths.n; k++) {
				const struct section *s;

				if (!strv_contains(&cfg->comps[j].paths,
						   c->paths.v[k]))
					continue;
				s = find_section(cfg, "component", c->name);
				key = type_def(c->type)->command ? "file"
								  : "path";
				return cairn_errf(e, CAIRN_ECONFIG,
					"%s: path '%s' is in component '%s' "
					"and component '%s'",
					section_get(s, key)->where,
					c->paths.v[k], cfg->comps[j].name,
					c->name);
			}
	}
	return CAIRN_OK;
}

/* full_every = 7d (a duration) or 7 (a count of backups). */
static int get_full_every(const struct section *s, struct full_every *fe,
			  struct cairn_error *e)
{
	const struct kv *kv = section_get(s, "full_every");

	fe->secs = 7 * 86400;
	fe->count = 0;
	if (!kv)
		return CAIRN_OK;
	if (parse_int(kv->val, 1, 100000, &fe->count))
		return CAIRN_OK;
	fe->count = 0;
	if (!parse_duration(kv->val, &fe->secs) || fe->secs < 3600)
		return bad_value(e, kv, "want a duration of 1h or more "
				 "(e.g. 7d, 2w) or a count of backups");
	return CAIRN_OK;
}

/* [cairn]: names, directories, compression, retention. */
static int build_top(struct config *cfg, const struct section *top,
		     struct cairn_error *e)
{
	char *comp = NULL;
	int rc;

	cfg->keep.last = 7;
	cfg->safety_net_days = 7;
	cfg->level = -1;
	cfg->shrink_alarm = 20;
	cfg->min_copies = 2;
	if ((rc = get_str(top, "name", &cfg->name, true, e)) ||
	    (rc = get_str(top, "source", &cfg->source, true, e)) ||
	    (rc = get_str(top, "archive_dir", &cfg->archive_dir, true, e)) ||
	    (rc = get_str(top, "state_dir", &cfg->state_dir, false, e)) ||
	    (rc = get_str(top, "metrics_file", &cfg->metrics_file, false,
			  e)) ||
	    (rc = get_str(top, "compression", &comp, false, e)) ||
	    (rc = get_long(top, "threads", 0, 256, &cfg->threads, e)) ||
	    (rc = get_long(top, "safety_net_days", 0, 36500,
			   &cfg->safety_net_days, e)) ||
	    (rc = get_policy(top, &cfg->keep, e)) ||
	    (rc = get_bool(top, "incremental", &cfg->incremental, e)) ||
	    (rc = get_full_every(top, &cfg->full_every, e)) ||
	    (rc = get_percent(top, "shrink_alarm", &cfg->shrink_alarm, e)) ||
	    (rc = get_long(top, "min_copies", 1, 100, &cfg->min_copies, e)))
		goto out;
	cfg->frame_size = 4L << 20;
	if ((rc = get_size(top, "frame_size", 64L << 10, 1L << 30,
			   &cfg->frame_size, e)))
		goto out;
	if (!ident_ok(cfg->name)) {
		rc = bad_value(e, section_get(top, "name"),
			       "want letters, digits, '.', '_' or '-'");
		goto out;
	}
	if (!cfg->state_dir)
		cfg->state_dir = xstrdup(cfg->archive_dir);
	if (!comp || !strcmp(comp, "zstd")) {
		cfg->compression = COMP_ZSTD;
	} else if (!strcmp(comp, "gzip")) {
		cfg->compression = COMP_GZIP;
	} else if (!strcmp(comp, "none")) {
		cfg->compression = COMP_NONE;
	} else {
		rc = bad_value(e, section_get(top, "compression"),
			       "want zstd, gzip or none");
		goto out;
	}
	if ((rc = get_long(top, "compression_level",
			   cfg->compression == COMP_ZSTD ? -7 : 0,
			   cfg->compression == COMP_ZSTD ? 19 : 9, &cfg->level,
			   e)))
		goto out;
	if (cfg->level == -1 && !section_get(top, "compression_level"))
		cfg->level = cfg->compression == COMP_ZSTD ? 3 : 6;
out:
	free(comp);
	return rc;
}

static int build_mode(struct config *cfg, const struct section *s,
		      struct cairn_error *e)
{
	struct mode *m;
	char *comps = NULL;
	const char *dup;
	int rc;

	if (!strcmp(s->name, "full"))
		return cairn_errf(e, CAIRN_ECONFIG, "%s: mode 'full' is built "
				  "in and cannot be redefined", s->where);
	cfg->modes = xrealloc(cfg->modes, (cfg->nmodes + 1) * sizeof(*m));
	m = &cfg->modes[cfg->nmodes++];
	memset(m, 0, sizeof(*m));
	m->name = xstrdup(s->name);
	if ((rc = get_str(s, "components", &comps, true, e)))
		return rc;
	strv_split(&m->comps, comps);
	free(comps);
	if ((dup = strv_repeat(&m->comps)))
		return cairn_errf(e, CAIRN_ECONFIG, "%s: mode '%s' lists "
				  "component '%s' twice",
				  section_get(s, "components")->where,
				  m->name, dup);
	return CAIRN_OK;
}

static int build_target(struct config *cfg, struct section *s,
			const struct section *top, struct cairn_error *e)
{
	struct target *t;
	int rc;

	cfg->targets = xrealloc(cfg->targets, (cfg->ntargets + 1) *
					      sizeof(*t));
	t = &cfg->targets[cfg->ntargets++];
	memset(t, 0, sizeof(*t));
	t->name = xstrdup(s->name);
	t->enabled = true;
	t->keep = cfg->keep;
	t->sec = s;
	s->top = top;
	if (!ident_ok(t->name))
		return cairn_errf(e, CAIRN_ECONFIG, "%s: bad target name '%s'",
				  s->where, t->name);
	if ((rc = get_str(s, "plugin", &t->plugin, true, e)) ||
	    (rc = get_bool(s, "enabled", &t->enabled, e)) ||
	    (rc = get_bool(s, "offsite", &t->offsite, e)))
		return rc;
	return get_policy(s, &t->keep, e);
}

/* [notify NAME]: type, plugin (default "notify"), events; the plugin
 * reads the rest (notify.c). */
static int build_notify(struct config *cfg, struct section *s,
			struct cairn_error *e)
{
	struct notify_def *n;
	char *ev = NULL;
	int rc;

	cfg->notifies = xrealloc(cfg->notifies, (cfg->nnotifies + 1) *
						sizeof(*n));
	n = &cfg->notifies[cfg->nnotifies++];
	memset(n, 0, sizeof(*n));
	n->name = xstrdup(s->name);
	n->sec = s;
	if ((rc = get_str(s, "type", &n->type, true, e)) ||
	    (rc = get_str(s, "plugin", &n->plugin, false, e)) ||
	    (rc = get_str(s, "events", &ev, false, e)))
		return rc;
	if (!n->plugin)
		n->plugin = xstrdup("notify");
	strv_split(&n->events, ev ? ev : !strcmp(n->type, "healthchecks") ?
		   "start success failure suspicious" :
		   "success failure suspicious");
	free(ev);
	for (size_t i = 0; i < n->events.n; i++) {
		char *w = xasprintf(" %s ", n->events.v[i]);
		bool ok = strstr(" start success failure suspicious ", w);

		free(w);
		if (!ok)
			return bad_value(e, section_get(s, "events"), "want "
					 "start, success, failure or "
					 "suspicious");
	}
	return CAIRN_OK;
}

/* Every mode names configured components. */
static int check_modes(struct config *cfg, struct cairn_error *e)
{
	for (size_t i = 0; i < cfg->nmodes; i++)
		for (size_t j = 0; j < cfg->modes[i].comps.n; j++)
			if (!config_component(cfg, cfg->modes[i].comps.v[j])) {
				const struct section *s =
					find_section(cfg, "mode",
						     cfg->modes[i].name);

				return cairn_errf(e, CAIRN_ECONFIG,
						  "%s: mode '%s' names "
						  "unknown component '%s'",
						  section_get(s, "components")
							->where,
						  cfg->modes[i].name,
						  cfg->modes[i].comps.v[j]);
			}
	return CAIRN_OK;
}

/* encrypt = age and its keys, in [cairn] and each target; a target's
 * keys default to [cairn]'s. */
static int build_crypt(struct config *cfg, const struct section *top,
		       struct cairn_error *e)
{
	int rc;

	cfg->crypt = xcalloc(1, sizeof(*cfg->crypt));
	if ((rc = crypt_load(top, "[cairn]", NULL, cfg->crypt, e)))
		return rc;
	for (size_t i = 0; i < cfg->ntargets; i++) {
		struct target *t = &cfg->targets[i];
		char *what = xasprintf("[target %s]", t->name);

		t->crypt = xcalloc(1, sizeof(*t->crypt));
		rc = crypt_load(t->sec, what, cfg->crypt, t->crypt, e);
		free(what);
		if (rc)
			return rc;
	}
	return CAIRN_OK;
}

/* encrypt = age in [cairn]: archive_dir holds only ciphertext, which is
 * read as an encrypted local target is (cfg->self, named after the
 * dir, found by config_read_target alone), with an identity. */
static int build_self(struct config *cfg, const struct section *top,
		      struct cairn_error *e)
{
	struct section *s;
	struct target *t;

	if (cfg->incremental)
		return cairn_errf(e, CAIRN_ECONFIG, "[cairn]: incremental = "
				  "yes cannot go with encrypt = age there: "
				  "an incremental needs the previous index, "
				  "which this host cannot decrypt (encrypt "
				  "on the targets instead)");
	s = xcalloc(1, sizeof(*s));
	t = xcalloc(1, sizeof(*t));
	s->kind = xstrdup("target");
	s->name = xstrdup(cfg->archive_dir);
	s->where = xstrdup("[cairn] archive_dir");
	s->kv = xcalloc(1, sizeof(*s->kv));
	s->kv[0] = (struct kv){ xstrdup("path"), xstrdup(cfg->archive_dir),
				xstrdup(s->where), false };
	s->nkv = 1;
	s->top = top;
	t->name = xstrdup(cfg->archive_dir);
	t->plugin = xstrdup("local");
	t->keep = cfg->keep;
	t->sec = s;
	t->crypt = xcalloc(1, sizeof(*t->crypt));
	cfg->self = t;
	return crypt_load(s, "[cairn]", cfg->crypt, t->crypt, e);
}

static int build(struct config *cfg, struct cairn_error *e)
{
	struct section *top = find_section(cfg, "cairn", NULL);
	struct section *hooks = find_section(cfg, "hooks", NULL);
	struct section *inv = find_section(cfg, "inventory", NULL);
	int rc;

	if (!top)
		return cairn_errf(e, CAIRN_ECONFIG,
				  "%s: missing section [cairn]", cfg->path);
	if ((rc = build_top(cfg, top, e)))
		return rc;
	for (size_t i = 0; i < cfg->nsecs; i++) {
		struct section *s = &cfg->secs[i];

		if (!strcmp(s->kind, "component")) {
			cfg->comps = xrealloc(cfg->comps, (cfg->ncomps + 1) *
							   sizeof(*cfg->comps));
			memset(&cfg->comps[cfg->ncomps], 0,
			       sizeof(*cfg->comps));
			rc = build_component(s, &cfg->comps[cfg->ncomps++], e);
		} else if (!strcmp(s->kind, "mode")) {
			rc = build_mode(cfg, s, e);
		} else if (!strcmp(s->kind, "target")) {
			rc = build_target(cfg, s, top, e);
		} else if (!strcmp(s->kind, "notify")) {
			rc = build_notify(cfg, s, e);
		}
		if (rc)
			return rc;
	}
	if (!cfg->ncomps)
		return cairn_errf(e, CAIRN_ECONFIG,
				  "%s: no [component NAME] section", cfg->path);
	if ((rc = check_shared_paths(cfg, e)) || (rc = check_modes(cfg, e)))
		return rc;
	if ((rc = build_crypt(cfg, top, e)) ||
	    (cfg->crypt->on && (rc = build_self(cfg, top, e))))
		return rc;
	for (int h = 0; h < HOOK_N; h++)
		if ((rc = get_str(hooks, hook_names[h], &cfg->hooks[h], false,
				  e)))
			return rc;
	for (size_t i = 0; inv && i < inv->nkv; i++) {
		strv_push(&cfg->inv_names, inv->kv[i].key + 8);
		strv_push(&cfg->inv_cmds, inv->kv[i].val);
	}
	return CAIRN_OK;
}

/*
 * The file's hooks run as its reader (root, for the units), so like ssh
 * with a private key, refuse one that someone else could have written;
 * and refuse what is not a regular file (/dev/zero never ends, a FIFO
 * blocks).
 */
static int check_file(int fd, const char *path, bool *loose,
		      struct cairn_error *err)
{
	struct stat st;

	if (fstat(fd, &st))
		return errno_err(err, CAIRN_ECONFIG, errno,
				 "cannot read config %s", path);
	if (!S_ISREG(st.st_mode))
		return cairn_errf(err, CAIRN_ECONFIG, "refusing config %s: "
				  "not a regular file", path);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return cairn_errf(err, CAIRN_ECONFIG, "refusing config %s: "
				  "owned by uid %u, not root or you", path,
				  (unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return cairn_errf(err, CAIRN_ECONFIG, "refusing config %s: "
				  "writable by group or others; chmod go-w %s",
				  path, path);
	*loose = (st.st_mode & 077) != 0;
	return CAIRN_OK;
}

int config_load(const char *path, char **env, struct config *cfg,
		struct cairn_error *err)
{
	struct parse p = { .file = path, .cfg = cfg, .err = err };
	int fd, rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = xstrdup(path);
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno_err(err, CAIRN_ECONFIG, errno,
				 "cannot read config %s", path);
	if ((rc = check_file(fd, path, &p.loose_mode, err)) ||
	    !(p.fp = fdopen(fd, "r"))) {
		if (!rc)
			rc = errno_err(err, CAIRN_ECONFIG, errno,
				       "cannot read config %s", path);
		close(fd);
		return rc;
	}
	/* Debian's libinih takes its line buffer size at run time; the
	 * reader hands it whole lines of up to CONFIG_MAX_LINE bytes. */
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_max_line = ini_initial_alloc = CONFIG_MAX_LINE + 3;
	rc = ini_parse_stream(reader, &p, handler, &p);
	fclose(p.fp);
	if (p.failed)
		return CAIRN_ECONFIG;
	if (p.read_errno)
		return errno_err(err, CAIRN_ECONFIG, p.read_errno,
				 "cannot read config %s", path);
	if (rc > 0)
		return cairn_errf(err, CAIRN_ECONFIG, "%s:%d: syntax error",
				  path, rc);
	if (rc < 0)
		return cairn_errf(err, CAIRN_ECONFIG, "cannot read config %s",
				  path);
	if ((rc = apply_env(cfg, env, err)))
		return rc;
	return build(cfg, err);
}

static void free_section(struct section *s)
{
	for (size_t i = 0; i < s->nkv; i++) {
		free(s->kv[i].key);
		free(s->kv[i].val);
		free(s->kv[i].where);
	}
	free(s->kv);
	free(s->kind);
	free(s->name);
	free(s->where);
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->ncomps; i++) {
		struct component *c = &cfg->comps[i];

		free(c->name);
		strv_free(&c->paths);
		strv_free(&c->excludes);
		free(c->dump);
		free(c->restore);
		free(c->file);
		free(c->drill);
	}
	for (size_t i = 0; i < cfg->nmodes; i++) {
		free(cfg->modes[i].name);
		strv_free(&cfg->modes[i].comps);
	}
	for (size_t i = 0; i < cfg->ntargets; i++) {
		free(cfg->targets[i].name);
		free(cfg->targets[i].plugin);
		if (cfg->targets[i].crypt)
			crypt_free(cfg->targets[i].crypt);
		free(cfg->targets[i].crypt);
	}
	for (size_t i = 0; i < cfg->nnotifies; i++) {
		free(cfg->notifies[i].name);
		free(cfg->notifies[i].type);
		free(cfg->notifies[i].plugin);
		strv_free(&cfg->notifies[i].events);
	}
	free(cfg->notifies);
	for (size_t i = 0; i < cfg->nsecs; i++)
		free_section(&cfg->secs[i]);
	for (int h = 0; h < HOOK_N; h++)
		free(cfg->hooks[h]);
	strv_free(&cfg->inv_names);
	strv_free(&cfg->inv_cmds);
	free(cfg->comps);
	if (cfg->crypt)
		crypt_free(cfg->crypt);
	free(cfg->crypt);
	if (cfg->self) {
		free_section(cfg->self->sec);
		free(cfg->self->sec);
		free(cfg->self->name);
		free(cfg->self->plugin);
		crypt_free(cfg->self->crypt);
		free(cfg->self->crypt);
		free(cfg->self);
	}
	free(cfg->modes);
	free(cfg->targets);
	free(cfg->secs);
	free(cfg->path);
	free(cfg->name);
	free(cfg->source);
	free(cfg->archive_dir);
	free(cfg->state_dir);
	free(cfg->metrics_file);
	memset(cfg, 0, sizeof(*cfg));
}

const struct component *config_component(const struct config *cfg,
					 const char *name)
{
	for (size_t i = 0; i < cfg->ncomps; i++)
		if (!strcmp(cfg->comps[i].name, name))
			return &cfg->comps[i];
	return NULL;
}

const struct target *config_target(const struct config *cfg,
				   const char *name)
{
	for (size_t i = 0; i < cfg->ntargets; i++)
		if (!strcmp(cfg->targets[i].name, name))
			return &cfg->targets[i];
	return NULL;
}

const struct target *config_read_target(const struct config *cfg,
					const char *name)
{
	if (cfg->self && (!name || !strcmp(name, cfg->self->name)))
		return cfg->self;
	return name ? config_target(cfg, name) : NULL;
}

static const struct cairn_key_spec core_specs[] = {
	CAIRN_KEY_RANGE("retries", CAIRN_KEY_INT, "2", 0, 0, 100,
			"retries of a transient failure"),
	CAIRN_KEY_RANGE("retry_delay", CAIRN_KEY_DURATION, "1", 0, 0, 3600,
			"first back-off; doubled each retry, with jitter"),
	CAIRN_KEY("bwlimit", CAIRN_KEY_SIZE, NULL, 0,
		  "bytes per second a send may use; unset: no limit"),
	/* Object Lock per tier (a plugin with retain(), e.g. s3's
	 * object_lock): how long an archive kept by the tier stays locked. */
	CAIRN_KEY("lock_last", CAIRN_KEY_DURATION, NULL, 0,
		  "Object Lock of every new archive, e.g. 7d"),
	CAIRN_KEY("lock_daily", CAIRN_KEY_DURATION, NULL, 0,
		  "Object Lock of an archive kept as a daily"),
	CAIRN_KEY("lock_weekly", CAIRN_KEY_DURATION, NULL, 0,
		  "Object Lock of an archive kept as a weekly"),
	CAIRN_KEY("lock_monthly", CAIRN_KEY_DURATION, NULL, 0,
		  "Object Lock of an archive kept as a monthly"),
	CAIRN_KEY("lock_yearly", CAIRN_KEY_DURATION, NULL, 0,
		  "Object Lock of an archive kept as a yearly"),
	CAIRN_KEY_END,
};

static void tkey_set(struct target_keys *tk, const struct cairn_key_spec *k,
		     char *str, int64_t num, const char *where)
{
	struct tkey *v;

	tk->v = xrealloc(tk->v, (tk->n + 1) * sizeof(*tk->v));
	v = &tk->v[tk->n++];
	v->spec = k;
	v->text = str;
	v->num = num;
	v->where = where;
}

/* Every key of spec array specs: value from the section or default. */
static int resolve_specs(const struct target *t,
			 const struct cairn_key_spec *specs,
			 struct target_keys *tk, struct cairn_error *e)
{
	uint32_t step = specs ? specs->size : 0;

	for (const struct cairn_key_spec *k = specs; k && k->name;
	     k = (const void *)((const char *)k + step)) {
		const struct kv *kv = section_get(t->sec, k->name);
		const char *text = kv && *kv->val ? kv->val : k->def;
		int64_t num = 0;
		char *str = NULL;

		if (!text) {
			if (k->flags & CAIRN_KEY_REQUIRED)
				return cairn_errf(e, CAIRN_ECONFIG, "%s: "
					"missing required key '%s' in [target "
					"%s] (%s)", t->sec->where, k->name,
					t->name, k->help ? k->help : "");
			continue;
		}
		if (!typed_ok(k, text, &num, &str)) {
			free(str);
			return typed_bad(e, kv && *kv->val ? kv->where :
					 "default", k);
		}
		if (kv && *kv->val && kv->loose &&
		    config_key_is_secret(specs, k->name)) {
			char *file = xstrdup(kv->where);

			*strrchr(file, ':') = '\0';
			cairn_errf(e, CAIRN_ECONFIG, "%s: holds '%s' but is "
				   "readable by group or others; chmod 600 %s",
				   kv->where, k->name, file);
			free(file);
			free(str);
			return CAIRN_ECONFIG;
		}
		tkey_set(tk, k, str, num, kv && *kv->val ? kv->where :
			 "default");
	}
	return CAIRN_OK;
}

int config_check_target_keys(const struct target *t,
			     const struct cairn_key_spec *specs,
			     struct target_keys *tk, struct cairn_error *e)
{
	int rc;

	memset(tk, 0, sizeof(*tk));
	tk->t = t;
	tk->specs = specs;
	for (size_t i = 0; i < t->sec->nkv; i++) {
		const struct kv *kv = &t->sec->kv[i];

		if (in_list(target_core_keys, kv->key) ||
		    in_list(crypt_keys, kv->key) ||
		    config_spec_find(specs, kv->key))
			continue;
		return cairn_errf(e, CAIRN_ECONFIG,
				  "%s: unknown key '%s' for plugin '%s' in "
				  "[target %s]", kv->where, kv->key,
				  t->plugin, t->name);
	}
	if ((rc = resolve_specs(t, core_specs, tk, e)) ||
	    (rc = resolve_specs(t, specs, tk, e)))
		config_target_keys_free(tk);
	return rc;
}

void config_target_keys_free(struct target_keys *tk)
{
	for (size_t i = 0; i < tk->n; i++)
		free(tk->v[i].text);
	free(tk->v);
	tk->v = NULL;
	tk->n = 0;
}

const struct tkey *config_tkey(const struct target_keys *tk,
			       const char *key)
{
	for (size_t i = 0; i < tk->n; i++)
		if (!strcmp(tk->v[i].spec->name, key))
			return &tk->v[i];
	return NULL;
}

/* The accessor handed to plugins. */
static const struct tkey *api_key(const struct cairn_target_config *c,
				  const char *key, uint32_t type)
{
	const struct target_keys *tk = c->core;
	const struct tkey *v = config_tkey(tk, key);

	if (!config_spec_find(tk->specs, key) ||
	    (type && v && v->spec->type != type) ||
	    (type && !v && config_spec_find(tk->specs, key)->type != type)) {
		log_error("target %s: plugin bug: key '%s' read but not "
			  "declared, or through the wrong getter", c->name,
			  key);
		return NULL;
	}
	return v;
}

static const char *api_str(const struct cairn_target_config *c,
			   const char *key)
{
	const struct target_keys *tk = c->core;
	const struct kv *kv;
	const struct tkey *v;

	if (!strncmp(key, "cairn.", 6)) {
		kv = section_get(tk->t->sec, key);
		return kv && *kv->val ? kv->val : NULL;
	}
	v = api_key(c, key, 0);
	return v ? v->text : NULL;
}

static int api_bool(const struct cairn_target_config *c, const char *key)
{
	const struct tkey *v = api_key(c, key, CAIRN_KEY_BOOL);

	return v ? (int)v->num : 0;
}

static int64_t api_int(const struct cairn_target_config *c, const char *key)
{
	const struct tkey *v = api_key(c, key, CAIRN_KEY_INT);

	return v ? v->num : 0;
}

static int64_t api_size(const struct cairn_target_config *c,
			const char *key)
{
	const struct tkey *v = api_key(c, key, CAIRN_KEY_SIZE);

	return v ? v->num : 0;
}

static int64_t api_duration(const struct cairn_target_config *c,
			    const char *key)
{
	const struct tkey *v = api_key(c, key, CAIRN_KEY_DURATION);

	return v ? v->num : 0;
}

static const char *api_where(const struct cairn_target_config *c,
			     const char *key)
{
	const struct tkey *v = api_key(c, key, 0);

	return v ? v->where : NULL;
}

void config_target_api(struct target_keys *tk, struct cairn_target_config *c)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->name = tk->t->name;
	c->core = tk;
	c->get_str = api_str;
	c->get_bool = api_bool;
	c->get_int = api_int;
	c->get_size = api_size;
	c->get_duration = api_duration;
	c->where = api_where;
}

int restore_components(const struct config *cfg, const char *mode,
		       const struct component ***comps, size_t *n,
		       struct cairn_error *err)
{
	const struct mode *m = NULL;
	struct sbuf known = { 0 };
	int rc;

	*n = 0;
	if (!strcmp(mode, "full")) {
		*comps = xcalloc(cfg->ncomps + 1, sizeof(**comps));
		for (size_t i = 0; i < cfg->ncomps; i++)
			(*comps)[(*n)++] = &cfg->comps[i];
		return CAIRN_OK;
	}
	for (size_t i = 0; i < cfg->nmodes; i++)
		if (!strcmp(cfg->modes[i].name, mode))
			m = &cfg->modes[i];
	if (!m) {
		*comps = NULL;
		sb_add(&known, "full", 4);
		for (size_t i = 0; i < cfg->nmodes; i++)
			sb_printf(&known, ", %s", cfg->modes[i].name);
		rc = cairn_errf(err, CAIRN_ECONFIG,
				"unknown restore mode '%s'; known modes: %s",
				mode, known.s);
		sb_free(&known);
		return rc;
	}
	/* Sized from the mode's own list; a name listed twice counts once. */
	*comps = xcalloc(m->comps.n + 1, sizeof(**comps));
	for (size_t i = 0; i < m->comps.n; i++) {
		const struct component *c = config_component(cfg,
							     m->comps.v[i]);
		bool dup = false;

		if (!c) {
			free(*comps);
			*comps = NULL;
			*n = 0;
			return cairn_errf(err, CAIRN_ECONFIG, "mode '%s' "
					  "names unknown component '%s'",
					  mode, m->comps.v[i]);
		}
		for (size_t k = 0; k < *n; k++)
			dup |= (*comps)[k] == c;
		if (!dup)
			(*comps)[(*n)++] = c;
	}
	return CAIRN_OK;
}

/* Effective settings, for `config check` ------------------------------ */

typedef void (*setting_fn)(void *ctx, const char *section, const char *key,
			   const char *value, const char *origin);

/* What a key is when no file line or variable sets it. Target keys of
 * the core not here (keep_*) inherit [cairn]'s. */
static const struct {
	const char *kind, *key, *value;
} defaults[] = {
	{ "cairn", "compression", "zstd" },
	{ "cairn", "threads", "0" },
	{ "cairn", "keep_last", "7" },
	{ "cairn", "keep_daily", "0" },
	{ "cairn", "keep_weekly", "0" },
	{ "cairn", "keep_monthly", "0" },
	{ "cairn", "keep_yearly", "0" },
	{ "cairn", "safety_net_days", "7" },
	{ "component", "required", "yes" },
	{ "component", "timeout", "3600" },
	{ "target", "enabled", "yes" },
};

static void default_settings(const struct config *cfg,
			     const struct section *s, const char *title,
			     setting_fn fn, void *ctx)
{
	const struct section *top = find_section((struct config *)cfg,
						 "cairn", NULL);
	char v[32];

	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		if (!strcmp(defaults[i].kind, s->kind) &&
		    !section_get(s, defaults[i].key))
			fn(ctx, title, defaults[i].key, defaults[i].value,
			   "default");
	if (!strcmp(s->kind, "cairn")) {
		if (!section_get(s, "state_dir"))
			fn(ctx, title, "state_dir", cfg->state_dir,
			   "default (archive_dir)");
		snprintf(v, sizeof(v), "%ld", cfg->level);
		if (!section_get(s, "compression_level"))
			fn(ctx, title, "compression_level", v, "default");
	} else if (!strcmp(s->kind, "target")) {
		static const char *const keep[] = { "keep_last",
			"keep_daily", "keep_weekly", "keep_monthly",
			"keep_yearly" };

		for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
			const char *k = keep[i];
			const struct kv *kv = section_get(top, k);
			char *from;

			if (section_get(s, k))
				continue;
			if (!kv) {
				for (size_t j = 0; j < ARRAY_SIZE(defaults);
				     j++)
					if (!strcmp(defaults[j].key, k))
						fn(ctx, title, k,
						   defaults[j].value,
						   "default");
				continue;
			}
			from = xasprintf("[cairn] %s", kv->where);
			fn(ctx, title, k, kv->val, from);
			free(from);
		}
	}
}

void config_settings(const struct config *cfg, setting_fn fn, void *ctx)
{
	for (size_t i = 0; i < cfg->nsecs; i++) {
		const struct section *s = &cfg->secs[i];
		char *title = s->name ? xasprintf("%s %s", s->kind, s->name)
				      : xstrdup(s->kind);

		for (size_t k = 0; k < s->nkv; k++)
			fn(ctx, title, s->kv[k].key, s->kv[k].val,
			   s->kv[k].where);
		default_settings(cfg, s, title, fn, ctx);
		free(title);
	}
}

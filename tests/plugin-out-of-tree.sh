#!/bin/bash
# A plugin can be built out of tree from the installed header alone:
# install the header and cairn-plugin.pc into a DESTDIR, compile a tiny
# plugin with `pkg-config --cflags cairn-plugin` (no -I into the source
# tree), and `cairn plugins` loads it and lists its keys.
. "$TOP_SRCDIR/tests/lib.sh"

command -v pkg-config >/dev/null || fail "pkg-config not found"
D=$T/dest
submake install-cairnincludeHEADERS install-pkgconfigDATA DESTDIR="$D" \
	>"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "install"; }
pc=$(dirname "$(find "$D" -name cairn-plugin.pc | head -1)")
[ -n "$pc" ] || fail "cairn-plugin.pc not installed"
inc=$(find "$D" -path '*/cairn/plugin.h' | head -1)
[ -n "$inc" ] || fail "cairn/plugin.h not installed"

cat >"$T/tiny.c" <<'C'
#include <cairn/plugin.h>
static const struct cairn_key_spec keys[] = {
	CAIRN_KEY("colour", CAIRN_KEY_STRING, "blue", 0, "a tiny key"),
	CAIRN_KEY_END,
};
static int t_open(const struct cairn_host *h,
		  const struct cairn_target_config *c,
		  struct cairn_target_props *p, void **hd,
		  struct cairn_error *e)
{
	(void)h; (void)p;
	*hd = (void *)c;
	return cairn_errf(e, CAIRN_OK, "tiny %s", c->get_str(c, "colour"));
}
static void t_close(void *h) { (void)h; }
static int t_begin(void *h, const char *n, uint64_t s, struct cairn_txn **t,
		   struct cairn_error *e)
{ (void)h; (void)n; (void)s; (void)t;
  return cairn_errf(e, CAIRN_EFAIL, "read-only"); }
static int t_write(struct cairn_txn *t, const void *b, size_t l,
		   struct cairn_error *e)
{ (void)t; (void)b; (void)l; (void)e; return CAIRN_EFAIL; }
static int t_commit(struct cairn_txn *t, const char *s, struct cairn_error *e)
{ (void)t; (void)s; (void)e; return CAIRN_EFAIL; }
static void t_abort(struct cairn_txn *t) { (void)t; }
static int t_get(void *h, const char *n, uint64_t o, uint64_t l,
		 const struct cairn_sink *s, struct cairn_error *e)
{ (void)h; (void)o; (void)l; (void)s;
  return cairn_errf(e, CAIRN_ENOTFOUND, "no %s", n); }
static int t_stat(void *h, const char *n, struct cairn_object *o,
		  struct cairn_error *e)
{ (void)h; (void)o; return cairn_errf(e, CAIRN_ENOTFOUND, "no %s", n); }
static int t_list(void *h, cairn_list_cb cb, void *c, struct cairn_error *e)
{ (void)h; (void)cb; (void)c; (void)e; return CAIRN_OK; }
static int t_del(void *h, const char *n, struct cairn_error *e)
{ (void)h; return cairn_errf(e, CAIRN_ENOTFOUND, "no %s", n); }
static const struct cairn_target_ops ops = {
	CAIRN_TARGET_OPS_HEAD,
	.name = "tiny", .version = "0.0.1", .keys = keys,
	.open = t_open, .close = t_close, .begin = t_begin,
	.write = t_write, .commit = t_commit, .abort = t_abort,
	.get = t_get, .stat = t_stat, .list = t_list, .del = t_del,
};
const struct cairn_target_ops *cairn_target_plugin(void) { return &ops; }
C
P=$T/plugins
mkdir -m 755 "$P"
# The .pc names the configured prefix; point it into the DESTDIR.
flags=$(PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$D" \
	pkg-config --cflags cairn-plugin) || fail "pkg-config cairn-plugin"
cc -std=c99 -Wall -Wextra -Werror -fPIC -shared $flags -o "$P/tiny.so" \
	"$T/tiny.c" || fail "the tiny plugin does not build from $flags"
chmod 755 "$P/tiny.so"

cat >"$T/c.conf" <<CONF
[cairn]
name = mss
source = $T
archive_dir = $T/arch
[component a]
type = files
path = .
[target t]
plugin = tiny
colour = red
CONF
chmod 600 "$T/c.conf"
expect_rc 0 env CAIRN_PLUGIN_DIR="$P" "$CAIRN" -c "$T/c.conf" plugins
out_has "tiny +0\.0\.1 +ABI 2\.[0-9]+"
out_has "colour +string +default blue +a tiny key"
out_has "t +plugin tiny .*ok: "
echo "plugin-out-of-tree: ok"

#!/bin/bash
# `make install DESTDIR=...` lays out everything an operator and a plugin
# author need, the installed cairn finds the installed plugins, the man pages
# render without a warning, and `make uninstall` leaves nothing behind.
source "$TOP_SRCDIR/tests/lib.sh"

command -v man >/dev/null || skip "man not found (Debian package man-db)"

install_dest
bindir=$(dir bindir)
pkglibdir=$(dir pkglibdir)
includedir=$(dir includedir)
pkgconfigdir=$(dir pkgconfigdir)
mandir=$(dir mandir)
docdir=$(dir docdir)
sysdir=$(dir systemdunitdir)
userdir=$(dir systemduserunitdir)
plugins=$(dir plugins)
version=$(dir version)
[ -n "$bindir" ] && [ -n "$pkglibdir" ] && [ -n "$plugins" ] ||
	fail "install dirs unknown: $(cat "$T/dirs")"

installed() { [ -f "$D$1" ] || fail "not installed: $1"; }

installed "$bindir/cairn"
[ -x "$D$bindir/cairn" ] || fail "$bindir/cairn is not executable"

# The plugin directory holds exactly the plugins: no libtool .la files,
# nothing else a dlopen() scan would trip over.
want=
for la in $plugins; do
	so=$(basename "$la" .la).so
	installed "$pkglibdir/$so"
	want="$want $so"
done
want=$(printf '%s\n' $want | sort | tr '\n' ' ')
got=$(cd "$D$pkglibdir" && ls -A | sort | tr '\n' ' ')
[ "$got" = "$want" ] || fail "$pkglibdir holds '$got', want '$want'"

installed "$includedir/cairn/plugin.h"
installed "$pkgconfigdir/cairn-plugin.pc"
installed "$mandir/man1/cairn.1"
installed "$mandir/man5/cairn.conf.5"
installed "$docdir/operations.md"
for u in cairn-backup.service cairn-backup.timer cairn-check.service \
	cairn-check.timer; do
	installed "$sysdir/$u"
	installed "$userdir/$u"
done

# A plugin author builds against the installed header through pkg-config.
cflags=$(PKG_CONFIG_PATH="$D$pkgconfigdir" PKG_CONFIG_SYSROOT_DIR="$D" \
	pkg-config --cflags cairn-plugin) || fail "pkg-config cairn-plugin"
printf '#include <cairn/plugin.h>\nint cairn_dummy;\n' >"$T/p.c"
${CC:-cc} -std=gnu11 -Wall -Wextra -Werror -fsyntax-only $cflags "$T/p.c" ||
	fail "installed plugin.h does not compile with cflags '$cflags'"

# The installed binary runs and finds the installed plugins.
expect_rc 0 "$D$bindir/cairn" --version
out_has "$version"
mkdir -p "$T/src" "$T/archive" "$T/state"
mss_conf "$T/cairn.conf" "$T/src" "$T/archive" "$T/state"
expect_rc 0 env CAIRN_PLUGIN_DIR="$D$pkglibdir" \
	"$D$bindir/cairn" -c "$T/cairn.conf" plugins
for la in $plugins; do
	out_has "\\b$(basename "$la" .la)\\b"
done

# The man pages render cleanly and have a NAME line whatis can index.
for page in "$mandir/man1/cairn.1" "$mandir/man5/cairn.conf.5"; do
	warn=$(MANWIDTH=80 man --warnings -l "$D$page" 2>&1 >/dev/null)
	[ -z "$warn" ] || fail "man --warnings $page: $warn"
	MANWIDTH=80 man -l "$D$page" >"$T/page" 2>/dev/null ||
		fail "man -l $page"
	grep -q '^EXIT STATUS\|^SEE ALSO' "$T/page" || fail "$page: no body"
	if command -v lexgrog >/dev/null; then
		lexgrog "$D$page" >/dev/null || fail "lexgrog $page: no NAME"
	fi
done

# Everything installed is also uninstalled.
submake uninstall DESTDIR="$D" >"$T/uninstall.log" 2>&1 ||
	{ cat "$T/uninstall.log" >&2; fail "make uninstall DESTDIR=$D"; }
left=$(find "$D" ! -type d)
[ -z "$left" ] || fail "left after make uninstall: $left"
exit 0

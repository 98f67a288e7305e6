#!/bin/bash
# `cairn --version` prints the compiled config path and plugin dir, a
# run without -c or $CAIRN_CONFIG reads that path, and the docs say how
# the path is chosen (-c, $CAIRN_CONFIG, then the compiled one) and that
# the install steps use --sysconfdir=/etc.
. "$TOP_SRCDIR/tests/lib.sh"

submake -s cairn-print-dirs >"$T/dirs" || fail "make cairn-print-dirs"
sysconfdir=$(sed -n 's|^sysconfdir=||p' "$T/dirs")
pkglibdir=$(sed -n 's|^pkglibdir=||p' "$T/dirs")
version=$(sed -n 's|^version=||p' "$T/dirs")

note "--version names the config path and the plugin dir"
expect_rc 0 "$CAIRN" --version
out_has "^cairn $version \(plugin ABI [0-9]+\.[0-9]+\)$"
out_has "^config: +$sysconfdir/cairn/cairn\.conf( |$)"
out_has "^plugins: +$pkglibdir( |$)"

note "without -c or \$CAIRN_CONFIG, the compiled path is read"
if [ ! -e "$sysconfdir/cairn/cairn.conf" ]; then
	expect_rc 2 env -u CAIRN_CONFIG "$CAIRN" status
	out_has "cannot read config $sysconfdir/cairn/cairn\.conf"
fi
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
expect_rc 2 env CAIRN_CONFIG="$T/none.conf" "$CAIRN" status
out_has "cannot read config $T/none\.conf"
expect_rc 2 env CAIRN_CONFIG="$T/c.conf" "$CAIRN" -c "$T/none.conf" status
out_has "cannot read config $T/none\.conf"

note "the man pages give the order and both default paths"
command -v man >/dev/null || skip "man not found (Debian package man-db)"
for m in cairn.1 cairn.conf.5; do
	man -l "$TOP_SRCDIR/man/$m" 2>/dev/null | tr -s ' \n' '  ' \
		>"$T/$m.txt" || fail "man $m"
	for s in '-c' 'CAIRN_CONFIG' '/etc/cairn/cairn.conf' \
		'/usr/local/etc/cairn/cairn.conf' '--sysconfdir=/etc' \
		'cairn --version'; do
		grep -qF -- "$s" "$T/$m.txt" || fail "man $m lacks '$s'"
	done
done
grep -qF -- '--sysconfdir=/etc' "$TOP_SRCDIR/README.md" ||
	fail "README's install steps lack --sysconfdir=/etc"
echo "version-paths: ok"

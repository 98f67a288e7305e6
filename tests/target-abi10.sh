#!/bin/bash
# A plugin built against ABI 1.0 (ops struct without clean) still works
# with a 1.1 core: the core never reads the optional op past the plugin's
# size (the word there would abort the run), so no leftover is cleaned.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
P=$T/plugins
mkdir -m 755 "$P"
cp "$TOP_BUILDDIR/tests/.libs/abi10.so" "$CAIRN_PLUGIN_DIR/local.so" "$P/"
chmod 755 "$P"/*.so
export CAIRN_PLUGIN_DIR="$P"

expect_rc 0 "$CAIRN" -c "$T/c.conf" plugins
out_has "abi10 +[0-9.]+ +ABI 1\.0"
out_has "local +[0-9.]+ +ABI 1\.1"

mkdir "$T/old"
left=.mss-backup-2020-01-01_031500.tar.zst.partial
echo x >"$T/old/$left"
expect_rc 0 env CAIRN_TARGET_OLD_PLUGIN=abi10 CAIRN_TARGET_OLD_PATH="$T/old" \
	"$CAIRN" -c "$T/c.conf" backup
(cd "$T/old" && sha256sum -c --quiet ./mss-*.sha256) || fail "abi10 copy"
[ -f "$T/old/$left" ] || fail "a 1.0 plugin's clean was called"
echo "target-abi10: ok"

#!/bin/bash
# A plugin built against ABI 1.0 is refused by a 2.0 core, naming both
# versions, before any of its functions runs (each would abort the run):
# `cairn plugins` shows the rejection, a backup to its target fails that
# target only, and the local archive is still made.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
P=$T/plugins
mkdir -m 755 "$P"
cp "$TOP_BUILDDIR/tests/.libs/abi10.so" "$CAIRN_PLUGIN_DIR/local.so" "$P/"
chmod 755 "$P"/*.so
export CAIRN_PLUGIN_DIR="$P"

expect_rc 0 "$CAIRN" -c "$T/c.conf" plugins
out_has "abi10\.so +rejected: .*plugin ABI 1\.0, but cairn speaks ABI 2\.[0-9]+; rebuild the plugin"
out_has "local +[0-9.]+ +ABI 2\.[0-9]+"

mkdir "$T/old"
expect_rc 4 env CAIRN_TARGET_OLD_PLUGIN=abi10 CAIRN_TARGET_OLD_PATH="$T/old" \
	"$CAIRN" -c "$T/c.conf" backup
out_has "target old failed: .*plugin ABI 1\.0, but cairn speaks ABI 2\.[0-9]+"
ls "$T"/arch/mss-backup-*.tar.zst.sha256 >/dev/null || fail "no local archive"
[ -z "$(ls -A "$T/old")" ] || fail "an ABI 1 plugin wrote to its target"
echo "target-abi10: ok"

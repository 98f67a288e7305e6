#!/bin/bash
# The loader refuses plugins built against ABI 1 (naming both versions), a newer
# minor (it may read members this core lacks), with an ops struct too
# small, without the entry symbol, or writable by others; the cairn
# binary links neither libssh2 nor libcurl.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
P="$T/plugins"
mkdir -m 755 "$P"
cp "$CAIRN_PLUGIN_DIR/local.so" "$P/"
for b in badmajor badminor badsize noentry; do
	cp "$TOP_BUILDDIR/tests/.libs/$b.so" "$P/$b.so"
done
chmod 755 "$P"/*.so
export CAIRN_PLUGIN_DIR="$P"

note "cairn plugins names each rejection"
expect_rc 0 "$CAIRN" -c "$T/c.conf" plugins
out_has "badmajor\.so +rejected: .*plugin ABI 1\.1, but cairn speaks ABI 2\.[0-9]+; rebuild the plugin"
out_has "badminor\.so +rejected: .*plugin ABI 2\.[0-9]+, but cairn speaks ABI 2\.[0-9]+"
out_has "badsize\.so +rejected: .*ops struct is [0-9]+ bytes"
out_has "noentry\.so +rejected: .*no cairn_target_plugin symbol"
out_has "local +[0-9.]+ +ABI 2\.[0-9]+"

note "a target using a bad plugin fails; the archive is still made"
for b in badmajor badminor badsize noentry; do
	rm -rf "$T/arch" "$T/state"
	expect_rc 4 env CAIRN_TARGET_X_PLUGIN=$b "$CAIRN" -c "$T/c.conf" backup
	out_has "target x failed"
	ls "$T"/arch/mss-backup-*.tar.zst.sha256 >/dev/null ||
		fail "no local archive after a bad plugin"
	grep -q '"status":"failure"' "$T/state/last_backup.json" ||
		fail "target failure not in last_backup.json"
done

note "a plugin writable by others is refused before dlopen"
chmod o+w "$P/local.so"
expect_rc 0 "$CAIRN" -c "$T/c.conf" plugins
out_has "local.so +rejected: refusing plugin .*writable by group or others"
chmod o-w "$P/local.so"
chmod o+w "$P"
expect_rc 0 "$CAIRN" -c "$T/c.conf" plugins
out_has "rejected: refusing plugin directory"
chmod o-w "$P"

note "the cairn binary links neither libssh2 nor libcurl"
bin="$TOP_BUILDDIR/.libs/cairn"
[ -x "$bin" ] || bin="$CAIRN"
if ldd "$bin" | grep -Eq 'libssh2|libcurl'; then
	ldd "$bin" >&2
	fail "cairn links libssh2 or libcurl"
fi
echo "plugin-abi: ok"

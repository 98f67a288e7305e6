#!/bin/bash
# A plugin reached through a symlink is checked where it really is: the
# resolved file and its directory (owner root or us, not writable by
# group or others) before dlopen, and the error names both paths.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
P="$T/plugins" E="$T/everyone" S="$T/safe"
mkdir -m 755 "$P" "$S"
mkdir -m 777 "$E"
cp "$CAIRN_PLUGIN_DIR/local.so" "$E/local.so"
cp "$CAIRN_PLUGIN_DIR/local.so" "$S/local.so"
chmod 755 "$E/local.so" "$S/local.so"
export CAIRN_PLUGIN_DIR="$P"
target() { env CAIRN_TARGET_X_PLUGIN=local CAIRN_TARGET_X_PATH="$T/copy" \
	"$@"; }

note "a link into a world-writable directory is refused"
ln -s "$E/local.so" "$P/local.so"
expect_rc 0 "$CAIRN" -c "$T/c.conf" plugins
out_has "local.so +rejected: refusing plugin directory $E \($E/local.so, resolved from $P/local.so\): writable by group or others"
expect_rc 4 target "$CAIRN" -c "$T/c.conf" backup
out_has "target x failed: .*resolved from $P/local.so"
[ ! -e "$T/copy" ] || fail "the refused plugin ran"

note "a link through a directory link is resolved too"
rm "$P/local.so"
ln -s "$E" "$T/looks-safe"
ln -s "$T/looks-safe/local.so" "$P/local.so"
expect_rc 0 "$CAIRN" -c "$T/c.conf" plugins
out_has "rejected: refusing plugin directory $E \($E/local.so, resolved from $P/local.so\)"

note "a link to a file writable by others is refused, naming both"
rm "$P/local.so"
chmod o+w "$S/local.so"
ln -s "$S/local.so" "$P/local.so"
expect_rc 0 "$CAIRN" -c "$T/c.conf" plugins
out_has "rejected: refusing plugin $S/local.so \(resolved from $P/local.so\): writable by group or others"

note "a link to a file owned by another user is refused"
chmod o-w "$S/local.so"
if [ "$(id -u)" = 0 ]; then
	chown 65534 "$S/local.so"
	expect_rc 0 "$CAIRN" -c "$T/c.conf" plugins
	out_has "rejected: refusing plugin $S/local.so \(resolved from $P/local.so\): owned by uid 65534"
	chown 0 "$S/local.so"
fi

note "a link into a safe directory loads"
expect_rc 0 "$CAIRN" -c "$T/c.conf" plugins
out_has "local +[0-9.]+ +ABI 2\.[0-9]+"
expect_rc 0 target "$CAIRN" -c "$T/c.conf" backup
ls "$T"/copy/mss-backup-*.tar.zst >/dev/null || fail "nothing sent"

note "a dangling link names the plugin"
rm "$P/local.so"
ln -s "$T/nowhere.so" "$P/local.so"
expect_rc 0 "$CAIRN" -c "$T/c.conf" plugins
out_has "rejected: cannot use plugin $P/local.so"

echo "plugin-symlink: ok"

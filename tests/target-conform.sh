#!/bin/bash
# local and usb (on a loop-mounted ext4 image) pass the plugin
# conformance suite (plugin-tool conform), and leave no temporary behind.
. "$TOP_SRCDIR/tests/lib.sh"

note "local"
expect_rc 0 "$PLUGIN_TOOL" "$CAIRN_PLUGIN_DIR/local.so" path="$T/l" conform
out_has "ok: ranged get \(offset, length\)"
[ -z "$(ls -A "$T/l")" ] || { ls -la "$T/l"; fail "local left files"; }

[ "$(id -u)" = 0 ] || { echo "target-conform: ok (usb needs root)"; exit 0; }
note "usb, on a loop-mounted ext4 image"
U=$T/usb
mkdir "$U"
trap 'st=$?; umount "$U" 2>/dev/null || true; rm -rf "$T"; exit $st' EXIT
truncate -s 32M "$T/usb.img"
mkfs.ext4 -q -F "$T/usb.img" || fail "mkfs.ext4 failed"
mount -o loop "$T/usb.img" "$U" || fail "cannot loop-mount an image"
expect_rc 0 env PLUGIN_TOOL_ARCHIVE_DIR="$T" "$PLUGIN_TOOL" \
	"$CAIRN_PLUGIN_DIR/usb.so" path="$U/b" conform
out_has "ok: space reports free bytes"
[ -z "$(ls -A "$U/b")" ] || { ls -la "$U/b"; fail "usb left files"; }
umount "$U"
echo "target-conform: ok"

#!/bin/bash
# usb target on a real loop-mounted ext4 image and a small tmpfs.
. "$TOP_SRCDIR/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root to mount file systems"
MNT="$T/usb"
cleanup() {
	umount "$MNT" 2>/dev/null || true
	umount "$T/tiny" 2>/dev/null || true
}
trap 'st=$?; cleanup; rm -rf "$T"; exit $st' EXIT

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
truncate -s 64M "$T/usb.img"
mkfs.ext4 -q -F -L CAIRNUSB -U 0b8e3a62-6f1e-4c9e-9f55-1d2c3a4b5c6d \
	"$T/usb.img"
mkdir "$MNT"
mount -o loop "$T/usb.img" "$MNT" || skip "cannot loop-mount an image here"

run() { expect_rc "$1" env CAIRN_TARGET_USB_PLUGIN=usb \
	CAIRN_TARGET_USB_PATH="$MNT" "${@:2}" "$CAIRN" -c "$T/c.conf" backup; }

note "mounted drive: success, with matching uuid and label"
run 0 CAIRN_TARGET_USB_UUID=0b8e3a62-6f1e-4c9e-9f55-1d2c3a4b5c6d \
	CAIRN_TARGET_USB_LABEL=CAIRNUSB
(cd "$MNT" && sha256sum -c --quiet ./*.sha256) || fail "usb copy checksums"

note "another drive (uuid mismatch) is refused"
run 4 CAIRN_TARGET_USB_UUID=11111111-2222-3333-4444-555555555555
out_has "is the right drive plugged in"

note "unmounted: nothing written to the bare directory, exit 4"
umount "$MNT"
run 4
out_has "$MNT is on [^ ]+, (the root file system|the file system of archive_dir [^ ]+) — is the drive plugged in\?"
[ -z "$(ls -A "$MNT")" ] || fail "wrote into the bare mount point"
n=$(ls "$T"/arch/mss-backup-2*.tar.zst.sha256 | wc -l)
[ "$n" -ge 3 ] || fail "local archive not made when usb failed"

note "a drive smaller than the archive: exit 4, no partial file"
mkdir "$T/tiny"
mount -t tmpfs -o size=256k tmpfs "$T/tiny"
expect_rc 4 env CAIRN_TARGET_USB_PLUGIN=usb CAIRN_TARGET_USB_PATH="$T/tiny" \
	"$CAIRN" -c "$T/c.conf" backup
out_has "free"
[ -z "$(ls -A "$T/tiny")" ] || { ls -la "$T/tiny"; fail "partial left"; }

echo "target-usb: ok"

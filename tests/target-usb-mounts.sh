#!/bin/bash
# usb target: without `mount`, the mount holding path is found in
# mountinfo (escapes included) from its nearest existing ancestor, and
# refused only when it is the root file system's or archive_dir's.
. "$TOP_SRCDIR/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root to mount file systems"
MNT="$T/usb" SP="$T/my usb" R=
cleanup() {
	umount "$MNT" 2>/dev/null || true
	umount "$SP" 2>/dev/null || true
	[ -z "$R" ] || rm -rf "$R"
}
trap 'st=$?; cleanup; rm -rf "$T"; exit $st' EXIT

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
mkdir "$MNT" "$SP"
for img in a b; do
	truncate -s 48M "$T/$img.img"
	mkfs.ext4 -q -F "$T/$img.img"
done
mount -o loop "$T/a.img" "$MNT" || skip "cannot loop-mount an image here"
mount -o loop "$T/b.img" "$SP"
grep -q 'my\\040usb' /proc/self/mountinfo || fail "no escaped mount point"

# usb RC PATH [VAR=VALUE...]: a backup to target usb at PATH.
usb() { expect_rc "$1" env CAIRN_TARGET_USB_PLUGIN=usb \
	CAIRN_TARGET_USB_PATH="$2" "${@:3}" "$CAIRN" -c "${CONF:-$T/c.conf}" \
	backup; }

note "path below the mount point (the contract's /media/backup/mss)"
usb 0 "$MNT/mss"
(cd "$MNT/mss" && sha256sum -c --quiet ./*.sha256) || fail "usb checksums"

note "a mount point with a space in its name (mountinfo's \\040)"
usb 0 "$SP/mss"
(cd "$SP/mss" && sha256sum -c --quiet ./*.sha256) || fail "checksums"
usb 0 "$SP/mss" CAIRN_TARGET_USB_MOUNT="$SP"
expect_rc 0 env CAIRN_TARGET_USB_PLUGIN=usb CAIRN_TARGET_USB_PATH="$SP/mss" \
	"$CAIRN" -c "$T/c.conf" plugins
out_has "usb .* ok: $SP mounted from /dev/loop"

note "path on the root file system: refused, naming the mount point"
for d in "$T" /var/tmp /root; do
	[ "$(findmnt -n -o TARGET -T "$d")" = / ] &&
		{ R=$(mktemp -d "$d/cairn-usb-root.XXXXXX"); break; }
done
[ -n "$R" ] || R=$(mktemp -d /cairn-usb-root.XXXXXX)
usb 4 "$R/not/yet/mss"
out_has "$R/not/yet/mss is on /, the root file system — is the drive plugged in\?"
[ ! -e "$R/not" ] || fail "wrote to the root file system"

note "an unplugged drive's directory below its mount point: refused"
umount "$MNT"
usb 4 "$MNT/mss"
out_has "$MNT/mss is on /[^ ]*, the root file system|$MNT/mss is on .*archive_dir"
[ -z "$(ls -A "$MNT")" ] || fail "wrote into the bare mount point"
usb 4 "$MNT/mss" CAIRN_TARGET_USB_MOUNT="$MNT"
out_has "$MNT is not a mount point — is the drive plugged in\?"
mount -o loop "$T/a.img" "$MNT"

note "path on archive_dir's file system: refused"
mss_conf "$T/d.conf" "$T/src" "$MNT/arch" "$MNT/state"
CONF=$T/d.conf usb 4 "$MNT/copy"
out_has "$MNT/copy is on $MNT, the file system of archive_dir $MNT/arch — is the drive plugged in\?"
[ ! -e "$MNT/copy" ] || fail "wrote beside archive_dir"

echo "target-usb-mounts: ok"

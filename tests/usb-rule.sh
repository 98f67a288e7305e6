#!/bin/bash
# `cairn usb-rule TARGET` on a loop-mounted drive: the udev rule matches
# that drive's file system UUID (as blkid reports it for udev) and wants
# the cairn-usb@TARGET.service instance; the drop-in binds the instance
# to the drive's device unit and orders it after the mount; the template
# with the drop-in passes `systemd-analyze verify` without a message.
# A pinned uuid that differs, an unmounted drive and a non-usb target
# are refused.
. "$TOP_SRCDIR/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root to mount file systems"
command -v systemd-analyze >/dev/null ||
	skip "systemd-analyze not found (Debian package systemd)"
MNT=$T/media/usb
trap 'st=$?; umount "$MNT" 2>/dev/null || true; rm -rf "$T"; exit $st' EXIT
UUID=5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f
truncate -s 32M "$T/usb.img"
mkfs.ext4 -q -F -U "$UUID" "$T/usb.img"
mkdir -p "$MNT"
mount -o loop "$T/usb.img" "$MNT" || skip "cannot loop-mount an image here"
dev=$(findmnt -n -o SOURCE --target "$MNT")
mkdir "$MNT/mss"
mkdir -p "$T/src"
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
cat >>"$T/c.conf" <<EOC

[target usb]
plugin = usb
path = $MNT/mss

[target copy]
plugin = local
path = $T/copy
EOC

note "the rule and the drop-in, as JSON"
expect_rc 0 "$CAIRN" -c "$T/c.conf" usb-rule usb --json
python3 - "$T/out" "$T/files" <<'PY' || fail "usb-rule --json"
import json, os, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1 and d["target"] == "usb", d
for f in d["files"]:
    p = sys.argv[2] + f["path"]
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "w").write(f["content"])
print(d["uuid"], d["mount"])
PY
rule=$T/files/etc/udev/rules.d/90-cairn-usb-usb.rules
drop=$T/files/etc/systemd/system/cairn-usb@usb.service.d/drive.conf
[ -f "$rule" ] && [ -f "$drop" ] || fail "files: $(find "$T/files")"

note "the rule matches this drive as udev sees it, and no other"
props=$(blkid -p -o udev "$dev")
grep -q "^ID_FS_UUID=$UUID\$" <<<"$props" || fail "blkid: $props"
matches() { # RULEFILE PROPS: every ENV{K}=="V" of the rule holds
	local k v ok=0
	while read -r k v; do
		ok=1
		grep -qx "$k=$v" <<<"$2" || return 1
	done < <(grep -o 'ENV{[A-Z_]*}=="[^"]*"' "$1" |
		 sed 's/ENV{\(.*\)}=="\(.*\)"/\1 \2/')
	[ "$ok" = 1 ]
}
matches "$rule" "$props" || fail "rule does not match $dev: $(cat "$rule")"
! matches "$rule" "${props//$UUID/11111111-2222-3333-4444-555555555555}" ||
	fail "rule matches another drive"
grep -q '^ACTION=="add", SUBSYSTEM=="block", ' "$rule" || fail "rule: action"
[ "$(readlink -f "/sys/class/block/${dev#/dev/}/subsystem")" = \
	/sys/class/block ] || fail "$dev is not in subsystem block"
grep -q 'TAG+="systemd", ENV{SYSTEMD_WANTS}+="cairn-usb@usb.service"$' \
	"$rule" || fail "rule does not want the instance: $(cat "$rule")"

note "the drop-in binds the instance to the drive and its mount"
devunit=$(systemd-escape --path "/dev/disk/by-uuid/$UUID").device
mntunit=$(systemd-escape --path "$MNT").mount
grep -qxF "BindsTo=$devunit" "$drop" || fail "BindsTo: $(cat "$drop")"
grep -qxF "After=$devunit $mntunit" "$drop" || fail "After: $(cat "$drop")"
grep -qxF "ReadWritePaths=$T/media" "$drop" || fail "RW: $(cat "$drop")"

note "the template and the drop-in pass systemd-analyze verify"
install_dest
bindir=$(dir bindir)
sysdir=$(dir systemdunitdir)
mandir=$(dir mandir)
tmpl=$D$sysdir/cairn-usb@.service
[ -f "$tmpl" ] || fail "cairn-usb@.service not installed in $sysdir"
grep -qx "ExecStart=$bindir/cairn sync --target %i" "$tmpl" ||
	fail "template ExecStart: $(grep ExecStart "$tmpl")"
mkdir -p "$T/v/cairn-usb@usb.service.d"
sed "s|^ExecStart=$bindir/|ExecStart=$D$bindir/|" "$tmpl" \
	>"$T/v/cairn-usb@.service"
cp "$drop" "$T/v/cairn-usb@usb.service.d/"
analyze() {
	local rc=0
	(cd "$T/v" && env MANPATH="$D$mandir" systemd-analyze verify \
		cairn-usb@usb.service) >"$T/verify.out" 2>&1 || rc=$?
	[ "$rc" = 0 ] && [ ! -s "$T/verify.out" ]
}
analyze || { cat "$T/verify.out" >&2; fail "systemd-analyze verify"; }
# The check can fail: a typo in the drop-in is reported.
echo 'BindTo=x.device' >>"$T/v/cairn-usb@usb.service.d/drive.conf"
! analyze || fail "verify did not see the drop-in"
grep -q BindTo "$T/verify.out" || fail "verify: $(cat "$T/verify.out")"

note "the plain output names both files"
expect_rc 0 "$CAIRN" -c "$T/c.conf" usb-rule usb
out_has "^# /etc/udev/rules.d/90-cairn-usb-usb.rules$"
out_has "^# /etc/systemd/system/cairn-usb@usb.service.d/drive.conf$"
grep -qxF "BindsTo=$devunit" "$T/out" || fail "plain BindsTo="

note "a pinned uuid of another drive is refused"
expect_rc 2 env CAIRN_TARGET_USB_UUID=11111111-2222-3333-4444-555555555555 \
	"$CAIRN" -c "$T/c.conf" usb-rule usb
out_has "CAIRN_TARGET_USB_UUID: target usb wants uuid 1111"
expect_rc 0 env CAIRN_TARGET_USB_UUID="${UUID^^}" \
	"$CAIRN" -c "$T/c.conf" usb-rule usb

note "not a usb target, no such target"
expect_rc 2 "$CAIRN" -c "$T/c.conf" usb-rule copy
out_has "usb-rule copy: target uses plugin 'local'"
expect_rc 2 "$CAIRN" -c "$T/c.conf" usb-rule nosuch
out_has "usb-rule nosuch: no such target"
expect_rc 2 "$CAIRN" -c "$T/c.conf" usb-rule
out_has "which target"

note "the drive unplugged: its path is on the root file system"
umount "$MNT"
expect_rc 1 "$CAIRN" -c "$T/c.conf" usb-rule usb
out_has "target usb: $MNT/mss is on the root file system; plug in"
echo "usb-rule: ok"

#!/bin/bash
# `cairn sync --target usb` after the drive missed three nights: the
# nights it lacks are sent with their sidecars (sha256sum -c passes on
# the drive), the target's retention is applied (keep_last = 4 drops the
# oldest), a second sync sends nothing, and with the drive unplugged sync
# fails (exit 1) without writing into the bare mount point.
. "$TOP_SRCDIR/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root to mount file systems"
MNT=$T/usb
trap 'st=$?; umount "$MNT" 2>/dev/null || true; rm -rf "$T"; exit $st' EXIT
dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
cat >>"$T/c.conf" <<EOC

[target usb]
plugin = usb
path = $MNT/mss
keep_last = 4
EOC
truncate -s 64M "$T/usb.img"
mkfs.ext4 -q -F "$T/usb.img"
mkdir "$MNT"
mount -o loop "$T/usb.img" "$MNT" || skip "cannot loop-mount an image here"
C=("$CAIRN" -c "$T/c.conf")
night() { echo "2030-01-0$1 03:15:00"; }
arch() { echo "mss-backup-2030-01-0$1_031500.tar.zst"; }
on_drive() { (cd "$MNT/mss" && ls mss-backup-2*.tar.zst 2>/dev/null |
	tr '\n' ' '); }

note "nights 1 and 2 reach the drive; 3, 4, 5 it is away"
for d in 1 2; do expect_rc 0 "${C[@]}" backup --time "$(night $d)"; done
umount "$MNT"
for d in 3 4 5; do expect_rc 4 "${C[@]}" backup --time "$(night $d)"; done
[ -z "$(ls -A "$MNT")" ] || fail "a backup wrote into the bare mount point"

note "unplugged: sync fails, writes nothing"
expect_rc 1 "${C[@]}" sync --target usb
out_has "is the drive plugged in"
[ -z "$(ls -A "$MNT")" ] || fail "sync wrote into the bare mount point"

expect_rc 1 "${C[@]}" status
out_has "usb"

note "plugged in: the three nights are sent, retention keeps 4"
mount -o loop "$T/usb.img" "$MNT"
[ "$(on_drive)" = "$(arch 1) $(arch 2) " ] || fail "drive: $(on_drive)"
expect_rc 0 "${C[@]}" sync --target usb --json
python3 - "$T/out" <<'PY' || fail "sync --json: $(cat "$T/out")"
import json, sys
t = open(sys.argv[1]).read()
d = json.loads(t[t.index("{"):t.rindex("}") + 1])
assert d["schema"] == 1 and d["ok"] is True and d["target"] == "usb", d
assert d["sent"] == ["mss-backup-2030-01-0%d_031500.tar.zst" % i
                     for i in (3, 4, 5)], d
assert d["already"] == 1 and d["failed"] == [] and d["bytes"] > 0, d
PY
want="$(arch 2) $(arch 3) $(arch 4) $(arch 5) "
[ "$(on_drive)" = "$want" ] || fail "drive holds '$(on_drive)', want '$want'"
(cd "$MNT/mss" && sha256sum -c --quiet ./*.sha256) ||
	fail "checksums on the drive"
for d in 2 3 4 5; do
	cmp "$T/arch/$(arch $d)" "$MNT/mss/$(arch $d)" ||
		fail "$(arch $d) differs on the drive"
	[ -f "$MNT/mss/$(arch $d).manifest" ] || fail "no manifest of night $d"
done

note "status: the drive is current again"
expect_rc 0 "${C[@]}" status
python3 - "$T/state/targets.json" <<'PY' || fail "targets.json: $(cat "$T/state/targets.json")"
import json, sys
u = json.load(open(sys.argv[1]))["usb"]
assert u["status"] == "success" and u["error"] is None, u
assert u["newest_archive"] == "mss-backup-2030-01-05_031500.tar.zst", u
assert u["newest_time"] == "2030-01-05T03:15:00Z", u
PY

note "a second sync has nothing to send"
expect_rc 0 "${C[@]}" sync --target usb
out_has "0 archives sent .*4 already there"
[ "$(on_drive)" = "$want" ] || fail "drive changed: $(on_drive)"

note "usage"
expect_rc 2 "${C[@]}" sync
out_has "which target"
expect_rc 2 "${C[@]}" sync --target nosuch
out_has "no such target"
echo "sync-usb: ok"

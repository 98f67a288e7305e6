#!/bin/bash
# status --copies (the 3-2-1 view): for the newest restore points, which
# places hold them (archive_dir is "local"; targets are asked); a warning
# when the newest has fewer than min_copies (default 2) or no copy on a
# target with offsite = yes; --json with "schema": 1.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
cat >>"$T/c.conf" <<EOC

[target usb]
plugin = local
path = $T/usb

[target cloud]
plugin = local
path = $T/cloud
offsite = yes
EOC
C="$CAIRN -c $T/c.conf"
copies_json() {
	python3 - "$T/out" "$1" <<'PY' || fail "status --copies --json: $(cat "$T/out")"
import json, sys
t = open(sys.argv[1]).read()
j = json.loads(t[t.index("{"):t.rindex("}") + 1])
c = j["copies"]
exec(sys.argv[2])
PY
}

note "local only: one copy, none offsite: two warnings"
expect_rc 0 $C backup --no-targets --time '2026-01-01 00:00:00'
expect_rc 0 $C status --copies
out_has "warning: the newest restore point mss-backup-2026-01-01_000000.tar.zst has 1 copy, fewer than min_copies = 2"
out_has "warning: .* has no offsite copy"
expect_rc 0 $C status --copies --json
copies_json '
assert j["schema"] == 1
assert c["min_copies"] == 2
p = c["restore_points"][0]
assert p["archive"] == "mss-backup-2026-01-01_000000.tar.zst", p
assert p["held_by"] == ["local"] and p["copies"] == 1 and not p["offsite"], p
assert len(c["warnings"]) == 2, c'

note "local and usb: enough copies, still none offsite"
expect_rc 0 $C backup --target usb --time '2026-01-02 00:00:00'
expect_rc 0 $C status --copies
out_has "^  mss-backup-2026-01-02_000000.tar.zst +local usb$"
out_has "^  mss-backup-2026-01-01_000000.tar.zst +local$"
grep -q "fewer than min_copies" "$T/out" && fail "min_copies warned at 2"
out_has "has no offsite copy"

note "the offsite target holds it: no warning"
expect_rc 0 $C backup --time '2026-01-03 00:00:00'
expect_rc 0 $C status --copies
out_has "^  mss-backup-2026-01-03_000000.tar.zst +local usb cloud\(offsite\)$"
grep -q "warning" "$T/out" && fail "warned: $(cat "$T/out")"
expect_rc 0 $C status --copies --json
copies_json '
p = c["restore_points"]
assert [x["archive"][11:21] for x in p] == ["2026-01-03", "2026-01-02", "2026-01-01"], p
assert p[0]["held_by"] == ["local", "usb", "cloud"] and p[0]["offsite"], p
assert p[0]["copies"] == 3 and c["warnings"] == [], c'

note "min_copies = 4 warns; the newest only on the targets counts them"
expect_rc 0 env CAIRN_MIN_COPIES=4 $C status --copies
out_has "has 3 copies, fewer than min_copies = 4"
rm "$T/arch/mss-backup-2026-01-03_000000.tar.zst"*
expect_rc 0 $C status --copies --json
copies_json '
p = c["restore_points"][0]
assert p["held_by"] == ["usb", "cloud"] and p["copies"] == 2, p'
expect_rc 2 env CAIRN_MIN_COPIES=0 $C status
echo "status-copies: ok"

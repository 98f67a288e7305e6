#!/bin/bash
# status per target: each enabled target's newest copy with its age and
# its last drill; --max-age applies to every target's newest copy (a
# stale target exits 1), --max-drill-age to drills (none, an old one);
# a failed drill always exits 1.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
cat >>"$T/c.conf" <<EOC

[target usb]
plugin = local
path = $T/usb

[target nas]
plugin = local
path = $T/nas
EOC
C="$CAIRN -c $T/c.conf"
edit() { # edit FILE PYTHON: j is the parsed file, written back
	python3 - "$1" "$2" <<'PY'
import json, sys
p = sys.argv[1]
j = json.load(open(p))
exec(sys.argv[2])
json.dump(j, open(p, "w"))
PY
}

expect_rc 0 $C backup
expect_rc 0 $C status --max-age 1h
out_has "^local: +newest mss-backup-"
out_has "^target usb: .*newest copy mss-backup-.*age 0m"
out_has "last drill: never"

note "--max-drill-age without any drill exits 1"
expect_rc 1 $C status --max-drill-age 8d
out_has "no successful drill recorded"

note "a drill makes it pass"
expect_rc 0 $C drill
expect_rc 0 $C status --max-age 1h --max-drill-age 8d
out_has "last drill: success at .* of mss-backup-"
expect_rc 0 $C status --json --max-drill-age 8d
python3 - "$T/out" <<'PY' || fail "status --json: $(cat "$T/out")"
import json, sys
t = open(sys.argv[1]).read()
j = json.loads(t[t.index("{"):t.rindex("}") + 1])
assert j["schema"] == 1, j
assert j["local"]["drill"]["status"] == "success", j
assert j["local"]["newest_archive"].startswith("mss-backup-"), j
assert j["targets"]["usb"]["drill"] is None, j
assert j["targets"]["usb"]["newest_archive"].startswith("mss-backup-"), j
assert j["problems"] == [], j
PY

note "an old drill is stale"
edit "$T/state/drills.json" \
	'j["local"]["last_success"] = j["local"]["finished"] = "2020-01-01T00:00:00Z"'
expect_rc 1 $C status --max-drill-age 8d
out_has "drill \(local\): the last good one is older than 691200s"
expect_rc 0 $C status

note "a target's drill counts for it; an old one of it is stale"
expect_rc 0 $C drill
expect_rc 0 $C drill --target nas
expect_rc 0 $C status --max-drill-age 8d
edit "$T/state/drills.json" 'j["nas"]["last_success"] = "2020-01-01T00:00:00Z"'
expect_rc 1 $C status --max-drill-age 8d
out_has "drill \(nas\): the last good one is older"

note "a failed drill exits 1 even without --max-drill-age"
expect_rc 1 env CAIRN_HOOKS_DRILL=false $C drill --target usb
expect_rc 1 $C status
out_has "drill \(usb\) failed at .*drill hook exited 1"

note "a stale target: its newest copy is older than --max-age"
expect_rc 0 $C drill --target usb
expect_rc 0 $C backup --target usb
edit "$T/state/targets.json" \
	'j["nas"]["newest_time"] = "2020-01-01T00:00:00Z"'
expect_rc 1 $C status --max-age 26h
out_has "target nas: its newest copy .* is older than 93600s"
grep -q "target usb: its newest" "$T/out" && fail "usb reported stale"
expect_rc 0 $C status
echo "status-drills: ok"

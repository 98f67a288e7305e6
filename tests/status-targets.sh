#!/bin/bash
# status reports every enabled target: a run that exits 4 makes status
# exit 1 naming the target; a later run with --target of another target
# does not forget it; --max-age applies to each target's newest copy;
# status --json has them all; metrics keep every target's series.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
sed -i "s#^keep_last.*#&\nmetrics_file = $T/cairn.prom#" "$T/c.conf"
touch "$T/notadir"
cat >>"$T/c.conf" <<EOC

[target good]
plugin = local
path = $T/good

[target offsite]
plugin = local
path = $T/notadir/sub

[target spare]
plugin = local
path = $T/spare
enabled = no
EOC
C="$CAIRN -c $T/c.conf"

note "a run with a dead offsite copy exits 4; status exits 1 naming it"
expect_rc 4 $C backup
expect_rc 1 $C status
out_has "target offsite failed"
out_has "^target good: +success"
grep -q spare "$T/out" && fail "a disabled target is reported"
expect_rc 1 $C status --json
python3 - "$T/out" <<'PY' || fail "status --json: $(cat "$T/out")"
import json, sys
t = open(sys.argv[1]).read()
j = json.loads(t[t.index("{"):t.rindex("}") + 1])
assert j["targets"]["offsite"]["status"] == "failure", j
assert j["targets"]["offsite"]["error"], j
assert j["targets"]["good"]["status"] == "success", j
assert j["targets"]["good"]["newest_archive"].startswith("mss-backup-"), j
assert "spare" not in j["targets"], j
assert any("offsite" in p for p in j["problems"]), j
PY
[ "$(stat -c %a "$T/state/targets.json")" = 600 ] || fail "targets.json mode"

note "a run with --target good does not forget offsite's failure"
expect_rc 0 $C backup --target good
expect_rc 1 $C status
out_has "target offsite failed"
grep -q '^cairn_target_success{name="mss",target="offsite"} 0$' \
	"$T/cairn.prom" || fail "offsite series lost: $(cat "$T/cairn.prom")"
grep -q '^cairn_target_success{name="mss",target="good"} 1$' \
	"$T/cairn.prom" || fail "good series: $(cat "$T/cairn.prom")"

note "offsite repaired: status is clean"
rm "$T/notadir"
expect_rc 0 $C backup --target offsite
expect_rc 0 $C status
expect_rc 0 $C status --max-age 1h

note "no targets.json yet (an older cairn): last_backup.json's targets count"
expect_rc 0 $C backup
rm "$T/state/targets.json"
expect_rc 0 $C status --max-age 1h
out_has "^target offsite: +success"
expect_rc 0 $C backup --target good
expect_rc 0 $C status --max-age 1h
out_has "^target offsite: +success"

note "--max-age: a target whose newest copy is old is stale"
rm -rf "$T/arch" "$T/state" "$T/good" "$T/notadir"
mkdir -p "$T/notadir"
expect_rc 0 $C backup --time '2020-01-01 00:00:00'
expect_rc 0 $C status
expect_rc 1 $C status --max-age 26h
out_has "target good: its newest copy mss-backup-2020-01-01_000000.* is older than"
out_has "target offsite: its newest copy .* is older than"
expect_rc 0 $C backup --target good
expect_rc 1 $C status --max-age 26h
out_has "target offsite: its newest copy"
grep -q "target good: its newest" "$T/out" && fail "good is fresh: $(cat "$T/out")"
expect_rc 0 $C backup
expect_rc 0 $C status --max-age 26h

note "a target that never took a copy is stale under --max-age"
cat >>"$T/c.conf" <<EOC

[target new]
plugin = local
path = $T/new
EOC
expect_rc 0 $C status
out_has "^target new: +never run"
expect_rc 1 $C status --max-age 26h
out_has "target new holds no copy"
echo "status-targets: ok"

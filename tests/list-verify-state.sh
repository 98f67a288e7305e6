#!/bin/bash
# A failed verify is recorded (state_dir/verify.json) and list shows it as
# CORRUPT instead of "verified"; list (and --json) shows when each archive
# last passed a check.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
C="$CAIRN -c $T/c.conf"
expect_rc 0 $C backup
A=$(cd "$T/arch" && ls mss-backup-2*.tar.zst)
cp -p "$T/arch/$A" "$T/good"

note "a fresh archive: verified, with the time it was checked"
expect_rc 0 $C list
out_has "^$A .* verified +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +local$"
expect_rc 0 $C list --json
out_has '"verified":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"'

note "verify records the check"
expect_rc 0 $C verify
python3 - "$T/state/verify.json" "$A" <<'PY' || fail "verify.json: $(cat "$T/state/verify.json")"
import json, sys
j = json.load(open(sys.argv[1]))
e = j[sys.argv[2]]
assert e["status"] == "ok" and e["last_ok"] == e["checked"], e
PY
[ "$(stat -c %a "$T/state/verify.json")" = 600 ] || fail "verify.json mode"
expect_rc 0 $C list --json
out_has '"checked":"[0-9]{4}-'

note "4 bytes overwritten: verify fails, list says CORRUPT"
printf 'XXXX' | dd of="$T/arch/$A" bs=1 seek=2000 conv=notrunc status=none
expect_rc 1 $C verify "$A"
out_has "does not match"
expect_rc 0 $C list
out_has "^$A .* CORRUPT "
grep -q verified "$T/out" && fail "list still says verified: $(cat "$T/out")"
expect_rc 0 $C list --json
out_has '"status":"CORRUPT"'
out_has '"verify_error":"[^"]*does not match'
ls "$T"/state/.*verify* 2>/dev/null && fail "temporary file left in state_dir"

note "the good bytes put back (the file changed): the record no longer applies"
cp "$T/good" "$T/arch/$A"
expect_rc 0 $C list
out_has "^$A .* verified "
expect_rc 0 $C verify "$A"
expect_rc 0 $C list
out_has "^$A .* verified "

note "pruned archives leave verify.json"
expect_rc 0 $C backup --time '2030-01-01 00:00:00'
expect_rc 0 $C backup --time '2030-01-02 00:00:00'
expect_rc 0 env CAIRN_KEEP_LAST=1 $C prune
expect_rc 0 $C verify latest
grep -q "$A" "$T/state/verify.json" && fail "a pruned archive is still recorded"
echo "list-verify-state: ok"

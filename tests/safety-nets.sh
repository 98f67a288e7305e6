#!/bin/bash
# Safety nets left by restores: status shows how many and how big; prune
# removes those older than safety_net_days (default 7, CAIRN_SAFETY_NET_DAYS
# overrides), --dry-run only says so, and prune removes nothing while an
# interrupted restore it cannot roll back still needs them.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
C="$CAIRN -c $T/c.conf"
N="$T/src.pre-restore"
expect_rc 0 $C backup

note "two restores leave two safety nets"
expect_rc 0 $C restore full --yes
expect_rc 0 $C restore full --yes
[ "$(ls "$N" | wc -l)" = 2 ] || fail "safety nets: $(ls "$N")"
bytes=$(find "$N" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
[ "$bytes" -gt 0 ] || fail "empty safety nets"
expect_rc 0 $C status
out_has "^safety nets: +2 \([0-9.]+ [kMG]?B\), oldest .* in $N;"
expect_rc 0 $C status --json
python3 - "$T/out" "$bytes" <<'PY' || fail "status --json: $(cat "$T/out")"
import json, sys
t = open(sys.argv[1]).read()
j = json.loads(t[t.index("{"):t.rindex("}") + 1])
n = j["safety_nets"]
assert n["count"] == 2 and n["bytes"] == int(sys.argv[2]), n
assert n["keep_days"] == 7 and len(n["paths"]) == 2, n
PY

note "fresh safety nets are kept"
expect_rc 0 $C prune --dry-run
out_has "nothing to prune"
expect_rc 0 $C prune
[ "$(ls "$N" | wc -l)" = 2 ] || fail "a fresh safety net was removed"

note "one 10 days old: --dry-run names it, prune removes it"
old=$(ls "$N" | head -1)
touch -d '10 days ago' "$N/$old"
expect_rc 0 $C prune --dry-run
out_has "would remove safety net $N/$old \("
grep -q "nothing to prune" "$T/out" && fail "dry run says nothing to prune"
[ -d "$N/$old" ] || fail "--dry-run removed a safety net"
expect_rc 0 $C prune
out_has "removing safety net $N/$old"
[ -e "$N/$old" ] && fail "the old safety net is still there"
[ "$(ls "$N" | wc -l)" = 1 ] || fail "the fresh one went too"

note "safety_net_days from the config file and the environment"
sed -i 's#^keep_last.*#&\nsafety_net_days = 30#' "$T/c.conf"
touch -d '10 days ago' "$N"/*
expect_rc 0 $C prune
[ "$(ls "$N" | wc -l)" = 1 ] || fail "safety_net_days = 30 ignored"
expect_rc 0 $C status
out_has "older than 30 days"
expect_rc 2 env CAIRN_SAFETY_NET_DAYS=soon $C status
out_has "SAFETY_NET_DAYS"

note "when the source is a mount point they are inside it"
M="$T/src/.cairn.pre-restore/2020-01-01_000000"
mkdir -p "$M/data"
echo old >"$M/data/x"
expect_rc 0 $C status
out_has "^safety nets: +2 "

note "an interrupted restore that cannot be rolled back keeps them all"
echo "not a journal" >"$T/state/restore.journal"
touch -d '100 days ago' "$N"/* "$M"
expect_rc 1 env CAIRN_SAFETY_NET_DAYS=0 $C prune
[ -d "$M" ] && [ "$(ls "$N" | wc -l)" = 1 ] || fail "removed during a pending restore"
rm "$T/state/restore.journal"

note "CAIRN_SAFETY_NET_DAYS=0 removes every one, and the empty holder"
expect_rc 0 env CAIRN_SAFETY_NET_DAYS=0 $C prune
[ -e "$N" ] && fail "$N is still there: $(ls -R "$N")"
[ -e "$M" ] && fail "$M is still there"
[ -e "$T/src/data/sound_machine.db" ] || fail "live data touched"
expect_rc 0 $C status
out_has "^safety nets: +none"
expect_rc 0 $C prune --dry-run
out_has "nothing to prune"
echo "safety-nets: ok"

#!/bin/bash
# `list` and `diff` say what kind each archive is (full or incr) and the
# bytes it holds itself: the file bytes stored in it (as `tar -tv` of it
# counts them), against those of the whole restore point; an
# incremental names the archives that hold the rest.
. "$TOP_SRCDIR/tests/lib.sh"
export TZ=UTC

S=$T/src A=$T/arch
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$T/state"
sed -i 's/^keep_last = 7$/keep_last = 7\nincremental = yes\nfull_every = 7d/' "$T/c.conf"
C="$CAIRN -c $T/c.conf"
F=mss-backup-2026-01-01_031500.tar.zst
I=mss-backup-2026-01-02_031500.incr.tar.zst

# held NAME: the bytes of the regular files in the archive (INDEX aside)
held() {
	tar --zstd -tvf "$A/$1" | awk '$1 ~ /^-/ && $6 != "INDEX" { s += $3 }
		END { print s + 0 }'
}

expect_rc 0 $C backup --time "2026-01-01 03:15:00"
head -c 300000 /dev/urandom >"$S/Sounds/new.wav"
expect_rc 0 $C backup --time "2026-01-02 03:15:00"
[ -f "$A/$I" ] || fail "night 2 is not an incremental"
hf=$(held "$F") hi=$(held "$I")
[ "$hi" -ge 300000 ] && [ "$hi" -lt "$hf" ] || fail "test setup: $hi, $hf"

note "list --json: kind, holds_bytes, tree_bytes, needs"
expect_rc 0 $C list --json
python3 - "$T/out" "$F" "$I" "$hf" "$hi" <<'PY' || fail "list --json"
import json, sys
doc = json.load(open(sys.argv[1]))
f, i, hf, hi = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
a = {x["name"]: x for x in doc["archives"]}
assert a[f]["kind"] == "full" and a[i]["kind"] == "incr", a
assert a[f]["holds_bytes"] == hf, (a[f], hf)
assert a[i]["holds_bytes"] == hi, (a[i], hi)
assert a[f]["tree_bytes"] == hf and a[f]["needs"] == [], a[f]
assert a[i]["tree_bytes"] > hi and a[i]["needs"] == [f], a[i]
assert a[i]["tree_files"] == a[f]["tree_files"] + 1, a
PY

note "list: the kind and the bytes held on each line"
expect_rc 0 $C list
fmt() { python3 -c 'import sys; n=int(sys.argv[1]); u=["B","kB","MB","GB"]; i=0
while n >= 1000 and i < 3: n /= 1000; i += 1
print(("%d %s" if i == 0 else "%.1f %s") % (n, u[i]))' "$1"; }
out_has "^$I +incr .* $(fmt "$hi") +verified"
out_has "^$F +full .* $(fmt "$hf") +verified"

note "diff: both archives' kind and bytes, in text and --json"
expect_rc 0 $C diff "$F" "$I"
out_has "^\+ Sounds/new.wav \(300000 bytes\)$"
out_has "^a: $F  full  .* holds $(fmt "$hf") of "
out_has "^b: $I  incr  .* holds $(fmt "$hi") of "
expect_rc 0 $C diff --json "$F" "$I"
python3 - "$T/out" "$F" "$I" "$hf" "$hi" <<'PY' || fail "diff --json"
import json, os, sys
doc = json.load(open(sys.argv[1]))
f, i, hf, hi = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
a, b = doc["archives"]["a"], doc["archives"]["b"]
assert (a["name"], a["kind"], a["holds_bytes"]) == (f, "full", hf), a
assert (b["name"], b["kind"], b["holds_bytes"]) == (i, "incr", hi), b
assert b["tree_bytes"] > b["holds_bytes"] and a["tree_bytes"] == hf, (a, b)
PY

#!/bin/bash
# --json of list, verify, backup, prune (--dry-run) and restore --dry-run:
# each is JSON a stock parser reads, carries "schema": 1, and says what
# the text output says (names, counts, verdicts). backup --json is one
# object a line: status lines, then a summary.
. "$TOP_SRCDIR/tests/lib.sh"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
printf '\n[target copy]\nplugin = local\npath = %s\n' "$T/copy" >>"$T/c.conf"
C=("$CAIRN" -c "$T/c.conf")
py() { python3 - "$T/out" "$@" || fail "$(cat "$T/out")"; }
# jrun RC CMD...: like expect_rc, stdout alone in $T/out (logs in $T/err).
jrun() {
	local want=$1 rc=0
	shift
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" = "$want" ] ||
		{ cat "$T/err" "$T/out" >&2; fail "exit $rc, want $want: $*"; }
}

note "backup --json: status lines, then the summary, one object a line"
jrun 0 "${C[@]}" backup --json --time '2030-01-01 00:00:00'
grep -v '^cairn: ' "$T/out" >"$T/lines"
py "$T/lines" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[2])]
assert all(l["schema"] == 1 for l in lines), lines
assert lines[-1]["message_type"] == "summary", lines[-1]
st = [l for l in lines[:-1] if l["message_type"] == "status"]
assert len(st) == len(lines) - 1 and len(st) >= 2, lines
b = [l for l in st if l["what"] == "backup"]
assert b[0]["bytes_done"] == 0 and b[-1]["percent_done"] > 0.99, b
s = lines[-1]
assert s["status"] == "success" and s["exit"] == 0, s
assert s["archive"] == "mss-backup-2030-01-01_000000.tar.zst", s
assert len(s["sha256"]) == 64 and s["bytes"] > 0 and s["error"] is None
assert s["targets"]["copy"]["status"] == "success", s
assert s["started"].endswith("Z")
PY
sum=$(tail -1 "$T/lines" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sha256"])')
(cd "$A" && sha256sum -c mss-backup-2030-01-01_000000.tar.zst.sha256 \
	>/dev/null) || fail "sidecar"
grep -q "^$sum " "$A/mss-backup-2030-01-01_000000.tar.zst.sha256" ||
	fail "summary sha256 is not the archive's"
expect_rc 0 "${C[@]}" backup --no-targets --time '2030-01-02 00:00:00'
expect_rc 0 "${C[@]}" backup --no-targets --time '2030-01-03 00:00:00'

note "a failed backup still ends with a summary"
jrun 1 env CAIRN_SOURCE="$T/nonexistent" "${C[@]}" backup --json
py <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
s = lines[-1]
assert s["message_type"] == "summary" and s["status"] == "failure", s
assert s["exit"] == 1 and s["error"], s
PY

note "list --json"
jrun 0 "${C[@]}" list --json
py <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1
names = [a["name"] for a in d["archives"]]
assert names == ["mss-backup-2030-01-0%d_000000.tar.zst" % i
                 for i in (3, 2, 1)], names
assert all(a["status"] == "verified" and a["where"] == "local" and
           a["bytes"] > 0 for a in d["archives"]), d
PY

jrun 0 "${C[@]}" list --target copy --json
py <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1, d
assert [(a["name"], a["status"], a["where"]) for a in d["archives"]] == [
    ("mss-backup-2030-01-01_000000.tar.zst", "complete", "copy")], d
PY

note "verify --json, good and bad"
jrun 0 "${C[@]}" verify --json --deep
py <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1 and d["ok"] is True and d["deep"] is True, d
assert d["archive"] == "mss-backup-2030-01-03_000000.tar.zst", d
assert d["members"] > 10 and d["databases"] == 1 and d["error"] is None, d
PY
printf 'XXXX' | dd of="$A/mss-backup-2030-01-01_000000.tar.zst" bs=1 \
	seek=2000 conv=notrunc status=none
jrun 1 "${C[@]}" verify --json mss-backup-2030-01-01_000000.tar.zst
grep -v '^cairn: ' "$T/out" >"$T/j"
py "$T/j" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
assert d["ok"] is False and "does not match" in d["error"], d
PY

note "prune --dry-run --json names what it would remove"
jrun 0 env CAIRN_KEEP_LAST=1 "${C[@]}" prune --dry-run --json
grep -v '^cairn: ' "$T/out" >"$T/j"
py "$T/j" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
assert d["schema"] == 1 and d["dry_run"] is True and d["ok"] is True, d
assert sorted(d["archives"]) == ["mss-backup-2030-01-01_000000.tar.zst",
                                 "mss-backup-2030-01-02_000000.tar.zst"], d
assert d["safety_nets"] == [], d
PY
[ "$(ls "$A"/mss-backup-2*.tar.zst | wc -l)" = 3 ] || fail "dry run removed"

note "restore --dry-run --json: the plan"
rm "$S/Sounds/uploads/"$(ls "$S/Sounds/uploads" | head -1)
echo extra >"$S/Sounds/extra.wav"
jrun 0 "${C[@]}" restore audio --dry-run --json
grep -v '^cairn: ' "$T/out" >"$T/j"
py "$T/j" "$S" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
assert d["schema"] == 1 and d["mode"] == "audio" and d["exact"] is False
assert d["into"] == sys.argv[3], d
t = d["total"]
assert t["add"] == 1 and t["keep"] == 1 and t["remove"] == 0, t
assert [c["component"] for c in d["components"]] == ["audio"], d
acts = {(p["action"], p["path"]) for p in d["paths"]}
assert ("keep", "Sounds/extra.wav") in acts, acts
assert any(a == "add" and p.startswith("Sounds/uploads/") for a, p in acts)
PY
jrun 0 "${C[@]}" restore audio --dry-run --exact --json
grep -v '^cairn: ' "$T/out" >"$T/j"
py "$T/j" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
assert d["exact"] is True and d["total"]["remove"] == 1, d
PY
[ -f "$S/Sounds/extra.wav" ] || fail "a dry run touched the tree"
expect_rc 2 "${C[@]}" restore audio --json --yes
out_has "cairn restore: --json needs --dry-run"
note "plugins --json: every plugin file and every target, checked"
jrun 0 "${C[@]}" plugins --json
py <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1 and d["dir"], d
local = [p for p in d["plugins"] if p["name"] == "local"]
assert local and local[0]["ok"] and local[0]["kind"] == "target", d
assert local[0]["abi"].startswith("2."), local
t = d["targets"]
assert [x["name"] for x in t] == ["copy"] and t[0]["ok"] is True, t
PY
echo "json-outputs: ok"

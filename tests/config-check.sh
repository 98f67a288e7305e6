#!/bin/bash
# `cairn config check`: every effective setting with its origin — the
# file's line, the environment variable that overrides it, or the
# default (a target's retention inherited from [cairn] names that line);
# secrets as ***; every target's plugin loaded and checked, exit 1 if one
# fails; a bad config is exit 2 naming FILE:LINE. Text and --json.
. "$TOP_SRCDIR/tests/lib.sh"

mkdir -p "$T/src/data" "$T/copy"
cat >"$T/c.conf" <<EOC
[cairn]
name = mss
source = $T/src
archive_dir = $T/arch
keep_daily = 5
compression = gzip

[component db]
type = files
path = data

[target copy]
plugin = local
path = $T/copy
keep_last = 2

[target s3]
plugin = s3
enabled = no
endpoint = http://127.0.0.1:9
region = eu-west-1
bucket = b
access_key = AKIDEXAMPLE
secret_key = hunter2-very-secret
EOC
chmod 600 "$T/c.conf"
export CAIRN_KEEP_LAST=3 CAIRN_TARGET_ENVT_PLUGIN=local \
	CAIRN_TARGET_ENVT_PATH="$T/envt"
C=("$CAIRN" -c "$T/c.conf")

note "text: values, origins, secrets hidden"
expect_rc 0 "${C[@]}" config check
! grep -q hunter2 "$T/out" || fail "the secret is printed"
line() { # SECTION KEY VALUE ORIGIN: that line under [SECTION]
	awk -v s="[$1]" '/^\[/ { in_s = ($0 == s) } in_s' "$T/out" |
		grep -Eq "^$2 += $3 +; $4\$" ||
		{ cat "$T/out" >&2; fail "[$1] $2 = $3 ; $4"; }
}
line cairn name mss "$T/c.conf:2"
line cairn keep_daily 5 "$T/c.conf:5"
line cairn keep_last 3 CAIRN_KEEP_LAST
line cairn threads 0 default
line cairn compression_level 6 default
line cairn state_dir "$T/arch" "default \(archive_dir\)"
line "component db" required yes default
line "target copy" keep_last 2 "$T/c.conf:15"
line "target copy" keep_daily 5 "\[cairn\] $T/c.conf:5"
line "target s3" secret_key '\*\*\*' "$T/c.conf:24"
line "target envt" path "$T/envt" CAIRN_TARGET_ENVT_PATH
out_has "^target copy \(plugin local\): ok"
out_has "^target s3 \(plugin s3, disabled\): ok"
out_has "^target envt \(plugin local\): ok"

note "--json: the same, parsed"
expect_rc 0 "${C[@]}" config check --json
python3 - "$T/out" "$T" <<'PY' || fail "config check --json"
import json, sys
d = json.load(open(sys.argv[1]))
t = sys.argv[2]
assert d["schema"] == 1 and d["ok"] is True, d
assert d["config"] == t + "/c.conf"
s = {(x["section"], x["key"]): (x["value"], x["origin"]) for x in d["settings"]}
want = {
    ("cairn", "keep_daily"): ("5", t + "/c.conf:5"),
    ("cairn", "keep_last"): ("3", "CAIRN_KEEP_LAST"),
    ("cairn", "keep_weekly"): ("0", "default"),
    ("cairn", "compression"): ("gzip", t + "/c.conf:6"),
    ("target copy", "keep_daily"): ("5", "[cairn] " + t + "/c.conf:5"),
    ("target copy", "enabled"): ("yes", "default"),
    ("target s3", "secret_key"): ("***", t + "/c.conf:24"),
    ("target envt", "plugin"): ("local", "CAIRN_TARGET_ENVT_PLUGIN"),
}
for k, v in want.items():
    assert s.get(k) == v, (k, s.get(k), v)
assert "hunter2" not in open(sys.argv[1]).read()
tg = {x["name"]: x for x in d["targets"]}
assert set(tg) == {"copy", "s3", "envt"}, tg
assert all(x["ok"] for x in tg.values()), tg
PY

note "a target that fails its check: exit 1, named"
touch "$T/file"
expect_rc 1 env CAIRN_TARGET_COPY_PATH="$T/file/sub" "${C[@]}" config check
out_has "^target copy \(plugin local\): FAILED: .*$T/file/sub"
out_has "^path += $T/file/sub +; CAIRN_TARGET_COPY_PATH$"
expect_rc 1 env CAIRN_TARGET_COPY_PATH="$T/file/sub" "${C[@]}" config check \
	--json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));
assert d["ok"] is False
assert [t["name"] for t in d["targets"] if not t["ok"]] == ["copy"]' \
	"$T/out" || fail "--json with a failed target: $(cat "$T/out")"
note "a plugin key the plugin does not know: exit 1, FILE:LINE"
expect_rc 1 env CAIRN_TARGET_ENVT_BOGUS=1 "${C[@]}" config check
out_has "target envt \(plugin local\): FAILED: CAIRN_TARGET_ENVT_BOGUS: unknown key 'bogus'"

note "a bad config: exit 2, FILE:LINE; a bad subcommand: exit 2"
expect_rc 2 "${C[@]}" config chk
out_has "cairn config: unknown subcommand 'chk'"
expect_rc 2 "${C[@]}" config
out_has "which subcommand"
sed -i '2a frobnicate = 1' "$T/c.conf"
expect_rc 2 "${C[@]}" config check
out_has "$T/c.conf:3: unknown key 'frobnicate' in \[cairn\]"
echo "config-check: ok"

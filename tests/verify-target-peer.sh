# The checks of `cairn verify --target` shared by the local, ssh and s3
# tests; sourced after tests/lib.sh.
#
#   flip FILE                      flip one byte in the middle of FILE
#   vt_checks TARGET CONF NAME OBJ a good copy passes, then a flipped
#       byte, a missing sidecar and a truncated object each fail naming
#       the object. NAME is an archive on TARGET; OBJ is a function
#       printing the local path of one of TARGET's objects (for ssh and
#       local: a path; s3 defines vt_get/vt_put instead, see below).
#   vt_get TARGET OBJECT FILE / vt_put TARGET FILE OBJECT / vt_rm TARGET
#       OBJECT: how a test reaches into the target; the defaults use
#       the function named by the fourth argument of vt_checks.

flip() {
	local f=$1 n off b
	n=$(stat -c %s "$f")
	off=$((n / 2))
	b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
	printf "$(printf '\\%03o' $(((b + 1) % 256)))" |
		dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

vt_path_fn=
vt_get() { cp "$("$vt_path_fn" "$2")" "$3"; }
vt_put() { cp "$2" "$("$vt_path_fn" "$3")"; }
vt_rm() { rm "$("$vt_path_fn" "$2")"; }

vt_checks() {
	local tg=$1 conf=$2 name=$3
	[ -z "${4:-}" ] || vt_path_fn=$4

	note "$tg: a good copy passes"
	expect_rc 0 "$CAIRN" -c "$conf" verify --target "$tg"
	out_has "^target $tg: $name: OK \(3 objects match its sidecar"
	out_has "^target $tg: [0-9]+ archives? checked, 0 with problems"
	expect_rc 0 "$CAIRN" -c "$conf" verify --target "$tg" latest --json
	python3 - "$T/out" "$name" <<'PY' || fail "bad --json"
import json, sys
d = json.load(open(sys.argv[1]))
a = d["archives"]
assert d["schema"] == 1 and d["ok"] is True and d["error"] is None, d
assert [x["archive"] for x in a] == [sys.argv[2]], a
assert a[0]["ok"] and a[0]["problems"] == [] and a[0]["objects"] == 3, a
PY
	expect_rc 0 "$CAIRN" -c "$conf" verify --target "$tg" "$name" --deep
	out_has "^target $tg: $name: OK .* members against the manifest, 1 SQLite"

	note "$tg: a flipped byte in the archive"
	vt_get "$tg" "$name" "$T/vt-good"
	cp "$T/vt-good" "$T/vt-bad"
	flip "$T/vt-bad"
	vt_put "$tg" "$T/vt-bad" "$name"
	expect_rc 1 "$CAIRN" -c "$conf" verify --target "$tg" "$name"
	out_has "target $tg: $name: sha256 [0-9a-f]{12}\.\.\., but $name\.sha256 says"
	out_has "^target $tg: $name: FAILED \(1 problem\)"
	expect_rc 1 "$CAIRN" -c "$conf" verify --target "$tg" --json
	python3 - "$T/out" "$name" <<'PY' || fail "bad --json of a failure"
import json, sys
d = json.load(open(sys.argv[1].strip()))
a = [x for x in d["archives"] if x["archive"] == sys.argv[2]][0]
assert d["ok"] is False and a["ok"] is False, d
assert len(a["problems"]) == 1 and "sha256" in a["problems"][0], a
PY
	vt_put "$tg" "$T/vt-good" "$name"

	note "$tg: a missing sidecar"
	vt_get "$tg" "$name.manifest" "$T/vt-man"
	vt_rm "$tg" "$name.manifest"
	expect_rc 1 "$CAIRN" -c "$conf" verify --target "$tg"
	out_has "target $tg: $name\.manifest: missing"
	vt_put "$tg" "$T/vt-man" "$name.manifest"
	vt_get "$tg" "$name.sha256" "$T/vt-side"
	vt_rm "$tg" "$name.sha256"
	expect_rc 1 "$CAIRN" -c "$conf" verify --target "$tg"
	out_has "target $tg: $name\.sha256: missing"
	vt_put "$tg" "$T/vt-side" "$name.sha256"

	note "$tg: a truncated object"
	head -c $(($(stat -c %s "$T/vt-good") - 1000)) "$T/vt-good" >"$T/vt-short"
	vt_put "$tg" "$T/vt-short" "$name"
	expect_rc 1 "$CAIRN" -c "$conf" verify --target "$tg" "$name"
	out_has "target $tg: $name: [0-9]+ bytes on the target, [0-9]+ in "
	out_has "target $tg: $name: sha256 "
	vt_put "$tg" "$T/vt-good" "$name"
	expect_rc 0 "$CAIRN" -c "$conf" verify --target "$tg"
}

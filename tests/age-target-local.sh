#!/bin/bash
# An encrypted local target end to end: backup sends NAME.tar.zst.age,
# NAME.tar.zst.manifest.age and NAME.tar.zst.age.sha256 (nothing in
# plaintext); sha256sum -c works there without the key; age -d | tar -x
# reproduces the tree; after the local disk is lost, restore --from with
# the identity brings it back, and a wrong identity touches nothing.
# Damage to the copy (a flipped byte, truncation, a dropped chunk) is an
# integrity error before live data is touched.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/age-target-peer.sh"
command -v age >/dev/null || skip "age not installed"

age_setup
TGT=copy
R=$T/copy
age_local_target copy "$R"
LIST="ls -A $R"
local_fetch() { cp "$R/$1" "$2"; }
age_target_run local_fetch

a=$(cd "$R" && ls mss-backup-*.tar.zst.age)
# resum: the target's sidecar made to match its (damaged) copies.
resum() {
	(cd "$R" && sha256sum "$a" "${a%.age}.manifest.age" \
		"${a%.age}.index.age" >"$a.sha256")
}
damaged() {
	rm -rf "$T/archive"
	echo damaged >"$T/src/data/sound_machine.db"
	expect_rc 1 "$CAIRN" -c "$CONF" restore full --from copy --yes \
		--identity "$T/key"
	out_has "$1"
	[ "$(cat "$T/src/data/sound_machine.db")" = damaged ] ||
		fail "live data touched"
	cp "$T/good" "$R/$a"
}
cp "$R/$a" "$T/good"
size=$(stat -c %s "$R/$a")

note "a flipped byte in the copy: integrity error, nothing touched"
printf '\x55' | dd of="$R/$a" bs=1 seek=$((size / 2)) conv=notrunc \
	2>/dev/null
damaged "does not match its checksum|does not authenticate"

note "the same with the sidecar made to match: the AEAD catches it"
printf '\x55' | dd of="$R/$a" bs=1 seek=$((size / 2)) conv=notrunc \
	2>/dev/null
resum
damaged "does not authenticate"
resum

note "truncated, with a matching sidecar"
head -c $((size - 100)) "$T/good" >"$R/$a"
resum
damaged "does not authenticate|truncated"
resum

note "a dropped chunk, with a matching sidecar"
python3 - "$T/good" "$R/$a" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
h = d.index(b"\n---") + 1
h = d.index(b"\n", h) + 1 + 16
c = 65536 + 16
open(sys.argv[2], "wb").write(d[:h] + d[h + c:])
PY
resum
damaged "does not authenticate|truncated"
echo PASS

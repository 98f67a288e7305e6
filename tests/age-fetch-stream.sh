#!/bin/bash
# A fetch from an encrypted target decrypts in the sink of each get: no
# ciphertext copy ever lands on disk (no local file named *.age is ever
# opened for writing, seen in the system calls of restore --from), the
# restore uses the plaintext in the fetch dir as from a plain target,
# and the decrypted index comes along (NAME.index.age: NAME.index,
# covered by the local sidecar). A flipped byte in the index copy, its
# sidecar made to match, is an integrity error before anything is
# touched.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/age-target-peer.sh"
command -v strace >/dev/null || fail "strace is needed (Debian package strace)"

age_setup
R=$T/copy
age_local_target copy "$R"
expect_rc 0 "$CAIRN" -c "$CONF" backup
a=$(cd "$R" && ls mss-backup-*.tar.zst.age)
[ -f "$R/${a%.age}.index.age" ] || fail "no encrypted index on the target"

note "restore --from: decrypted as it arrives, no .age file written"
rm -rf "$T/archive" "$T/src/Sounds"
# (LeakSanitizer cannot run under ptrace.)
ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$T/trace" -e trace=openat \
	"$CAIRN" -c "$CONF" restore full --from copy --yes \
	--identity "$T/key" >"$T/out" 2>&1 ||
	{ cat "$T/out"; fail "traced restore"; }
grep -q "\"$R/$a\"" "$T/trace" || fail "the trace does not show the get"
if grep -E 'O_WRONLY|O_RDWR|O_CREAT' "$T/trace" |
	grep -Eq '\.age(\.[A-Za-z0-9]+)?"'; then
	grep -E 'O_WRONLY|O_RDWR|O_CREAT' "$T/trace" | grep '\.age' >&2
	fail "a ciphertext copy was written locally"
fi
same_tree "$T/src"
b=${a%.age}
for f in "$b" "$b.manifest" "$b.index" "$b.sha256"; do
	[ -f "$T/archive/$f" ] || fail "fetched $f not kept"
done
ls "$T/archive" | grep -q '\.age' && fail "a .age file in archive_dir"
(cd "$T/archive" && sha256sum -c --quiet "$b.sha256") ||
	fail "local sidecar of the decrypted archive"
grep -q "  $b.index\$" "$T/archive/$b.sha256" ||
	fail "the local sidecar does not cover the index"

note "a flipped byte in the index copy (sidecar matching): nothing touched"
rm -rf "$T/archive"
echo damaged >"$T/src/data/sound_machine.db"
ix=$R/$b.index.age
printf '\x55' | dd of="$ix" bs=1 seek=$(($(stat -c %s "$ix") - 20)) \
	conv=notrunc 2>/dev/null
(cd "$R" && sha256sum "$a" "$b.manifest.age" "$b.index.age" >"$a.sha256")
expect_rc 1 "$CAIRN" -c "$CONF" restore full --from copy --yes \
	--identity "$T/key"
out_has "$b.index.age: .*(does not authenticate|truncated)"
[ "$(cat "$T/src/data/sound_machine.db")" = damaged ] ||
	fail "live data touched"
ls "$T/archive" 2>/dev/null | grep -q . && fail "files left in archive_dir"
echo PASS

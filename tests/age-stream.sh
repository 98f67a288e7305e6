#!/bin/bash
# An encrypted target is streamed as a plain one is: its thread encrypts
# the archive's bytes on their way into the put, so the target holds the
# ciphertext of exactly the local archive without the archive being read
# again; nothing is under a final name before the commit, SIGTERM before
# it leaves nothing; a stream failing mid-way falls back to encrypting
# the finished archive.
. "$TOP_SRCDIR/tests/lib.sh"
command -v age >/dev/null || skip "age not installed"

dataset "$T/src" 4
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
"$CAIRN" keygen -o "$T/key" >"$T/rcpt"
mkdir -p "$T/copy"
cat >>"$T/c.conf" <<EOC

[target copy]
plugin = local
path = $T/copy
encrypt = age
recipients = $(cat "$T/rcpt")
EOC

note "streamed: the ciphertext of the local archive's very bytes"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
out_has "target copy: mss-backup-[0-9_-]+\.tar\.zst\.age committed, encrypted as it was written"
grep -q "streaming failed" "$T/out" && fail "stream fell back"
a=$(ls "$T"/arch/mss-backup-2*.tar.zst)
b=$T/copy/$(basename "$a").age
age -d -i "$T/key" "$b" | cmp - "$a" ||
	fail "the target's plaintext differs from the local archive"
(cd "$T/copy" && sha256sum -c --quiet ./*.sha256) || fail "copy checksum"
for s in manifest index; do
	age -d -i "$T/key" "${b%.age}.$s.age" | cmp - "$a.$s" ||
		fail "the $s copy differs"
done
ls -A "$T/copy" | grep -q partial && fail "temporary left on the target"

rm -rf "$T/copy"/*
stream_interrupted "$T/c.conf" "$T/copy" "$T/arch"

note "a stream failing mid-way (ERETRY) falls back and ends correct"
mem_plugin_dir
expect_rc 0 env CAIRN_PLUGIN_DIR="$P" CAIRN_RETRY_DELAY=0 \
	CAIRN_TARGET_M_PLUGIN=mem CAIRN_TARGET_M_FAIL_FROM=2 \
	CAIRN_TARGET_M_FAIL_WRITES=1 CAIRN_TARGET_M_ENCRYPT=age \
	CAIRN_TARGET_M_RECIPIENTS="$(cat "$T/rcpt")" \
	"$CAIRN" -v -c "$T/c.conf" backup --target m
out_has "target m: injected write failure 1; retrying \(2 of 3\)"
[ "$(grep -c 'target m: begin mss-backup-[0-9_-]*\.tar\.zst\.age$' \
	"$T/out")" = 2 ] || { cat "$T/out"; fail "the archive was not sent again"; }
out_has "target m: begin mss-backup-[0-9_-]*\.tar\.zst\.index\.age$"
out_has "target m: sent"
grep -q "target m: .* committed, encrypted" "$T/out" &&
	fail "the failed stream was committed"
echo "age-stream: ok"

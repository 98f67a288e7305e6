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

note "before the commit: streamed, but nothing under the final name"
rm -rf "$T/copy"/*
CAIRN_PUBLISH_PAUSE=60 "$CAIRN" -c "$T/c.conf" backup >"$T/run.out" 2>&1 &
pid=$!
for i in $(seq 1 1200); do
	grep -q '^cairn: writing' "$T/run.out" &&
		ls -A "$T/copy" 2>/dev/null | grep -q '\.partial$' &&
		ls "$T"/arch/.*partial* >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
ls -A "$T/copy" 2>/dev/null | grep -q '\.partial$' ||
	{ cat "$T/run.out"; fail "no temporary on the target while writing"; }
ls -A "$T/copy" | grep -Eq '^mss-backup-[0-9_-]+\.tar\.zst' &&
	fail "a name is visible on the target before the commit"

note "SIGTERM before the commit: nothing left on the target"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 1 ] || { cat "$T/run.out"; fail "interrupted run: exit $rc"; }
[ -z "$(ls -A "$T/copy")" ] ||
	{ ls -la "$T/copy"; fail "the aborted stream left files"; }

note "a stream failing mid-way (ERETRY) falls back and ends correct"
P=$T/plugins
mkdir -m 755 "$P"
cp "$TOP_BUILDDIR/tests/.libs/mem.so" "$P/"
chmod 755 "$P"/*.so
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

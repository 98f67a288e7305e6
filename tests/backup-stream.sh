#!/bin/bash
# backup streams the compressed bytes to each target while it writes the
# local archive and commits them only after the archive is verified: the
# target gets identical bytes; before the commit nothing is under the
# final name; SIGTERM before the commit leaves nothing on the target; a
# stream that fails mid-way (ERETRY) falls back to sending the finished
# archive and still ends correct (the mem plugin checks the sha256).
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 4
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
cat >>"$T/c.conf" <<EOC

[target copy]
plugin = local
path = $T/copy
EOC

note "streamed: the target holds the same bytes, then the sidecars"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
out_has "target copy: mss-backup-[0-9_-]+\.tar\.zst committed, streamed"
a=$(ls "$T"/arch/mss-backup-2*.tar.zst)
b=$T/copy/$(basename "$a")
cmp "$a" "$b" || fail "target bytes differ from the local archive"
(cd "$T/copy" && sha256sum -c --quiet ./*.sha256) || fail "copy checksum"
[ -f "$b.manifest" ] || fail "no manifest sidecar on the target"
grep -q "streaming failed" "$T/out" && fail "stream fell back"
ls -A "$T/copy" | grep -q partial && fail "temporary left on the target"

rm -rf "$T/copy"
stream_interrupted "$T/c.conf" "$T/copy" "$T/arch"

note "a stream failing mid-way (ERETRY) falls back and ends correct"
mem_plugin_dir
expect_rc 0 env CAIRN_PLUGIN_DIR="$P" CAIRN_RETRY_DELAY=0 \
	CAIRN_TARGET_M_PLUGIN=mem CAIRN_TARGET_M_FAIL_FROM=2 \
	CAIRN_TARGET_M_FAIL_WRITES=1 "$CAIRN" -v -c "$T/c.conf" backup \
	--target m
out_has "target m: injected write failure 1; retrying \(2 of 3\)"
[ "$(grep -c 'target m: begin mss-backup-[0-9_-]*\.tar\.zst$' "$T/out")" \
	= 2 ] || fail "the archive was not sent again"
out_has "target m: sent"
grep -q "target m: .* committed, streamed" "$T/out" &&
	fail "the failed stream was committed"
echo "backup-stream: ok"

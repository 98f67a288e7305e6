#!/bin/bash
# ERETRY from write() or commit() of a plugin whose transactions survive
# it (CAIRN_PROP_RESUMABLE, the mem plugin's `resumable`): the core waits
# and calls the same write() (commit()) again on the open transaction,
# so the put is begun once; without the property the whole put is
# repeated on a fresh handle. The mem plugin checks the SHA-256 the core
# commits against the bytes it received, so a resumed stream that lost
# or doubled a chunk fails.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 4
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
mem_plugin_dir
export CAIRN_PLUGIN_DIR="$P" CAIRN_RETRY_DELAY=0 CAIRN_TARGET_M_PLUGIN=mem

begins() { grep -c "target m: begin mss-backup-[0-9_-]*\.tar\.zst$" \
	"$T/out" || true; }

note "the archive spans several writes"
expect_rc 0 "$CAIRN" -v -c "$T/c.conf" backup
a=$(ls "$T/arch"/mss-backup-2*.tar.zst | head -1)
[ "$(stat -c %s "$a")" -gt $((3 << 20)) ] || fail "archive under 3 MiB"
[ "$(begins)" = 1 ] || { cat "$T/out"; fail "begun $(begins) times"; }

note "resumable: a write failing mid-stream is retried in place"
expect_rc 0 env CAIRN_TARGET_M_RESUMABLE=yes CAIRN_TARGET_M_FAIL_FROM=2 \
	CAIRN_TARGET_M_FAIL_WRITES=2 "$CAIRN" -v -c "$T/c.conf" backup
out_has "target m: injected write failure 1; retrying \(2 of 3\)"
out_has "target m: injected write failure 2; retrying \(3 of 3\)"
out_has "target m: sent"
[ "$(begins)" = 1 ] || fail "begun $(begins) times, not resumed"

note "resumable: a commit failing with ERETRY is retried in place"
expect_rc 0 env CAIRN_TARGET_M_RESUMABLE=yes CAIRN_TARGET_M_FAIL_COMMITS=1 \
	"$CAIRN" -v -c "$T/c.conf" backup
out_has "target m: injected commit failure 1; retrying \(2 of 3\)"
out_has "target m: sent"
[ "$(begins)" = 1 ] || fail "begun $(begins) times, not resumed"

note "resumable: retries run out, the target fails, the archive stays"
expect_rc 4 env CAIRN_TARGET_M_RESUMABLE=yes CAIRN_TARGET_M_FAIL_FROM=1 \
	CAIRN_TARGET_M_FAIL_WRITES=9 CAIRN_TARGET_M_RETRIES=1 \
	"$CAIRN" -v -c "$T/c.conf" backup
out_has "target m failed: injected write failure 2$"
[ "$(begins)" = 1 ] || fail "begun $(begins) times"

note "not resumable: the whole put is repeated on a fresh handle"
expect_rc 0 env CAIRN_TARGET_M_FAIL_FROM=2 CAIRN_TARGET_M_FAIL_WRITES=1 \
	"$CAIRN" -v -c "$T/c.conf" backup
out_has "target m: injected write failure 1; retrying \(2 of 3\)"
[ "$(begins)" = 2 ] || fail "begun $(begins) times, want 2"
echo "target-resume: ok"

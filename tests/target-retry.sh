#!/bin/bash
# The core's retry layer (core/backend.c), driven by the mem plugin's
# fault injection: an ERETRY write is retried on a fresh handle and the
# send succeeds; an EFAIL write is not retried; `retries = 0` means one
# try. The mem plugin itself passes the conformance suite.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
mem_plugin_dir

note "mem passes the conformance suite"
expect_rc 0 "$PLUGIN_TOOL" "$P/mem.so" conform
out_has "ok: the target holds what it held before"

export CAIRN_PLUGIN_DIR="$P" CAIRN_RETRY_DELAY=0
note "ERETRY is retried, and the send then succeeds"
expect_rc 0 env CAIRN_TARGET_M_PLUGIN=mem CAIRN_TARGET_M_FAIL_WRITES=2 \
	"$CAIRN" -c "$T/c.conf" backup
out_has "target m: injected write failure 1; retrying \(2 of 3\)"
out_has "target m: injected write failure 2; retrying \(3 of 3\)"
out_has "target m: sent"

note "retries = 0: one try only"
expect_rc 4 env CAIRN_TARGET_M_PLUGIN=mem CAIRN_TARGET_M_FAIL_WRITES=1 \
	CAIRN_TARGET_M_RETRIES=0 "$CAIRN" -c "$T/c.conf" backup
! grep -q retrying "$T/out" || fail "retried"
out_has "target m failed: injected write failure 1"

note "EFAIL is never retried"
expect_rc 4 env CAIRN_TARGET_M_PLUGIN=mem CAIRN_TARGET_M_FAIL_WRITES=5 \
	CAIRN_TARGET_M_FAIL_CODE=1 "$CAIRN" -c "$T/c.conf" backup
! grep -q retrying "$T/out" || fail "retried"
out_has "target m failed: injected write failure 1$"

note "a bad value of a typed key is refused with FILE-less env name"
expect_rc 4 env CAIRN_TARGET_M_PLUGIN=mem CAIRN_TARGET_M_RETRIES=many \
	"$CAIRN" -c "$T/c.conf" backup
out_has "CAIRN_TARGET_M_RETRIES: bad value for 'retries'"
echo "target-retry: ok"

#!/bin/bash
# SIGTERM while the core waits to retry a target: no further attempt, the
# target fails as interrupted and the run ends. (The target is opened as
# the archive is written, to stream to it: the signal comes once the
# archive is verified, while the core still waits to retry.)
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
ssh-keygen -q -t ed25519 -N '' -f "$T/id"
: >"$T/kh"
# Nobody listens there: every attempt fails at once, retryably.
port=$(free_port)
env CAIRN_RETRY_DELAY=5 CAIRN_TARGET_NAS_PLUGIN=ssh \
	CAIRN_TARGET_NAS_HOST=127.0.0.1 CAIRN_TARGET_NAS_PORT="$port" \
	CAIRN_TARGET_NAS_PATH=/backups CAIRN_TARGET_NAS_IDENTITY="$T/id" \
	CAIRN_TARGET_NAS_KNOWN_HOSTS="$T/kh" \
	"$CAIRN" -c "$T/c.conf" backup >"$T/run.out" 2>&1 &
pid=$!
for i in $(seq 1 600); do
	grep -q 'retrying (2 of 3)' "$T/run.out" &&
		grep -q 'archive .* verified' "$T/run.out" && break
	sleep 0.05
done
grep -q 'retrying (2 of 3)' "$T/run.out" ||
	{ cat "$T/run.out"; fail "the target was not retried"; }
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
cat "$T/run.out"
[ "$rc" != 0 ] || fail "an interrupted run exited 0"
grep -q 'retrying (3 of 3)' "$T/run.out" && fail "retried after the stop"
grep -q 'target nas failed: interrupted by SIGTERM' "$T/run.out" ||
	fail "the target's failure does not say interrupted"
echo "target-stop-retry: ok"

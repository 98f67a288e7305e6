#!/bin/bash
# SIGTERM while a streaming target's request hangs: the store holds the
# CreateMultipartUpload (the fault proxy's `hang`) and stall_timeout is
# an hour, so the old code waited for the store before the run could
# end. Here the request polls the stop: the run ends interrupted, with
# a "failure" status, no upload left open and no object on the store.
# (The watchdog only keeps a broken build from hanging the suite: it
# lets the request go after 300 s and the test then fails.)
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"

s3_peer_start
dataset "$T/src" 12
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
cat >>"$T/c.conf" <<EOC

[target s3]
plugin = s3
endpoint = $S3_ENDPOINT
bucket = $S3_BUCKET
prefix = stop/
path_style = yes
access_key = $S3_ACCESS
secret_key = $S3_SECRET
part_size = 5M
stall_timeout = 1h
EOC
chmod 600 "$T/c.conf"

note "the store hangs the upload's start; SIGTERM"
echo "POST uploads hang" >"$S3_FAULT"
"$CAIRN" -c "$T/c.conf" backup >"$T/run.out" 2>&1 &
pid=$!
until [ -e "$S3_FAULT.held" ]; do
	kill -0 "$pid" 2>/dev/null || { cat "$T/run.out"; fail "cairn ended early"; }
	sleep 0.1
done
kill -TERM "$pid"
(sleep 300 && touch "$T/watchdog" && rm -f "$S3_FAULT") 2>/dev/null &
wd=$!
rc=0
wait "$pid" || rc=$?
pid=
kill "$wd" 2>/dev/null || true
# The held request stays held (the proxy goes at exit): the store never
# sees it.
[ ! -e "$T/watchdog" ] ||
	{ cat "$T/run.out"; fail "the run waited for the hung request"; }
[ "$rc" = 1 ] || { cat "$T/run.out"; fail "exit $rc, want 1"; }
grep -q "interrupted by SIGTERM" "$T/run.out" ||
	{ cat "$T/run.out"; fail "not recorded as interrupted"; }
grep -q '"status":"failure"' "$T/state/last_backup.json" ||
	fail "status: $(cat "$T/state/last_backup.json")"
[ -z "$(s3_uploads)" ] || fail "uploads left: $(s3_uploads)"
s3_rgw versions "$S3_BUCKET" stop/ >"$T/v"
[ ! -s "$T/v" ] || { cat "$T/v"; fail "objects left on the store"; }
echo "s3-stream-stop: ok"

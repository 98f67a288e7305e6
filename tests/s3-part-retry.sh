#!/bin/bash
# S3 multipart through the core, against Ceph RGW behind the fault proxy:
# a part that fails with 503 once is sent again by itself, after the
# core's back-off: one upload, one abort-free completion, each other part
# sent once (the ERETRY-on-write contract of CAIRN_PROP_RESUMABLE).
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"

s3_peer_start
dataset "$T/src" 12
KEEP_LAST=5 mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
s3_target "$T/c.conf" part_size=5M parallel=2 retries=2
n() { grep -Ec -- "$1" "$S3_PROXY_LOG" || true; }

note "part 2 fails once with 503: only part 2 goes again"
echo "PUT partNumber=2& 503 1" >"$S3_FAULT"
: >"$S3_PROXY_LOG"
expect_rc 0 env CAIRN_RETRY_DELAY=0 "$CAIRN" -c "$T/c.conf" backup
A=$(basename "$(ls "$T"/arch/mss-backup-2*.tar.zst)")
a="/$S3_BUCKET/mss/${A//./\\.}"
[ "$(n "^POST $a\?uploads= 200")" = 1 ] ||
	{ cat "$S3_PROXY_LOG"; fail "want one CreateMultipartUpload"; }
[ "$(n "^PUT $a\?partNumber=2&uploadId=[^ ]* 503")" = 1 ] ||
	{ cat "$S3_PROXY_LOG"; fail "the fault did not hit part 2"; }
[ "$(n "^PUT $a\?partNumber=2&uploadId=[^ ]* 200")" = 1 ] ||
	{ cat "$S3_PROXY_LOG"; fail "part 2 was not sent again once"; }
[ "$(n "^PUT $a\?partNumber=1&uploadId=[^ ]* 200")" = 1 ] ||
	{ cat "$S3_PROXY_LOG"; fail "part 1 was sent more than once"; }
[ "$(n "^DELETE $a\?uploadId=")" = 0 ] ||
	{ cat "$S3_PROXY_LOG"; fail "the upload was aborted"; }
[ "$(n "^POST $a\?uploadId=[^ ]* 200")" = 1 ] ||
	{ cat "$S3_PROXY_LOG"; fail "no completion"; }
grep -q '"status":"success"' "$T/state/last_backup.json" || fail "run not a success"
[ -z "$(s3_uploads)" ] || fail "uploads left: $(s3_uploads)"
echo "s3-part-retry: ok"

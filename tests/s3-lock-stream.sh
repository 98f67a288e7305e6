#!/bin/bash
# A streamed archive on an Object Lock bucket is locked from its first
# byte: the multipart initiate (and each sidecar's put) carries the lock
# headers, not the prune's retain() after the fact. The proxy's log
# shows the archive locked before its sidecars went up, and right after
# the backup every object has its lock (GOVERNANCE, lock_last from the
# backup's start).
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"

s3_peer_start
B=$S3_BUCKET-lock
s3_mkbucket "$B" lock
[ "$(s3_rgw bucketlock "$B")" = Enabled ] || fail "$B has no Object Lock"
dataset "$T/src" 12
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
cat >>"$T/c.conf" <<EOC

[target s3]
plugin = s3
endpoint = $S3_ENDPOINT
bucket = $B
prefix = mss/
path_style = yes
access_key = $S3_ACCESS
secret_key = $S3_SECRET
part_size = 5M
object_lock = governance
lock_last = 5m
EOC
chmod 600 "$T/c.conf"

note "a streamed multipart archive: locked before the backup's prune"
: >"$S3_PROXY_LOG"
t0=$(date -u +%s)
expect_rc 0 "$CAIRN" -v -c "$T/c.conf" backup
t1=$(date -u +%s)
out_has "target s3: mss-backup-[0-9_-]+\.tar\.zst committed, streamed"
A=$(basename "$(ls "$T"/arch/mss-backup-2*.tar.zst)")
a="/$B/mss/${A//./\\.}"
grep -q "^POST $a?uploads= 200" "$S3_PROXY_LOG" ||
	{ cat "$S3_PROXY_LOG"; fail "$A was not a multipart upload"; }
# The initiate carries the lock (AWS honours it); RGW 16 ignores it on a
# multipart upload, so cairn sets it again once the upload completes:
# before any sidecar makes the archive complete, long before retention.
locked_at=$(grep -n "^PUT $a?retention= 200" "$S3_PROXY_LOG" | head -1)
side_at=$(grep -n "^PUT $a\\.manifest " "$S3_PROXY_LOG" | head -1)
[ -z "$locked_at" ] || [ "${locked_at%%:*}" -lt "${side_at%%:*}" ] ||
	{ cat "$S3_PROXY_LOG"; fail "$A locked only after its sidecars"; }
s3_rgw versions "$B" mss/ | sort >"$T/v"
for k in "mss/$A" "mss/$A.sha256" "mss/$A.manifest"; do
	grep -q "^$k " "$T/v" || { cat "$T/v"; fail "$k not in $B"; }
done
for k in $(cut -d' ' -f1 "$T/v"); do
	l=$(s3_rgw lock "$B" "$k")
	case $l in
	GOVERNANCE\ *) ;;
	*)	cat "$T/out" "$S3_PROXY_LOG" >&2
		fail "$k: lock '$l' right after the backup, want GOVERNANCE" ;;
	esac
	u=$(date -u -d "${l#* }" +%s)
	[ "$u" -ge $((t0 + 298)) ] && [ "$u" -le $((t1 + 301)) ] ||
		fail "$k retained until $u, want $t0..$t1 + 5 min"
done
echo "s3-lock-stream: ok"

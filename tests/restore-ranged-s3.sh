#!/bin/bash
# restore db / --path from an s3 target (Ceph RGW behind tests/s3proxy.py)
# reads only the frames it needs by ranged GETs: the proxy's count of
# reply bytes stays within the frames, the index and the sidecars; see
# tests/restore-ranged-peer.sh.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"
. "$TOP_SRCDIR/tests/restore-ranged-peer.sh"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"

s3_peer_start
TGT=s3
CONF=$T/c.conf
ranged_setup
cat >>"$CONF" <<EOC

[target s3]
plugin = s3
endpoint = $S3_ENDPOINT
region = us-east-1
bucket = $S3_BUCKET
prefix = mss/
path_style = yes
access_key = $S3_ACCESS
secret_key = $S3_SECRET
EOC
chmod 600 "$CONF"
s3tool() {
	"$PLUGIN_TOOL" "$CAIRN_PLUGIN_DIR/s3.so" endpoint="$S3_DIRECT" \
		bucket="$S3_BUCKET" prefix=mss/ access_key="$S3_ACCESS" \
		secret_key="$S3_SECRET" "$@"
}

peer_reset() { : >"$S3_PROXY_LOG"; }
# Every reply body of a GET: objects, ranges and listings.
peer_bytes() {
	awk '$1 == "GET" { for (i = 4; i <= NF; i++) if ($i ~ /^out=/)
		s += substr($i, 5) } END { print s + 0 }' "$S3_PROXY_LOG"
}
peer_corrupt() {
	local b
	s3tool get "$1" "$T/obj" >/dev/null || fail "cannot get $1"
	b=$(od -An -tu1 -j "$2" -N1 "$T/obj" | tr -d ' ')
	printf "\\$(printf %o $(( (b + 1) % 256 )))" |
		dd of="$T/obj" bs=1 seek="$2" conv=notrunc status=none
	s3tool put "$T/obj" "$1" >/dev/null || fail "cannot put $1"
}
peer_put() { s3tool put "$2" "$1" >/dev/null || fail "cannot put $1"; }
ranged_run
echo PASS

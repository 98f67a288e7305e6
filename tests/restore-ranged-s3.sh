#!/bin/bash
# restore db / --path from an s3 target (Ceph RGW behind tests/s3proxy.py)
# reads only the frames it needs by ranged GETs: the proxy's count of
# reply bytes stays within the frames, the index and the sidecars; see
# tests/restore-ranged-peer.sh. With AGE=yes (tests/restore-ranged-age.sh)
# the target encrypts.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"
. "$TOP_SRCDIR/tests/restore-ranged-peer.sh"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"

s3_peer_start
TGT=s3
CONF=$T/c.conf
ranged_setup
if [ "${AGE:-}" = yes ]; then
	"$CAIRN" keygen -o "$T/key" >"$T/rcpt" || fail "keygen"
	s3_target "$CONF" region=us-east-1 encrypt=age \
		recipients="$(cat "$T/rcpt")"
else
	s3_target "$CONF" region=us-east-1
fi

peer_reset() { : >"$S3_PROXY_LOG"; }
# Every reply body of a GET: objects, ranges and listings.
peer_bytes() {
	awk '$1 == "GET" { for (i = 4; i <= NF; i++) if ($i ~ /^out=/)
		s += substr($i, 5) } END { print s + 0 }' "$S3_PROXY_LOG"
}
peer_get() { s3tool get "$1" "$2" >/dev/null || fail "cannot get $1"; }
peer_corrupt() {
	local b
	peer_get "$1" "$T/obj"
	b=$(od -An -tu1 -j "$2" -N1 "$T/obj" | tr -d ' ')
	printf "\\$(printf %o $(( (b + 1) % 256 )))" |
		dd of="$T/obj" bs=1 seek="$2" conv=notrunc status=none
	s3tool put "$T/obj" "$1" >/dev/null || fail "cannot put $1"
}
peer_put() { s3tool put "$2" "$1" >/dev/null || fail "cannot put $1"; }
ranged_run
echo PASS

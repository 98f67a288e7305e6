#!/bin/bash
# A versioned bucket on a real store (Ceph RGW): list --target shows the
# current objects only (no old versions, nothing behind a delete marker),
# and prune removes the versions cairn wrote by version id, so a pruned
# archive leaves neither a noncurrent version nor a delete marker.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"

s3_peer_start
VER=$S3_BUCKET-ver
s3_mkbucket "$VER" versioned
dataset "$T/src" 4
KEEP_LAST=5 mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
s3_target "$T/c.conf" endpoint="$S3_DIRECT" bucket="$VER" keep_last=1
versions() { s3_rgw versions "$VER" mss/ | sort; }

note "an archive, a second version of its sidecar, a deleted object"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
A=$(basename "$(ls "$T"/arch/mss-backup-2*.tar.zst)")
cp "$T/arch/$A.sha256" "$T/side"
s3_rgw put "$VER" "mss/$A.sha256" "$T/side"
gone=mss-backup-2020-01-01_031500.tar.zst
s3_rgw put "$VER" "mss/$gone" "$T/side"
s3_rgw put "$VER" "mss/$gone.sha256" "$T/side"
s3cmd_conf "$T/s3cfg" "127.0.0.1:$S3_DIRECT_PORT"
s3cmd -c "$T/s3cfg" --no-ssl -q del "s3://$VER/mss/$gone" \
	"s3://$VER/mss/$gone.sha256" || fail "s3cmd del failed"
versions >"$T/v"
grep -q "^mss/$gone [^ ]* marker$" "$T/v" || { cat "$T/v"; fail "no delete marker"; }
[ "$(grep -c "^mss/$A.sha256 " "$T/v")" = 2 ] || { cat "$T/v"; fail "want 2 versions"; }

note "list --target s3: current objects only"
expect_rc 0 "$CAIRN" -c "$T/c.conf" list --target s3
[ "$(grep -c "$A" "$T/out")" = 1 ] || fail "$A listed $(grep -c "$A" "$T/out") times"
grep -q "$gone" "$T/out" && fail "a deleted archive is listed"

note "prune removes every version of what it prunes, leaves no marker"
sleep 1
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
versions >"$T/v"
grep -q "^mss/$A" "$T/v" && { cat "$T/v"; fail "versions of $A are left"; }
B=$(basename "$(ls "$T"/arch/mss-backup-2*.tar.zst | sort | tail -1)")
grep -q "^mss/$B [^ ]* latest$" "$T/v" || { cat "$T/v"; fail "$B is not there"; }
# What others wrote (the deleted archive's versions) is not cairn's.
grep -q "^mss/$gone " "$T/v" || { cat "$T/v"; fail "prune removed versions it did not write"; }
echo "s3-versioned: ok"

#!/bin/bash
# encrypt = age in [cairn] with a plain s3 target (Ceph RGW behind the
# SigV4 proxy): the bucket is sent archive_dir's ciphertext as it is, so
# it holds only NAME.age objects that age -d | tar -x opens; with the
# local disk lost, restore --from s3 takes the identity, a wrong one is
# refused naming the archive with nothing touched.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"
. "$TOP_SRCDIR/tests/age-target-peer.sh"
command -v age >/dev/null || skip "age not installed"

s3_peer_start
age_setup
SEALED=yes
sed -i "/^\[cairn\]/a encrypt = age\nrecipients = $(cat "$T/rcpt")" "$CONF"
TGT=s3
s3_target "$CONF" region=us-east-1 part_size=5M
s3_list() { s3tool list | cut -d' ' -f1 | sort; }
LIST=s3_list
s3_fetch() { s3tool get "$1" "$2" >/dev/null; }
age_target_run s3_fetch

note "the bucket holds archive_dir's very bytes"
sleep 1 # a new second: a new archive name
expect_rc 0 "$CAIRN" -c "$CONF" backup
out_has "target s3: mss-backup-[0-9_-]+\.tar\.zst\.age committed, streamed"
for f in "$T"/archive/mss-backup-2*; do
	s3_fetch "$(basename "$f")" "$T/obj"
	cmp "$f" "$T/obj" || fail "the bucket's $(basename "$f") differs"
done
echo PASS

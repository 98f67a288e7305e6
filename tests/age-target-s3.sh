#!/bin/bash
# An encrypted s3 target (Ceph RGW behind the SigV4 proxy) end to end, as
# tests/age-target-ssh.sh: only ciphertext in the bucket, age -d | tar
# -x of it is the tree, restore --from with the identity after the
# local disk is lost, a wrong identity refused with nothing touched.
# SEALED=yes (tests/age-sealed-s3.sh): [cairn] encrypts instead and the
# plain target is sent archive_dir's ciphertext, byte for byte.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"
. "$TOP_SRCDIR/tests/age-target-peer.sh"
command -v age >/dev/null || skip "age not installed"

s3_peer_start
age_setup
TGT=s3
if [ "${SEALED:-}" = yes ]; then
	sed -i "/^\[cairn\]/a encrypt = age\nrecipients = $(cat "$T/rcpt")" \
		"$CONF"
	s3_target "$CONF" region=us-east-1 part_size=5M
else
	s3_target "$CONF" region=us-east-1 part_size=5M encrypt=age \
		recipients="$(cat "$T/rcpt")"
fi
s3_list() { s3tool list | cut -d' ' -f1 | sort; }
LIST=s3_list
s3_fetch() { s3tool get "$1" "$2" >/dev/null; }
age_target_run s3_fetch
if [ "${SEALED:-}" = yes ]; then
	note "the bucket holds archive_dir's very bytes"
	sleep 1 # a new second: a new archive name
	expect_rc 0 "$CAIRN" -c "$CONF" backup
	out_has "target s3: mss-backup-[0-9_-]+\.tar\.zst\.age committed, streamed"
	for f in "$T"/archive/mss-backup-2*; do
		s3_fetch "$(basename "$f")" "$T/obj"
		cmp "$f" "$T/obj" || fail "the bucket's $(basename "$f") differs"
	done
fi
echo PASS

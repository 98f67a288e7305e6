#!/bin/bash
# An encrypted s3 target (s3rver behind the SigV4 proxy) end to end, as
# tests/age-target-ssh.sh: only ciphertext in the bucket, age -d | tar
# -x of it is the tree, restore --from with the identity after the
# local disk is lost, a wrong identity refused with nothing touched.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"
. "$TOP_SRCDIR/tests/age-target-peer.sh"
command -v age >/dev/null || skip "age not installed"

s3_peer_start
age_setup
TGT=s3
s3_target "$CONF" region=us-east-1 part_size=5M encrypt=age \
	recipients="$(cat "$T/rcpt")"
s3_list() { s3tool list | cut -d' ' -f1 | sort; }
LIST=s3_list
s3_fetch() { s3tool get "$1" "$2" >/dev/null; }
age_target_run s3_fetch
echo PASS

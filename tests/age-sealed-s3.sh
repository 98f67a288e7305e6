#!/bin/bash
# encrypt = age in [cairn] with a plain s3 target (Ceph RGW): the bucket
# holds only archive_dir's ciphertext, byte for byte; age -d | tar -x
# opens it; with the local disk lost, restore --from s3 takes the
# identity, a wrong one is refused naming the archive, nothing touched.
SEALED=yes
. "$TOP_SRCDIR/tests/age-target-s3.sh"

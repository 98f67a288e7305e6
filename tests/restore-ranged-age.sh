#!/bin/bash
# Ranged restores from an encrypted s3 target: restore db / --path
# decrypt only the STREAM chunks that hold the members' frames, by the
# proxy's count of reply bytes; an index or a frame's chunk changed on
# the target is an integrity error with the live data as it was.
AGE=yes
. "$TOP_SRCDIR/tests/restore-ranged-s3.sh"

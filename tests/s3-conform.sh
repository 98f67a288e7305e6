#!/bin/bash
# s3 plugin: the ABI 2 conformance suite (plugin-tool conform) against
# s3rver behind the SigV4-checking proxy, once with parts small enough
# that the suite's objects go up as multipart uploads.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"

SO="$CAIRN_PLUGIN_DIR/s3.so"
[ -f "$SO" ] || fail "$SO not built"
s3_peer_start
# pt [key=value]... CMD: keys given here come first and win.
pt() { s3_pt conf/ "$@"; }
note "conformance, default part size"
expect_rc 0 pt conform
note "conformance, 5 MiB parts"
expect_rc 0 pt part_size=5M parallel=2 conform
[ -z "$(s3_uploads)" ] || fail "uploads left on the store: $(s3_uploads)"
echo "s3-conform: ok"

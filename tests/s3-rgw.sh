#!/bin/bash
# The s3 plugin straight against Ceph RGW, for what only a real store
# answers: its own SigV4 refusal of a wrong secret; multipart although
# RGW's CompleteMultipartUpload reply has an empty ETag (the object's is
# right); completing an upload another client aborted, which RGW answers
# with 500 "already in progress" instead of 404 NoSuchUpload.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"

SO="$CAIRN_PLUGIN_DIR/s3.so"
[ -f "$SO" ] || fail "$SO not built"
s3_peer_start
# pt ENDPOINT [key=value]... CMD...: plugin-tool (first value wins).
pt() {
	local ep=$1 kv=()
	shift
	while [ $# -gt 0 ] && [[ $1 == *=* ]]; do
		kv+=("$1")
		shift
	done
	"$PLUGIN_TOOL" "$SO" "${kv[@]}" endpoint="$ep" bucket="$S3_BUCKET" \
		prefix=rgw/ access_key="$S3_ACCESS" secret_key="$S3_SECRET" "$@"
}

note "a wrong secret: RGW itself refuses it (no proxy in between)"
head -c 1000 /dev/urandom >"$T/small"
expect_rc 4 pt "$S3_DIRECT" secret_key=WrongSecretSentinel4711 list
out_has "SignatureDoesNotMatch"
grep -q WrongSecretSentinel4711 "$T/out" && fail "the secret was printed"
expect_rc 4 pt "$S3_DIRECT" secret_key=WrongSecretSentinel4711 \
	put "$T/small" wrong.bin
s3_rgw versions "$S3_BUCKET" rgw/ | grep -q wrong.bin &&
	fail "RGW stored an object sent with a wrong secret"
expect_rc 4 pt "$S3_DIRECT" access_key=NOBODY list
out_has "InvalidAccessKeyId"

note "multipart on RGW: empty ETag in the completion reply"
head -c 12000000 /dev/urandom >"$T/big"
expect_rc 0 pt "$S3_DIRECT" part_size=5M put "$T/big" big.bin
case $(s3_rgw etag "$S3_BUCKET" rgw/big.bin) in
*-3) ;;
*) fail "rgw/big.bin is not a 3-part object" ;;
esac
expect_rc 0 pt "$S3_DIRECT" get big.bin "$T/big.got"
cmp -s "$T/big" "$T/big.got" || fail "RGW returns other bytes"
[ -z "$(s3_uploads)" ] || fail "uploads left: $(s3_uploads)"

note "completing an upload that was aborted meanwhile: RGW's 500"
echo "POST uploadId= hang" >"$S3_FAULT"
pt "$S3_ENDPOINT" part_size=5M put "$T/big" raced.bin >"$T/raced.out" 2>&1 &
ptpid=$!
for i in $(seq 1 600); do
	[ -e "$S3_FAULT.held" ] && break
	sleep 0.05
done
[ -e "$S3_FAULT.held" ] || { cat "$T/raced.out"; fail "completion never sent"; }
s3_uploads >"$T/up"
grep -q '^rgw/raced\.bin ' "$T/up" || fail "no upload to abort"
s3_rgw abort "$S3_BUCKET" rgw/raced.bin "$(sed -n 's|^rgw/raced\.bin ||p' "$T/up")"
rm -f "$S3_FAULT"
rc=0
wait "$ptpid" || rc=$?
cat "$T/raced.out"
grep -q "raced.bin.*no longer exists" "$T/raced.out" ||
	fail "the aborted upload is not reported as gone"
[ "$rc" != 0 ] || fail "a completion of an aborted upload exited 0"
s3_rgw versions "$S3_BUCKET" rgw/ | grep -q raced.bin &&
	fail "raced.bin is visible"
[ -z "$(s3_uploads)" ] || fail "uploads left: $(s3_uploads)"
echo "s3-rgw: ok"

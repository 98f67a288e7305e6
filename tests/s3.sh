#!/bin/bash
# s3 plugin, driven by plugin-tool against a real S3 store (Ceph RGW)
# behind a proxy that injects faults and also checks every SigV4 signature
# and payload hash; s3cmd is the second client that reads what the plugin
# wrote. Wrong region and session token are the proxy's checks (RGW here
# checks no region and has no STS); the rest is RGW's answer.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"

SO="$CAIRN_PLUGIN_DIR/s3.so"
[ -f "$SO" ] || fail "$SO not built"
command -v s3cmd >/dev/null || fail "s3cmd is missing (apt-get install s3cmd)"
s3_peer_start
s3cmd_conf "$T/s3cfg" "127.0.0.1:$S3_PORT"
s3c() { s3cmd -c "$T/s3cfg" --no-ssl "$@"; }

# pt [key=value]... CMD...: plugin-tool on the peer; keys given here
# override the defaults.
pt() { s3_pt mss/ "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
log_count() { grep -Ec -- "$1" "$S3_PROXY_LOG" || true; }

note "check: reachable, authenticated"
expect_rc 0 pt check
out_has "s3://$S3_BUCKET/mss/ .*reachable"

note "configuration errors name the key"
# part_size, parallel: typed keys with a range, refused by the core
expect_rc 7 pt part_size=4M check
out_has "part_size"
expect_rc 7 pt part_size=16X check
out_has "part_size"
expect_rc 7 pt endpoint=http://192.0.2.1:9000 check
out_has "plain http is allowed only for loopback"
expect_rc 7 pt endpoint=http://AKID:Sentinel4712@127.0.0.1:1 check
out_has "user:password"
grep -q Sentinel4712 "$T/out" && fail "a secret in the endpoint was printed"
expect_rc 7 pt parallel=0 check
out_has "parallel"
expect_rc 7 "$PLUGIN_TOOL" "$SO" endpoint="$S3_ENDPOINT" access_key=a \
	secret_key=b check
out_has "bucket"
expect_rc 7 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	"$PLUGIN_TOOL" "$SO" endpoint="$S3_ENDPOINT" bucket=b check
out_has "no credentials"
expect_rc 0 pt part_size=5MiB parallel=8 connect_timeout=5 check

note "multipart: 40 MB in 5 MiB parts, 3 in flight"
head -c 40000000 /dev/urandom >"$T/big.bin"
: >"$S3_PROXY_LOG"
expect_rc 0 pt part_size=5M parallel=3 put "$T/big.bin"
[ "$(log_count '^POST /[^ ]*/mss/big\.bin\?uploads= 200')" = 1 ] ||
	fail "no CreateMultipartUpload"
[ "$(log_count '^PUT /[^ ]*/mss/big\.bin\?partNumber=[0-9]+&uploadId=[^ ]* 200')" = 8 ] ||
	fail "expected 8 parts: $(cat "$S3_PROXY_LOG")"
[ "$(log_count '^POST /[^ ]*/mss/big\.bin\?uploadId=[^ ]* 200')" = 1 ] ||
	fail "no CompleteMultipartUpload"
maxin=$(grep -o 'inflight=[0-9]*' "$S3_PROXY_LOG" | cut -d= -f2 | sort -n | tail -1)
[ "$maxin" -ge 2 ] && [ "$maxin" -le 3 ] ||
	fail "parts in flight: $maxin, want 2..3 with parallel=3"
expect_rc 0 pt get big.bin "$T/big.got"
[ "$(sha "$T/big.got")" = "$(sha "$T/big.bin")" ] || fail "get: content differs"
[ "$(stat -c %a "$T/big.got")" = 600 ] || fail "get: $T/big.got is not 0600"
s3c ls "s3://$S3_BUCKET/mss/" >"$T/ls" || fail "s3cmd ls failed"
grep -Eq " 40000000 +s3://$S3_BUCKET/mss/big\.bin$" "$T/ls" ||
	{ cat "$T/ls"; fail "s3cmd does not see mss/big.bin"; }
s3c get "s3://$S3_BUCKET/mss/big.bin" "$T/big.s3cmd" >/dev/null ||
	fail "s3cmd get failed"
[ "$(sha "$T/big.s3cmd")" = "$(sha "$T/big.bin")" ] ||
	fail "s3cmd reads other bytes than were put"

note "small files go as one PUT; get replaces an existing file"
head -c 70000 /dev/urandom >"$T/mss-backup-2026-01-01_031500.tar.zst.sha256"
: >"$S3_PROXY_LOG"
expect_rc 0 pt put "$T/mss-backup-2026-01-01_031500.tar.zst.sha256"
[ "$(log_count '^PUT /[^ ?]*/mss/mss-backup-2026-01-01_031500\.tar\.zst\.sha256 200')" = 1 ] ||
	fail "small file not sent as a single PUT: $(cat "$S3_PROXY_LOG")"
echo old >"$T/small.got"
expect_rc 0 pt get mss-backup-2026-01-01_031500.tar.zst.sha256 "$T/small.got"
cmp -s "$T/small.got" "$T/mss-backup-2026-01-01_031500.tar.zst.sha256" ||
	fail "get did not replace the file"
head -c 10 /dev/urandom >"$T/odd name+x"
expect_rc 0 pt put "$T/odd name+x"
expect_rc 0 pt list
out_has "^odd name\+x 10 [0-9]+$"
out_has "^big\.bin 40000000 [0-9]+$"
out_has "^mss-backup-2026-01-01_031500\.tar\.zst\.sha256 70000 [0-9]+$"

note "virtual-host style (BUCKET.s3.localhost)"
expect_rc 0 pt endpoint="http://s3.localhost:$S3_PORT" path_style=no \
	put "$T/odd name+x" vhost.bin
s3c ls "s3://$S3_BUCKET/mss/vhost.bin" >"$T/ls"
grep -q "mss/vhost.bin" "$T/ls" || fail "virtual-host put not in the bucket"

note "wrong secret: refused by the signature check, exit EAUTH"
sentinel=WrongSecretSentinel4711
: >"$S3_PROXY_LOG"
expect_rc 4 pt secret_key=$sentinel list
out_has "SignatureDoesNotMatch"
out_has "check access_key/secret_key"
grep -q "$sentinel" "$T/out" && fail "the secret appears in the output"
expect_rc 4 pt secret_key=$sentinel part_size=5M put "$T/big.bin" wrong.bin
grep -q "$sentinel" "$T/out" && fail "the secret appears in the output"
s3c ls "s3://$S3_BUCKET/mss/" | grep -q wrong.bin && fail "object stored with a wrong secret"
expect_rc 4 pt access_key=NOBODY list
out_has "InvalidAccessKeyId"

note "credentials from AWS_* variables, session token"
S3_TOKEN_PORT=$(free_port)
s3_proxy_start "$S3_TOKEN_PORT" --session-token tok-123
expect_rc 0 env AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET \
	AWS_SESSION_TOKEN=tok-123 "$PLUGIN_TOOL" "$SO" \
	endpoint="http://127.0.0.1:$S3_TOKEN_PORT" bucket="$S3_BUCKET" \
	prefix=mss list
out_has "^big\.bin "
expect_rc 0 pt endpoint="http://127.0.0.1:$S3_TOKEN_PORT" \
	session_token=tok-123 list
expect_rc 4 pt endpoint="http://127.0.0.1:$S3_TOKEN_PORT" list
out_has "InvalidToken"

note "wrong region, missing bucket, no server"
expect_rc 7 pt region=eu-west-1 list
out_has "region"
expect_rc 7 pt bucket=no-such-bucket list
out_has "bucket 'no-such-bucket' does not exist"
expect_rc 2 pt endpoint="http://127.0.0.1:$(free_port)" connect_timeout=2 list

note "listing past 1000 objects follows continuation tokens"
s3_rgw putmany "$S3_BUCKET" many/ 1005 ||
	fail "could not create the objects"
: >"$S3_PROXY_LOG"
expect_rc 0 pt prefix=many list
[ "$(grep -c '^f[0-9]* 5 ' "$T/out")" = 1005 ] ||
	fail "listed $(grep -c '^f' "$T/out") of 1005 objects"
[ "$(log_count '^GET [^ ]*continuation-token=[^ ]*list-type=2[^ ]* 200')" -ge 1 ] ||
	fail "no continuation request: $(cat "$S3_PROXY_LOG")"

note "del, then list; del and get of a missing object"
expect_rc 0 pt del "odd name+x"
expect_rc 0 pt list
grep -q '^odd name' "$T/out" && fail "deleted object still listed"
expect_rc 8 pt del "odd name+x"
out_has "no object"
# ABI 2: get() feeds a sink, so local files are the caller's business.
expect_rc 8 pt get nothere "$T/nothere"
out_has "no object|NoSuchKey"
expect_rc 8 pt stat nothere

note "5xx on a part: retryable, upload aborted, no object"
echo "PUT partNumber=2 503" >"$S3_FAULT"
: >"$S3_PROXY_LOG"
expect_rc 2 pt part_size=5M parallel=2 put "$T/big.bin" failed.bin
out_has "HTTP 503 SlowDown"
rm -f "$S3_FAULT"
[ "$(log_count '^DELETE /[^ ]*/mss/failed\.bin\?uploadId=')" = 1 ] ||
	fail "no AbortMultipartUpload attempt: $(cat "$S3_PROXY_LOG")"
out_has "aborted multipart upload of s3://$S3_BUCKET/mss/failed.bin"
[ -z "$(s3_uploads)" ] || fail "upload left on the store: $(s3_uploads)"
s3c ls "s3://$S3_BUCKET/mss/" | grep -q failed.bin && fail "failed upload visible"
printf 'PUT partNumber=2 503\nDELETE uploadId= 501\n' >"$S3_FAULT"
expect_rc 2 pt part_size=5M parallel=2 put "$T/big.bin" failed.bin
rm -f "$S3_FAULT"
# A store without AbortMultipartUpload: the plugin says so and goes on.
out_has "could not abort multipart upload"
expect_rc 0 pt clean failed.bin
[ -z "$(s3_uploads)" ] || fail "clean left an upload: $(s3_uploads)"
echo "POST uploadId= 200err" >"$S3_FAULT"
: >"$S3_PROXY_LOG"
expect_rc 2 pt part_size=5M put "$T/big.bin" failed.bin
out_has "CompleteMultipartUpload failed: InternalError"
rm -f "$S3_FAULT"
[ "$(log_count '^DELETE /[^ ]*/mss/failed\.bin\?uploadId=')" = 1 ] ||
	fail "no abort after a failed completion"
s3c ls "s3://$S3_BUCKET/mss/" | grep -q failed.bin && fail "failed upload visible"
echo "GET list-type 500" >"$S3_FAULT"
expect_rc 2 pt list
out_has "HTTP 500 InternalError"
rm -f "$S3_FAULT"

note "server stopped mid-upload: non-zero, nothing under the final name"
echo "PUT partNumber=3 hang" >"$S3_FAULT"
rc=0
pt part_size=5M parallel=2 put "$T/big.bin" cut.bin >"$T/cut.out" 2>&1 &
ptpid=$!
for i in $(seq 1 200); do
	[ -e "$S3_FAULT.held" ] && break
	sleep 0.05
done
[ -e "$S3_FAULT.held" ] || fail "upload never reached part 3"
s3_peer_stop
wait "$ptpid" || rc=$?
cat "$T/cut.out"
[ "$rc" = 2 ] || fail "upload with the server gone: exit $rc, want 2"
rm -f "$S3_FAULT" "$S3_FAULT.held"
s3_peer_start
expect_rc 0 pt list
grep -q '^cut\.bin' "$T/out" && fail "interrupted upload visible"
s3c ls "s3://$S3_BUCKET/mss/" | grep -q cut.bin && fail "interrupted upload visible to s3cmd"
expect_rc 0 pt get big.bin "$T/big.again"
cmp -s "$T/big.again" "$T/big.bin" || fail "data lost across the restart"
# The abort could not reach the server; clean, as the next run does.
s3_uploads >"$T/uploads"
grep -q '^mss/cut\.bin ' "$T/uploads" || fail "no upload left to clean"
expect_rc 0 pt clean cut
out_has "aborted multipart upload of s3://$S3_BUCKET/mss/cut\.bin"
[ -z "$(s3_uploads)" ] || fail "clean left an upload: $(s3_uploads)"

note "TLS: verified always, ca_file adds a trust anchor"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$T/tls.key" -out "$T/tls.crt" -days 2 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null ||
	fail "openssl could not make a certificate"
tls_port=$(free_port)
s3_proxy_start "$tls_port" --tls-cert "$T/tls.crt" --tls-key "$T/tls.key"
expect_rc 4 pt endpoint="https://127.0.0.1:$tls_port" path_style=yes list
out_has "not trusted"
expect_rc 0 pt endpoint="https://127.0.0.1:$tls_port" path_style=yes \
	ca_file="$T/tls.crt" list
out_has "^big\.bin 40000000 "
expect_rc 7 pt endpoint="https://127.0.0.1:$tls_port" ca_file=/nonexistent list
out_has "ca_file"

echo "s3 plugin: all checks passed"

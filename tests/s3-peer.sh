# An S3 peer for the s3 tests and benchmark; sourced after tests/lib.sh.
# s3rver (npm, pinned in tests/s3: `npm ci --prefix tests/s3`) keeps the
# objects; tests/s3proxy.py in front of it checks every SigV4 signature and
# payload hash, since s3rver accepts any signature.
#
#   s3_peer_start [PROXY-ARGS...]  start both; sets S3_ENDPOINT (the proxy,
#                       which also answers ListMultipartUploads and
#                       AbortMultipartUpload from s3rver's data),
#                       S3_DIRECT (s3rver itself), S3_PORT, S3_DIRECT_PORT,
#                       S3_BUCKET, S3_DATA, S3_PROXY_LOG, S3_FAULT
#   s3_peer_stop        stop both (data stays); s3_peer_start again reuses
#                       the ports and the data
#   s3_proxy_start PORT ARGS...   one more proxy in front of the same s3rver
#   s3cmd_conf FILE HOST:PORT     an s3cmd config for the peer (plain http,
#                       path-style)
# S3_DATA may name the data directory (default $T/s3rver).
# Skips (77) only when tests/s3/node_modules is missing.

S3_MODULES="$TOP_SRCDIR/tests/s3/node_modules"
S3_ACCESS=S3RVER # s3rver's one account
S3_SECRET=S3RVER
S3_BUCKET=${S3_BUCKET:-cairn-test}
S3_DATA=${S3_DATA:-"$T/s3rver"}
S3_PROXY_LOG="$T/s3proxy.log"
S3_FAULT="$T/s3fault"
S3_PIDS=()

# s3_wait_port PORT: bounded wait until something listens there.
s3_wait_port() {
	local i
	for i in $(seq 1 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

s3_proxy_start() {
	local port=$1
	shift
	"$S3_PYTHON" "$TOP_SRCDIR/tests/s3proxy.py" --port "$port" \
		--upstream "127.0.0.1:$S3_DIRECT_PORT" "$@" \
		>>"$T/s3proxy.out" 2>&1 &
	S3_PIDS+=($!)
	s3_wait_port "$port" || { cat "$T/s3proxy.out" >&2; fail "s3proxy did not start"; }
}

s3_peer_start() {
	mkdir -p "$S3_DATA"
	S3_DIRECT_PORT=${S3_DIRECT_PORT:-$(free_port)}
	S3_PORT=${S3_PORT:-$(free_port)}
	# --openssl-legacy-provider: s3rver's continuation tokens use a cipher
	# that OpenSSL 3 keeps there; without it paged listings fail.
	# --service-endpoint localhost: BUCKET.s3.localhost is virtual-host
	# style (curl resolves *.localhost to loopback by itself).
	NODE_OPTIONS=--openssl-legacy-provider node \
		"$S3_MODULES/s3rver/bin/s3rver.js" -d "$S3_DATA" \
		-a 127.0.0.1 -p "$S3_DIRECT_PORT" -s \
		--service-endpoint localhost \
		--configure-bucket "$S3_BUCKET" >>"$T/s3rver.out" 2>&1 &
	S3_PIDS+=($!)
	s3_wait_port "$S3_DIRECT_PORT" || { cat "$T/s3rver.out" >&2; fail "s3rver did not start"; }
	s3_proxy_start "$S3_PORT" --log "$S3_PROXY_LOG" \
		--fault-file "$S3_FAULT" --data-dir "$S3_DATA" "$@"
	S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
	S3_DIRECT="http://127.0.0.1:$S3_DIRECT_PORT"
}

s3_peer_stop() {
	local p
	for p in "${S3_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${S3_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	S3_PIDS=()
}

# s3_uploads: "KEY UPLOAD-ID" of every unfinished multipart upload s3rver
# holds, read from its data directory (what the store keeps and bills).
s3_uploads() {
	local k
	for k in "$S3_DATA/$S3_BUCKET"/._S3rver_uploads/*/key; do
		[ -f "$k" ] || continue
		printf '%s %s\n' "$(cat "$k")" "$(basename "$(dirname "$k")")"
	done
}

# s3_initiate KEY: start a multipart upload of KEY through the proxy (a
# signed request, as a killed run would have made) and upload one part.
s3_initiate() {
	local sig=(--aws-sigv4 aws:amz:us-east-1:s3 -u "$S3_ACCESS:$S3_SECRET")
	local empty
	empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
	local id part=$T/s3part sum
	id=$(curl -sf "${sig[@]}" -X POST -H "x-amz-content-sha256: $empty" \
		"$S3_ENDPOINT/$S3_BUCKET/$1?uploads=" |
		sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')
	[ -n "$id" ] || fail "could not start a multipart upload of $1"
	head -c 100000 /dev/urandom >"$part"
	sum=$(sha256sum "$part" | cut -d' ' -f1)
	curl -sf "${sig[@]}" -T "$part" -H "x-amz-content-sha256: $sum" \
		"$S3_ENDPOINT/$S3_BUCKET/$1?partNumber=1&uploadId=$id" \
		>/dev/null || fail "could not upload a part of $1"
}

s3cmd_conf() {
	cat >"$1" <<EOC
[default]
access_key = $S3_ACCESS
secret_key = $S3_SECRET
host_base = $2
host_bucket = $2
use_https = False
signature_v2 = False
bucket_location = us-east-1
check_ssl_certificate = True
EOC
}

# Stop the peer on every exit, then lib.sh's cleanup.
trap 'st=$?; s3_peer_stop; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; exit $st' EXIT

[ -f "$S3_MODULES/s3rver/bin/s3rver.js" ] ||
	skip "no $S3_MODULES: run npm ci --prefix tests/s3"
command -v node >/dev/null || fail "node is missing (apt-get install nodejs)"

# The proxy signs with Debian's python3-botocore: prefer the system python.
S3_PYTHON=
for py in /usr/bin/python3 python3; do
	if "$py" -c 'import botocore.auth' 2>/dev/null; then
		S3_PYTHON=$py
		break
	fi
done
[ -n "$S3_PYTHON" ] || fail "python3-botocore is missing (apt-get install python3-botocore)"

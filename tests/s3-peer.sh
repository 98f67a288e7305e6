# An S3 peer for the s3 tests and benchmark; sourced after tests/lib.sh.
# The store is Ceph's RADOS Gateway (tests/rgw/start: mon + osd + radosgw
# on 127.0.0.1, ~20 s to start), which checks every SigV4 signature, has
# multipart, versioning and Object Lock. ONE RGW serves every s3 test of a
# run: the first test starts it under a lock, each test registers its pid,
# and when the last one leaves, a reaper stops it RGW_LINGER seconds later
# unless another test came (tests/rgw/reap; tests/s3-rgw-stop.sh, ordered
# after the s3 tests, stops it at the end of the suite). Each test has a
# bucket of its own. tests/s3proxy.py in front of RGW adds what a real
# store cannot do on demand: injected faults, a held request, a slow link,
# a request log, TLS with a test certificate, a session token.
#
#   s3_peer_start [PROXY-ARGS...]  RGW (shared) and a proxy; sets
#                       S3_ENDPOINT (the proxy), S3_DIRECT (RGW itself),
#                       S3_PORT, S3_DIRECT_PORT, S3_BUCKET, S3_PROXY_LOG,
#                       S3_FAULT, S3_ACCESS, S3_SECRET
#   s3_peer_stop        stop this test's proxies (RGW and the data stay);
#                       s3_peer_start again reuses the port
#   s3_proxy_start PORT ARGS...   one more proxy in front of RGW
#   s3_mkbucket NAME [lock|versioned]   another bucket
#   s3_uploads [BUCKET] "KEY UPLOAD-ID" of every unfinished multipart upload
#                       (ListMultipartUploads, by a second client)
#   s3_rgw ARGS...      tests/rgw.py (botocore) on RGW with the test keys
#   s3cmd_conf FILE HOST:PORT     an s3cmd config for the peer
#   s3_pt PREFIX [KEY=VALUE...] CMD...   tests/plugin-tool with the s3
#                       plugin on the peer (the proxy, this test's bucket,
#                       objects under PREFIX); keys given here win
#   s3_target CONF [KEY=VALUE...]  append a [target s3] on the peer to
#                       CONF (the proxy, this test's bucket, prefix mss/,
#                       path-style, the test keys), then each KEY = VALUE;
#                       name=, endpoint=, bucket=, prefix= replace those;
#                       chmod 600
# Without radosgw installed the test skips (77), which CI=true fails.

S3_ACCESS=AK
S3_SECRET=SK
RGW_HOME=${RGW_HOME:-${TOP_BUILDDIR:-/tmp}/tests/.rgw}
RGW_LINGER=${RGW_LINGER:-60}
# Bucket names: 3-63 of [a-z0-9-]; one per test run.
S3_BUCKET=${S3_BUCKET:-$(basename "$0" .sh | tr -c 'a-z0-9\n' - |
	cut -c1-40)-$$}
S3_PROXY_LOG="$T/s3proxy.log"
S3_FAULT="$T/s3fault"
S3_PIDS=()
S3_HELD=

# s3_wait_port PORT: bounded wait until something listens there.
s3_wait_port() {
	local i
	for i in $(seq 1 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

rgw_lock() { exec 9>"$RGW_HOME.lock" && flock 9; }
rgw_unlock() { flock -u 9; exec 9>&-; }

# rgw_alive: the shared RGW answers (any HTTP reply will do).
rgw_alive() {
	[ -f "$RGW_HOME/env" ] || return 1
	curl -s -o /dev/null -m 5 "$(sed -n 's/^S3_ENDPOINT=//p' \
		"$RGW_HOME/env")/"
}

rgw_start() {
	local i port
	# One that no longer answers: stop what is left of it.
	[ ! -f "$RGW_HOME/pids" ] ||
		"$TOP_SRCDIR/tests/rgw/stop" "$RGW_HOME" >/dev/null 2>&1 9>&-
	rm -rf "$RGW_HOME"
	for i in 1 2 3; do
		port=$(free_port)
		RGW_CONF_EXTRA="rgw_dns_name = s3.localhost" \
			"$TOP_SRCDIR/tests/rgw/start" "$RGW_HOME" "$port" \
			>"$T/rgw.out" 2>&1 9>&- && return 0
		# The mon's port (PORT+1) may have been taken: another try.
		rm -rf "$RGW_HOME"
	done
	cat "$T/rgw.out" >&2
	return 1
}

# rgw_acquire: use the shared RGW, starting it if none runs.
rgw_acquire() {
	local u
	mkdir -p "$RGW_HOME.users"
	rgw_lock
	rm -f "$RGW_HOME.idle"
	for u in "$RGW_HOME.users"/*; do
		[ -e "$u" ] || continue
		kill -0 "${u##*/}" 2>/dev/null || rm -f "$u"
	done
	if ! rgw_alive; then
		rgw_start || { rgw_unlock; fail "RGW did not start"; }
	fi
	: >"$RGW_HOME.users/$$"
	S3_HELD=1
	rgw_unlock
	S3_DIRECT=$(sed -n 's/^S3_ENDPOINT=//p' "$RGW_HOME/env")
	S3_DIRECT_PORT=${S3_DIRECT##*:}
}

# rgw_release: the last test to leave has the reaper stop RGW later.
rgw_release() {
	local tok
	[ -n "$S3_HELD" ] || return 0
	S3_HELD=
	rgw_lock
	rm -f "$RGW_HOME.users/$$"
	if [ -z "$(ls "$RGW_HOME.users")" ]; then
		tok="$$.$RANDOM"
		echo "$tok" >"$RGW_HOME.idle"
		setsid "$TOP_SRCDIR/tests/rgw/reap" "$RGW_HOME" "$tok" \
			"$RGW_LINGER" </dev/null >/dev/null 2>&1 9>&- &
	fi
	rgw_unlock
}

s3_rgw() {
	"$S3_PYTHON" "$TOP_SRCDIR/tests/rgw.py" "$S3_DIRECT" "$S3_ACCESS" \
		"$S3_SECRET" "$@"
}

s3_mkbucket() {
	s3_rgw mkbucket "$@" 2>"$T/mkbucket.err" ||
		grep -q BucketAlreadyOwnedByYou "$T/mkbucket.err" ||
		{ cat "$T/mkbucket.err" >&2; fail "could not create bucket $1"; }
}

s3_proxy_start() {
	local port=$1
	shift
	"$S3_PYTHON" "$TOP_SRCDIR/tests/s3proxy.py" --port "$port" \
		--upstream "127.0.0.1:$S3_DIRECT_PORT" \
		--access-key "$S3_ACCESS" --secret "$S3_SECRET" "$@" \
		>>"$T/s3proxy.out" 2>&1 &
	S3_PIDS+=($!)
	s3_wait_port "$port" || { cat "$T/s3proxy.out" >&2; fail "s3proxy did not start"; }
}

s3_peer_start() {
	[ -n "$S3_HELD" ] || rgw_acquire
	s3_mkbucket "$S3_BUCKET"
	S3_PORT=${S3_PORT:-$(free_port)}
	s3_proxy_start "$S3_PORT" --log "$S3_PROXY_LOG" \
		--fault-file "$S3_FAULT" "$@"
	S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
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

s3_uploads() { s3_rgw uploads "${1:-$S3_BUCKET}"; }

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

s3_pt() {
	local prefix=$1 kv=()
	shift
	while [ $# -gt 0 ] && [[ $1 == *=* ]]; do
		kv+=("$1")
		shift
	done
	# plugin-tool takes the first value of a key.
	"$PLUGIN_TOOL" "$CAIRN_PLUGIN_DIR/s3.so" "${kv[@]}" \
		endpoint="$S3_ENDPOINT" bucket="$S3_BUCKET" prefix="$prefix" \
		access_key="$S3_ACCESS" secret_key="$S3_SECRET" "$@"
}

# s3tool OP ARGS: plugin-tool on the bucket's mss/ prefix, straight to
# the store (not through the proxy).
s3tool() {
	"$PLUGIN_TOOL" "$CAIRN_PLUGIN_DIR/s3.so" endpoint="$S3_DIRECT" \
		bucket="$S3_BUCKET" prefix=mss/ access_key="$S3_ACCESS" \
		secret_key="$S3_SECRET" "$@"
}

s3_target() {
	local conf=$1 name=s3 endpoint=$S3_ENDPOINT bucket=$S3_BUCKET
	local prefix=mss/ kv extra=()
	shift
	for kv; do
		case $kv in
		name=*) name=${kv#*=} ;;
		endpoint=*) endpoint=${kv#*=} ;;
		bucket=*) bucket=${kv#*=} ;;
		prefix=*) prefix=${kv#*=} ;;
		*) extra+=("${kv%%=*} = ${kv#*=}") ;;
		esac
	done
	{
		printf '\n[target %s]\nplugin = s3\nendpoint = %s\n' \
			"$name" "$endpoint"
		printf 'bucket = %s\nprefix = %s\npath_style = yes\n' \
			"$bucket" "$prefix"
		printf 'access_key = %s\nsecret_key = %s\n' "$S3_ACCESS" \
			"$S3_SECRET"
		[ ${#extra[@]} = 0 ] || printf '%s\n' "${extra[@]}"
	} >>"$conf"
	chmod 600 "$conf"
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

# Stop the proxies and leave RGW on every exit, then lib.sh's cleanup.
trap 'st=$?; s3_peer_stop; rgw_release; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; exit $st' EXIT

command -v radosgw >/dev/null ||
	skip "radosgw is missing (apt-get install --no-install-recommends ceph-mon ceph-osd radosgw ceph-common)"
command -v flock >/dev/null || fail "flock is missing (util-linux)"

# The proxy signs with Debian's python3-botocore: prefer the system python.
S3_PYTHON=
for py in /usr/bin/python3 python3; do
	if "$py" -c 'import botocore.auth' 2>/dev/null; then
		S3_PYTHON=$py
		break
	fi
done
[ -n "$S3_PYTHON" ] || fail "python3-botocore is missing (apt-get install python3-botocore)"

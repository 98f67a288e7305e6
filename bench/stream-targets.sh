#!/bin/bash
# Upload overlapping archiving: `cairn backup` with one ssh target (the
# test sshd) and one s3 target (Ceph RGW, tests/s3-peer.sh), against
# the larger of `backup --no-targets` and a plain upload of the same
# archive (scp to the sshd, s3cmd put to the s3 peer), in one run on the
# make-dataset tree. The goal is a ratio of at most 1.2 (without
# streaming it is near the sum).
#
#   bench/stream-targets.sh      (from a configured, non-sanitizer build)
#
# Env: TOP_BUILDDIR (default: the tree holding this script), MB (388),
# PART_SIZE (16M), PARALLEL (4). Needs: openssh-server, openssh-client,
# s3cmd, ceph-mon, ceph-osd, radosgw, python3.
TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
TOP_BUILDDIR=${TOP_BUILDDIR:-$TOP_SRCDIR}
CAIRN_PLUGIN_DIR=${CAIRN_PLUGIN_DIR:-$TOP_BUILDDIR/plugins/.libs}
CAIRN=${CAIRN:-$TOP_BUILDDIR/cairn}
MAKE_DATASET=${MAKE_DATASET:-$TOP_SRCDIR/../shared/bench/make-dataset}
[ -f "$MAKE_DATASET" ] || MAKE_DATASET=/work/shared/bench/make-dataset
MB=${MB:-388}
PART_SIZE=${PART_SIZE:-16M}
PARALLEL=${PARALLEL:-4}
export CAIRN_PLUGIN_DIR
source "$TOP_SRCDIR/tests/lib.sh"
source "$TOP_SRCDIR/tests/sshd-peer.sh"
source "$TOP_SRCDIR/tests/s3-peer.sh"

[ -x "$CAIRN" ] && [ -f "$CAIRN_PLUGIN_DIR/ssh.so" ] &&
	[ -f "$CAIRN_PLUGIN_DIR/s3.so" ] || fail "build cairn and plugins first"
command -v s3cmd >/dev/null || fail "s3cmd is missing"
command -v scp >/dev/null || fail "scp is missing"

now() { date +%s.%N; }
secs() { python3 -c "print('%.2f' % ($2 - $1))"; }

note "dataset ($MB MB)"
python3 "$MAKE_DATASET" "$T/data" --mb "$MB" >/dev/null

sshd_init
client_key "$T/id" ed25519
sshd_authorize "$T/id.pub"
sshd_start
sshd_known_hosts "$T/kh" ed25519
s3_peer_start
s3cmd_conf "$T/s3cfg" "127.0.0.1:$S3_PORT"
ME=$(id -un)
REMOTE=$T/remote
mkdir -p "$REMOTE"

mss_conf "$T/c.conf" "$T/data" "$T/archive" "$T/state"
cat >>"$T/c.conf" <<EOC

[target nas]
plugin = ssh
host = 127.0.0.1
port = $SSHD_PORT
user = $ME
path = $REMOTE/nas
identity = $T/id
known_hosts = $T/kh

[target s3]
plugin = s3
endpoint = $S3_ENDPOINT
region = us-east-1
bucket = $S3_BUCKET
prefix = bench/
path_style = yes
access_key = $S3_ACCESS
secret_key = $S3_SECRET
part_size = $PART_SIZE
parallel = $PARALLEL
EOC

note "backup --no-targets"
t0=$(now)
"$CAIRN" -q -c "$T/c.conf" backup --no-targets || fail "backup failed"
t1=$(now)
local_s=$(secs "$t0" "$t1")
A=$(ls "$T"/archive/mss-backup-2*.tar.zst | head -1)
size=$(stat -c %s "$A")

note "scp of the archive"
t0=$(now)
scp -q -P "$SSHD_PORT" -i "$T/id" -o BatchMode=yes \
	-o UserKnownHostsFile="$T/kh" -o StrictHostKeyChecking=yes \
	"$A" "$ME@127.0.0.1:$REMOTE/scp.tar.zst" || fail "scp failed"
t1=$(now)
scp_s=$(secs "$t0" "$t1")
rm -f "$REMOTE/scp.tar.zst"

note "s3cmd put of the archive"
t0=$(now)
s3cmd -c "$T/s3cfg" --no-ssl -q put "$A" "s3://$S3_BUCKET/plain/a" \
	>/dev/null || fail "s3cmd put failed"
t1=$(now)
s3cmd_s=$(secs "$t0" "$t1")
s3cmd -c "$T/s3cfg" --no-ssl -q del "s3://$S3_BUCKET/plain/a" >/dev/null
rm -f "$T"/archive/mss-backup-2*
sleep 1 # a new archive name

note "backup with the ssh and the s3 target"
t0=$(now)
/usr/bin/time -f "cpu %U user %S sys" -o "$T/full.cpu" \
	"$CAIRN" -c "$T/c.conf" backup >"$T/full.out" 2>&1 ||
	{ cat "$T/full.out"; fail "backup with targets failed"; }
t1=$(now)
full_s=$(secs "$t0" "$t1")
for t in nas s3; do
	grep -q "target $t: .* committed, streamed" "$T/full.out" ||
		{ cat "$T/full.out"; fail "target $t did not stream"; }
done
B=$(ls "$T"/archive/mss-backup-2*.tar.zst | head -1)
cmp "$B" "$REMOTE/nas/$(basename "$B")" || fail "ssh copy differs"

# Where the time went: each target's own figure, and cairn's CPU.
grep -E "target (nas|s3): sent" "$T/full.out" | sed 's/^cairn: //'
sed 's/^/cairn /' "$T/full.cpu"
[ -z "${BENCH_KEEP:-}" ] || cp "$T/full.out" "$BENCH_KEEP"
python3 - "$size" "$local_s" "$scp_s" "$s3cmd_s" "$full_s" <<'PY'
import sys
size, loc, scp, s3c, full = (float(x) for x in sys.argv[1:])
base = max(loc, scp, s3c)
print("archive %.1f MB" % (size / 1e6))
print("backup --no-targets   %7.2f s" % loc)
print("scp                   %7.2f s" % scp)
print("s3cmd put             %7.2f s" % s3c)
print("backup, ssh + s3      %7.2f s" % full)
print("ratio to the larger   %7.2f (goal <= 1.2)" % (full / base))
print("ratio to the sum      %7.2f" % (full / (loc + scp + s3c)))
PY

#!/bin/bash
# S3 upload throughput: the s3 plugin (parallel multipart, via plugin-tool)
# against `s3cmd put`, same archive, same Ceph RGW on loopback (tests/s3-peer.sh), in one run.
# Each path is measured for both tools alike:
#   direct  both straight to RGW
#   proxy   both through tests/s3proxy.py (SigV4 and payload checks)
#   link    both through the proxy capped at RATE MiB/s per connection,
#           as one connection to S3 is (an emulated link, not loopback)
#
#   bench/s3-upload.sh [RUNS]    (default 3 runs of each tool per path)
#
# Env: TOP_BUILDDIR (default: the source tree), PARALLEL (4), PART_SIZE
# (16M), MB (dataset size, 388), RATE (50), PATHS ("direct proxy link").
# The dataset and its archive are cached in bench/out/, figures go to
# bench/out/s3-upload.txt. Needs: a built plugins/s3.la and
# tests/plugin-tool, s3cmd, zstd, ceph-mon/ceph-osd/radosgw,
# python3-botocore.
set -eu
TOP_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
TOP_BUILDDIR=${TOP_BUILDDIR:-$TOP_SRCDIR}
RUNS=${1:-3}
PARALLEL=${PARALLEL:-4}
PART_SIZE=${PART_SIZE:-16M}
MB=${MB:-388}
RATE=${RATE:-50}
PATHS=${PATHS:-direct proxy link}
OUT="$TOP_SRCDIR/bench/out"
PLUGIN_TOOL=${PLUGIN_TOOL:-$TOP_BUILDDIR/tests/plugin-tool}
SO=${SO:-$TOP_BUILDDIR/plugins/.libs/s3.so}
MAKE_DATASET=${MAKE_DATASET:-$TOP_SRCDIR/../shared/bench/make-dataset}
[ -f "$MAKE_DATASET" ] || MAKE_DATASET=/work/shared/bench/make-dataset
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"
[ -x "$PLUGIN_TOOL" ] && [ -f "$SO" ] ||
	fail "build plugins/s3.la and tests/plugin-tool first"
command -v s3cmd >/dev/null || fail "s3cmd is missing"

mkdir -p "$OUT"
archive="$OUT/s3-bench-$MB.tar.zst"
if [ ! -f "$archive" ]; then
	note "dataset of $MB MB and its archive (cached in $OUT)"
	python3 "$MAKE_DATASET" "$T/cloud-data" --mb "$MB" >/dev/null
	tar -C "$T" -cf - cloud-data | zstd -q -T2 -3 >"$archive.tmp"
	mv "$archive.tmp" "$archive"
	rm -rf "$T/cloud-data"
fi
bytes=$(stat -c %s "$archive")
hash=$(sha256sum "$archive" | cut -d' ' -f1)

load0=$(cut -d" " -f1-3 /proc/loadavg)
s3_peer_start
LINK_PORT=$(free_port)
s3_proxy_start "$LINK_PORT" --rate "$RATE"

now() { date +%s.%N; }
mibps() { echo "$bytes $1" | awk '{ printf "%.1f", $1 / 1048576 / $2 }'; }
port_of() {
	case $1 in
	direct) echo "$S3_DIRECT_PORT" ;;
	proxy) echo "$S3_PORT" ;;
	link) echo "$LINK_PORT" ;;
	esac
}

plugin_put() {
	"$PLUGIN_TOOL" "$SO" endpoint="http://127.0.0.1:$(port_of "$1")" \
		bucket="$S3_BUCKET" prefix=bench access_key="$S3_ACCESS" \
		secret_key="$S3_SECRET" part_size="$PART_SIZE" \
		parallel="$PARALLEL" put "$archive" "$2" 2>/dev/null
}
s3cmd_put() {
	s3cmd_conf "$T/s3cfg" "127.0.0.1:$(port_of "$1")"
	s3cmd -c "$T/s3cfg" --no-ssl -q put "$archive" \
		"s3://$S3_BUCKET/bench/$2" >/dev/null
}
# What the store holds must be the archive; then it goes, to keep the
# store (maybe tmpfs) small.
check_and_drop() {
	local obj="$T/check.obj"
	"$PLUGIN_TOOL" "$SO" endpoint="$S3_DIRECT" bucket="$S3_BUCKET" \
		prefix=bench access_key="$S3_ACCESS" secret_key="$S3_SECRET" \
		get "$1" "$obj" >/dev/null 2>&1 || fail "cannot read $1 back"
	[ "$(sha256sum "$obj" | cut -d' ' -f1)" = "$hash" ] ||
		fail "$1: stored object differs from the archive"
	rm -f "$obj"
	"$PLUGIN_TOOL" "$SO" endpoint="$S3_DIRECT" bucket="$S3_BUCKET" \
		prefix=bench access_key="$S3_ACCESS" secret_key="$S3_SECRET" \
		del "$1" 2>/dev/null || fail "cannot delete $1"
}

note "archive $(mibps 1) MiB; $RUNS runs of each tool per path; plugin part_size=$PART_SIZE parallel=$PARALLEL; s3cmd $(s3cmd --version | cut -d' ' -f3) defaults (15 MB parts, one at a time)"
: >"$T/times"
for path in $PATHS; do
	for i in $(seq 1 "$RUNS"); do
		for tool in plugin s3cmd; do
			t0=$(now)
			"${tool}_put" "$path" "$tool-$path-$i" ||
				fail "$tool upload over $path failed"
			t1=$(now)
			secs=$(echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }')
			echo "$path $tool $secs" >>"$T/times"
			echo "$path run $i $tool: $secs s, $(mibps "$secs") MiB/s"
			check_and_drop "$tool-$path-$i"
		done
	done
done

# stat PATH TOOL: median and best time
stat_of() {
	grep "^$1 $2 " "$T/times" | cut -d' ' -f3 | sort -n |
		awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)], a[1] }'
}
{
	echo "s3 upload benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores," \
		"load average at start: $load0"
	echo "archive $bytes bytes ($(mibps 1) MiB; $MB MB dataset, tar | zstd -3);" \
		"$RUNS runs per tool and path; plugin part_size=$PART_SIZE parallel=$PARALLEL"
	for path in $PATHS; do
		read -r pm pb <<<"$(stat_of "$path" plugin)"
		read -r sm sb <<<"$(stat_of "$path" s3cmd)"
		label=$path
		[ "$path" = link ] && label="link ($RATE MiB/s per connection)"
		echo "$label: plugin median $pm s ($(mibps "$pm") MiB/s)," \
			"s3cmd median $sm s ($(mibps "$sm") MiB/s):" \
			"$(echo "$sm $pm" | awk '{ printf "%.2f", $1 / $2 }')x;" \
			"best $(mibps "$pb") vs $(mibps "$sb") MiB/s:" \
			"$(echo "$sb $pb" | awk '{ printf "%.2f", $1 / $2 }')x"
	done
	echo "goal: plugin >= 1.5x s3cmd's throughput"
} | tee "$OUT/s3-upload.txt"

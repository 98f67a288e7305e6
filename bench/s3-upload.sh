#!/bin/bash
# S3 upload throughput: the s3 plugin (parallel multipart, via plugin-tool)
# against `s3cmd put`, same archive, same s3rver on loopback, same path
# (both straight to s3rver, no signing proxy), in one run.
#
#   bench/s3-upload.sh [RUNS]        (default 3 runs of each, alternating)
#
# Env: TOP_BUILDDIR (default: the source tree), PARALLEL (4), PART_SIZE
# (16M), MB (dataset size, 388). The dataset and its archive are cached in
# bench/out/. Needs: a built plugins/s3.la and tests/plugin-tool, s3cmd,
# zstd, node + `npm ci --prefix tests/s3`.
set -eu
TOP_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
TOP_BUILDDIR=${TOP_BUILDDIR:-$TOP_SRCDIR}
RUNS=${1:-3}
PARALLEL=${PARALLEL:-4}
PART_SIZE=${PART_SIZE:-16M}
MB=${MB:-388}
OUT="$TOP_SRCDIR/bench/out"
PLUGIN_TOOL=${PLUGIN_TOOL:-$TOP_BUILDDIR/tests/plugin-tool}
SO=${SO:-$TOP_BUILDDIR/plugins/.libs/s3.so}
MAKE_DATASET=${MAKE_DATASET:-$TOP_SRCDIR/../shared/bench/make-dataset}
[ -x "$MAKE_DATASET" ] || MAKE_DATASET=/work/shared/bench/make-dataset
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"
[ -x "$PLUGIN_TOOL" ] && [ -f "$SO" ] || fail "build plugins/s3.la and tests/plugin-tool first"

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

s3_peer_start
s3cmd_conf "$T/s3cfg" "127.0.0.1:$S3_DIRECT_PORT"

now() { date +%s.%N; }
mbps() { echo "$bytes $1" | awk '{ printf "%.1f", $1 / 1048576 / $2 }'; }

plugin_run() {
	"$PLUGIN_TOOL" "$SO" endpoint="$S3_DIRECT" bucket="$S3_BUCKET" \
		prefix=bench access_key="$S3_ACCESS" secret_key="$S3_SECRET" \
		part_size="$PART_SIZE" parallel="$PARALLEL" \
		put "$archive" "plugin-$1.tar.zst" 2>/dev/null
}
s3cmd_run() {
	s3cmd -c "$T/s3cfg" --no-ssl -q put "$archive" \
		"s3://$S3_BUCKET/bench/s3cmd-$1.tar.zst" >/dev/null
}

note "archive: $(mbps 1) MiB; $RUNS runs each; plugin: part_size=$PART_SIZE parallel=$PARALLEL; s3cmd $(s3cmd --version | cut -d' ' -f3) defaults"
: >"$T/times"
for i in $(seq 1 "$RUNS"); do
	for tool in plugin s3cmd; do
		sync
		t0=$(now)
		"${tool}_run" "$i" || fail "$tool upload $i failed"
		t1=$(now)
		secs=$(echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }')
		echo "$tool $secs" >>"$T/times"
		echo "run $i $tool: $secs s, $(mbps "$secs") MiB/s"
	done
done

# Both wrote the whole archive: check what the store holds.
for f in "plugin-1" "s3cmd-1"; do
	got=$(sha256sum "$S3_DATA/$S3_BUCKET/bench/$f.tar.zst._S3rver_object" | cut -d' ' -f1)
	[ "$got" = "$hash" ] || fail "$f: stored object differs from the archive"
done

median() { grep "^$1 " "$T/times" | cut -d' ' -f2 | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
p=$(median plugin)
s=$(median s3cmd)
ratio=$(echo "$s $p" | awk '{ printf "%.2f", $1 / $2 }')
{
	echo "s3 upload benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
	echo "archive $bytes bytes ($MB MB dataset, tar | zstd -3)"
	echo "plugin (part_size=$PART_SIZE parallel=$PARALLEL): median $p s, $(mbps "$p") MiB/s"
	echo "s3cmd put:                                median $s s, $(mbps "$s") MiB/s"
	echo "plugin / s3cmd throughput: ${ratio}x (goal >= 1.5x)"
} | tee "$OUT/s3-upload.txt"

#!/bin/bash
# shellcheck disable=SC2016 # bash -c scripts take $1, $2 on purpose
# Knob experiments: build a scratch copy of the tree with
# bench/knobs.patch (experiment only, never merged), then time each
# variant of `cairn backup --no-targets` in interleaved rounds next to
# the floor, and a DB-only restore with and without the sidecar check
# running beside staging. Prints min/median per variant and stage.
#
#   bench/knobs.sh             results in bench/out/knobs.txt
#
# Env as bench/backup.sh, plus BENCH_KNOB_RUNS (default 7).
set -euo pipefail
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

ROUNDS=${BENCH_KNOB_RUNS:-7}
check_tools
mkdir -p "$OUT"
ensure_dataset
K="$OUT/knobs"
SRC="$OUT/knobs-src"
SAMPLES="$OUT/knobs.samples"
RESULTS="$OUT/knobs.txt"
XCAIRN="$SRC/cairn"

# Build once per patch and core version.
key=$(cat "$BENCH/knobs.patch" "$TOP"/core/*.c "$TOP"/core/*.h | sha256sum)
if [ "$(cat "$SRC/.key" 2>/dev/null)" != "$key" ] || [ ! -x "$XCAIRN" ]; then
	echo "bench: building the knobs copy in $SRC" >&2
	rm -rf "$SRC"
	mkdir -p "$SRC"
	(cd "$TOP" && git ls-files -z | xargs -0 cp --parents -t "$SRC")
	# include/cairn/ is not tracked (see bench/README.md); copy it.
	cp -a "$TOP/include" "$SRC/"
	(cd "$SRC" && patch -p1 -s <"$BENCH/knobs.patch" &&
	 ./autogen.sh && ./configure && make -j"$(nproc)" cairn) \
		>"$OUT/knobs-build.log" 2>&1 ||
		die "knobs build failed, see $OUT/knobs-build.log"
	echo "$key" >"$SRC/.key"
fi

rm -rf "$K"
mkdir -p "$K"
: >"$SAMPLES"
for l in 3 2 1; do
	write_conf "$K/L$l.conf" "$DATA" "$K/archive" "$K/state" zstd
	sed -i "s/^compression = zstd/&\ncompression_level = $l/" "$K/L$l.conf"
done

# label config env...
VARIANTS="\
floor           -
base            L3
bpb1M           L3 XC_BPB=1048576
bpb0            L3 XC_BPB=0
bpb1M_buf256k   L3 XC_BPB=1048576 XC_BUFSZ=262144
bpb1M_out1      L3 XC_BPB=1048576 XC_OUT=1
bpb1M_out2      L3 XC_BPB=1048576 XC_OUT=2
bpb1M_wb8       L3 XC_BPB=1048576 XC_WB=8
bpb1M_vv8       L3 XC_BPB=1048576 XC_WB=8 XC_VV=1
bpb1M_snap      L3 XC_BPB=1048576 XC_SNAPFAST=1
all             L3 XC_BPB=1048576 XC_WB=8 XC_VV=1 XC_SNAPFAST=1
all_nooutsha    L3 XC_BPB=1048576 XC_WB=8 XC_VV=1 XC_SNAPFAST=1 XC_NOOUTSHA=1
all_L2          L2 XC_BPB=1048576 XC_WB=8 XC_VV=1 XC_SNAPFAST=1
all_L1          L1 XC_BPB=1048576 XC_WB=8 XC_VV=1 XC_SNAPFAST=1
L1              L1"

one() {
	local label=$1 conf=$2 t0 t1 ph
	shift 2
	rm -rf "$K/archive"
	t0=$EPOCHREALTIME
	if [ "$conf" = - ]; then
		"$TIME" -f '%M %U %S' -o "$K/.time" bash -c \
			'tar -cf - -C "$1" . | sha256sum >/dev/null' - "$DATA"
		: >"$K/.err"
	else
		"$TIME" -f '%M %U %S' -o "$K/.time" env XC_PHASES=1 "$@" \
			"$XCAIRN" -c "$K/$conf.conf" -q backup --no-targets \
			2>"$K/.err" </dev/null || { cat "$K/.err" >&2; die "$label failed"; }
	fi
	t1=$EPOCHREALTIME
	ph=$(awk '/^phase/ && $2 != "start" { printf " %s %s", $2, $3 }' \
		"$K/.err")
	echo "$label total $(echo "$t1 - $t0" | bc)$ph $(awk \
		'{ printf "cpu %.2f rss_mib %.0f", $2 + $3, $1 / 1024 }' \
		"$K/.time")" >>"$SAMPLES"
}

restore_one() {
	local label=$1 t0
	shift
	rm -rf "$K/to"
	t0=$EPOCHREALTIME
	env "$@" "$XCAIRN" -c "$K/L3.conf" -q restore db --yes --to "$K/to" \
		>/dev/null
	echo "$label total $(echo "$EPOCHREALTIME - $t0" | bc)" >>"$SAMPLES"
}

echo "knobs.load_before $(load_avg)" >"$RESULTS"
warm_tree
for i in $(seq "$ROUNDS"); do
	echo "bench: knobs round $i/$ROUNDS" >&2
	while read -r label conf envs; do
		# shellcheck disable=SC2086 # envs is a list of words
		one "$label" "$conf" $envs
	done <<<"$VARIANTS"
done
# The last archive (variant L1) is the one to restore from: remake it
# with the defaults.
rm -rf "$K/archive"
"$XCAIRN" -c "$K/L3.conf" -q backup --no-targets
cat "$K/archive/"*.tar.zst >/dev/null
for i in $(seq "$ROUNDS"); do
	restore_one restore_db_to X=1
	restore_one restore_db_to_par XC_RPAR=1
done
echo "knobs.load_after $(load_avg)" >>"$RESULTS"
python3 - "$SAMPLES" >>"$RESULTS" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    runs.setdefault(f[0], []).append(dict(zip(f[1::2], map(float, f[2::2]))))
print("%-18s %s" % ("variant", "min/median seconds (n=%d); rss MiB, cpu s"
                    % len(next(iter(runs.values())))))
for label, r in runs.items():
    cols = []
    for k in r[0]:
        xs = [x[k] for x in r]
        if k in ("rss_mib", "cpu"):
            cols.append("%s %.0f" % (k, statistics.median(xs)) if k ==
                        "rss_mib" else "%s %.2f" % (k, statistics.median(xs)))
        else:
            cols.append("%s %.2f/%.2f" % (k, min(xs), statistics.median(xs)))
    print("%-18s %s" % (label, "  ".join(cols)))
PY
cat "$RESULTS"

#!/bin/bash
# Encryption benchmark: `cairn backup` of the bench tree to a local
# target, plain, with encrypt = age on the target (one X25519
# recipient), and with it in [cairn] (the local archive encrypted, the
# target sent that ciphertext): medians of BENCH_RUNS interleaved
# rounds. The goal: encrypted target / plain <= 1.10.
#
#   bench/age.sh             results in bench/out/age.txt
#
# Env as in bench/backup.sh (CAIRN, BENCH_MB, BENCH_RUNS, BENCH_OUT).
# A benchmark, not a test: it never fails on a timing.
set -euo pipefail
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

check_tools
mkdir -p "$OUT"
ensure_dataset
W="$OUT/age"
SAMPLES="$OUT/age.samples"
RESULTS="$OUT/age.txt"
rm -rf "$W"
mkdir -p "$W"
: >"$SAMPLES"
: >"$RESULTS"
"$CAIRN" keygen -o "$W/key" >"$W/rcpt"
for c in plain age sealed; do
	write_conf "$W/$c.conf" "$DATA" "$W/$c/archive" "$W/$c/state" zstd
	{
		echo "[target copy]"
		echo "plugin = local"
		echo "path = $W/$c/copy"
		[ $c = age ] && echo "encrypt = age"
		[ $c = age ] && echo "recipients = $(cat "$W/rcpt")"
	} >>"$W/$c.conf"
done
# sealed: the local archive encrypted too ([cairn] encrypt = age), the
# target sent its ciphertext as it is
sed -i "/^\[cairn\]/a encrypt = age\nrecipients = $(cat "$W/rcpt")" \
	"$W/sealed.conf"

one() {
	rm -rf "${W:?}/$1/archive" "${W:?}/$1/state" "${W:?}/$1/copy"
	mkdir -p "$W/$1/copy"
	timed "backup_$1" "$CAIRN" -c "$W/$1.conf" -q backup
}

warm_tree
for _ in $(seq "$RUNS"); do
	one plain
	one age
	one sealed
done
summarize "$SAMPLES" "$RESULTS"
ls "$W/age/copy" >"$W/objects"
grep -q '\.tar\.zst\.age$' "$W/objects" || die "no .age object on the target"
ls "$W/sealed/archive" | grep -q '\.tar\.zst\.age$' ||
	die "no .age archive in the sealed archive_dir"
python3 - "$RESULTS" <<'PY'
import sys
v = dict(l.split() for l in open(sys.argv[1]))
p, a = float(v["backup_plain.wall"]), float(v["backup_age.wall"])
print("cairn backup to a local target, plain:     %6.2f s (median)" % p)
print("cairn backup to a local target, age:       %6.2f s (median)" % a)
print("ratio age / plain: %.3f (goal <= 1.10: %s)" % (a / p,
      "met" if a / p <= 1.10 else "not met"))
s = float(v["backup_sealed.wall"])
print("cairn backup, archive_dir encrypted too:   %6.2f s (median)" % s)
print("ratio sealed / plain: %.3f" % (s / p))
PY

#!/bin/bash
# Incremental nights benchmark (issue 15), side by side with restic and
# borg in one run, on a copy of the make-dataset tree:
#   - an unchanged night: cairn's incremental against restic's second
#     `backup` (and borg's second `create`);
#   - seven nights with 1% of the WAVs rewritten each night: what cairn
#     stores (a full and six incrementals) against one full archive,
#     and restic's and borg's repositories against their first backup;
#   - restoring the 7th night (restore full --to) against restoring the
#     full archive;
#   - peak RSS of an incremental night over a tree of 100,000 files.
#
#   bench/incr.sh            results in $BENCH_OUT/incr.txt, and a table
#
# Env as bench/backup.sh (CAIRN, BENCH_MB, BENCH_RUNS, BENCH_OUT, ...);
# BENCH_FILES (100000) for the RSS tree.
# A benchmark, not a test: it never fails on a timing.
set -euo pipefail
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

check_tools
mkdir -p "$OUT"
rivals_setup
ensure_dataset
W="$OUT/incr"
SAMPLES="$OUT/incr.samples"
RESULTS="$OUT/incr.txt"
NFILES=${BENCH_FILES:-100000}
rm -rf "$W"
mkdir -p "$W"
: >"$SAMPLES"
: >"$RESULTS"
SRC=$W/src
cp -a "$DATA" "$SRC"
incr_conf() {
	write_conf "$1" "$2" "$3" "$4" zstd
	sed -i 's/^keep_last   = 7$/keep_last   = 14\nincremental = yes\nfull_every  = 7d/' "$1"
}
incr_conf "$W/c.conf" "$SRC" "$W/archive" "$W/state"
night() { printf '2026-01-%02d 03:15:00' "$1"; }

# 1% of the WAVs (at least one), a different set each night: new bytes,
# same size.
rewrite_wavs() {
	python3 - "$SRC" "$1" <<'EOF'
import os, sys
root, night = sys.argv[1], int(sys.argv[2])
wavs = sorted(os.path.join(d, f) for d, _, fs in os.walk(root)
              for f in fs if f.endswith(".wav"))
n = max(1, len(wavs) // 100)
for p in wavs[(night * n) % len(wavs):][:n]:
    size = os.path.getsize(p)
    with open(p, "r+b") as f:
        f.seek(44)
        f.write(os.urandom(max(0, size - 44)))
EOF
}

warm_tree
echo "bench: night 1 (full) and an unchanged night, $RUNS runs" >&2
timed cairn_full "$CAIRN" -q -c "$W/c.conf" backup --no-targets \
	--time "$(night 1)"
size_full=$(du -sb --apparent-size "$W/archive" | cut -f1)
if [ "$RIVALS" = yes ]; then
	restic_init "$W/restic"
	timed restic_first "${IN_DIR[@]}" "$SRC" restic -q -r \
		"$W/restic/repo" --cache-dir "$W/restic/cache" backup \
		--compression auto .
	size_restic_first=$(du -sb "$W/restic/repo" | cut -f1)
	borg_init "$W/borg"
	timed borg_first "${IN_DIR[@]}" "$SRC" env BORG_BASE_DIR="$W/borg/base" \
		borg create -C zstd,3 "$W/borg/repo::night1" .
	size_borg_first=$(du -sb "$W/borg/repo" | cut -f1)
fi
# borg create NAME, as the bench's other borg rows.
borg_night() {
	timed "$1" "${IN_DIR[@]}" "$SRC" env BORG_BASE_DIR="$W/borg/base" \
		borg create -C zstd,3 "$W/borg/repo::$2" .
}
# Unchanged nights, in rounds; each is removed again so the chain stays
# night 1 (every run builds on the same full).
for r in $(seq "$RUNS"); do
	timed cairn_unchanged "$CAIRN" -q -c "$W/c.conf" backup \
		--no-targets --time "$(night 2)"
	rm -f "$W/archive"/*2026-01-02_031500*
	ln -sf mss-backup-2026-01-01_031500.tar.zst \
		"$W/archive/mss-backup-latest.tar.zst"
	if [ "$RIVALS" = yes ]; then
		timed restic_second "${IN_DIR[@]}" "$SRC" restic -q -r \
			"$W/restic/repo" --cache-dir "$W/restic/cache" \
			backup --compression auto .
		borg_night borg_second "unchanged$r"
	fi
done

echo "bench: seven nights, 1% of the WAVs rewritten each" >&2
for d in 2 3 4 5 6 7; do
	rewrite_wavs "$d"
	timed cairn_night "$CAIRN" -q -c "$W/c.conf" backup --no-targets \
		--time "$(night "$d")"
	if [ "$RIVALS" = yes ]; then
		timed restic_night "${IN_DIR[@]}" "$SRC" restic -q -r \
			"$W/restic/repo" --cache-dir "$W/restic/cache" \
			backup --compression auto .
		borg_night borg_night "night$d"
	fi
done
size_week=$(du -sb --apparent-size "$W/archive" | cut -f1)
if [ "$RIVALS" = yes ]; then
	size_restic_week=$(du -sb "$W/restic/repo" | cut -f1)
	size_borg_week=$(du -sb "$W/borg/repo" | cut -f1)
fi

echo "bench: restore the 7th night and the full" >&2
for r in $(seq "$RUNS"); do
	rm -rf "$W/r7" "$W/r1"
	timed restore_night7 "$CAIRN" -q -c "$W/c.conf" restore full \
		--archive mss-backup-2026-01-07_031500.incr.tar.zst \
		--to "$W/r7" --yes
	timed restore_full "$CAIRN" -q -c "$W/c.conf" restore full \
		--archive mss-backup-2026-01-01_031500.tar.zst \
		--to "$W/r1" --yes
done
same=$(diff -rq -x sound_machine.db -x "*-wal" -x "*-shm" "$SRC" "$W/r7" >/dev/null 2>&1 && echo yes || echo no)
rm -rf "$W/r7" "$W/r1"

echo "bench: $NFILES files, peak RSS of a full and an incremental night" >&2
T2=$W/many
mkdir -p "$T2/src/data" "$T2/src/config"
python3 - "$T2/src" "$NFILES" <<'EOF'
import os, sqlite3, sys
root, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(os.path.join(root, "data/sound_machine.db"))
c.execute("create table t(x)"); c.commit(); c.close()
open(os.path.join(root, "data/server_id.txt"), "w").write("id\n")
os.makedirs(os.path.join(root, "data/exports"), exist_ok=True)
for i in range(n):
    d = os.path.join(root, "Sounds/d%03d" % (i // 1000))
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d.wav" % i), "w") as f:
        f.write("x" * (i % 200))
EOF
incr_conf "$T2/c.conf" "$T2/src" "$T2/archive" "$T2/state"
timed many_full "$CAIRN" -q -c "$T2/c.conf" backup --no-targets \
	--time "$(night 1)"
for f in "$T2"/src/Sounds/d00[0-4]/f0000[0-9]*.wav; do echo y >>"$f"; done
timed many_incr "$CAIRN" -q -c "$T2/c.conf" backup --no-targets \
	--time "$(night 2)"
rm -rf "$T2"

summarize "$SAMPLES" "$RESULTS"
{
	echo "size.full $size_full"
	echo "size.week $size_week"
	echo "restore.same $same"
	echo "files.many $NFILES"
	if [ "$RIVALS" = yes ]; then
		echo "size.restic_first $size_restic_first"
		echo "size.restic_week $size_restic_week"
		echo "version.restic $(restic version | cut -d' ' -f2)"
		echo "size.borg_first $size_borg_first"
		echo "size.borg_week $size_borg_week"
		echo "version.borg $(borg --version | cut -d' ' -f2)"
	fi
	echo "load.end $(load_avg)"
} >>"$RESULTS"

python3 - "$RESULTS" <<'EOF'
import sys
v = dict(l.strip().partition(" ")[::2] for l in open(sys.argv[1]))
f = lambda k: float(v[k]) if k in v else None
def ratio(a, b):
    return "%.2fx" % (f(a) / f(b)) if f(a) and f(b) else "-"
def sec(k):
    return "%.2f s" % f(k) if f(k) is not None else "-"
print("cairn incremental nights (issue 15), one run; load at the end %s"
      % v.get("load.end"))
print("  unchanged night: cairn %s (cpu %s s); restic 2nd backup %s: %s "
      "(goal <= 0.5x); borg 2nd create %s: %s" % (
      sec("cairn_unchanged.wall"), v.get("cairn_unchanged.cpu"),
      sec("restic_second.wall"),
      ratio("cairn_unchanged.wall", "restic_second.wall"),
      sec("borg_second.wall"),
      ratio("cairn_unchanged.wall", "borg_second.wall")))
print("  a 1%%-night: cairn %s, restic %s (%s), borg %s (%s)" % (
      sec("cairn_night.wall"), sec("restic_night.wall"),
      ratio("cairn_night.wall", "restic_night.wall"),
      sec("borg_night.wall"), ratio("cairn_night.wall", "borg_night.wall")))
print("  7 nights, 1%% WAVs rewritten: cairn stores %.0f MB, one full "
      "%.0f MB: %s (goal <= 1.2x); restic %s, borg %s of their first" % (
      f("size.week") / 1e6, f("size.full") / 1e6,
      ratio("size.week", "size.full"),
      ratio("size.restic_week", "size.restic_first"),
      ratio("size.borg_week", "size.borg_first")))
print("  restore 7th night %.2f s, the full %.2f s: %s (goal <= 1.1x); "
      "tree equal: %s" % (f("restore_night7.wall"),
      f("restore_full.wall"), ratio("restore_night7.wall",
      "restore_full.wall"), v.get("restore.same")))
print("  %s files: peak RSS full night %.1f MiB, incremental night "
      "%.1f MiB (goal <= 64 MiB); wall %.1f s / %.1f s" % (
      v.get("files.many"), f("many_full.rss_mib"),
      f("many_incr.rss_mib"), f("many_full.wall"), f("many_incr.wall")))
print("  a night's wall: full %.2f s (restic first %s, borg first %s), "
      "incremental (1%% WAVs) median %.2f s" % (f("cairn_full.wall"),
      sec("restic_first.wall"), sec("borg_first.wall"),
      f("cairn_night.wall")))
EOF

# shellcheck shell=bash disable=SC2034,SC2016
# Shared by the bench scripts; sourced, not run.
# A benchmark, not a test: nothing here fails on a timing.

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$BENCH")
CAIRN=${CAIRN:-$TOP/cairn}
# The plugins built next to that binary (a build tree), unless given.
export CAIRN_PLUGIN_DIR=${CAIRN_PLUGIN_DIR:-$(dirname "$CAIRN")/plugins/.libs}
MB=${BENCH_MB:-388}
RUNS=${BENCH_RUNS:-3}
OUT=${BENCH_OUT:-$BENCH/out}
DATA=${BENCH_DATA:-$OUT/data-$MB}
# make-dataset lives in shared/ beside the checkout (/work/main) or,
# for a worktree (/work/wt/X), one level further up.
if [ -z "${MAKE_DATASET:-}" ]; then
	MAKE_DATASET=$(cd "$TOP/.." && pwd)/shared/bench/make-dataset
	[ -f "$MAKE_DATASET" ] ||
		MAKE_DATASET=$(cd "$TOP/../.." && pwd)/shared/bench/make-dataset
fi
TIME=/usr/bin/time

die() {
	echo "bench: $*" >&2
	exit 1
}

need() {
	command -v "$1" >/dev/null || die "$1 not found (apt-get install $2)"
}

check_tools() {
	[ -x "$CAIRN" ] || die "no cairn binary at $CAIRN (make cairn)"
	[ -x "$TIME" ] || die "$TIME not found (apt-get install time)"
	need python3 python3
	need tar tar
	need sha256sum coreutils
}

# The data set is generated once and reused; the stamp beside it (not
# in it: the runbook archives the whole tree) says which size it is.
ensure_dataset() {
	local stamp="$DATA.stamp" want="mb=$MB"

	if [ -d "$DATA" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
		return
	fi
	[ -f "$MAKE_DATASET" ] || die "make-dataset not found: $MAKE_DATASET"
	echo "bench: generating a $MB MB data set in $DATA (once)" >&2
	rm -rf "$DATA" "$DATA.tmp" "$stamp"
	mkdir -p "$(dirname "$DATA")"
	python3 "$MAKE_DATASET" "$DATA.tmp" --mb "$MB" >/dev/null
	mv "$DATA.tmp" "$DATA"
	echo "$want" >"$stamp"
}

# Read the tree once so every contender starts from a warm page cache.
warm_tree() {
	tar -cf - -C "$DATA" . >/dev/null
}

# write_conf FILE SOURCE ARCHIVE_DIR STATE_DIR COMPRESSION: the MSS
# profile (conf/mss.conf) pointed at the bench directories.
write_conf() {
	cat >"$1" <<EOF
[cairn]
name        = mss
source      = $2
archive_dir = $3
state_dir   = $4
compression = $5
keep_last   = 7

[component db]
type = sqlite
path = data/sound_machine.db

[component audio]
type = files
path = Sounds

[component config]
type = files
path = config data/server_id.txt data/exports

[component logs]
type     = files
path     = log
required = no

[mode db]
components = db

[mode audio]
components = audio
EOF
	chmod 600 "$1"
}

# timed NAME CMD...: run once, append "NAME wall maxrss_kib cpu" to
# $SAMPLES. Wall clock from bash (microseconds), peak RSS of the largest
# process in the command's tree and user+sys CPU from GNU time.
timed() {
	local name=$1 t0 t1 rc=0
	shift
	t0=$EPOCHREALTIME
	"$TIME" -f '%M %U %S' -o "$OUT/.time" "$@" >"$OUT/.stdout" \
		2>"$OUT/.stderr" || rc=$?
	t1=$EPOCHREALTIME
	if [ $rc -ne 0 ]; then
		cat "$OUT/.stdout" "$OUT/.stderr" >&2
		die "$name: exit $rc: $*"
	fi
	# GNU time prints "Command exited..." lines first on failure; the
	# numbers are on the last line.
	tail -n 1 "$OUT/.time" | awk -v n="$name" -v a="$t0" -v b="$t1" \
		'{ printf "%s %.3f %d %.2f\n", n, b - a, $1, $2 + $3 }' \
		>>"$SAMPLES"
}

# Wait (untimed) for the next whole second: archive names have one-second
# stamps, so a cairn run started in the same second as the previous one
# would first wait for a free name. The nightly timer never runs twice
# in a second; the bench must not either.
fresh_second() {
	local us=${EPOCHREALTIME#*.}

	sleep "$(awk -v u="$((10#$us))" 'BEGIN { printf "%.6f", (1000000 - u) / 1e6 + 0.001 }')"
}

# summarize SAMPLES RESULTS: per name, median wall (and min, max),
# median peak RSS in MiB and median CPU seconds, as "key value" lines.
summarize() {
	python3 - "$1" >>"$2" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    n, wall, rss, cpu = line.split()
    runs.setdefault(n, []).append((float(wall), int(rss), float(cpu)))
for n, r in runs.items():
    w = [x[0] for x in r]
    print("%s.wall %.3f" % (n, statistics.median(w)))
    print("%s.wall_min %.3f" % (n, min(w)))
    print("%s.wall_max %.3f" % (n, max(w)))
    print("%s.rss_mib %.1f" % (n, statistics.median(x[1] for x in r) / 1024))
    print("%s.cpu %.2f" % (n, statistics.median(x[2] for x in r)))
    print("%s.runs %d" % (n, len(r)))
EOF
}

# Context for the record: the machine is shared, so say how busy it was.
load_avg() {
	cut -d' ' -f1 /proc/loadavg
}

# The other tools a user would weigh cairn against: Debian's restic
# and borgbackup, doing the same job on the same tree. BENCH_RIVALS:
# auto (the default: their rows when both are installed), yes (fail
# if missing), no (skip them). Sets RIVALS to yes or no.
rivals_setup() {
	RIVALS=${BENCH_RIVALS:-auto}
	case $RIVALS in
	no) return 0 ;;
	yes)
		need restic restic
		need borg borgbackup
		;;
	auto)
		if ! command -v restic >/dev/null ||
		   ! command -v borg >/dev/null; then
			echo "bench: restic or borg not installed, their rows" \
				"are skipped (apt-get install restic" \
				"borgbackup)" >&2
			RIVALS=no
			return 0
		fi
		RIVALS=yes
		;;
	*) die "BENCH_RIVALS must be auto, yes or no" ;;
	esac
	# restic always encrypts; a throwaway password, in a file.
	export RESTIC_PASSWORD_FILE="$OUT/restic.password"
	if [ ! -s "$RESTIC_PASSWORD_FILE" ]; then
		(umask 077 && echo "bench only, not a secret" \
			>"$RESTIC_PASSWORD_FILE")
	fi
	# Our own unencrypted repositories, whatever their path.
	export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
	export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
}

# IN_DIR DIR CMD...: run CMD in DIR (exec, so GNU time measures CMD).
# restic and borg back up "." from the tree, so their paths are the
# archive's member names: data/sound_machine.db, Sounds/...
IN_DIR=(bash -c 'cd "$1" && shift && exec "$@"' -)

# restic_init DIR / borg_init DIR: a new, empty repository in DIR/repo
# with its cache beside it in DIR (a first backup starts cold, as on a
# new host). Untimed.
restic_init() {
	rm -rf "$1"
	mkdir -p "$1"
	restic -q -r "$1/repo" --cache-dir "$1/cache" init \
		--repository-version 2 >/dev/null
}

borg_init() {
	rm -rf "$1"
	mkdir -p "$1"
	BORG_BASE_DIR="$1/base" borg init -e none "$1/repo"
}


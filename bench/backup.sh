#!/bin/bash
# shellcheck disable=SC2016 # bash -c scripts take $1, $2 on purpose
# Backup benchmark: `cairn backup --no-targets` against the MSS runbook
# (tar -czf + sha256sum), the floor (tar | sha256sum, no compression,
# nothing written), restic and borg (a first backup into a new local
# repository, then an unchanged second one), on one make-dataset tree
# with a warm page cache.
# Each timing is the median of BENCH_RUNS runs (default 3), taken in
# rounds so that a noisy neighbour hits every contender alike.
#
#   bench/backup.sh            results in bench/out/backup.txt
#
# Env: CAIRN (binary), BENCH_MB (388), BENCH_RUNS (3), BENCH_OUT
# (bench/out), BENCH_DATA (data set cache), MAKE_DATASET, BENCH_RIVALS
# (auto|yes|no: the restic and borg rows).
# A benchmark, not a test: it never fails on a timing.
set -euo pipefail
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

check_tools
mkdir -p "$OUT"
rivals_setup
ensure_dataset
W="$OUT/backup"
SAMPLES="$OUT/backup.samples"
RESULTS="$OUT/backup.txt"
rm -rf "$W"
mkdir -p "$W/runbook"
: >"$SAMPLES"
: >"$RESULTS"
for c in zstd gzip; do
	write_conf "$W/$c.conf" "$DATA" "$W/$c/archive" "$W/$c/state" "$c"
done

runbook() {
	rm -f "$W/runbook/A.tar.gz" "$W/runbook/A.tar.gz.sha256"
	timed runbook bash -c 'cd "$1" && tar -czf A.tar.gz -C "$2" . &&
		sha256sum A.tar.gz >A.tar.gz.sha256' - "$W/runbook" "$DATA"
}

floor() {
	timed floor bash -c 'tar -cf - -C "$1" . | sha256sum >/dev/null' \
		- "$DATA"
}

cairn_backup() {
	rm -rf "${W:?}/$1"
	fresh_second
	timed "cairn_$1" "$CAIRN" -c "$W/$1.conf" -q backup --no-targets
}

# The second night, nothing changed. cairn writes a full archive again
# (incrementals are a later issue); restic and borg find every file
# unchanged in their files cache and store almost nothing.
cairn_second() {
	fresh_second
	timed cairn_zstd_second "$CAIRN" -c "$W/zstd.conf" -q backup \
		--no-targets
}

# restic always encrypts (AES-256 + Poly1305, key from the password
# file); --compression auto needs repository version 2.
restic_backup() {
	timed "$1" "${IN_DIR[@]}" "$DATA" restic -q -r "$W/restic/repo" \
		--cache-dir "$W/restic/cache" backup --compression auto .
}

restic_first() {
	restic_init "$W/restic"
	restic_backup restic_first
	size_restic_first=$(du -sb "$W/restic/repo" | cut -f1)
}

# borg: no encryption (-e none), zstd level 3 like cairn's default.
borg_backup() {
	timed "$1" "${IN_DIR[@]}" "$DATA" env BORG_BASE_DIR="$W/borg/base" \
		borg create -C zstd,3 "$W/borg/repo::$2" .
}

borg_first() {
	borg_init "$W/borg"
	borg_backup borg_first night1
	size_borg_first=$(du -sb "$W/borg/repo" | cut -f1)
}

# Where cairn's time goes, from the syscalls that mark each stage of
# make_archive() (backup.c). One extra run, not in the medians; strace
# with a seccomp filter stops only on the few traced calls.
phases() {
	local log="$OUT/backup.strace"

	command -v strace >/dev/null || return 0
	rm -rf "$W/zstd"
	strace --seccomp-bpf -f -ttt -o "$log" \
		-e trace=execve,openat,fsync,fadvise64,exit_group \
		"$CAIRN" -c "$W/zstd.conf" -q backup --no-targets >/dev/null ||
		return 0
	awk '
	function mark(k) { if (!(k in t)) t[k] = $2 + 0 }
	/execve\(/                         { mark("exec") }
	/cairn-staging.*db\.db", O_RDWR/   { mark("snap") }
	/cairn-staging.*db\.db", .*NOATIME/ { mark("write") }
	/fsync\(/ && ("write" in t) && !("fsync" in t) { mark("fsync") }
	/POSIX_FADV_DONTNEED/              { mark("verify") }
	/\.manifest", O_RDONLY/            { mark("vdone") }
	/exit_group\(/                     { t["end"] = $2 + 0 }
	END {
		if (!("exec" in t && "snap" in t && "write" in t &&
		      "fsync" in t && "verify" in t && "vdone" in t))
			exit
		printf "phase.startup %.3f\n", t["snap"] - t["exec"]
		printf "phase.snapshot_plan %.3f\n", t["write"] - t["snap"]
		printf "phase.write %.3f\n", t["fsync"] - t["write"]
		printf "phase.fsync_publish %.3f\n", t["verify"] - t["fsync"]
		printf "phase.verify %.3f\n", t["vdone"] - t["verify"]
		printf "phase.finish %.3f\n", t["end"] - t["vdone"]
	}' "$log" >>"$RESULTS"
}

echo "backup.load_before $(load_avg)" >>"$RESULTS"
warm_tree
for i in $(seq "$RUNS"); do
	echo "bench: backup round $i/$RUNS" >&2
	runbook
	floor
	cairn_backup zstd
	cairn_backup gzip
	if [ "$RIVALS" = yes ]; then
		restic_first
		borg_first
	fi
	cairn_second
	if [ "$RIVALS" = yes ]; then
		restic_backup restic_second
		borg_backup borg_second night2
	fi
done
echo "backup.load_after $(load_avg)" >>"$RESULTS"
summarize "$SAMPLES" "$RESULTS"
# What two nights leave on disk: cairn two full archives and their
# sidecars, restic and borg one copy plus a little metadata.
echo "size.cairn_2nights $(du -sb "$W/zstd/archive" | cut -f1)" \
	>>"$RESULTS"
if [ "$RIVALS" = yes ]; then
	{
		echo "size.restic_first $size_restic_first"
		echo "size.restic_2nights $(du -sb "$W/restic/repo" | cut -f1)"
		echo "size.borg_first $size_borg_first"
		echo "size.borg_2nights $(du -sb "$W/borg/repo" | cut -f1)"
		echo "version.restic $(restic version | cut -d' ' -f2)"
		echo "version.borg $(borg --version | cut -d' ' -f2)"
	} >>"$RESULTS"
fi
echo "size.data $(du -sb "$DATA" | cut -f1)" >>"$RESULTS"
echo "size.runbook $(stat -c %s "$W/runbook/A.tar.gz")" >>"$RESULTS"
for c in zstd gzip; do
	# The first night's archive (not its .index, .sha256 sidecars).
	for a in "$W/$c/archive/"mss-backup-2*[0-9].tar.{zst,gz}; do
		[ -f "$a" ] || continue
		echo "size.cairn_$c $(stat -c %s "$a")" >>"$RESULTS"
		break
	done
done
if command -v perf >/dev/null && rm -rf "$W/zstd" &&
   perf stat -x, -e task-clock -o "$OUT/backup.perf" \
	"$CAIRN" -c "$W/zstd.conf" -q backup --no-targets 2>/dev/null; then
	awk -F, '/task-clock/ { printf "perf.task_clock_ms %.0f\n", $1 }' \
		"$OUT/backup.perf" >>"$RESULTS"
fi
phases

# CPU profile of one zstd backup: share of samples per thread (main or
# zstd worker) and library. perf's cpu-clock works in this VM; skipped
# where perf is missing or not allowed.
profile() {
	local data="$OUT/backup.perf.data" main

	command -v perf >/dev/null || return 0
	rm -rf "$W/zstd"
	perf record -q -e cpu-clock -F 999 -o "$data" "$CAIRN" \
		-c "$W/zstd.conf" -q backup --no-targets >/dev/null 2>&1 ||
		return 0
	main=$(perf script -i "$data" -F pid 2>/dev/null | head -1 |
		tr -d ' ' || true)
	perf report -i "$data" --no-children --sort pid,dso --stdio \
		2>/dev/null | awk -v main="$main" '
		/^ +[0-9.]+%/ {
			split($2, p, ":")
			who = (p[1] == main) ? "main" : "worker"
			sub(/\.so.*/, "", $3)
			gsub(/[][]/, "", $3)
			share[who "." $3] += $1
		}
		END { for (k in share) if (share[k] >= 1)
			printf "profile.%s %.1f\n", k, share[k] }' |
		sort -k2 -rn >>"$RESULTS"
}
profile
cat "$RESULTS"

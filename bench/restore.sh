#!/bin/bash
# Restore benchmark: a DB-only `cairn restore db` (into an empty --to
# directory, and live with its safety net) against the runbook's
# `tar -xzf ARCHIVE.tar.gz -C X ./data/sound_machine.db`, which has to
# inflate the whole gzip stream to find one member; plus full restores
# for reference; and the same two restores from restic and borg
# repositories (`restic restore latest --include /data/sound_machine.db`,
# `borg extract REPO::a data/sound_machine.db`). Archives and
# repositories are made once (untimed) from the cached data set and
# read with a warm page cache; medians of BENCH_RUNS runs.
#
#   bench/restore.sh           results in bench/out/restore.txt
#
# The runbook's archive is made with `tar -C DIR .`, so its members are
# named ./data/...; GNU tar does not match data/sound_machine.db against
# ./data/sound_machine.db, hence the ./ (the time is the same: tar reads
# to the end either way, looking for more copies).
set -euo pipefail
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

check_tools
mkdir -p "$OUT"
rivals_setup
ensure_dataset
W="$OUT/restore"
SRC="$OUT/restore-src" # archives, kept between runs of this script
SAMPLES="$OUT/restore.samples"
RESULTS="$OUT/restore.txt"
DB=data/sound_machine.db
rm -rf "$W"
mkdir -p "$W"
: >"$SAMPLES"
: >"$RESULTS"

# The archives, made once per data set and cairn binary.
stamp="$(cat "$DATA.stamp") $(sha256sum <"$CAIRN" | cut -c1-16)"
if [ "$(cat "$SRC/stamp" 2>/dev/null)" != "$stamp" ] ||
   [ ! -f "$SRC/A.tar.gz" ] ||
   ! ls "$SRC/archive/"mss-backup-2*.tar.zst.sha256 >/dev/null 2>&1; then
	echo "bench: making the archives to restore from (once)" >&2
	rm -rf "$SRC"
	mkdir -p "$SRC"
	write_conf "$SRC/make.conf" "$DATA" "$SRC/archive" "$SRC/state" zstd
	"$CAIRN" -c "$SRC/make.conf" -q backup --no-targets
	tar -czf "$SRC/A.tar.gz" -C "$DATA" .
	echo "$stamp" >"$SRC/stamp"
fi
ARCHIVE=$(ls "$SRC/archive/"mss-backup-2*[0-9].tar.zst)

# The restic and borg repositories, one backup each (as bench/backup.sh
# makes them), once per data set and tool version.
rstamp="$(cat "$DATA.stamp") $(restic version 2>/dev/null) \
$(borg --version 2>/dev/null)"
if [ "$RIVALS" = yes ] &&
   [ "$(cat "$SRC/rivals.stamp" 2>/dev/null)" != "$rstamp" ]; then
	echo "bench: making the restic and borg repositories (once)" >&2
	rm -f "$SRC/rivals.stamp"
	restic_init "$SRC/restic"
	"${IN_DIR[@]}" "$DATA" restic -q -r "$SRC/restic/repo" \
		--cache-dir "$SRC/restic/cache" backup --compression auto . \
		>/dev/null
	borg_init "$SRC/borg"
	"${IN_DIR[@]}" "$DATA" env BORG_BASE_DIR="$SRC/borg/base" \
		borg create -C zstd,3 "$SRC/borg/repo::a" .
	echo "$rstamp" >"$SRC/rivals.stamp"
fi
RESTIC=(restic -q -r "$SRC/restic/repo" --cache-dir "$SRC/restic/cache")
BORG=(env BORG_BASE_DIR="$SRC/borg/base" borg)

# The live tree a live DB restore replaces: only the database, copied
# from the data set, so the cached data set is never touched.
LIVE="$W/live"
mkdir -p "$LIVE/data"
cp "$DATA/$DB" "$LIVE/$DB"
write_conf "$W/restore.conf" "$LIVE" "$SRC/archive" "$W/state" zstd

cairn_db_to() {
	rm -rf "$W/to"
	timed cairn_db_to "$CAIRN" -c "$W/restore.conf" -q restore db --yes \
		--to "$W/to"
	[ -s "$W/to/$DB" ] || die "cairn restore db --to: no $DB"
}

cairn_db_live() {
	# Each live restore keeps what it replaced in a new safety net.
	rm -rf "$LIVE.pre-restore"
	timed cairn_db_live "$CAIRN" -c "$W/restore.conf" -q restore db \
		--yes
	[ -s "$LIVE/$DB" ] || die "cairn restore db (live): no $DB"
}

runbook_db() {
	rm -rf "$W/x"
	mkdir -p "$W/x"
	timed runbook_db tar -xzf "$SRC/A.tar.gz" -C "$W/x" "./$DB"
	[ -s "$W/x/$DB" ] || die "runbook: no $DB"
}

cairn_full_to() {
	rm -rf "$W/to"
	timed cairn_full_to "$CAIRN" -c "$W/restore.conf" -q restore full \
		--yes --to "$W/to"
	[ -s "$W/to/$DB" ] || die "cairn restore full --to: no $DB"
}

runbook_full() {
	rm -rf "$W/x"
	mkdir -p "$W/x"
	timed runbook_full tar -xzf "$SRC/A.tar.gz" -C "$W/x"
}

# restic decrypts and checks each blob's MAC; borg (-e none) checks
# each chunk against its SHA-256 id. Neither checks the database.
restic_db() {
	rm -rf "$W/r"
	timed restic_db "${RESTIC[@]}" restore latest --target "$W/r" \
		--include "/$DB"
	[ -s "$W/r/$DB" ] || die "restic restore --include: no $DB"
}

borg_db() {
	rm -rf "$W/b"
	mkdir -p "$W/b"
	timed borg_db "${IN_DIR[@]}" "$W/b" "${BORG[@]}" extract \
		"$SRC/borg/repo::a" "$DB"
	[ -s "$W/b/$DB" ] || die "borg extract: no $DB"
}

restic_full() {
	rm -rf "$W/r"
	timed restic_full "${RESTIC[@]}" restore latest --target "$W/r"
	[ -s "$W/r/$DB" ] || die "restic restore: no $DB"
}

borg_full() {
	rm -rf "$W/b"
	mkdir -p "$W/b"
	timed borg_full "${IN_DIR[@]}" "$W/b" "${BORG[@]}" extract \
		"$SRC/borg/repo::a"
	[ -s "$W/b/$DB" ] || die "borg extract: no $DB"
}

# The fixed cost in every restic command: opening the repository
# derives the key from the password (scrypt, parameters calibrated on
# this machine at `restic init`). For reference; not a contender.
restic_open() {
	timed restic_open "${RESTIC[@]}" cat config
}

echo "restore.load_before $(load_avg)" >>"$RESULTS"
cat "$ARCHIVE" "$SRC/A.tar.gz" >/dev/null
if [ "$RIVALS" = yes ]; then
	tar -cf - -C "$SRC" restic borg >/dev/null
fi
for i in $(seq "$RUNS"); do
	echo "bench: restore round $i/$RUNS" >&2
	runbook_db
	cairn_db_to
	cairn_db_live
	if [ "$RIVALS" = yes ]; then
		restic_db
		borg_db
		restic_open
	fi
	runbook_full
	cairn_full_to
	if [ "$RIVALS" = yes ]; then
		restic_full
		borg_full
	fi
done
echo "restore.load_after $(load_avg)" >>"$RESULTS"
summarize "$SAMPLES" "$RESULTS"
echo "size.restore_archive $(stat -c %s "$ARCHIVE")" >>"$RESULTS"
echo "size.restore_runbook $(stat -c %s "$SRC/A.tar.gz")" >>"$RESULTS"
rm -rf "$W/to" "$W/x" "$W/r" "$W/b" "$LIVE.pre-restore"
cat "$RESULTS"

# Local retention: keep_last, a grandfather-father-son policy with
# keep_daily/weekly/monthly, prune --dry-run, and archives of another
# name in the same archive_dir are never touched.
source "$TOP_SRCDIR/tests/lib.sh"
# Debian's python3 (a pyenv shim on PATH can take a second to start).
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

# Archive names and periods follow local time; pin it.
export TZ=UTC
S=$T/src A=$T/archive
mkdir -p "$S/Sounds" "$S/data" "$S/config" "$S/log"
"$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table t(x)"); c.execute("insert into t values (1)"); c.commit()' \
	"$S/data/sound_machine.db"
echo hi >"$S/Sounds/a.wav"
echo id >"$S/data/server_id.txt"
mkdir "$S/data/exports"

# Archives present in $A of config name $1, as their time stamps.
stamps() {
	(cd "$A" && ls) | sed -n "s/^$1-backup-\([0-9_-]*\)\.tar\.zst\$/\1/p" | sort | tr '\n' ' '
}
# Every archive has its sidecars and no sidecar is orphaned.
sidecars_match() {
	local f
	for f in "$A"/*.tar.zst; do
		[ -L "$f" ] && continue
		[ -f "$f.sha256" ] && [ -f "$f.manifest" ] &&
			[ -f "$f.index" ] || fail "no sidecars for $f"
	done
	for f in "$A"/*.sha256 "$A"/*.manifest "$A"/*.index; do
		[ -f "${f%.*}" ] || fail "orphaned sidecar $f"
	done
}

note "another config's archives in the same archive_dir"
mss_conf "$T/other.conf" "$S" "$A" "$T/state-other"
sed -i 's/^name = mss$/name = mss2/' "$T/other.conf"
for d in 01 02; do
	expect_rc 0 "$CAIRN" -c "$T/other.conf" backup --time "2025-06-$d 03:15:00"
done
other_before=$(cd "$A" && ls -l --time-style=+%s mss2-* | sha256sum)
echo "not an archive" >"$A/notes.txt"

note "keep_last = 3, nine backups"
KEEP_LAST=3 mss_conf "$T/c.conf" "$S" "$A" "$T/state"
for d in 1 2 3 4 5 6 7 8 9; do
	expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --time "2026-01-0$d 03:15:00"
done
got=$(stamps mss)
want="2026-01-07_031500 2026-01-08_031500 2026-01-09_031500 "
[ "$got" = "$want" ] || fail "keep_last=3 kept: $got"
sidecars_match
[ "$(readlink "$A/mss-backup-latest.tar.zst")" = mss-backup-2026-01-09_031500.tar.zst ] ||
	fail "latest link: $(readlink "$A/mss-backup-latest.tar.zst")"
[ "$(cd "$A" && ls mss-backup-* | wc -l)" = 13 ] ||
	fail "want 3 archives, 9 sidecars and the link: $(ls "$A")"

note "prune --dry-run removes nothing"
before=$(cd "$A" && ls -A | sha256sum)
expect_rc 0 env CAIRN_KEEP_LAST=1 "$CAIRN" -c "$T/c.conf" prune --dry-run
out_has "would remove.*2026-01-07_031500"
out_has "would remove.*2026-01-08_031500"
grep -q "would remove.*2026-01-09" "$T/out" && fail "dry run would remove the newest"
[ "$(cd "$A" && ls -A | sha256sum)" = "$before" ] || fail "--dry-run changed archive_dir"

note "prune with keep_last = 1"
expect_rc 0 env CAIRN_KEEP_LAST=1 "$CAIRN" -c "$T/c.conf" prune
[ "$(stamps mss)" = "2026-01-09_031500 " ] || fail "prune kept: $(stamps mss)"
sidecars_match

note "keep_last = 0 and no other rule: the newest stays"
expect_rc 0 env CAIRN_KEEP_LAST=0 "$CAIRN" -c "$T/c.conf" prune
[ "$(stamps mss)" = "2026-01-09_031500 " ] || fail "keep_last=0 kept: $(stamps mss)"

note "GFS: keep_last 2, daily 3, weekly 2, monthly 3"
# Newest first, by hand (ISO weeks: 03-09 Mon..03-11 are W11, 03-02 Mon
# and 03-06 are W10):
#   03-11        last, daily, weekly W11, monthly Mar   kept
#   03-10 15:00  last, daily                            kept
#   03-10 03:15  (same day, last used up)               removed
#   03-09        daily (third day)                      kept
#   03-06        weekly W10                             kept
#   03-02        (W10 and March already kept)           removed
#   02-20        monthly Feb                            kept
#   02-10        (February already kept)                removed
#   01-15        monthly Jan                            kept
export CAIRN_KEEP_LAST=2 CAIRN_KEEP_DAILY=3 CAIRN_KEEP_WEEKLY=2 CAIRN_KEEP_MONTHLY=3
rm -f "$A"/mss-backup-*
for t in "2026-01-15 03:15:00" "2026-02-10 03:15:00" "2026-02-20 03:15:00" \
	"2026-03-02 03:15:00" "2026-03-06 03:15:00" "2026-03-09 03:15:00" \
	"2026-03-10 03:15:00" "2026-03-10 15:00:00" "2026-03-11 03:15:00"; do
	expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --time "$t"
done
got=$(stamps mss)
want="2026-01-15_031500 2026-02-20_031500 2026-03-06_031500 2026-03-09_031500 2026-03-10_150000 2026-03-11_031500 "
[ "$got" = "$want" ] || fail "GFS kept: $got; want: $want"
sidecars_match
# A second prune changes nothing.
expect_rc 0 "$CAIRN" -c "$T/c.conf" prune
[ "$(stamps mss)" = "$want" ] || fail "second prune changed the set: $(stamps mss)"
unset CAIRN_KEEP_LAST CAIRN_KEEP_DAILY CAIRN_KEEP_WEEKLY CAIRN_KEEP_MONTHLY

note "the other name's archives and foreign files untouched"
[ "$(stamps mss2)" = "2025-06-01_031500 2025-06-02_031500 " ] ||
	fail "mss2 archives changed: $(stamps mss2)"
[ "$(cd "$A" && ls -l --time-style=+%s mss2-* | sha256sum)" = "$other_before" ] ||
	fail "mss2 files changed"
[ "$(cat "$A/notes.txt")" = "not an archive" ] || fail "notes.txt touched"
expect_rc 0 "$CAIRN" -c "$T/other.conf" verify latest
echo "backup-retention: ok"

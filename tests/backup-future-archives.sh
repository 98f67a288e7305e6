# KNOWN CORE BUG (not in TESTS until fixed; see tests/core.inc).
# If archive_dir holds keep_last archives dated in the future (the clock
# was once ahead: a Raspberry Pi without an RTC booting before NTP), each
# backup makes and verifies its archive, then prune_local() deletes that
# very archive (retention keeps the newest by time stamp), reports
# success, and leaves mss-backup-latest dangling and last_backup.json
# naming a deleted file. Expected: the archive a run just made is never
# pruned by that run.
source "$TOP_SRCDIR/tests/lib.sh"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
KEEP_LAST=3 mss_conf "$T/c.conf" "$S" "$A" "$ST"
for d in 1 2 3; do
	expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --time "2099-01-0$d 03:15:00"
done
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
made=$(sed -n 's/.*"archive": *"\(.*\)".*/\1/p' "$ST/last_backup.json")
[ -n "$made" ] || fail "no archive in last_backup.json"
[ -f "$made" ] || { cat "$T/out"; fail "the archive this run made is gone: $made"; }
[ -e "$A/mss-backup-latest.tar.zst" ] || fail "mss-backup-latest.tar.zst dangles"
expect_rc 0 "$CAIRN" -c "$T/c.conf" verify latest
echo "backup-future-archives: ok"

# archive_dir holds keep_last archives dated in the future (the clock
# was once ahead: a Raspberry Pi without an RTC booting before NTP).
# Retention keeps the newest by time stamp, yet the archive a run just
# made is never pruned by that run: mss-backup-latest and
# last_backup.json keep naming a file that exists.
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

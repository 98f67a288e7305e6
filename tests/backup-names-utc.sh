# Archive names are UTC (contract: "The time in every archive name is
# UTC"), so the caller's TZ and daylight saving change nothing: a run
# under America/New_York after one under UTC is still the newest, the
# latest link and `latest` agree, and retention keeps it. `backup
# --time` is read as UTC too.
source "$TOP_SRCDIR/tests/lib.sh"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
made() { sed -n 's/.*"archive": *"\(.*\)".*/\1/p' "$ST/last_backup.json"; }

note "UTC, UTC, then America/New_York"
TZ=UTC expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
TZ=UTC expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
before=$(date -u +%Y-%m-%d_%H)
TZ=America/New_York expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
after=$(date -u +%Y-%m-%d_%H)
ny=$(basename "$(made)")
case $ny in
mss-backup-"$before"*|mss-backup-"$after"*) ;;
*) fail "name is not UTC: $ny (UTC hour $before)" ;;
esac
newest=$(cd "$A" && ls mss-backup-2*.tar.zst | sort | tail -n 1)
[ "$newest" = "$ny" ] || fail "the New York run is not the newest: $(ls "$A")"
[ "$(readlink "$A/mss-backup-latest.tar.zst")" = "$ny" ] ||
	fail "latest link: $(readlink "$A/mss-backup-latest.tar.zst")"
TZ=Asia/Tokyo expect_rc 0 "$CAIRN" -c "$T/c.conf" verify latest
out_has "$ny"
TZ=America/New_York expect_rc 0 env CAIRN_KEEP_LAST=2 "$CAIRN" -c "$T/c.conf" prune --dry-run
grep -q "would remove.*$ny" "$T/out" && fail "prune would remove the newest: $(cat "$T/out")"
grep -c "would remove" "$T/out" | grep -qx 1 || fail "want one removal: $(cat "$T/out")"

note "--time is UTC, and the fall-back hour gives two names"
rm -f "$A"/mss-backup-*
for t in '2026-11-01 05:30:00' '2026-11-01 06:30:00'; do
	TZ=America/New_York expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --time "$t"
done
[ -f "$A/mss-backup-2026-11-01_053000.tar.zst" ] &&
[ -f "$A/mss-backup-2026-11-01_063000.tar.zst" ] ||
	fail "--time not taken as UTC: $(ls "$A")"
[ "$(readlink "$A/mss-backup-latest.tar.zst")" = mss-backup-2026-11-01_063000.tar.zst ] ||
	fail "latest link: $(readlink "$A/mss-backup-latest.tar.zst")"
TZ=Europe/Berlin expect_rc 0 env CAIRN_KEEP_LAST=1 "$CAIRN" -c "$T/c.conf" prune --dry-run
out_has "would remove.*2026-11-01_053000"
grep -q "would remove.*063000" "$T/out" && fail "prune would remove the newest"
echo "backup-names-utc: ok"

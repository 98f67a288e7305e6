#!/bin/bash
# The shrink alarm: a backup after 30% of a table's rows (or a files
# component's files) went away is marked suspicious in last_backup.json,
# status and metrics, runs on_failure with CAIRN_STATUS=suspicious, and
# retention (local and on targets) keeps the archive taken before the
# drop until `cairn prune --accept-shrink`. shrink_alarm per component
# raises the threshold.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mkdir "$T/src/docs"
for i in 0 1 2 3 4 5 6 7 8 9; do echo "doc $i" >"$T/src/docs/d$i"; done
KEEP_LAST=1 mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
sed -i "s#^keep_last.*#&\nmetrics_file = $T/cairn.prom#" "$T/c.conf"
cat >>"$T/c.conf" <<EOC

[component docs]
type = files
path = docs
shrink_alarm = 50%

[target usb]
plugin = local
path = $T/usb

[hooks]
on_failure = echo "\$CAIRN_STATUS: \$CAIRN_ERROR" >>$T/on_failure.log
EOC
C="$CAIRN -c $T/c.conf"
DB=$T/src/data/sound_machine.db
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$T/state/last_backup.json" "$1"; }
arch() { ls "$T/arch" | grep -c "^mss-backup-$1.*\.tar\.zst$" || true; }
onusb() { ls "$T/usb" | grep -c "^mss-backup-$1.*\.tar\.zst$" || true; }

expect_rc 0 $C backup --time '2026-01-01 00:00:00'
[ "$(json suspicious)" = False ] || fail "first backup suspicious"

note "40% of a component's files go, under its own 50%: no alarm"
rm "$T/src/docs/d0" "$T/src/docs/d1" "$T/src/docs/d2" "$T/src/docs/d3"
expect_rc 0 $C backup --time '2026-01-02 00:00:00'
[ "$(json suspicious)" = False ] || fail "alarm below the component's 50%"
[ ! -e "$T/on_failure.log" ] || fail "on_failure ran: $(cat "$T/on_failure.log")"
[ "$(arch 2026-01-01)" = 0 ] || fail "keep_last = 1 kept the old archive"

note "30% of a table's rows go: suspicious"
sqlite3 "$DB" 'DELETE FROM events WHERE rowid % 10 < 3;'
[ "$(sqlite3 "$DB" 'SELECT count(*) FROM events')" = 3500 ] ||
	fail "dataset: events rows"
expect_rc 0 $C backup --time '2026-01-03 00:00:00'
out_has "shrink alarm: component db: table events rows 3500, was 5000 \(-30%"
[ "$(json suspicious)" = True ] || fail "last_backup.json not suspicious"
json shrink | grep -q "table events rows 3500, was 5000" ||
	fail "last_backup.json shrink: $(json shrink)"
grep -q "^suspicious: component db: table events rows 3500" \
	"$T/on_failure.log" || fail "on_failure: $(cat "$T/on_failure.log" 2>&1)"
grep -q '^cairn_backup_suspicious{name="mss"} 1$' "$T/cairn.prom" ||
	fail "metrics: $(grep suspicious "$T/cairn.prom")"
expect_rc 1 $C status
out_has "the last backup is suspicious: component db: table events"
out_has "retention holds mss-backup-2026-01-02_000000.tar.zst"
[ "$(arch 2026-01-02)" = 1 ] || fail "the pre-drop archive was pruned"
[ "$(onusb 2026-01-02)" = 1 ] || fail "the pre-drop copy on usb was pruned"

note "the next backups (no further drop) still hold it"
expect_rc 0 $C backup --time '2026-01-04 00:00:00'
[ "$(json suspicious)" = False ] || fail "a steady count is suspicious"
grep -q '^cairn_backup_suspicious{name="mss"} 0$' "$T/cairn.prom" ||
	fail "metrics after a clean run"
[ "$(arch 2026-01-02)" = 1 ] || fail "held archive pruned by a later run"
[ "$(arch 2026-01-03)" = 0 ] || fail "the suspicious archive was kept"
[ "$(onusb 2026-01-02)" = 1 ] || fail "held copy pruned on usb"
expect_rc 0 $C prune
[ "$(arch 2026-01-02)" = 1 ] || fail "plain prune removed the held archive"
expect_rc 0 $C prune --dry-run --accept-shrink
[ "$(arch 2026-01-02)" = 1 ] || fail "--dry-run removed the held archive"
expect_rc 1 $C status
out_has "retention holds"

note "prune --accept-shrink releases it"
expect_rc 0 $C prune --accept-shrink
out_has "removing mss-backup-2026-01-02_000000.tar.zst"
[ "$(arch 2026-01-02)" = 0 ] || fail "accepted, still held"
[ "$(onusb 2026-01-02)" = 0 ] || fail "accepted, still held on usb"
expect_rc 0 $C status

note "files: a drop beyond the component's shrink_alarm alarms"
rm -f "$T/on_failure.log"
sed -i 's/^shrink_alarm = 50%$/shrink_alarm = 10/' "$T/c.conf"
rm "$T/src/docs/d4"
expect_rc 0 $C backup --time '2026-01-05 00:00:00'
out_has "component docs: files 5, was 6 \(-17%, shrink_alarm 10%\)"
[ "$(json suspicious)" = True ] || fail "files drop not suspicious"
grep -q "^suspicious: " "$T/on_failure.log" || fail "on_failure (files)"

note "bad values are config errors"
expect_rc 2 env CAIRN_SHRINK_ALARM=120% $C status
out_has "shrink_alarm"
expect_rc 2 env CAIRN_COMPONENT_DB_DRILL=true $C status
out_has "only command components"
echo "shrink-alarm: ok"

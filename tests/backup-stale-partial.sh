# Regression test. A backup killed while writing leaves .NAME.partial and a
# .cairn-staging.* dir (with a copy of the database) in archive_dir.
# Nothing ever removes them, and the next run with the same time stamp
# (a retry in the same second, or --time) fails: make_archive() opens
# the .partial with O_EXCL ("cannot write to archive_dir ...: File
# exists"). Expected: the next run (which holds the lock, so nothing else
# is writing) removes stale .partial and staging entries and succeeds.
source "$TOP_SRCDIR/tests/lib.sh"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
cat >>"$T/c.conf" <<EOF

[inventory]
command.wait = touch $T/inv-started; i=0; while [ -e $T/hold ] && [ \$i -lt 90 ]; do sleep 0.1; i=\$((i+1)); done
EOF
pid=

touch "$T/hold"
"$CAIRN" -c "$T/c.conf" backup --time '2026-05-01 03:15:00' >"$T/first.out" 2>&1 &
pid=$!
i=0
until [ -e "$T/inv-started" ]; do
	i=$((i + 1)); [ $i -le 200 ] || fail "inventory command never ran"
	sleep 0.1
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=
rm -f "$T/hold"
ls -A "$A" | grep -q '\.partial$' || fail "test setup: no .partial after the kill"

note "a retry with the killed run's time stamp"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --time '2026-05-01 03:15:00'
[ -f "$A/mss-backup-2026-05-01_031500.tar.zst" ] || fail "no archive"

note "nothing of the killed run is left"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
left=$(cd "$A" && ls -A | grep -E '^\.cairn-staging\.|\.partial$' || true)
[ -z "$left" ] || fail "left in archive_dir after two good runs: $left"
echo "backup-stale-partial: ok"

#!/bin/bash
# cairn status exit codes (none, fresh, stale, failed) and the Prometheus
# textfile metrics after a success and after a failure.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
sed -i "s#^keep_last.*#&\nmetrics_file = $T/metrics/cairn.prom#" "$T/c.conf"
mkdir "$T/metrics"
C="$CAIRN -c $T/c.conf"

note "no backup yet: status exits 1"
expect_rc 1 $C status
out_has "no backup recorded"

note "fresh success"
expect_rc 0 $C backup
expect_rc 0 $C status --max-age 1h
expect_rc 0 $C status --json
out_has '"status":"success"'
M="$T/metrics/cairn.prom"
grep -q '^cairn_last_run_success{name="mss"} 1$' "$M" || fail "success metric"
grep -Eq '^cairn_last_success_timestamp_seconds\{name="mss"\} [1-9][0-9]+$' \
	"$M" || fail "last success timestamp"
grep -Eq '^cairn_last_archive_bytes\{name="mss"\} [1-9][0-9]*$' "$M" ||
	fail "archive bytes"
grep -q '^cairn_archives{name="mss"} 1$' "$M" || fail "archive count"
[ "$(stat -c %a "$M")" = 644 ] || fail "metrics not readable by collector"
ok_ts=$(sed -n 's/^cairn_last_success_timestamp_seconds{name="mss"} //p' "$M")

note "stale: the last success is older than --max-age"
sed -i 's/"last_success":"[^"]*"/"last_success":"2020-01-01T00:00:00Z"/' \
	"$T/state/last_backup.json"
expect_rc 1 $C status --max-age 26h
out_has "older than"
expect_rc 2 $C status --max-age 26x

note "failed: a failing run is reported, metrics keep the last success"
expect_rc 1 env CAIRN_SOURCE="$T/nosuch" $C backup
expect_rc 1 $C status
out_has "source directory not found"
grep -q '^cairn_last_run_success{name="mss"} 0$' "$M" || fail "failure metric"
grep -q "^cairn_last_success_timestamp_seconds{name=\"mss\"} 2020\|^cairn_last_success_timestamp_seconds{name=\"mss\"} 1577836800$" "$M" ||
	grep -q "^cairn_last_success_timestamp_seconds{name=\"mss\"} $ok_ts$" "$M" ||
	fail "last success lost after a failure: $(cat "$M")"
echo "status-metrics: ok"

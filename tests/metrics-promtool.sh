#!/bin/bash
# The Prometheus textfile: `promtool check metrics` (Debian package
# prometheus) passes on it after a backup, a drill and a failed run; it
# has the per-target backup and drill series, duration, bytes and the
# shrink alarm; it is replaced atomically (never a partial file).
. "$TOP_SRCDIR/tests/lib.sh"

command -v promtool >/dev/null || skip "promtool not found (Debian package prometheus)"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
sed -i "s#^keep_last.*#&\nmetrics_file = $T/m/cairn.prom#" "$T/c.conf"
cat >>"$T/c.conf" <<EOC

[target usb]
plugin = local
path = $T/usb
EOC
mkdir "$T/m"
C="$CAIRN -c $T/c.conf"
M=$T/m/cairn.prom
check() {
	promtool check metrics <"$M" >"$T/prom.out" 2>&1 ||
		{ cat "$T/prom.out" "$M" >&2; fail "promtool check metrics: $1"; }
}
series() { grep -Eq "^$1 [0-9.e+]+$" "$M" || { cat "$M" >&2; fail "no series /$1/"; }; }

note "promtool itself catches a bad file"
printf '# TYPE x_total counter\nx_total{a="1"} one\n' >"$T/bad.prom"
if promtool check metrics <"$T/bad.prom" >/dev/null 2>&1; then
	fail "promtool accepted a broken file"
fi

note "after a backup"
expect_rc 0 $C backup
check backup
series 'cairn_backup_last_success_timestamp_seconds\{name="mss",target="local"\}'
series 'cairn_backup_last_success_timestamp_seconds\{name="mss",target="usb"\}'
series 'cairn_backup_duration_seconds\{name="mss"\}'
series 'cairn_backup_bytes\{name="mss"\}'
series 'cairn_backup_suspicious\{name="mss"\}'
grep -q '^cairn_backup_suspicious{name="mss"} 0$' "$M" || fail "suspicious"
grep -q 'cairn_drill_' "$M" && grep -q '^cairn_drill_.*}' "$M" &&
	fail "a drill series before any drill"

note "after drills (local and the target)"
expect_rc 0 $C drill
expect_rc 0 $C drill --target usb
check drill
series 'cairn_drill_last_success_timestamp_seconds\{name="mss",target="local"\}'
series 'cairn_drill_last_success_timestamp_seconds\{name="mss",target="usb"\}'
t=$(sed -n 's/^cairn_drill_last_success_timestamp_seconds{name="mss",target="local"} //p' "$M")
[ "$t" -gt 1700000000 ] || fail "drill timestamp $t"

note "after a failed backup: the series stay, promtool passes"
expect_rc 1 env CAIRN_SOURCE="$T/nosuch" $C backup
check failure
series 'cairn_drill_last_success_timestamp_seconds\{name="mss",target="usb"\}'
grep -q '^cairn_last_run_success{name="mss"} 0$' "$M" || fail "failure metric"
ls -A "$T/m" | grep -qv '^cairn.prom$' && fail "temp files beside the metrics: $(ls -A "$T/m")"
echo "metrics-promtool: ok"

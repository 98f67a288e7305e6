# A backup stopped by SIGTERM (systemctl stop, timeout) or SIGINT
# (Ctrl-C) stops, removes what it wrote (.partial, staging dir), kills
# its children (dumps, hooks), records "failure" with "interrupted by
# SIGTERM" in last_backup.json and backup.log, runs on_failure and exits
# 1; `cairn status` then exits 1. A stop in the middle of a big file
# does not wait for the file's end. After a kill -9, the next run
# removes what the killed one left.
source "$TOP_SRCDIR/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
base() {
	mss_conf "$T/c.conf" "$S" "$A" "$ST"
	cat >>"$T/c.conf" <<-EOC

	[hooks]
	on_failure = printf '%s\n' "\$CAIRN_STATUS: \$CAIRN_ERROR" >$T/on_failure; cat /proc/\$PPID/io >$T/io
	EOC
}
hold_inventory() {
	cat >>"$T/c.conf" <<-EOC

	[inventory]
	command.wait = touch $T/inv-started; while [ -e $T/hold ]; do sleep 0.1; done
	EOC
}
pid=

wait_for() {
	local i=0
	until [ -e "$1" ]; do
		i=$((i + 1))
		[ $i -le 600 ] || fail "never appeared: $1"
		kill -0 "$pid" 2>/dev/null || fail "cairn ended before $1"
		sleep 0.1
	done
}
# stopped SIG: the run ended as an interrupted one should.
stopped() {
	local rc=0 left
	wait "$pid" || rc=$?
	pid=
	[ "$rc" = 1 ] || { cat "$T/run.out"; fail "SIG$1: exit $rc, want 1"; }
	left=$(cd "$A" && ls -A | grep -E '^\.|^mss-backup-2' || true)
	[ -z "$left" ] || fail "SIG$1: left in archive_dir: $left"
	"$PY" - "$ST/last_backup.json" "$1" <<-'PYEOF' ||
	import json, sys
	j = json.load(open(sys.argv[1]))
	assert j["status"] == "failure", j
	assert j["error"] == "interrupted by SIG" + sys.argv[2], j
	PYEOF
		fail "SIG$1: last_backup.json: $(cat "$ST/last_backup.json")"
	grep -q "interrupted by SIG$1" "$ST/backup.log" ||
		fail "SIG$1: not in backup.log"
	grep -qx "failure: interrupted by SIG$1" "$T/on_failure" ||
		fail "SIG$1: on_failure: $(cat "$T/on_failure" 2>/dev/null)"
	expect_rc 1 "$CAIRN" -c "$T/c.conf" status
	rm -f "$T/on_failure"
}

note "SIGTERM while the archive is being written"
base
hold_inventory
touch "$T/hold"
"$CAIRN" -c "$T/c.conf" backup >"$T/run.out" 2>&1 &
pid=$!
wait_for "$T/inv-started"
ls -A "$A" | grep -q '\.partial$' || fail "setup: no .partial while writing"
ls -A "$A" | grep -q '^\.cairn-staging\.' ||
	fail "setup: no staging dir while writing"
kill -TERM "$pid"
stopped TERM
rm -f "$T/hold"

note "SIGINT during a dump: the dump is killed too"
base
cat >>"$T/c.conf" <<-EOC

[component pg]
type = command
file = db/app.dump
dump = echo \$\$ >$T/dump.pid; exec sleep 300
restore = cat >/dev/null
EOC
"$CAIRN" -c "$T/c.conf" backup >"$T/run.out" 2>&1 &
pid=$!
wait_for "$T/dump.pid"
kill -INT "$pid"
stopped INT
dpid=$(cat "$T/dump.pid")
! kill -0 "$dpid" 2>/dev/null || fail "the dump (pid $dpid) outlived the run"

note "SIGTERM in the middle of a big file"
base
truncate -s 4G "$S/Sounds/big.wav"
"$CAIRN" -c "$T/c.conf" backup >"$T/run.out" 2>&1 &
pid=$!
i=0
# Well into big.wav: more read than the rest of the tree holds.
until [ "$(sed -n 's/^rchar: //p' "/proc/$pid/io" 2>/dev/null || echo 0)" -gt 200000000 ]; do
	i=$((i + 1))
	[ $i -le 2400 ] || fail "never read 200 MB"
	kill -0 "$pid" 2>/dev/null || fail "cairn ended before reading 200 MB"
	sleep 0.05
done
kill -TERM "$pid"
stopped TERM
read=$(sed -n 's/^rchar: //p' "$T/io")
[ "$read" -lt 4000000000 ] ||
	fail "the stop waited for the end of big.wav ($read bytes read)"
rm -f "$S/Sounds/big.wav"

note "kill -9: the next run removes what it left"
base
hold_inventory
rm -f "$T/inv-started"
touch "$T/hold"
"$CAIRN" -c "$T/c.conf" backup --time '2026-05-01 03:15:00' >"$T/run.out" 2>&1 &
pid=$!
wait_for "$T/inv-started"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=
rm -f "$T/hold"
ls -A "$A" | grep -q '^\.mss-backup-2026-05-01_031500\.tar\.zst\.partial$' ||
	fail "setup: no .partial after kill -9"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --time '2026-05-02 03:15:00'
left=$(cd "$A" && ls -A | grep -E '^\.' || true)
[ -z "$left" ] || fail "left after the next run: $left"
[ "$(cd "$A" && ls mss-backup-2*.tar.zst)" = mss-backup-2026-05-02_031500.tar.zst ] ||
	fail "archives: $(ls "$A")"
expect_rc 0 "$CAIRN" -c "$T/c.conf" status
echo "backup-interrupted: ok"

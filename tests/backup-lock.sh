# One cairn run at a time per state_dir: a second run exits 3 at once,
# naming the lock and the holder's pid; a killed run leaves no stale lock
# and no half-written archive under a final name.
source "$TOP_SRCDIR/tests/lib.sh"
# Debian's python3 (a pyenv shim on PATH can take a second to start).
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
# Hooks that hold a run while $T/hold exists (bounded: 30 s).
cat >>"$T/c.conf" <<EOF

[hooks]
pre_backup = touch $T/pre-started; i=0; while [ -e $T/hold ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i+1)); done

[inventory]
command.wait = touch $T/inv-started; i=0; while [ -e $T/hold-inv ] && [ \$i -lt 90 ]; do sleep 0.1; i=\$((i+1)); done
EOF

# wait_for FILE: poll up to 20 s.
wait_for() {
	local i=0
	while [ ! -e "$1" ]; do
		i=$((i + 1))
		[ $i -le 200 ] || fail "timed out waiting for $1"
		sleep 0.1
	done
}

pid1=
cleanup_bg() {
	rm -f "$T/hold" "$T/hold-inv"
	[ -z "$pid1" ] || kill -9 "$pid1" 2>/dev/null || true
}
trap 'st=$?; cleanup_bg; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; exit $st' EXIT

note "a second run while the first holds the lock"
touch "$T/hold"
"$CAIRN" -c "$T/c.conf" backup >"$T/first.out" 2>&1 &
pid1=$!
wait_for "$T/pre-started"
# A run that waited for the lock would hang here; timeout makes it fail.
expect_rc 3 timeout 20 "$CAIRN" -c "$T/c.conf" backup
out_has "$ST/lock"
out_has "pid $pid1"
expect_rc 3 timeout 20 "$CAIRN" -c "$T/c.conf" prune
out_has "pid $pid1"
expect_rc 3 timeout 20 "$CAIRN" -c "$T/c.conf" restore db --yes
out_has "$ST/lock"
# Read-only commands do not need the lock.
expect_rc 0 timeout 20 "$CAIRN" -c "$T/c.conf" list
kill -0 "$pid1" || fail "first run died"
[ "$(cat "$ST/lock")" = "$pid1" ] || fail "lock file does not hold pid $pid1"
rm "$T/hold"
rc=0
wait "$pid1" || rc=$?
pid1=
[ "$rc" = 0 ] || { cat "$T/first.out"; fail "first run exited $rc"; }
n=$(cd "$A" && ls mss-backup-2*.tar.zst | wc -l)
[ "$n" = 1 ] || fail "want one archive, have $n"
"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["status"]=="success", j' \
	"$ST/last_backup.json" || fail "the locked-out runs overwrote last_backup.json"

note "kill -9 while a run holds the lock (in pre_backup)"
rm -f "$T/pre-started"
touch "$T/hold"
"$CAIRN" -c "$T/c.conf" backup >"$T/first.out" 2>&1 &
pid1=$!
wait_for "$T/pre-started"
kill -9 "$pid1"
wait "$pid1" 2>/dev/null || true
pid1=
rm -f "$T/hold"
expect_rc 0 timeout 30 "$CAIRN" -c "$T/c.conf" backup
n=$(cd "$A" && ls mss-backup-2*.tar.zst | wc -l)
[ "$n" = 2 ] || fail "want two archives, have $n"

note "kill -9 while the archive is being written"
rm -f "$T/inv-started"
touch "$T/hold-inv"
"$CAIRN" -c "$T/c.conf" backup --time '2026-05-01 03:15:00' >"$T/first.out" 2>&1 &
pid1=$!
wait_for "$T/inv-started"
ls -A "$A" >"$T/during"
grep -q '^\.mss-backup-2026-05-01_031500\.tar\.zst\.partial$' "$T/during" ||
	fail "no .partial while writing: $(cat "$T/during")"
grep -q '^mss-backup-2026-05-01' "$T/during" && fail "final name visible while writing"
kill -9 "$pid1"
wait "$pid1" 2>/dev/null || true
pid1=
rm -f "$T/hold-inv"
n=$(cd "$A" && ls mss-backup-2*.tar.zst | wc -l)
[ "$n" = 2 ] || fail "a killed run left an archive under a final name: $(ls "$A")"
expect_rc 0 "$CAIRN" -c "$T/c.conf" verify latest
expect_rc 0 "$CAIRN" -c "$T/c.conf" list
grep -q 2026-05-01 "$T/out" && fail "list shows the killed run's archive"
expect_rc 0 timeout 30 "$CAIRN" -c "$T/c.conf" backup
n=$(cd "$A" && ls mss-backup-2*.tar.zst | wc -l)
[ "$n" = 3 ] || fail "want three archives, have $n"
for f in "$A"/mss-backup-2*.tar.zst; do
	(cd "$A" && sha256sum --quiet -c "$(basename "$f").sha256") || fail "$f"
done

# What the killed run left behind (.partial, staging dir) is cleared by
# the next run: backup-stale-partial.sh.
echo "backup-lock: ok"

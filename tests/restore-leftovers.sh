# Staging dirs a killed restore leaves beside the live data
# (SOURCE.cairn-staging.*), and its fetch and verify scratch dirs, are
# removed by the next command that takes the lock, once no journal
# needs them; a dir a running cairn still holds (flock) is left alone.
source "$TOP_SRCDIR/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

mss_backed_up
pid= holder=
trap 'st=$?; for p in $pid $holder; do kill -9 "$p" 2>/dev/null; done; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; exit $st' EXIT

note "a restore killed while staging leaves its staging dir"
CAIRN_STAGE_PAUSE=60 "$CAIRN" -c "$T/c.conf" restore full --yes --archive "$name" >"$T/kill.out" 2>&1 &
pid=$!
i=0
until [ -n "$(find "$T" -maxdepth 1 -name 'src.cairn-staging.*' 2>/dev/null)" ] &&
      [ -n "$(find "$T"/src.cairn-staging.* -mindepth 1 2>/dev/null | head -1)" ]; do
	i=$((i + 1))
	kill -0 "$pid" 2>/dev/null || { pid=; fail "restore ended: $(cat "$T/kill.out")"; }
	[ $i -le 300 ] || fail "never staged: $(cat "$T/kill.out")"
	sleep 0.1
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=
[ -n "$(cd "$T" && ls -d src.cairn-staging.* 2>/dev/null)" ] || fail "test setup: no staging left by the kill"
# and the scratch dirs of other killed runs
mkdir -p "$A/.cairn-fetch.Abc123" "$ST/.cairn-verify.Def456" "$S/.cairn-staging.Ghi789"
echo x >"$A/.cairn-fetch.Abc123/part"
# one a live run still holds
mkdir "$T/src.cairn-staging.Held00"
"$PY" -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(300)' "$T/src.cairn-staging.Held00" >"$T/holder.out" &
holder=$!
i=0
until grep -q locked "$T/holder.out"; do
	i=$((i + 1)); [ $i -le 100 ] || fail "flock holder did not start"; sleep 0.1
done

note "list takes no lock and removes nothing"
expect_rc 0 "$CAIRN" -c "$T/c.conf" list
[ -n "$(cd "$T" && ls -d src.cairn-staging.* | grep -v Held00)" ] || fail "list removed the staging"

note "prune removes them"
expect_rc 0 "$CAIRN" -c "$T/c.conf" prune
left=$(cd "$T" && ls -d src.cairn-staging.* 2>/dev/null | grep -v Held00 || true)
[ -z "$left" ] || fail "staging left after prune: $left"
for d in "$A/.cairn-fetch.Abc123" "$ST/.cairn-verify.Def456" "$S/.cairn-staging.Ghi789"; do
	[ ! -e "$d" ] || fail "$d left after prune"
done
[ -d "$T/src.cairn-staging.Held00" ] || fail "removed a staging dir a running cairn holds"
kill "$holder"; wait "$holder" 2>/dev/null || true; holder=
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --no-targets
[ ! -e "$T/src.cairn-staging.Held00" ] || fail "backup left the released staging dir"
[ -f "$S/Sounds/uploads/sound_0000.wav" ] || fail "live data harmed"
echo "restore-leftovers: ok"

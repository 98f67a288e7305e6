# A restore stopped by SIGTERM or SIGINT rolls back at once, in the same
# process, as a killed one is rolled back by the next command: stopped
# during the staging or during the swap, it exits 1 saying "interrupted
# by SIGTERM", the live data is exactly as before, and no journal,
# staging dir or safety net is left.
source "$TOP_SRCDIR/tests/lib.sh"

mss_backed_up

echo "after the backup" >>"$S/Sounds/uploads/sound_0000.wav"
echo new >"$S/Sounds/uploads/new.wav"
echo wifi2 >"$S/config/wifi.conf"
echo id2 >"$S/data/server_id.txt"
rm -rf "$S/log"
state() { tree_state "$S"; }
before=$(state)
pid=

staged() { [ -n "$(find "$T" -maxdepth 1 -name 'src.cairn-staging.*' 2>/dev/null)" ] &&
	[ -n "$(find "$T"/src.cairn-staging.* -mindepth 1 2>/dev/null | head -1)" ]; }
swapping() { [ -e "$ST/restore.journal" ] &&
	[ "$(find "$S.pre-restore" ! -type d 2>/dev/null | wc -l)" -ge 2 ]; }

# stop SIG WHEN: start a restore, send SIG once WHEN holds.
stop() {
	local sig=$1 when=$2 i=0 rc=0 pause=0
	# The staging pause widens the window a stop while staging needs;
	# the swap comes after it, so waiting for the swap must not sit out
	# a pause as long as the watchdog below.
	[ "$when" != staged ] || pause=60
	CAIRN_STAGE_PAUSE=$pause CAIRN_SWAP_PAUSE=2 \
		"$CAIRN" -c "$T/c.conf" restore full --yes --archive "$name" >"$T/out" 2>&1 &
	pid=$!
	until $when; do
		i=$((i + 1))
		kill -0 "$pid" 2>/dev/null || { cat "$T/out"; pid=; fail "$sig/$when: restore ended before the signal"; }
		[ $i -le 600 ] || fail "$sig/$when: never reached: $(cat "$T/out")"
		sleep 0.1
	done
	kill -"$sig" "$pid"
	wait "$pid" || rc=$?
	pid=
	[ "$rc" = 1 ] || { cat "$T/out"; fail "$sig/$when: exit $rc, want 1"; }
	out_has "interrupted by SIG$sig"
	[ "$(state)" = "$before" ] || { diff <(echo "$before") <(state) >&2; fail "$sig/$when: live data changed"; }
	[ ! -e "$ST/restore.journal" ] || fail "$sig/$when: journal left"
	[ -z "$(cd "$T" && ls -d src.cairn-staging.* 2>/dev/null)" ] || fail "$sig/$when: staging left"
	[ ! -e "$S.pre-restore" ] || fail "$sig/$when: safety net left: $(find "$S.pre-restore")"
}

note "SIGTERM while staging"
stop TERM staged
note "SIGTERM during the swap"
stop TERM swapping
out_has "rolled back"
note "SIGINT during the swap"
stop INT swapping

note "nothing pending afterwards: the next command rolls nothing back"
expect_rc 0 "$CAIRN" -c "$T/c.conf" prune
grep -q "rolling it back" "$T/out" && fail "prune found a restore to roll back"
[ "$(state)" = "$before" ] || fail "prune changed the live data"
echo "restore-signal: ok"

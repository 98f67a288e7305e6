# A restore killed in the middle of the swap (some paths in the safety
# net, some staged ones in place) is rolled back by the next command
# that takes the lock: the source is exactly as before the restore, the
# journal and the staging dir are gone.
# The testing aid CAIRN_SWAP_PAUSE holds the swap open to be killed.
# (restore-safety.sh kills a restore after the swap, in post_restore,
# which needs no aid.)
source "$TOP_SRCDIR/tests/lib.sh"

mss_backed_up

# The live data since the backup, so a restore changes every component.
echo "after the backup" >>"$S/Sounds/uploads/sound_0000.wav"
echo new >"$S/Sounds/uploads/new.wav"
echo wifi2 >"$S/config/wifi.conf"
echo id2 >"$S/data/server_id.txt"
rm -rf "$S/log"
printf 'junk' >"$S/data/sound_machine.db-wal"
state() { tree_state "$S"; }
before=$(state)
pid=

# crash N: kill -9 once the safety net holds N entries.
crash() {
	local i=0
	CAIRN_SWAP_PAUSE=2 "$CAIRN" -c "$T/c.conf" restore full --yes --archive "$name" >"$T/crash.out" 2>&1 &
	pid=$!
	while :; do
		i=$((i + 1))
		kill -0 "$pid" 2>/dev/null || { cat "$T/crash.out"; pid=; fail "restore ended before the kill"; }
		[ $i -le 300 ] || fail "restore never reached the swap: $(cat "$T/crash.out")"
		# Files in any safety net (the nets of rolled-back
		# restores hold only empty dirs).
		if [ -e "$ST/restore.journal" ] &&
		   [ "$(find "$S.pre-restore" ! -type d 2>/dev/null | wc -l)" -ge "$1" ]; then
			break
		fi
		sleep 0.1
	done
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
	[ -e "$ST/restore.journal" ] || fail "no journal after the kill"
	[ "$(state)" != "$before" ] || fail "the kill came before anything moved"
}
unchanged() {
	[ "$(state)" = "$before" ] || { diff <(echo "$before") <(state) >&2; fail "$1: not rolled back"; }
	[ ! -e "$ST/restore.journal" ] || fail "$1: journal left"
	[ -z "$(cd "$T" && ls -d src.cairn-staging.* 2>/dev/null)" ] || fail "$1: staging left"
	[ -z "$(find "$S.pre-restore" ! -type d 2>/dev/null)" ] || fail "$1: files left in the safety net"
}

note "killed after the first move; list does not recover, prune does"
crash 1
expect_rc 0 "$CAIRN" -c "$T/c.conf" list
[ -e "$ST/restore.journal" ] || fail "list consumed the journal"
expect_rc 0 "$CAIRN" -c "$T/c.conf" prune
out_has "rolled back"
unchanged "first move"

note "killed after several moves; backup recovers"
crash 3
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --no-targets
unchanged "several moves"

note "killed; a restore recovers, then restores"
crash 2
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --yes --archive "$name"
out_has "rolled back"
[ ! -e "$ST/restore.journal" ] || fail "journal left"
cmp <(tar -xOf "$A/$name" Sounds/uploads/sound_0000.wav) "$S/Sounds/uploads/sound_0000.wav" ||
	fail "did not restore"
# (A merge keeps the file the archive lacks.)
[ -e "$S/Sounds/uploads/new.wav" ] || fail "the merge dropped new.wav"
echo "restore-crash: ok"

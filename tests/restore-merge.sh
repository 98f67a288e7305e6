# A files component is merged by default, like the runbook's `tar -x`:
# every file the archive holds is put back (the replaced one goes to
# the safety net), files it does not hold stay and are listed. --exact
# makes the tree identical, the extras going to the safety net.
# --dry-run counts add/replace/keep/remove (-v: each path) and touches
# nothing; a merge killed mid-swap is rolled back fully.
source "$TOP_SRCDIR/tests/lib.sh"

mss_backed_up
cp -a "$S" "$T/pristine"
U=$S/Sounds/uploads
net_of() { sed -n 's/.*replaced files are in \(.*\)$/\1/p' "$T/out"; }

# Since the backup: one upload changed, one removed, two new ones.
echo changed >>"$U/sound_0000.wav"
rm "$U/sound_0002.wav"
echo new >"$U/new.wav"
mkdir "$S/Sounds/later"
echo later >"$S/Sounds/later/a.wav"
changed=$(sha256sum <"$U/sound_0000.wav")
sums() { (cd "$T" && find src -exec stat -c '%n %s %Y %a' {} + | sort; find src -type f -exec sha256sum {} + | sort); }

note "--dry-run counts, -v lists, nothing is touched"
before=$(sums)
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore audio --dry-run
out_has "Sounds: add 1, replace 3, keep 2, remove 0"
grep -q "sound_0002.wav" "$T/out" && fail "paths listed without -v"
expect_rc 0 "$CAIRN" -c "$T/c.conf" -v restore audio --dry-run
out_has "add +Sounds/uploads/sound_0002.wav"
out_has "replace +Sounds/uploads/sound_0000.wav"
out_has "keep +Sounds/uploads/new.wav"
out_has "keep +Sounds/later/a.wav"
expect_rc 0 "$CAIRN" -c "$T/c.conf" -v restore audio --dry-run --exact
out_has "Sounds: add 1, replace 3, keep 0, remove 2"
out_has "remove +Sounds/uploads/new.wav"
[ "$(sums)" = "$before" ] || fail "--dry-run changed the source"
[ -z "$(cd "$T" && ls -d src.* 2>/dev/null)" ] || fail "--dry-run made $(ls -d "$T"/src.*)"

note "a merge killed mid-swap is rolled back fully"
state() { tree_state "$S"; }
before=$(state)
pid=
CAIRN_SWAP_PAUSE=3 "$CAIRN" -c "$T/c.conf" restore audio --yes >"$T/crash.out" 2>&1 &
pid=$!
i=0
until [ -e "$ST/restore.journal" ] && [ "$(find "$S.pre-restore" ! -type d 2>/dev/null | wc -l)" -ge 2 ]; do
	i=$((i + 1))
	kill -0 "$pid" 2>/dev/null || { pid=; fail "restore ended before the kill: $(cat "$T/crash.out")"; }
	[ $i -le 300 ] || fail "never reached the swap: $(cat "$T/crash.out")"
	sleep 0.1
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=
[ "$(state)" != "$before" ] || fail "the kill came before anything moved"
expect_rc 0 "$CAIRN" -c "$T/c.conf" prune
out_has "rolled back"
[ "$(state)" = "$before" ] || { diff <(echo "$before") <(state) >&2; fail "merge not rolled back"; }
[ ! -e "$ST/restore.journal" ] || fail "journal left"
[ -z "$(find "$S.pre-restore" ! -type d 2>/dev/null)" ] || fail "files left in the safety net"

note "restore audio merges"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore audio --yes
out_has "kept \(not in the archive\): Sounds/uploads/new.wav"
out_has "kept \(not in the archive\): Sounds/later"
out_has "1 added, 3 replaced, 2 kept"
net=$(net_of)
[ -n "$net" ] && [ -d "$net" ] || fail "no safety net printed"
for f in sound_0000 sound_0001 sound_0002 sound_0003; do
	cmp "$T/pristine/Sounds/uploads/$f.wav" "$U/$f.wav" || fail "$f.wav not restored"
done
[ "$(cat "$U/new.wav")" = new ] || fail "the merge dropped new.wav"
[ "$(cat "$S/Sounds/later/a.wav")" = later ] || fail "the merge dropped later/a.wav"
[ "$(sha256sum <"$net/Sounds/uploads/sound_0000.wav")" = "$changed" ] ||
	fail "the safety net lacks the replaced sound_0000.wav"
[ ! -e "$net/Sounds/uploads/new.wav" ] || fail "new.wav went to the safety net"
[ ! -e "$ST/restore.journal" ] || fail "journal left"
[ -z "$(cd "$T" && ls -d src.cairn-staging.* 2>/dev/null)" ] || fail "staging left"

note "--exact makes the tree identical; the extras go to the safety net"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore audio --yes --exact
net2=$(net_of)
[ -n "$net2" ] && [ "$net2" != "$net" ] || fail "no new safety net"
diff -r "$T/pristine/Sounds" "$S/Sounds" || fail "--exact: Sounds differ"
[ "$(cat "$net2/Sounds/uploads/new.wav")" = new ] || fail "--exact: new.wav not in the safety net"
[ "$(cat "$net2/Sounds/later/a.wav")" = later ] || fail "--exact: later/a.wav not in the safety net"

note "a database is still replaced whole, its -wal moved aside"
printf 'junk junk' >"$S/data/sound_machine.db-wal"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore db --yes
net3=$(net_of)
[ "$(cat "$net3/data/sound_machine.db-wal")" = "junk junk" ] || fail "-wal not moved aside"
cmp <(tar -xOf "$A/$name" data/sound_machine.db) "$S/data/sound_machine.db" || fail "DB not the archived one"
echo "restore-merge: ok"

# Restore modes: db, audio and full put back exactly their components and
# leave the rest alone; --to, --dry-run, --archive, the safety net, the
# refusals (no --yes, unknown mode, non-empty --to), a leftover -wal, and
# archives made with gzip and none.
source "$TOP_SRCDIR/tests/lib.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 not installed"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
ln -s uploads/sound_0000.wav "$S/Sounds/latest.wav"
chmod 640 "$S/Sounds/uploads/sound_0001.wav"
touch -d '2020-01-02 03:04:05' "$S/Sounds/uploads/sound_0001.wav"
mss_conf "$T/c.conf" "$S" "$A" "$ST"
cat >>"$T/c.conf" <<EOF

[hooks]
pre_restore = echo "pre \$CAIRN_MODE" >>$T/hooks.log
post_restore = echo "post \$CAIRN_MODE \$CAIRN_STATUS \$CAIRN_SAFETY_NET" >>$T/hooks.log
verify_restore = echo "verify \$CAIRN_MODE" >>$T/hooks.log; sqlite3 $S/data/sound_machine.db 'PRAGMA integrity_check' | grep -qx ok
EOF
DB=$S/data/sound_machine.db

# Checksums of every file but the database (its bytes are a snapshot's),
# plus each entry's type, mode, link target and (files) mtime.
tree_state() {
	(cd "$1" && find . ! -path './data/sound_machine.db*' ! -path . \
		-printf '%P %y %m %l\n' | sort
	 find . -type f ! -path './data/sound_machine.db*' -printf '%P %Ts\n' | sort
	 find . -type f ! -path './data/sound_machine.db*' -exec sha256sum {} + | sort -k2)
}
sha() { sha256sum "$1" | cut -c1-64; }
member_sha() { tar -xOf "$1" data/sound_machine.db | sha256sum | cut -c1-64; }
# The safety net a restore printed.
net_of() { sed -n 's/.*replaced files are in \(.*\)$/\1/p' "$T/out"; }
no_leftovers() {
	[ ! -e "$ST/restore.journal" ] || fail "restore.journal left"
	local l
	l=$(cd "$T" && ls -A | grep -E 'staging' || true)
	[ -z "$l" ] || fail "staging left: $l"
	l=$(cd "$S" && ls -A | grep -E 'cairn' || true)
	[ -z "$l" ] || fail "cairn files inside source: $l"
}

expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
arch=$A/$(cd "$A" && ls mss-backup-2*.tar.zst)
cp -a "$S" "$T/pristine"
pristine_state=$(tree_state "$T/pristine")
db_member=$(member_sha "$arch")

note "refusals"
expect_rc 2 "$CAIRN" -c "$T/c.conf" restore db </dev/null
out_has "pass --yes"
expect_rc 2 "$CAIRN" -c "$T/c.conf" restore music --yes
out_has "unknown restore mode 'music'"
out_has "full, db, audio"
expect_rc 2 "$CAIRN" -c "$T/c.conf" restore
mkdir "$T/notempty" && echo x >"$T/notempty/f"
expect_rc 2 "$CAIRN" -c "$T/c.conf" restore full --to "$T/notempty"
out_has "$T/notempty"
[ "$(ls -A "$T/notempty")" = f ] || fail "non-empty --to dir changed"
expect_rc 1 "$CAIRN" -c "$T/c.conf" restore full --yes --archive mss-backup-2001-01-01_000000.tar.zst
out_has "not found"
[ ! -e "$T/hooks.log" ] || fail "hooks ran for a refused restore"
[ "$(tree_state "$S")" = "$pristine_state" ] || fail "refusals changed the source"

note "changes to undo"
echo "changed" >>"$S/Sounds/uploads/sound_0000.wav"
rm "$S/Sounds/uploads/sound_0002.wav"
echo new >"$S/Sounds/uploads/new.wav"
sqlite3 "$DB" "DELETE FROM events WHERE rowid % 2 = 0; INSERT INTO profiles (name) VALUES ('intruder')"
modified_audio=$(tree_state "$S")
modified_db=$(sha "$DB")
[ "$modified_db" != "$db_member" ] || fail "DB not modified"
printf 'junk junk junk junk' >"$DB-wal"

note "dry run touches nothing"
sums_before=$(cd "$T" && find src -exec stat -c '%n %s %Y' {} + | sort; find src -type f -exec sha256sum {} + | sort)
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --dry-run
out_has "Sounds"
out_has "data/sound_machine.db"
sums_after=$(cd "$T" && find src -exec stat -c '%n %s %Y' {} + | sort; find src -type f -exec sha256sum {} + | sort)
[ "$sums_before" = "$sums_after" ] || fail "--dry-run changed the source"
[ -z "$(cd "$T" && ls -d src.* 2>/dev/null)" ] || fail "--dry-run made $(ls -d "$T"/src.*)"
[ ! -e "$T/hooks.log" ] || fail "--dry-run ran hooks"

note "restore db"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore db --yes
net=$(net_of)
[ -n "$net" ] && [ -d "$net" ] || { cat "$T/out"; fail "no safety net printed"; }
[ "$(sha "$DB")" = "$db_member" ] || fail "DB is not the archived one"
[ ! -e "$DB-wal" ] || [ "$(cat "$DB-wal")" != "junk junk junk junk" ] || fail "the junk -wal survived"
[ "$(sha "$net/data/sound_machine.db")" = "$modified_db" ] || fail "safety net lacks the replaced DB"
[ "$(cat "$net/data/sound_machine.db-wal")" = "junk junk junk junk" ] || fail "safety net lacks the -wal"
[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || fail "restored DB integrity"
[ "$(sqlite3 "$DB" 'SELECT count(*) FROM events')" = "$(sqlite3 "$T/pristine/data/sound_machine.db" 'SELECT count(*) FROM events')" ] ||
	fail "restored DB row count"
[ "$(tree_state "$S")" = "$modified_audio" ] || fail "restore db touched other files"
grep -qx "pre db" "$T/hooks.log" || fail "pre_restore did not run"
grep -qx "post db restoring $net" "$T/hooks.log" || { cat "$T/hooks.log"; fail "post_restore env"; }
grep -qx "verify db" "$T/hooks.log" || fail "verify_restore did not run"
no_leftovers
rm "$T/hooks.log"

note "restore audio"
sqlite3 "$DB" "DELETE FROM button_mappings"
db_now=$(sha "$DB")
# --exact: the tree as archived (a merge, the default, would keep
# new.wav: restore-merge.sh).
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore audio --yes --exact
net2=$(net_of)
[ -n "$net2" ] && [ "$net2" != "$net" ] || fail "audio restore reused safety net $net"
[ "$(sha "$DB")" = "$db_now" ] || fail "restore audio touched the DB"
diff -r "$T/pristine/Sounds" "$S/Sounds" || fail "Sounds differ after restore audio"
[ -e "$net2/Sounds/uploads/new.wav" ] || fail "safety net lacks the replaced Sounds"
[ ! -e "$S/Sounds/uploads/new.wav" ] || fail "new.wav survived"
no_leftovers

note "restore full into an emptied source"
find "$S" -mindepth 1 -delete
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --yes
[ "$(tree_state "$S")" = "$pristine_state" ] ||
	{ diff <(echo "$pristine_state") <(tree_state "$S") >&2; fail "full restore differs from the pristine tree"; }
diff -r -x sound_machine.db "$T/pristine" "$S" || fail "diff -r after full restore"
[ "$(sha "$DB")" = "$db_member" ] || fail "full restore: DB"
for tbl in profiles audio_files button_mappings events; do
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM $tbl")" = "$(sqlite3 "$T/pristine/data/sound_machine.db" "SELECT count(*) FROM $tbl")" ] ||
		fail "full restore: $tbl rows"
done
no_leftovers

note "--to a new directory runs no hooks"
rm -f "$T/hooks.log"
before=$(tree_state "$S")
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --to "$T/new/dir"
[ ! -e "$T/hooks.log" ] || fail "--to ran hooks: $(cat "$T/hooks.log")"
diff -r -x sound_machine.db "$T/pristine" "$T/new/dir" || fail "--to tree differs"
# data/ itself is no member (its children are): --to makes it like the
# new root, 0700.
[ "$(tree_state "$T/new/dir" | grep -v '^data d ')" = "$(echo "$pristine_state" | grep -v '^data d ')" ] ||
	{ diff <(echo "$pristine_state") <(tree_state "$T/new/dir") >&2; fail "--to metadata differs"; }
[ "$(sha "$T/new/dir/data/sound_machine.db")" = "$db_member" ] || fail "--to DB"
[ "$(ls -A "$T/new/dir" | grep -c cairn)" = 0 ] || fail "--to left cairn files: $(ls -A "$T/new/dir")"
[ "$(tree_state "$S")" = "$before" ] || fail "--to touched the source"
mkdir "$T/empty"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore db --to "$T/empty"
[ "$(ls -A "$T/empty")" = data ] && [ "$(ls -A "$T/empty/data")" = sound_machine.db ] ||
	fail "restore db --to wrote more than the DB: $(cd "$T/empty" && find .)"
[ ! -e "$T/hooks.log" ] || fail "--to ran hooks"

note "--archive picks an older archive"
echo "second version" >"$S/config/wifi.conf"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
echo "third version" >"$S/config/wifi.conf"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --yes --archive "$(basename "$arch")"
cmp "$T/pristine/config/wifi.conf" "$S/config/wifi.conf" || fail "--archive NAME restored another archive"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --yes --archive latest
[ "$(cat "$S/config/wifi.conf")" = "second version" ] || fail "--archive latest"

for comp in gzip none; do
	note "restore from a $comp archive"
	COMPRESSION=$comp mss_conf "$T/$comp.conf" "$S" "$T/a-$comp" "$T/s-$comp"
	expect_rc 0 "$CAIRN" -c "$T/$comp.conf" backup
	a=$(cd "$T/a-$comp" && ls | grep -E '^mss-backup-2.*\.tar(\.gz)?$')
	keep=$(tree_state "$S")
	echo "$comp" >>"$S/Sounds/uploads/sound_0003.wav"
	sqlite3 "$DB" "DELETE FROM profiles"
	expect_rc 0 "$CAIRN" -c "$T/$comp.conf" restore full --yes
	[ "$(tree_state "$S")" = "$keep" ] || fail "$comp: tree differs"
	[ "$(sha "$DB")" = "$(member_sha "$T/a-$comp/$a")" ] || fail "$comp: DB"
	expect_rc 0 "$CAIRN" -c "$T/$comp.conf" restore audio --to "$T/to-$comp"
	diff -r "$S/Sounds" "$T/to-$comp/Sounds" || fail "$comp: --to"
done
echo "restore-modes: ok"

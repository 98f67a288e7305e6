# A mode whose components the archive lacks fails before touching
# anything, naming the component (exit 1): `restore db` from an archive
# made while the database was missing (required = no) must not move the
# live DB to the safety net and leave data/ empty. `restore full` skips
# an optional component the archive lacks and restores the rest.
source "$TOP_SRCDIR/tests/lib.sh"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
sed -i '/^path = data\/sound_machine.db$/a required = no' "$T/c.conf"
DB=$S/data/sound_machine.db
mv "$DB" "$T/db"
rm -f "$DB"-*
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
name=$(cd "$A" && ls mss-backup-2*.tar.zst)
tar -tf "$A/$name" | grep -q sound_machine.db && fail "test setup: the archive holds the DB"
mv "$T/db" "$DB"
db_sum=$(sha256sum <"$DB")
echo changed >"$S/config/wifi.conf"

note "restore db: refused, nothing touched"
for how in --dry-run --yes "--to $T/to"; do
	# shellcheck disable=SC2086
	expect_rc 1 "$CAIRN" -c "$T/c.conf" restore db $how
	out_has "component db"
	[ "$(sha256sum <"$DB")" = "$db_sum" ] || fail "restore db $how: the live DB changed"
	[ ! -e "$S.pre-restore" ] || fail "restore db $how: a safety net: $(find "$S.pre-restore")"
	[ ! -e "$ST/restore.journal" ] || fail "restore db $how: journal left"
	[ -z "$(cd "$T" && ls -d src.cairn-staging.* 2>/dev/null)" ] || fail "restore db $how: staging left"
	[ -z "$(ls -A "$T/to" 2>/dev/null)" ] || fail "restore db $how: --to got $(ls -A "$T/to")"
done

note "restore full: the optional DB is skipped, the rest restored"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --yes
out_has "component db: not in"
[ "$(sha256sum <"$DB")" = "$db_sum" ] || fail "restore full: the live DB changed"
[ "$(cat "$S/config/wifi.conf")" != changed ] || fail "restore full did not restore config"
echo "restore-missing-component: ok"

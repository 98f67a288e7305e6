# When verify_restore (or post_restore, or a restore command) fails,
# restore_live() rolls back and removes state_dir/restore.journal (and
# the staging dir), so the next cairn command that takes the lock does
# not "roll back" that restore again and rm_rf paths that now hold the
# application's new data. Here: the restore creates log/ (it was
# missing), verification fails, the rollback removes log/, the app
# writes log/app.log again, and the nightly backup must keep it.
source "$TOP_SRCDIR/tests/lib.sh"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
rm -rf "$S/log"
printf '\n[hooks]\nverify_restore = exit 1\n' >>"$T/c.conf"

expect_rc 1 "$CAIRN" -c "$T/c.conf" restore full --yes
out_has "rolled back"
[ ! -e "$S/log" ] || fail "log/ not rolled back"
note "after a complete rollback nothing is pending"
[ ! -e "$ST/restore.journal" ] || fail "restore.journal left after a complete rollback"
[ -z "$(cd "$T" && ls -d src.cairn-staging.* 2>/dev/null)" ] || fail "staging dir left"

note "the app's new data survives the next backup"
mkdir "$S/log"
echo "written by the app after the failed restore" >"$S/log/app.log"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
grep -q "interrupted" "$T/out" && fail "backup rolled back a finished restore: $(cat "$T/out")"
[ -f "$S/log/app.log" ] || fail "the next backup deleted log/app.log"
echo "restore-rollback-journal: ok"

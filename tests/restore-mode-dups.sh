# A mode that lists a component more often than there are components
# ([mode db] components = db db db db db, four components) overflowed
# the array pick_mode() sized from the component count (ASan: heap
# buffer overflow). The config may refuse it (exit 2) or the restore
# restore it once (exit 0); it must never crash.
source "$TOP_SRCDIR/tests/lib.sh"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
sed -i 's/^components = db$/components = db db db db db/' "$T/c.conf"
grep -q '^components = db db db db db$' "$T/c.conf" || fail "test setup"
rc=0
"$CAIRN" -c "$T/c.conf" restore db --dry-run >"$T/out" 2>&1 || rc=$?
grep -q "Sanitizer" "$T/out" && { cat "$T/out" >&2; fail "sanitizer report"; }
case $rc in
0) out_has "data/sound_machine.db: add 0, replace 1"
   [ "$(grep -c 'data/sound_machine.db:' "$T/out")" = 1 ] || fail "the DB planned more than once" ;;
2) out_has "db" ;;
*) cat "$T/out" >&2; fail "exit $rc" ;;
esac
echo "restore-mode-dups: ok"

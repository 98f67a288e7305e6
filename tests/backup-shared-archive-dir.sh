# Two configs sharing an archive_dir (each its own state_dir, so each
# its own lock). One's leftover cleanup used to delete the other's
# running staging dir (its DB snapshot): the running one logged "file
# removed before we read it", archived no database, and recorded
# success. Now a run holds an flock on its .partial and staging dir and
# cleanup removes only what it can lock; leftovers carry the config's
# name; and a snapshot, or a path a required component names, that
# vanished fails the run.
source "$TOP_SRCDIR/tests/lib.sh"

S=$T/src A=$T/archive
dataset "$S" 4
conf() { # conf FILE NAME STATE
	mss_conf "$1" "$S" "$A" "$3"
	sed -i "s/^name = mss\$/name = $2/" "$1"
}
conf "$T/a.conf" alpha "$T/state-a"
cat >>"$T/a.conf" <<EOF

[inventory]
command.wait = touch $T/a-started; while [ -e $T/hold ]; do sleep 0.1; done
EOF
conf "$T/b.conf" beta "$T/state-b"
# Same name as alpha, other state_dir: only the flocks tell them apart.
conf "$T/a2.conf" alpha "$T/state-a2"
pid=

touch "$T/hold"
"$CAIRN" -c "$T/a.conf" backup --time '2026-04-01 03:15:00' >"$T/a.out" 2>&1 &
pid=$!
i=0
until [ -e "$T/a-started" ]; do
	i=$((i + 1)); [ $i -le 300 ] || fail "alpha never started writing"
	kill -0 "$pid" 2>/dev/null || { cat "$T/a.out"; fail "alpha ended early"; }
	sleep 0.1
done
during=$(ls -A "$A")

note "beta and a second alpha run while alpha writes"
expect_rc 0 "$CAIRN" -c "$T/b.conf" backup --time '2026-04-02 03:15:00'
expect_rc 0 "$CAIRN" -c "$T/a2.conf" backup --time '2026-04-03 03:15:00'
[ "$(ls -A "$A" | grep -E '^\.' | sort)" = "$(echo "$during" | grep -E '^\.' | sort)" ] ||
	fail "alpha's files changed under it: before $during, now $(ls -A "$A")"

note "alpha finishes with its database"
rm -f "$T/hold"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || { cat "$T/a.out"; fail "alpha: exit $rc"; }
grep -q "removed before we read it" "$T/a.out" && fail "alpha lost a file: $(cat "$T/a.out")"
tar -tf "$A/alpha-backup-2026-04-01_031500.tar.zst" >"$T/members"
grep -qx data/sound_machine.db "$T/members" || fail "alpha's archive has no database"
for c in a b a2; do
	expect_rc 0 "$CAIRN" -c "$T/$c.conf" verify latest --deep
done
[ -z "$(ls -A "$A" | grep -E '^\.' || true)" ] || fail "left: $(ls -A "$A")"

note "a snapshot that vanishes fails the run"
cat >>"$T/b.conf" <<EOF

[inventory]
command.zap = rm -f $A/.cairn-staging.beta.*/db.db
EOF
expect_rc 1 "$CAIRN" -c "$T/b.conf" backup --time '2026-04-04 03:15:00'
out_has "db.db"
[ ! -e "$A/beta-backup-2026-04-04_031500.tar.zst" ] || fail "archive without its database"

note "a required path that vanishes fails the run"
grep -v '^command.zap' "$T/b.conf" >"$T/zap.conf"
echo "command.zap2 = mv $S/data/server_id.txt $T/id.txt" >>"$T/zap.conf"
expect_rc 1 "$CAIRN" -c "$T/zap.conf" backup --time '2026-04-05 03:15:00'
out_has "server_id.txt vanished"
[ ! -e "$A/beta-backup-2026-04-05_031500.tar.zst" ] ||
	fail "archive without data/server_id.txt"
mv "$T/id.txt" "$S/data/server_id.txt"
echo "backup-shared-archive-dir: ok"

# Backups while the app writes: a writer keeps committing to the WAL-mode
# database during three backups; every archived copy is one consistent
# committed state (integrity_check ok, no torn transaction) and the
# writer is never locked out.
source "$TOP_SRCDIR/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

command -v sqlite3 >/dev/null || skip "sqlite3 not installed"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
DB=$S/data/sound_machine.db

# The writer: batches of 20 rows with the same batch number, each batch
# one transaction, so an archived copy that holds part of a batch is torn.
cat >"$T/writer.py" <<'EOF'
import os, sqlite3, sys, time
db, stop, started = sys.argv[1], sys.argv[2], sys.argv[3]
c = sqlite3.connect(db, timeout=10, isolation_level=None)
assert c.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
c.execute("CREATE TABLE IF NOT EXISTS live_writes "
          "(id INTEGER PRIMARY KEY, batch INTEGER, payload BLOB)")
deadline = time.monotonic() + 45
batch = 0
while not os.path.exists(stop) and time.monotonic() < deadline:
    batch += 1
    c.execute("BEGIN IMMEDIATE")
    for i in range(20):
        c.execute("INSERT INTO live_writes (batch, payload) VALUES (?, ?)",
                  (batch, os.urandom(512)))
    c.execute("UPDATE profiles SET name = name WHERE rowid = ?",
              (batch % 50 + 1,))
    c.execute("COMMIT")
    if batch == 1:
        open(started, "w").close()
    time.sleep(0.005)
c.close()
print(batch)
EOF

wpid=
trap 'st=$?; touch "$T/stop"; [ -z "$wpid" ] || wait "$wpid" 2>/dev/null; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; exit $st' EXIT

rows_live() { sqlite3 "$DB" 'SELECT count(*) FROM live_writes' 2>/dev/null || echo 0; }

"$PY" "$T/writer.py" "$DB" "$T/stop" "$T/started" >"$T/writer.out" 2>&1 &
wpid=$!
i=0
until [ -e "$T/started" ]; do
	i=$((i + 1)); [ $i -le 200 ] || fail "writer did not start: $(cat "$T/writer.out")"
	sleep 0.1
done

prev=0
for run in 1 2 3; do
	# The writer is demonstrably running: rows grow before each backup.
	base=$(rows_live) i=0
	until [ "$(rows_live)" -gt "$base" ]; do
		i=$((i + 1)); [ $i -le 100 ] || fail "writer stalled"
		sleep 0.1
	done
	note "backup $run while writing ($(rows_live) rows live)"
	expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
	kill -0 "$wpid" || fail "writer died during backup $run: $(cat "$T/writer.out")"
	arch=$(cd "$A" && ls mss-backup-2*.tar.zst | tail -1)
	expect_rc 0 "$CAIRN" -c "$T/c.conf" verify "$arch" --deep
	out_has "1 SQLite databases pass integrity_check"
	mkdir "$T/x$run"
	tar -xf "$A/$arch" -C "$T/x$run" data/sound_machine.db
	x=$T/x$run/data/sound_machine.db
	[ ! -e "$x-wal" ] || fail "a -wal was archived"
	[ "$(sqlite3 "$x" 'PRAGMA integrity_check')" = ok ] || fail "backup $run: integrity_check"
	n=$(sqlite3 "$x" 'SELECT count(*) FROM live_writes')
	torn=$(sqlite3 "$x" 'SELECT count(*) FROM (SELECT batch FROM live_writes GROUP BY batch HAVING count(*) != 20)')
	[ "$torn" = 0 ] || fail "backup $run holds $torn torn transactions"
	[ "$n" -gt 0 ] && [ $((n % 20)) = 0 ] || fail "backup $run: $n rows"
	[ "$n" -ge "$prev" ] || fail "backup $run went back in time: $n < $prev"
	prev=$n
	grep -q "rows: live_writes=$n\$" <(tar -xOf "$A/$arch" inventory.txt) ||
		fail "inventory row count is not the archived one ($n)"
done
touch "$T/stop"
rc=0
wait "$wpid" || rc=$?
wpid=
[ "$rc" = 0 ] || { cat "$T/writer.out"; fail "writer failed (locked out?)"; }
batches=$(tail -1 "$T/writer.out")
[ "$((batches * 20))" -gt "$prev" ] || fail "writer stopped before the last backup"
[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || fail "live DB damaged"
[ "$(cd "$A" && ls mss-backup-2*.tar.zst | wc -l)" = 3 ] || fail "want three archives"
echo "backup-sqlite-live: ok ($prev rows in the last archive, $((batches * 20)) written)"

# An archive_dir (where the database snapshot is checked) or source path
# holding '#', '?' or '%' (or a space) used to break every backup:
# sqlite_check() opened "file:%s?immutable=1" unescaped, so SQLite read
# the path as cut at '?' or '#' and decoded '%41'. The URI is now
# percent-encoded. The database restores into such a path too.
source "$TOP_SRCDIR/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

S="$T/src #1 ?mode=ro&x %41%zz" A="$T/archive #3 ?vfs=x %41" ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"

note "backup of $S"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
arch=$(ls "$A"/mss-backup-2*.tar.zst)
tar -xOf "$arch" data/sound_machine.db >"$T/db"
cmp -s <(head -c 15 "$T/db") <(printf 'SQLite format 3') || fail "no database in the archive"
expect_rc 0 "$CAIRN" -c "$T/c.conf" verify latest --deep

note "restore db into such a path"
D="$T/to #2 ?y %25"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore db --to "$D"
"$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute("pragma integrity_check").fetchone()[0]; assert r=="ok", r' \
	"$D/data/sound_machine.db" || fail "restored database"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore db --yes
echo "backup-uri-chars: ok"

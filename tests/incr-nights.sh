#!/bin/bash
# Incremental nights (incremental = yes): a full, then nights with an
# added file, a changed one (same size, new mtime: the index, not the
# clock, says so), a chmod and a chown, a new symlink, a rename, a
# deletion and a changed database. Each incremental holds only what
# changed (plus the DB, every directory and link, and an INDEX of the
# whole tree); restoring the last night, or a middle one, gives back
# that night's tree (content, modes, owners, mtimes, links), reading
# each file from the archive its INDEX names; an archive of the chain
# that is missing or corrupt is named and nothing is written.
. "$TOP_SRCDIR/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
[ "$(id -u)" = 0 ] || skip "owners need root"
export TZ=UTC

S=$T/src A=$T/arch
dataset "$S" 4
KEEP_LAST=10 mss_conf "$T/c.conf" "$S" "$A" "$T/state"
sed -i 's/^keep_last = 10$/keep_last = 10\nincremental = yes\nfull_every = 7d/' "$T/c.conf"
C="$CAIRN -c $T/c.conf"
U=$S/Sounds/uploads

# state DIR: every path's type, mode, owner, size, mtime (ns), link and
# content hash; the database by its rows (a snapshot is not the same
# bytes as the live file).
state() {
	# (archives keep whole seconds; "." and data/ are not archived)
	(cd "$1" && find . -mindepth 1 ! -path ./data ! -name '*-shm' \
		! -name '*-wal' ! -name '*-journal' ! -name sound_machine.db \
		-printf '%P %y %m %U %G %s %Ts %l\n' | sort
	 find . -type f ! -name '*-shm' ! -name '*-wal' ! -name sound_machine.db \
		-exec sha256sum {} + | sort -k2
	 "$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("select count(*) from events").fetchone())' \
		data/sound_machine.db)
}
members() { tar -tf "$A/$1" | sed 's|/$||' | sort; }
night() { ls "$A" | grep -E "^mss-backup-2026-01-0$1_031500(\.incr)?\.tar\.zst\$"; }
db_event() {
	"$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("insert into events default values"); c.commit()' \
		"$S/data/sound_machine.db" 2>/dev/null ||
	"$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table if not exists events2(x)"); c.commit()' \
		"$S/data/sound_machine.db"
}

note "night 1: a full archive with an INDEX"
expect_rc 0 $C backup --time "2026-01-01 03:15:00"
out_has "a full archive: there is no full archive"
n1=$(night 1)
[ "$n1" = mss-backup-2026-01-01_031500.tar.zst ] || fail "night 1: $n1"
members "$n1" | grep -qx INDEX || fail "no INDEX in the full"
[ -f "$A/$n1.index" ] || fail "no .index sidecar"
state "$S" >"$T/s1"

note "night 2: added, changed (same size, new mtime), chmod, chown, symlink, DB"
echo "a new upload" >"$U/new.wav"
sz=$(stat -c %s "$U/sound_0001.wav")
printf 'CHANGED!' | dd of="$U/sound_0001.wav" bs=1 seek=100 conv=notrunc status=none
touch -d "2025-06-01 12:00:00.123456789" "$U/sound_0001.wav"
[ "$(stat -c %s "$U/sound_0001.wav")" = "$sz" ] || fail "test setup: size changed"
chmod 0640 "$U/sound_0002.wav"
chown 1234:2345 "$S/config/wifi.conf"
ln -s uploads/new.wav "$S/Sounds/latest.wav"
db_event
expect_rc 0 $C backup --time "2026-01-02 03:15:00"
out_has "incremental on top of $n1"
n2=$(night 2)
[ "$n2" = mss-backup-2026-01-02_031500.incr.tar.zst ] || fail "night 2: $n2"
got=$(members "$n2" | grep -v '^\(Sounds\|Sounds/uploads\|config\|data\|data/exports\|log\|\.\)$' | tr '\n' ' ')
want="INDEX MANIFEST.sha256 Sounds/latest.wav Sounds/uploads/new.wav Sounds/uploads/sound_0001.wav Sounds/uploads/sound_0002.wav config/wifi.conf data/sound_machine.db inventory.txt "
[ "$got" = "$want" ] || fail "night 2 holds: $got"
state "$S" >"$T/s2"

note "night 3: a rename and a deletion"
mv "$U/sound_0003.wav" "$U/renamed.wav"
rm "$S/data/exports/trackpack_2.zip"
expect_rc 0 $C backup --time "2026-01-03 03:15:00"
n3=$(night 3)
members "$n3" | grep -q 'sound_0000\|sound_0003\|trackpack' && fail "night 3 holds unchanged files: $(members "$n3")"
members "$n3" | grep -qx Sounds/uploads/renamed.wav || fail "a renamed file is new bytes to the index (new ctime)"
tar -xOf "$A/$n3" INDEX | cut -f2 | grep -q 'trackpack_2\|sound_0003' && fail "INDEX lists deleted paths"
tar -xOf "$A/$n3" INDEX | awk -F'\t' '$2 == "Sounds/uploads/sound_0000.wav" { print $20 }' | grep -qx "$n1" ||
	fail "INDEX does not name night 1 as the holder of an unchanged file"
[ "$(members "$n3" | grep -cx INDEX)" = 1 ] || fail "night 3 holds INDEX $(members "$n3" | grep -cx INDEX) times"
tar -xOf "$A/$n3" INDEX | cmp -s - "$A/$n3.index" || fail "night 3's INDEX is not its .index"
# The carried record keeps night 1's frame: cut out of night 1 alone,
# that frame is a tar stream holding the file.
rec() { awk -F'\t' -v p=Sounds/uploads/sound_0000.wav '$2 == p { print $17, $18, $19 }' "$1"; }
set -- $(rec "$A/$n3.index")
[ "$#" = 3 ] && [ "$2" -gt 0 ] || fail "carried record without a frame: $*"
[ "$*" = "$(rec "$A/$n1.index")" ] || fail "carried frame $* is not night 1's: $(rec "$A/$n1.index")"
got=$(tail -c +$(($1 + 1)) "$A/$n1" | head -c "$2" | zstd -dq | tar -tf - 2>&1 || :)
grep -qx Sounds/uploads/sound_0000.wav <<<"$got" ||
	fail "night 1's frame at $1+$2 does not hold the carried file: $got"
state "$S" >"$T/s3"

note "night 4: nothing changed: only the DB, directories, links and the INDEX"
expect_rc 0 $C backup --time "2026-01-04 03:15:00"
n4=$(night 4)
[ "$(members "$n4" | grep -v latest.wav | grep -c '\.wav$\|\.zip$\|\.conf$\|\.log$\|server_id')" = 0 ] || fail "unchanged night holds files: $(members "$n4")"
[ "$(stat -c %s "$A/$n4")" -lt 200000 ] || fail "unchanged night is $(stat -c %s "$A/$n4") bytes"
expect_rc 0 $C list
out_has "$n4 +incr "
out_has "$n1 +full "

note "restore of the full (night 1) equals its tree"
expect_rc 0 $C restore full --archive "$n1" --to "$T/r1" --yes
state "$T/r1" >"$T/g1"
diff "$T/s1" "$T/g1" >&2 || fail "restore of night 1 differs from its tree"

note "restore full of the last night equals that night's tree"
expect_rc 0 $C restore full --to "$T/r4" --yes
out_has "reading [0-9]+ files from $n1"
state "$T/r4" >"$T/g4"
diff "$T/s3" "$T/g4" >&2 || fail "restore of night 4 differs from its tree"

note "restore of a middle night (2) equals night 2's tree"
expect_rc 0 $C restore full --archive "$n2" --to "$T/r2" --yes
state "$T/r2" >"$T/g2"
diff "$T/s2" "$T/g2" >&2 || fail "restore of night 2 differs from its tree"

note "restore db and audio from an incremental"
expect_rc 0 $C restore audio --to "$T/ra" --yes
diff -r "$S/Sounds" "$T/ra/Sounds" >&2 || fail "audio from night 4"
expect_rc 0 $C restore db --to "$T/rd" --yes
[ -f "$T/rd/data/sound_machine.db" ] || fail "db from night 4"

note "a missing archive of the chain is named; nothing is written"
mv "$A/$n1" "$T/away"
expect_rc 1 $C restore full --to "$T/r5" --yes
out_has "$n1.*missing"
[ ! -e "$T/r5" ] || [ -z "$(ls -A "$T/r5")" ] || fail "restore wrote into $T/r5"
mv "$T/away" "$A/$n1"

note "a corrupt archive of the chain is named; live data untouched"
cp -p "$A/$n1" "$T/good"
printf 'XXXX' | dd of="$A/$n1" bs=1 seek=5000 conv=notrunc status=none
before=$(state "$S")
rm "$U/new.wav"
expect_rc 1 $C restore full --yes
out_has "$n1"
[ ! -e "$U/new.wav" ] || fail "restore touched live data"
cp -p "$T/good" "$A/$n1"

#!/bin/bash
# An incremental holds every database whole, but an unchanged one is not
# compressed again: its frame in the archive the night builds on is
# checked (it decompresses to exactly the snapshot's bytes) and copied.
# Proven by levels: the full is made at level 19, the nights at level 1,
# yet an unchanged night's DB frame is the full's, byte for byte. A
# changed DB, or a base whose frame is damaged, is compressed anew; every
# night stays readable by stock zstd and tar.
. "$TOP_SRCDIR/tests/lib.sh"
export TZ=UTC

S=$T/src A=$T/arch
dataset "$S" 4
KEEP_LAST=10 mss_conf "$T/c.conf" "$S" "$A" "$T/state"
sed -i 's/^keep_last = 10$/keep_last = 10\nincremental = yes\nfull_every = 7d\nframe_size = 64K/' "$T/c.conf"
C="$CAIRN -c $T/c.conf"
DB=data/sound_machine.db
[ "$(stat -c %s "$S/$DB")" -gt 65536 ] || fail "test setup: DB too small"

night() { ls "$A" | grep -E "^mss-backup-2026-01-0$1_031500(\.incr)?\.tar\.zst\$"; }
# frame N: the DB's compressed frame in night N's archive, hashed
frame() {
	local a=$A/$(night "$1") off len
	read -r off len < <(awk -F'\t' -v p="$DB" \
		'$2 == p { print $17, $18 }' "$a.index")
	[ -n "$len" ] || fail "night $1: no $DB in its index"
	tail -c +$((off + 1)) "$a" | head -c "$len" | sha256sum | cut -d' ' -f1
}
# stock tools: the archive checks out and its DB is the snapshot's bytes
stock() {
	local a=$A/$(night "$1") x=$T/x$1
	(cd "$A" && sha256sum -c --quiet "$(basename "$a").sha256") ||
		fail "night $1: sha256sum -c"
	zstd -tq "$a" || fail "night $1: zstd -t"
	mkdir -p "$x"
	tar --zstd -xf "$a" -C "$x" "$DB" MANIFEST.sha256 ||
		fail "night $1: tar -x"
	(cd "$x" && grep "  $DB\$" MANIFEST.sha256 | sha256sum -c --quiet) ||
		fail "night $1: the DB's bytes are not the manifest's"
	python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("pragma integrity_check").fetchone()[0])' \
		"$x/$DB" | grep -qx ok || fail "night $1: DB integrity_check"
}

note "night 1: a full at level 19"
CAIRN_COMPRESSION_LEVEL=19 expect_rc 0 $C backup --time "2026-01-01 03:15:00"
stock 1

note "night 2: nothing changed; level 1, yet the DB frame is the full's"
CAIRN_COMPRESSION_LEVEL=1 expect_rc 0 $C backup --time "2026-01-02 03:15:00"
night 2 | grep -q '\.incr\.' || fail "night 2 is not an incremental"
out_has "copied compressed"
[ "$(frame 2)" = "$(frame 1)" ] || fail "night 2: the DB was compressed again"
stock 2

note "night 3: the DB changed: compressed anew, with the new row"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table night3(x)"); c.execute("insert into night3 values (3)"); c.commit()' \
	"$S/$DB"
CAIRN_COMPRESSION_LEVEL=1 expect_rc 0 $C backup --time "2026-01-03 03:15:00"
! grep -q "copied compressed" "$T/out" || fail "a frame was copied"
[ "$(frame 3)" != "$(frame 2)" ] || fail "night 3: a changed DB's frame copied"
stock 3
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("select x from night3").fetchone()[0])' \
	"$T/x3/$DB" | grep -qx 3 || fail "night 3: the new row is missing"

note "night 4: the base's DB frame is damaged: compressed anew, not copied"
a3=$A/$(night 3)
read -r off len < <(awk -F'\t' -v p="$DB" '$2 == p { print $17, $18 }' \
	"$a3.index")
printf 'X' | dd of="$a3" bs=1 seek=$((off + len / 2)) conv=notrunc status=none
CAIRN_COMPRESSION_LEVEL=1 expect_rc 0 $C backup --time "2026-01-04 03:15:00"
! grep -q "copied compressed" "$T/out" || fail "a frame was copied"
[ "$(frame 4)" != "$(frame 3)" ] || fail "night 4: a damaged frame copied"
stock 4
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("select x from night3").fetchone()[0])' \
	"$T/x4/$DB" | grep -qx 3 || fail "night 4: the DB is not night 3's"

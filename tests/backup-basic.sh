# A backup of the sound machine's tree: the files it makes, their modes,
# the archive's layout, and that plain tar and sha256sum can use it (the
# runbook's manual restore).
source "$TOP_SRCDIR/tests/lib.sh"
# Debian's python3 (a pyenv shim on PATH can take a second to start).
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

command -v sqlite3 >/dev/null || skip "sqlite3 not installed"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
# Things a backup must keep: a link, a mode, an mtime.
ln -s uploads/sound_0000.wav "$S/Sounds/latest.wav"
chmod 640 "$S/Sounds/uploads/sound_0001.wav"
touch -d '2020-01-02 03:04:05' "$S/Sounds/uploads/sound_0001.wav"
mss_conf "$T/c.conf" "$S" "$A" "$ST"

note "backup"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
archives=$(cd "$A" && ls mss-backup-2*.tar.zst)
[ "$(echo "$archives" | wc -l)" = 1 ] || fail "want one archive: $archives"
name=$archives
arch=$A/$name

note "files and modes"
for f in "$arch" "$arch.sha256" "$arch.manifest"; do
	[ -f "$f" ] || fail "missing $f"
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f mode $(stat -c %a "$f")"
done
[ "$(stat -c %a "$A")" = 700 ] || fail "archive_dir mode $(stat -c %a "$A")"
[ -z "$(cd "$A" && ls -A | grep -E 'partial|staging|\.tmp')" ] ||
	fail "leftovers in archive_dir: $(ls -A "$A")"
(cd "$A" && sha256sum --quiet -c "$name.sha256") ||
	fail "sha256sum -c $name.sha256"
grep -q "  $name\$" "$arch.sha256" || fail "sidecar does not name $name"
grep -q "  $name.manifest\$" "$arch.sha256" ||
	fail "sidecar does not cover the manifest copy"
[ "$(readlink "$A/mss-backup-latest.tar.zst")" = "$name" ] ||
	fail "latest link: $(readlink "$A/mss-backup-latest.tar.zst")"

note "members and their order"
tar -tf "$arch" >"$T/members"
for m in data/sound_machine.db Sounds/uploads/sound_0000.wav \
	Sounds/latest.wav config/wifi.conf data/server_id.txt \
	data/exports/trackpack_1.zip log/app.log inventory.txt \
	MANIFEST.sha256; do
	grep -qx -- "$m" "$T/members" || { cat "$T/members"; fail "no member $m"; }
done
grep -q '^/' "$T/members" && fail "absolute member"
grep -q '\.\./' "$T/members" && fail "member with .."
grep -q 'sound_machine.db-' "$T/members" && fail "a -wal/-shm was archived"
db_line=$(grep -nx data/sound_machine.db "$T/members" | cut -d: -f1)
snd_line=$(grep -n '^Sounds/' "$T/members" | head -1 | cut -d: -f1)
[ "$db_line" -lt "$snd_line" ] || fail "db member after the first Sounds member"
# The index of a seekable archive is its last member (DESIGN.md).
[ "$(tail -2 "$T/members" | head -1)" = MANIFEST.sha256 ] ||
	fail "MANIFEST.sha256 not last before INDEX"
[ "$(tail -1 "$T/members")" = INDEX ] || fail "INDEX not last"

note "plain tar extraction checks against MANIFEST.sha256"
mkdir "$T/x"
tar -xf "$arch" -C "$T/x"
(cd "$T/x" && sha256sum --quiet -c MANIFEST.sha256) || fail "sha256sum -c MANIFEST.sha256"
# Every regular member except MANIFEST.sha256 and INDEX (the .index
# sidecar's bytes, covered by the .sha256 sidecar) is listed, once.
(cd "$T/x" && find . -type f ! -name MANIFEST.sha256 ! -path ./INDEX | sed 's|^\./||' | sort) >"$T/files"
cmp "$T/x/INDEX" "$arch.index" || fail "INDEX differs from the .index sidecar"
sed 's/^[0-9a-f]*  //' "$T/x/MANIFEST.sha256" | sort >"$T/listed"
diff "$T/files" "$T/listed" || fail "MANIFEST.sha256 does not list every file"
cmp "$T/x/MANIFEST.sha256" "$arch.manifest" || fail "manifest copy differs from MANIFEST.sha256"
# Files other than the database are byte-identical to the source.
for f in Sounds/uploads/sound_0000.wav config/wifi.conf data/exports/trackpack_1.zip log/app.log; do
	cmp "$S/$f" "$T/x/$f" || fail "$f differs"
done

note "metadata kept"
[ -L "$T/x/Sounds/latest.wav" ] || fail "symlink not kept as a link"
[ "$(readlink "$T/x/Sounds/latest.wav")" = uploads/sound_0000.wav ] ||
	fail "symlink target changed"
f=Sounds/uploads/sound_0001.wav
[ "$(stat -c %a "$T/x/$f")" = 640 ] || fail "mode of $f: $(stat -c %a "$T/x/$f")"
[ "$(stat -c %Y "$T/x/$f")" = "$(stat -c %Y "$S/$f")" ] || fail "mtime of $f"
[ "$(stat -c %a "$T/x/data/sound_machine.db")" = "$(stat -c %a "$S/data/sound_machine.db")" ] ||
	fail "DB member lost the live file's mode"

note "runbook: tar -xf ARCHIVE -C cloud-data/ data/sound_machine.db"
mkdir "$T/cloud-data"
tar -xf "$arch" -C "$T/cloud-data/" data/sound_machine.db
[ "$(ls -A "$T/cloud-data")" = data ] || fail "runbook extraction wrote more: $(ls -A "$T/cloud-data")"
[ "$(sqlite3 "$T/cloud-data/data/sound_machine.db" 'PRAGMA integrity_check')" = ok ] ||
	fail "extracted DB fails integrity_check"
for tbl in profiles audio_files button_mappings events; do
	a=$(sqlite3 "$S/data/sound_machine.db" "SELECT count(*) FROM $tbl")
	b=$(sqlite3 "$T/cloud-data/data/sound_machine.db" "SELECT count(*) FROM $tbl")
	[ "$a" = "$b" ] || fail "$tbl: $a rows live, $b in the archive"
done
rm -rf "$T/cloud-data" && mkdir "$T/cloud-data"
tar --zstd -xf "$arch" -C "$T/cloud-data/" data/sound_machine.db
[ -s "$T/cloud-data/data/sound_machine.db" ] || fail "tar --zstd -xf"

note "inventory"
tar -xOf "$arch" inventory.txt >"$T/inv"
grep -q 'integrity_check: ok' "$T/inv" || { cat "$T/inv"; fail "inventory lacks integrity_check: ok"; }
ev=$(sqlite3 "$S/data/sound_machine.db" 'SELECT count(*) FROM events')
grep -q "rows: events=$ev\$" "$T/inv" || { cat "$T/inv"; fail "inventory lacks events row count $ev"; }
grep -q "archive: *$name" "$T/inv" || fail "inventory does not name the archive"

note "state"
"$PY" - "$ST/last_backup.json" "$arch" <<'EOF' || fail "last_backup.json"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["status"] == "success", j
assert j["archive"] == sys.argv[2], j
assert j["error"] is None, j
assert len(j["sha256"]) == 64 and j["bytes"] > 0, j
assert j["started"] and j["finished"], j
EOF
[ "$(stat -c %a "$ST/last_backup.json")" = 600 ] || fail "last_backup.json mode"
[ -s "$ST/backup.log" ] || fail "backup.log empty"
grep -q "$name" "$ST/backup.log" || fail "backup.log does not name the archive"
lines1=$(wc -l <"$ST/backup.log")
expect_rc 0 "$CAIRN" -c "$T/c.conf" status
out_has success

note "verify"
expect_rc 0 "$CAIRN" -c "$T/c.conf" verify latest --deep
out_has "$name: OK"
out_has "1 SQLite"
expect_rc 0 "$CAIRN" -c "$T/c.conf" verify "$name"

note "second backup: log appended, latest moves, both listed"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
[ "$(wc -l <"$ST/backup.log")" -gt "$lines1" ] || fail "backup.log not appended"
n2=$(cd "$A" && ls mss-backup-2*.tar.zst | tail -1)
[ "$n2" != "$name" ] || fail "second backup reused the name"
[ "$(readlink "$A/mss-backup-latest.tar.zst")" = "$n2" ] || fail "latest did not move to $n2"
expect_rc 0 "$CAIRN" -c "$T/c.conf" list
out_has "$name"
out_has "$n2"

note "optional component missing"
rm -rf "$S/log"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
n3=$(cd "$A" && ls mss-backup-2*.tar.zst | tail -1)
tar -tf "$A/$n3" >"$T/m3"
grep -q '^log' "$T/m3" && fail "log archived though missing"
tar -xOf "$A/$n3" inventory.txt >"$T/inv3"
grep -q 'note: log: missing' "$T/inv3" || fail "inventory does not note the missing log"

note "gzip and none"
for c in gzip:tar.gz none:tar; do
	comp=${c%%:*} ext=${c#*:}
	COMPRESSION=$comp mss_conf "$T/$comp.conf" "$S" "$T/a-$comp" "$T/s-$comp"
	expect_rc 0 "$CAIRN" -c "$T/$comp.conf" backup
	f=$(cd "$T/a-$comp" && ls mss-backup-2*."$ext")
	[ "$(readlink "$T/a-$comp/mss-backup-latest.$ext")" = "$f" ] || fail "$comp latest link"
	(cd "$T/a-$comp" && sha256sum --quiet -c "$f.sha256") || fail "$comp sidecar"
	if [ "$comp" = gzip ]; then
		gzip -t "$T/a-$comp/$f" || fail "not gzip"
		mkdir "$T/cd-$comp"
		tar -xzf "$T/a-$comp/$f" -C "$T/cd-$comp/" data/sound_machine.db
	else
		[ "$(dd if="$T/a-$comp/$f" bs=1 skip=257 count=5 2>/dev/null)" = ustar ] ||
			fail "not an uncompressed tar"
		mkdir "$T/cd-$comp"
		tar -xf "$T/a-$comp/$f" -C "$T/cd-$comp/" data/sound_machine.db
	fi
	[ "$(sqlite3 "$T/cd-$comp/data/sound_machine.db" 'PRAGMA integrity_check')" = ok ] ||
		fail "$comp: DB member"
	tar -tf "$T/a-$comp/$f" >"$T/m-$comp"
	grep -qx 'Sounds/uploads/sound_0000.wav' "$T/m-$comp" || fail "$comp: members"
	expect_rc 0 "$CAIRN" -c "$T/$comp.conf" verify latest --deep
done
echo "backup-basic: ok"

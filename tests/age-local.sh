#!/bin/bash
# encrypt = age in [cairn]: archive_dir holds only ciphertext (NAME.age,
# NAME.age.sha256, NAME.manifest.age, NAME.index.age), which sha256sum
# checks without the key and `age -d | tar -x` opens; a target gets
# those very bytes, streamed; every read (restore, ls, dump, find, diff,
# verify --deep, drill) takes the identity, none leaves plaintext in
# archive_dir; no identity is a usage error, a wrong one names the
# archive with nothing touched; retention and leftovers know the names.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/age-target-peer.sh"
command -v age >/dev/null || skip "age not installed"
command -v strace >/dev/null || fail "strace is needed (Debian package strace)"

age_setup
A=$T/archive
sed -i "/^\[cairn\]/a encrypt = age\nrecipients = $(cat "$T/rcpt")" "$CONF"
mkdir -p "$T/copy"
printf '\n[target copy]\nplugin = local\npath = %s\n' "$T/copy" >>"$CONF"

note "backup: only ciphertext in archive_dir, the target gets its bytes"
expect_rc 0 "$CAIRN" -c "$CONF" backup
out_has "target copy: mss-backup-[0-9_-]+\.tar\.zst\.age committed, streamed"
a=$(cd "$A" && ls mss-backup-2*.tar.zst.age)
n=${a%.age}
[ "$(cd "$A" && ls -A | sort | tr '\n' ' ')" = \
  "$a $a.sha256 $n.index.age $n.manifest.age mss-backup-latest.tar.zst.age " ] ||
	{ ls -la "$A"; fail "archive_dir holds more than the encrypted set"; }
[ "$(readlink "$A/mss-backup-latest.tar.zst.age")" = "$a" ] ||
	fail "latest link"
[ "$(stat -c %a "$A/$a")" = 600 ] || fail "archive mode"
grep -rqa "sound_machine.db" "$A" && fail "a member name readable in archive_dir"
zstd -t "$A/$a" 2>/dev/null && fail "the archive is a plain zstd stream"
for f in "$a" "$a.sha256" "$n.index.age" "$n.manifest.age"; do
	cmp "$A/$f" "$T/copy/$f" || fail "target copy of $f differs"
done

note "stock tools: sha256sum -c without the key; age -d | tar -x"
(cd "$A" && sha256sum -c --quiet "$a.sha256") || fail "sha256sum -c"
mkdir "$T/untar"
age -d -i "$T/key" "$A/$a" | tar --zstd -x -C "$T/untar" ||
	fail "age -d | tar --zstd -x"
same_tree "$T/untar"
age -d -i "$T/key" "$A/$n.index.age" | grep -q '^cairn-index 1' ||
	fail "the index does not decrypt"
age -d -i "$T/key" "$A/$n.manifest.age" | grep -q 'data/sound_machine.db' ||
	fail "the manifest does not decrypt"

note "verify without the key; --deep needs it"
expect_rc 0 env -u CAIRN_IDENTITY "$CAIRN" -c "$CONF" verify
out_has "$a: OK \(checksums match $a.sha256\)"
expect_rc 2 env -u CAIRN_IDENTITY "$CAIRN" -c "$CONF" verify --deep
out_has "is encrypted: an identity is needed"
expect_rc 0 "$CAIRN" -c "$CONF" verify --deep --identity "$T/key"
out_has "$n: OK .*SQLite databases pass integrity_check"
expect_rc 0 "$CAIRN" -c "$CONF" list
out_has "^$a +full .* verified"

note "restore db: no identity (2), a wrong one (1), nothing touched"
echo damaged >"$T/src/data/sound_machine.db"
expect_rc 2 env -u CAIRN_IDENTITY "$CAIRN" -c "$CONF" restore db --yes
out_has "$a is encrypted: an identity is needed"
expect_rc 1 "$CAIRN" -c "$CONF" restore db --yes --identity "$T/wrong"
out_has "$a: no identity matches its recipients"
[ "$(cat "$T/src/data/sound_machine.db")" = damaged ] ||
	fail "live data touched"

note "restore db and full with the identity; no plaintext left behind"
expect_rc 0 "$CAIRN" -c "$CONF" restore db --yes --identity "$T/key"
[ "$(dbdump "$T/pristine/data/sound_machine.db")" = \
  "$(dbdump "$T/src/data/sound_machine.db")" ] || fail "db not restored"
rm -rf "$T/src/Sounds"
expect_rc 0 "$CAIRN" -c "$CONF" restore full --yes --identity "$T/key"
same_tree "$T/src"
ls -A "$A" | grep -Ev '\.age$|\.age\.sha256$' &&
	fail "plaintext or scratch left in archive_dir"

note "ls, dump, find, diff read it with the identity"
export CAIRN_IDENTITY=$T/key
expect_rc 0 "$CAIRN" -c "$CONF" ls latest
out_has "data/sound_machine.db"
w=$(cd "$T/pristine" && ls Sounds/uploads/*.wav | head -1)
"$CAIRN" -c "$CONF" dump latest "$w" 2>/dev/null | cmp - "$T/pristine/$w" ||
	fail "dump of $w"
expect_rc 0 "$CAIRN" -c "$CONF" find '*.wav'
out_has "$n +$w"
rm "$T/src/$w"
expect_rc 0 "$CAIRN" -c "$CONF" restore --path "$w" --yes
cmp "$T/src/$w" "$T/pristine/$w" || fail "restore --path $w"
expect_rc 0 "$CAIRN" -c "$CONF" diff latest "$a"
out_has "0 added, 0 removed, 0 changed"
out_has "a: $n +full +[0-9.]+ [kM]?B on disk"

note "drill reads it as the local archive"
expect_rc 0 "$CAIRN" -c "$CONF" drill db
out_has "drill of $n \(local\): OK"
ls -A "$A" | grep -Ev '\.age$|\.age\.sha256$' && fail "drill left files"

note "a flipped byte: verify fails, restore refuses, nothing touched"
cp "$A/$a" "$T/good"
python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(4000); b = f.read(1); f.seek(4000)
f.write(bytes([b[0] ^ 1]))' "$A/$a"
expect_rc 1 "$CAIRN" -c "$CONF" verify
out_has "$a does not match its checksum"
echo damaged >"$T/src/data/sound_machine.db"
expect_rc 1 "$CAIRN" -c "$CONF" restore db --yes
out_has "does not authenticate|does not match"
[ "$(cat "$T/src/data/sound_machine.db")" = damaged ] ||
	fail "live data touched by a damaged archive"
cp "$T/good" "$A/$a"
cp "$T/pristine/data/sound_machine.db" "$T/src/data/sound_machine.db"

note "killed while publishing: the next run removes the .age temps"
CAIRN_PUBLISH_PAUSE=60 "$CAIRN" -c "$CONF" backup >"$T/run.out" 2>&1 &
pid=$!
for i in $(seq 1 1200); do
	ls -A "$A" | grep -q '\.manifest\.age\.partial$' && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
ls -A "$A" | grep -q '\.index\.age\.partial$' ||
	{ cat "$T/run.out"; fail "no encrypted index temporary"; }
kill -9 "$pid"
wait "$pid" || true
sleep 1 # the second of the killed run's name
expect_rc 0 "$CAIRN" -c "$CONF" backup
out_has "removing .*\.manifest\.age\.partial, left by an interrupted run"
out_has "removing .*\.index\.age\.partial, left by an interrupted run"
ls -A "$A" | grep partial && fail "temporaries left"
[ "$(cd "$A" && ls mss-backup-2*.tar.zst.age | wc -l)" = 2 ] ||
	fail "want two archives"

note "the index is spooled in memory, never in a temporary file"
ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$T/trace" \
	-e trace=openat,open,memfd_create "$CAIRN" -c "$CONF" -q backup ||
	fail "backup under strace"
grep -q 'memfd_create("cairn-index"' "$T/trace" || fail "no memfd spool"
grep -E 'O_TMPFILE|"/tmp/tmpf' "$T/trace" && fail "a temporary file was opened"

note "retention removes an old archive's whole encrypted set"
sed -i 's/^keep_last = .*/keep_last = 1/' "$CONF"
expect_rc 0 "$CAIRN" -c "$CONF" prune
ls -A "$A" | grep -q "^${n%.tar.zst}" && fail "the old archive's files stayed"
[ "$(ls -A "$A" | wc -l)" = 5 ] || { ls -A "$A"; fail "want one set"; }

note "local disk lost: restore --from the target's ciphertext"
rm -rf "$A"
echo damaged >"$T/src/data/sound_machine.db"
expect_rc 0 "$CAIRN" -c "$CONF" restore db --yes --from copy
[ "$(dbdump "$T/pristine/data/sound_machine.db")" = \
  "$(dbdump "$T/src/data/sound_machine.db")" ] || fail "db not restored"
[ -z "$(ls -A "$A" 2>/dev/null | grep -v '\.age')" ] ||
	fail "plaintext kept in the encrypted archive_dir"

note "incremental = yes with it is a config error"
sed -i "/^\[cairn\]/a incremental = yes" "$CONF"
expect_rc 2 "$CAIRN" -c "$CONF" backup
out_has "incremental = yes cannot go with encrypt = age"
echo "age-local: ok"

# Seekable archives' commands (issue 14) on a known tree: ls (text,
# --json, PATH filters, a path not there), dump (bytes, a directory, a
# missing member), diff (added, removed, changed, --json), find (local,
# --json); restore --path of a file, a directory and a glob, in place
# (merged, the replaced file in the safety net) and --to; a database
# named by --path is restored whole; a directory holding one is refused.
source "$TOP_SRCDIR/tests/lib.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
PY=python3

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
ln -s uploads/sound_0000.wav "$S/Sounds/latest.wav"
mss_conf "$T/c.conf" "$S" "$A" "$ST"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --time "2026-03-01 03:15:00"
a1=mss-backup-2026-03-01_031500.tar.zst

note "ls"
expect_rc 0 "$CAIRN" -c "$T/c.conf" ls
out_has '^-rw-r--r-- [^ ]+ +38 [0-9-]+ [0-9:]+ config/wifi\.conf$'
out_has '^l[rwx-]{9} .* Sounds/latest\.wav -> uploads/sound_0000\.wav$'
out_has '^d[rwx-]{9} .* Sounds/uploads$'
n_ls=$(grep -c . "$T/out")
n_tar=$(tar -tf "$A/$a1" | grep -vx INDEX | wc -l)
[ "$n_ls" = "$n_tar" ] || fail "ls shows $n_ls members, tar $n_tar"
expect_rc 0 "$CAIRN" -c "$T/c.conf" ls "$a1" Sounds/uploads 'config/*.conf'
[ "$(grep -c . "$T/out")" = 7 ] || { cat "$T/out"; fail "ls PATH..."; }
expect_rc 0 "$CAIRN" -c "$T/c.conf" ls --json latest data/exports
$PY - "$T/out" <<'EOF' || fail "ls --json"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["schema"] == 1 and j["archive"].startswith("mss-backup-"), j
m = {e["path"]: e for e in j["members"]}
assert set(m) == {"data/exports", "data/exports/trackpack_1.zip",
                  "data/exports/trackpack_2.zip",
                  "data/exports/trackpack_3.zip"}, m.keys()
e = m["data/exports/trackpack_1.zip"]
assert e["type"] == "file" and e["mode"] == "0644" and len(e["sha256"]) == 64
assert m["data/exports"]["type"] == "dir"
EOF
expect_rc 1 "$CAIRN" -c "$T/c.conf" ls Sounds/nope.wav
out_has "Sounds/nope.wav: not in $a1; see 'cairn ls $a1'"

note "dump"
"$CAIRN" -c "$T/c.conf" dump latest Sounds/uploads/sound_0001.wav >"$T/d.wav"
cmp "$T/d.wav" "$S/Sounds/uploads/sound_0001.wav" || fail "dump bytes"
"$CAIRN" -c "$T/c.conf" dump "$a1" ./config/wifi.conf | cmp - "$S/config/wifi.conf" ||
	fail "dump ARCHIVE ./PATH"
expect_rc 1 "$CAIRN" -c "$T/c.conf" dump latest Sounds/none.wav
out_has "Sounds/none.wav: not in $a1; see 'cairn ls $a1'"
# a directory: its subtree as a tar (like restic dump), not refused
"$CAIRN" -c "$T/c.conf" dump latest Sounds >"$T/d.tar" ||
	fail "dump of a directory"
tar -tf "$T/d.tar" >"$T/d.list" || fail "stock tar cannot read the dump"
grep -qx 'Sounds/uploads/sound_0001.wav' "$T/d.list" ||
	fail "the directory's tar lacks Sounds/uploads/sound_0001.wav"
grep -v '^Sounds' "$T/d.list" && fail "the tar holds more than Sounds"

note "diff"
echo changed >>"$S/config/wifi.conf"
rm "$S/log/app.log"
echo new >"$S/config/new.conf"
chmod 600 "$S/config/bluetooth.conf"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --time "2026-03-02 03:15:00"
a2=mss-backup-2026-03-02_031500.tar.zst
expect_rc 0 "$CAIRN" -c "$T/c.conf" diff "$a1" "$a2"
out_has '^\+ config/new\.conf \(4 bytes\)$'
out_has '^- log/app\.log \([0-9]+ bytes\)$'
out_has '^M config/wifi\.conf \(38 -> 46 bytes\)$'
out_has '^U config/bluetooth\.conf'
grep -q 'Sounds/' "$T/out" && fail "diff reports unchanged Sounds"
out_has '^1 added, 1 removed, [0-9]+ changed, 1 metadata only$'
expect_rc 0 "$CAIRN" -c "$T/c.conf" diff --json "$a1" latest
$PY - "$T/out" <<'EOF' || fail "diff --json"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["schema"] == 1
assert [e["path"] for e in j["added"]] == ["config/new.conf"], j["added"]
assert [e["path"] for e in j["removed"]] == ["log/app.log"], j["removed"]
c = {e["path"]: e for e in j["changed"]}
assert c["config/wifi.conf"]["size_a"] == 38 and c["config/wifi.conf"]["size_b"] == 46
assert [e["path"] for e in j["metadata"]] == ["config/bluetooth.conf"]
EOF

note "find"
expect_rc 0 "$CAIRN" -c "$T/c.conf" find '*.conf'
out_has "^$a2  config/new\.conf  4$"
out_has "^$a1  config/wifi\.conf  38$"
out_has "^$a2  config/wifi\.conf  46$"
grep -q "^$a1  config/new.conf" "$T/out" && fail "find: new.conf in $a1"
expect_rc 0 "$CAIRN" -c "$T/c.conf" find --json log/app.log
$PY - "$T/out" <<'EOF' || fail "find --json"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["schema"] == 1 and j["pattern"] == "log/app.log"
assert [m["archive"] for m in j["matches"]] == ["mss-backup-2026-03-01_031500.tar.zst"], j
EOF
expect_rc 0 "$CAIRN" -c "$T/c.conf" find nothing-like-this
out_has "no archive holds nothing-like-this"

note "restore --path: a file, a directory and a glob, --to"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore --archive "$a1" --path \
	log/app.log Sounds/uploads 'config/*.conf' --to "$T/to"
(cd "$T/to" && find . -type f | sort) >"$T/got"
printf '%s\n' ./Sounds/uploads/sound_0000.wav ./Sounds/uploads/sound_0001.wav \
	./Sounds/uploads/sound_0002.wav ./Sounds/uploads/sound_0003.wav \
	./config/bluetooth.conf ./config/wifi.conf ./log/app.log >"$T/want"
diff "$T/want" "$T/got" || fail "restore --path --to: other files"
mkdir "$T/x1"
tar -xf "$A/$a1" -C "$T/x1"
for f in $(cat "$T/want"); do cmp "$T/x1/$f" "$T/to/$f" || fail "$f"; done
[ ! -e "$T/to/Sounds/latest.wav" ] || fail "latest.wav is not under the paths"

note "restore --path in place: merged, the replaced file in the net"
echo local >"$S/Sounds/uploads/local.wav"
echo broken >"$S/Sounds/uploads/sound_0002.wav"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore --path Sounds/uploads/sound_0002.wav \
	--path config/wifi.conf --yes
out_has "replaced files are in"
net=$(sed -n 's/.*replaced files are in \(.*\)$/\1/p' "$T/out")
cmp "$S/Sounds/uploads/sound_0002.wav" "$T/x1/Sounds/uploads/sound_0002.wav" ||
	fail "sound_0002.wav not restored"
grep -qx broken "$net/Sounds/uploads/sound_0002.wav" || fail "net lacks the replaced file"
[ "$(cat "$S/Sounds/uploads/local.wav")" = local ] || fail "a live file went"
cmp "$S/config/wifi.conf" "$T/x1/config/wifi.conf" && fail "wifi.conf from the older archive"
grep -q changed "$S/config/wifi.conf" || fail "wifi.conf: latest archive's"

note "restore --path: a database whole, a directory holding one refused"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore --path data/sound_machine.db --to "$T/db"
out_has "integrity_check ok"
expect_rc 2 "$CAIRN" -c "$T/c.conf" restore --path data --to "$T/db2"
out_has "--path data holds data/sound_machine.db of component db"
expect_rc 1 "$CAIRN" -c "$T/c.conf" restore --path Sounds/none.wav --to "$T/none"
out_has "Sounds/none.wav: not in $a2; see 'cairn ls $a2'"
[ ! -e "$T/none" ] || [ -z "$(ls -A "$T/none")" ] || fail "--to written"
expect_rc 2 "$CAIRN" -c "$T/c.conf" restore
out_has "which mode"

note "restore --path with an index that fails its checksum: read whole"
sed -i '3s/\t0644\t/\t0600\t/' "$A/$a2.index"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore --path config/new.conf --to "$T/bad-ix"
out_has "reading the whole archive"
grep -qx new "$T/bad-ix/config/new.conf" || fail "config/new.conf"

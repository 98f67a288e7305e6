# Restored files and directories get their archived mode, owner and
# mtime, and the directories a restore creates are usable by the
# application: `restore full` into a removed source gives back every
# archived path as it was (stat: type, mode, uid, gid, mtime, link), the
# source itself and data/ (not archived) 0755 rather than 0700, and a
# directory the archive does hold an entry for (here "." and "data")
# gets that entry's mode, owner and mtime when the restore creates it.
source "$TOP_SRCDIR/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
[ "$(id -u)" = 0 ] || skip "owners need root"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
ln -s uploads/sound_0000.wav "$S/Sounds/latest.wav"
chown -hR 1234:2345 "$S/Sounds" "$S/data/sound_machine.db" "$S/log"
chown 1500:1500 "$S/data/exports" "$S/config/wifi.conf"
chmod 0750 "$S/Sounds"
chmod 0711 "$S/Sounds/uploads"
chmod 0640 "$S/Sounds/uploads/sound_0001.wav"
chmod 0604 "$S/Sounds/uploads/sound_0002.wav"
chmod 0660 "$S/data/sound_machine.db"
chmod 2770 "$S/data/exports"
chmod 0700 "$S/log"
chmod 0755 "$S" "$S/data"
i=0
for p in $(cd "$S" && find . -depth ! -name '*-shm' ! -name '*-wal'); do
	i=$((i + 1))
	touch -h -d "2021-03-0$((i % 9 + 1)) 04:05:0$((i % 10))" "$S/$p"
done
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
name=$(cd "$A" && ls mss-backup-2*.tar.zst)

# meta DIR: every path's type, mode, owner, link; mtime of the archived.
archived=$(tar -tf "$A/$name" | sed 's|/$||' | sort)
meta() {
	(cd "$1" && find . ! -name '*-shm' ! -name '*-wal' ! -name '*-journal' \
		-printf '%P %y %m %U %G %l\n' | sort
	 find . -printf '%P %T@\n' | sort |
		awk 'NR == FNR { a[$0]; next } ($1 in a)' <(echo "$archived") -)
}
want=$(meta "$S")
[ "$(grep -c " [0-9]*\.[0-9]*$" <<<"$want")" -gt 10 ] || fail "test setup: no mtimes in $want"
grep -q '^data d 755 0 0' <<<"$want" || fail "test setup: data/ not 0755"

note "restore full into a removed source"
rm -rf "$S"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --yes
got=$(meta "$S")
[ "$got" = "$want" ] || { diff <(echo "$want") <(echo "$got") >&2; fail "metadata differs after restore full"; }

note "merged into an existing tree: archived dirs get their metadata back"
chmod 0777 "$S/Sounds/uploads"
chown 0:0 "$S/Sounds"
touch -d '2030-01-01' "$S/Sounds" "$S/data/exports"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --yes
got=$(meta "$S")
[ "$got" = "$want" ] || { diff <(echo "$want") <(echo "$got") >&2; fail "metadata differs after a merge"; }

note "created parents take the archive's directory entries"
mkdir -p "$T/s2" "$T/a2"
cat >"$T/p.conf" <<EOC
[cairn]
name = p
source = $T/s2/root
archive_dir = $T/a2
state_dir = $T/st2

[component id]
type = files
path = data/id.txt
EOC
chmod 600 "$T/p.conf"
"$PY" - "$T/a2/p-backup-2026-01-01_000000.tar" <<'EOP'
import hashlib, io, os, sys, tarfile
path = sys.argv[1]
data = b"server id\n"
man = f"{hashlib.sha256(data).hexdigest()}  data/id.txt\n".encode()
with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
    for n, mode, uid, mt in ((".", 0o751, 1234, 1500000000), ("data", 0o770, 1234, 1600000000)):
        d = tarfile.TarInfo(n); d.type = tarfile.DIRTYPE; d.mode = mode
        d.uid, d.gid, d.mtime = uid, 2345, mt
        t.addfile(d)
    f = tarfile.TarInfo("data/id.txt"); f.size = len(data); f.mode = 0o644
    f.uid, f.gid, f.mtime = 1234, 2345, 1700000000
    t.addfile(f, io.BytesIO(data))
    m = tarfile.TarInfo("MANIFEST.sha256"); m.size = len(man)
    t.addfile(m, io.BytesIO(man))
open(path + ".manifest", "wb").write(man)
sha = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
b = os.path.basename(path)
open(path + ".sha256", "w").write(f"{sha(path)}  {b}\n{sha(path + '.manifest')}  {b}.manifest\n")
EOP
expect_rc 0 "$CAIRN" -c "$T/p.conf" restore full --yes
[ "$(stat -c '%a %u %g %Y' "$T/s2/root/data")" = "770 1234 2345 1600000000" ] ||
	fail "data/: $(stat -c '%a %u %g %Y' "$T/s2/root/data")"
[ "$(stat -c '%a %u %g %Y' "$T/s2/root")" = "751 1234 2345 1500000000" ] ||
	fail "the source: $(stat -c '%a %u %g %Y' "$T/s2/root")"
[ "$(stat -c '%a %u %g %Y' "$T/s2/root/data/id.txt")" = "644 1234 2345 1700000000" ] ||
	fail "data/id.txt: $(stat -c '%a %u %g %Y' "$T/s2/root/data/id.txt")"
echo "restore-metadata: ok"

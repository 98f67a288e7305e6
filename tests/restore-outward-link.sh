# A link whose value points outside the source (ln -s /elsewhere
# Sounds/shared) is application data: backup stores it, verify --deep
# and restore put it back as a link, never following it. verify --deep
# test-restores exactly what restore would: an archive restore refuses
# (a link chain leading out, a member written through a link), verify
# --deep refuses too; and it checks the members against the archive's
# own MANIFEST.sha256, not only against the .manifest copy.
source "$TOP_SRCDIR/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
X=/tmp/cairn-elsewhere-$$
rm -rf "$X"
trap 'st=$?; rm -rf "$X"; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; exit $st' EXIT
ln -s "$X" "$S/Sounds/shared"
ln -s ../../outside "$S/Sounds/uploads/up"
ln -s "$X/dir" "$S/config/abs-dir"

note "backup, verify --deep, restore full"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
name=$(cd "$A" && ls mss-backup-2*.tar.zst)
expect_rc 0 "$CAIRN" -c "$T/c.conf" verify latest --deep
out_has "OK"
rm -rf "$S/Sounds" "$S/config"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --yes
[ "$(readlink "$S/Sounds/shared")" = "$X" ] || fail "Sounds/shared: $(ls -l "$S/Sounds/shared" 2>&1)"
[ "$(readlink "$S/Sounds/uploads/up")" = ../../outside ] || fail "Sounds/uploads/up"
[ "$(readlink "$S/config/abs-dir")" = "$X/dir" ] || fail "config/abs-dir"
[ ! -e "$X" ] || fail "something was written through a link: $(find "$X")"
[ -f "$S/Sounds/uploads/sound_0000.wav" ] || fail "restore full restored nothing"
note "--to as well"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore audio --to "$T/to"
[ "$(readlink "$T/to/Sounds/shared")" = "$X" ] || fail "--to: Sounds/shared"

# mk NAME SPEC...: an archive in $A with members (type:name[:target]),
# its MANIFEST.sha256 member (tampered: a wrong line), manifest copy and
# sidecar, all consistent but for what the test wants.
mk() {
	"$PY" - "$A" "$@" <<'EOP'
import hashlib, io, os, sys, tarfile
adir, name, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
path = os.path.join(adir, name)
man, inner = [], None
with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
    for spec in specs:
        kind, mname, *rest = spec.split(":", 2)
        ti = tarfile.TarInfo(mname); ti.mtime = 1700000000; ti.mode = 0o644
        data = None
        if kind == "f":
            data = b"data of " + mname.encode() + b"\n"; ti.size = len(data)
            man.append((hashlib.sha256(data).hexdigest(), mname))
        elif kind == "d":
            ti.type, ti.mode = tarfile.DIRTYPE, 0o755
        elif kind == "l":
            ti.type, ti.linkname = tarfile.SYMTYPE, rest[0]
        elif kind == "M":  # the inner manifest, one line changed
            inner = True
            continue
        t.addfile(ti, io.BytesIO(data) if data is not None else None)
    text = "".join(f"{h}  {n}\n" for h, n in man).encode()
    itext = text
    if inner and man:
        h, n = man[0]
        itext = text.replace(h.encode(), (h[:-1] + ("0" if h[-1] != "0" else "1")).encode(), 1)
    m = tarfile.TarInfo("MANIFEST.sha256"); m.size = len(itext)
    t.addfile(m, io.BytesIO(itext))
open(path + ".manifest", "wb").write(text)
sha = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
open(path + ".sha256", "w").write(f"{sha(path)}  {name}\n{sha(path + '.manifest')}  {name}.manifest\n")
EOP
}
# refused_both NAME MODE: verify --deep and restore both refuse.
refused_both() {
	expect_rc 1 "$CAIRN" -c "$T/c.conf" verify "$1" --deep
	out_has "$2"
	expect_rc 1 "$CAIRN" -c "$T/c.conf" restore full --yes --archive "$1"
	out_has "$2"
	[ ! -e "$X" ] || fail "$1: written through a link: $(find "$X")"
}
rm -rf "$T/empty"
note "a link chain leading out"
mk mss-backup-2030-01-01_000000.tar d:Sounds f:Sounds/ok.wav l:Sounds/b:.. l:Sounds/a:b/../outside
refused_both mss-backup-2030-01-01_000000.tar "refusing archive member"
note "a member written through an outward link"
mk mss-backup-2030-01-02_000000.tar d:Sounds l:Sounds/shared:"$X" f:Sounds/shared/pwned
refused_both mss-backup-2030-01-02_000000.tar "refusing archive member"
note "a member through an in-tree link"
mk mss-backup-2030-01-03_000000.tar d:Sounds d:config l:Sounds/c:../config f:Sounds/c/pwned
refused_both mss-backup-2030-01-03_000000.tar "refusing archive member"
note "MANIFEST.sha256 in the archive differs from the manifest copy"
mk mss-backup-2030-01-04_000000.tar d:Sounds f:Sounds/ok.wav M:
expect_rc 1 "$CAIRN" -c "$T/c.conf" verify mss-backup-2030-01-04_000000.tar --deep
out_has "MANIFEST.sha256"
note "a consistent hand-made archive passes"
mk mss-backup-2030-01-05_000000.tar d:Sounds f:Sounds/ok.wav l:Sounds/shared:"$X"
expect_rc 0 "$CAIRN" -c "$T/c.conf" verify mss-backup-2030-01-05_000000.tar --deep
echo "restore-outward-link: ok"

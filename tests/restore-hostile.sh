# Hostile archives: members with '..' or absolute paths, links that point
# outside the destination, writes through a link, hard links to files
# outside, device nodes, members missing from the manifest. Each is
# wrapped as a valid cairn archive (manifest and .sha256 match), so only
# the per-member checks stand between it and the disk. Every restore
# must fail, write nothing outside, and leave the live source untouched.
source "$TOP_SRCDIR/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
mkdir -p "$A"
echo "outside, keep me" >"$T/outside"
X=/tmp/cairn-hostile-$$
rm -rf "$X" "$X".*
trap 'st=$?; rm -rf "$X" "$X".*; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; exit $st' EXIT
passwd_before=$(stat -c '%h %s %Y' /etc/passwd; sha256sum /etc/passwd)
outside_before=$(stat -c '%h %s %Y' "$T/outside"; sha256sum "$T/outside")

state() { tree_state "$S"; }
before=$(state)

# hostile NUM SPEC...: write archive mss-backup-2030-01-NUM_000000.tar
# with members from SPECs (type:name[:target]; f = file with content
# "pwned", d = dir, l = symlink, h = hard link, c = char device,
# F = file left out of the manifest), its manifest and sidecar.
hostile() {
	local num=$1
	shift
	"$PY" - "$A" "mss-backup-2030-01-${num}_000000.tar" "$@" <<'EOF'
import hashlib, io, os, sys, tarfile
adir, name, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
path = os.path.join(adir, name)
manifest = []
with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
    for spec in specs:
        kind, mname, *rest = spec.split(":", 2)
        ti = tarfile.TarInfo(mname)
        ti.mtime = 1700000000
        ti.mode = 0o644
        data = None
        if kind in "fF":
            data = b"pwned\n"
            ti.size = len(data)
            if kind == "f":
                manifest.append((hashlib.sha256(data).hexdigest(), mname))
        elif kind == "d":
            ti.type, ti.mode = tarfile.DIRTYPE, 0o755
        elif kind == "l":
            ti.type, ti.linkname = tarfile.SYMTYPE, rest[0]
        elif kind == "h":
            ti.type, ti.linkname = tarfile.LNKTYPE, rest[0]
            # cairn lists a hard link's name with its target's bytes.
            manifest.append((hashlib.sha256(b"pwned\n").hexdigest(), mname))
        elif kind == "c":
            ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
        t.addfile(ti, io.BytesIO(data) if data is not None else None)
man = "".join(f"{h}  {n}\n" for h, n in manifest).encode()
with open(path + ".manifest", "wb") as f:
    f.write(man)
def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()
with open(path + ".sha256", "w") as f:
    f.write(f"{sha(path)}  {name}\n{sha(path + '.manifest')}  {name}.manifest\n")
for p in (path, path + ".manifest", path + ".sha256"):
    os.chmod(p, 0o600)
print(name)
EOF
}

# attempt WHAT NAME MODE [--to DIR]: the restore must fail and harm
# nothing.
attempt() {
	local what=$1 name=$2 mode=$3 rc=0
	shift 3
	(cd "$A" && sha256sum --quiet -c "$name.sha256") || fail "$what: sidecar of the test archive"
	"$CAIRN" -c "$T/c.conf" restore "$mode" --yes --archive "$name" "$@" >"$T/out" 2>&1 || rc=$?
	[ "$rc" != 0 ] || { cat "$T/out" >&2; fail "$what: restore $mode succeeded"; }
	[ "$rc" = 1 ] || { cat "$T/out" >&2; fail "$what: exit $rc, want 1"; }
	grep -q "refusing archive member" "$T/out" || { cat "$T/out" >&2; fail "$what: no refusal message"; }
	harmless "$what"
}
harmless() {
	[ "$(state)" = "$before" ] || { diff <(echo "$before") <(state) >&2; fail "$1: live source changed"; }
	[ "$(stat -c '%h %s %Y' /etc/passwd; sha256sum /etc/passwd)" = "$passwd_before" ] ||
		fail "$1: /etc/passwd changed"
	[ "$(stat -c '%h %s %Y' "$T/outside"; sha256sum "$T/outside")" = "$outside_before" ] ||
		fail "$1: $T/outside changed"
	local found
	found=$(ls -d "$X" "$X.dir"/* "$T/evil" "$T/pwned" "$T"/*/evil "/evil" "$S.cairn-staging."*/../evil 2>/dev/null || true)
	[ -z "$found" ] || fail "$1: written outside: $found"
	found=$(find "$T" -name pwned -not -path "$A/*" 2>/dev/null || true)
	[ -z "$found" ] || fail "$1: pwned file written: $found"
	[ ! -e "$ST/restore.journal" ] || fail "$1: journal left"
	[ -z "$(cd "$T" && ls -d src.cairn-staging.* 2>/dev/null)" ] || fail "$1: staging left"
}

note "member ../evil"
n=$(hostile 01 d:Sounds f:Sounds/ok.wav f:../evil)
attempt "../evil" "$n" full
out_has "'\.\./evil'"
attempt "../evil, --to" "$n" full --to "$T/to1"
[ -z "$(ls -A "$T/to1" 2>/dev/null)" ] || fail "--to dir got files: $(ls -A "$T/to1")"

note "member Sounds/../../evil"
n=$(hostile 02 d:Sounds f:Sounds/../../evil)
attempt "Sounds/../../evil" "$n" audio

note "absolute member"
n=$(hostile 03 d:Sounds f:"$X")
attempt "absolute $X" "$n" full
n=$(hostile 04 d:Sounds f:"/$(echo "$S" | sed 's|^/||')/Sounds/abs.wav")
attempt "absolute path into the source" "$n" full

note "symlink to an absolute path, then a file through it"
n=$(hostile 05 d:Sounds l:Sounds/link:"$X" f:Sounds/link/pwned)
attempt "symlink to $X" "$n" audio
mkdir "$X.dir"
n=$(hostile 06 d:Sounds l:Sounds/link:"$X.dir" f:Sounds/link/pwned)
attempt "symlink to an existing dir $X.dir" "$n" audio
[ -z "$(ls -A "$X.dir")" ] || fail "wrote through the link into $X.dir"

note "symlink ../../outside, then a file through it"
n=$(hostile 07 d:Sounds l:Sounds/link:../../outside f:Sounds/link/pwned)
attempt "symlink ../../outside" "$n" audio
n=$(hostile 08 d:Sounds l:Sounds/link:../.. f:Sounds/link/pwned)
attempt "symlink ../.. then a file through it" "$n" audio

note "write through an in-tree symlink"
n=$(hostile 09 d:Sounds d:config l:Sounds/c:../config f:Sounds/c/pwned)
attempt "file through an in-tree link" "$n" full

note "hard links out"
n=$(hostile 10 d:Sounds h:Sounds/h:/etc/passwd)
attempt "hard link to /etc/passwd" "$n" full
n=$(hostile 11 d:Sounds h:Sounds/h:../outside)
attempt "hard link to ../outside" "$n" full
n=$(hostile 12 d:Sounds h:Sounds/h:../../outside)
attempt "hard link to ../../outside" "$n" full
n=$(hostile 13 f:data/sound_machine.db d:Sounds h:Sounds/h:data/sound_machine.db)
attempt "hard link to a file of another mode" "$n" audio

note "device node, member not in the manifest"
n=$(hostile 14 d:Sounds c:Sounds/null)
attempt "char device" "$n" full
n=$(hostile 15 d:Sounds f:Sounds/ok.wav F:Sounds/extra.wav)
attempt "member not in the manifest" "$n" full

# A link that escapes through another link: restore-hostile-links.sh.

note "a good archive still restores afterwards"
# (Remove the hostile ones first: dated 2030, they would be "latest" and
# retention would count them.)
rm -f "$A"/mss-backup-2030-*
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
good=$(cd "$A" && ls mss-backup-2*.tar.zst)
echo changed >>"$S/Sounds/uploads/sound_0000.wav"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --yes --archive "$good"
cmp <(tar -xOf "$A/$good" Sounds/uploads/sound_0000.wav) "$S/Sounds/uploads/sound_0000.wav" ||
	fail "good restore"
echo "restore-hostile: ok"

# Regression test: link_inside() (core/restore.c) resolves each symlink target lexically,
# on its own. Two links that each stay inside combine to point outside:
# Sounds/b -> .. (the restore root) and Sounds/a -> b/../outside (read
# lexically: Sounds/outside). The kernel resolves b first, so Sounds/a
# is ROOT/../outside. DESIGN.md: "links pointing outside the destination
# are never written". check_staged() now resolves every staged link with
# openat2(RESOLVE_BENEATH). Expected: the restore is refused (exit 1) and no
# link under the destination resolves outside it.
source "$TOP_SRCDIR/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
mkdir -p "$A"
echo "outside" >"$T/outside"
name=mss-backup-2026-01-01_000000.tar
"$PY" - "$A/$name" <<'EOF2'
import hashlib, io, os, sys, tarfile
path = sys.argv[1]
with tarfile.open(path, "w") as t:
    d = tarfile.TarInfo("Sounds"); d.type = tarfile.DIRTYPE; d.mode = 0o755
    t.addfile(d)
    f = tarfile.TarInfo("Sounds/ok.wav"); f.size = 3
    t.addfile(f, io.BytesIO(b"ok\n"))
    for n, target in (("Sounds/b", ".."), ("Sounds/a", "b/../outside")):
        l = tarfile.TarInfo(n); l.type = tarfile.SYMTYPE; l.linkname = target
        t.addfile(l)
with open(path + ".manifest", "w") as m:
    m.write(hashlib.sha256(b"ok\n").hexdigest() + "  Sounds/ok.wav\n")
sha = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
base = os.path.basename(path)
with open(path + ".sha256", "w") as s:
    s.write(f"{sha(path)}  {base}\n{sha(path + '.manifest')}  {base}.manifest\n")
EOF2

escapes() { # DIR: links under DIR that resolve outside it
	local l r
	for l in $(find "$1" -type l); do
		r=$(realpath -m "$l")
		case $r in "$1"|"$1"/*) ;; *) echo "$l -> $r";; esac
	done
}
for how in "--to $T/to" "--yes"; do
	note "restore audio $how"
	rc=0
	# shellcheck disable=SC2086
	"$CAIRN" -c "$T/c.conf" restore audio --archive "$name" $how >"$T/out" 2>&1 || rc=$?
	e=$(escapes "$T/to"; escapes "$S")
	[ -z "$e" ] || fail "links written that resolve outside the destination: $e"
	[ "$rc" = 1 ] || { cat "$T/out"; fail "restore exited $rc, want 1 (refused)"; }
	[ "$(cat "$T/outside")" = outside ] || fail "outside file changed"
done
echo "restore-hostile-links: ok"

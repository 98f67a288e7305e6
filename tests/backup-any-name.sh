# Any byte sequence a Linux file name may hold is archived and restored
# exactly: UTF-8 (café), a byte that is not UTF-8, a newline, a
# backslash. libarchive's pax writer stores a name the locale cannot
# convert with hdrcharset=BINARY and returns ARCHIVE_WARN, which is a
# header written, not a failure. MANIFEST.sha256 escapes names the way
# sha256sum does, so `sha256sum -c` passes on a tar-extracted tree.
source "$TOP_SRCDIR/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
U=$S/Sounds/uploads
echo café >"$U/café.wav"
echo bad >"$U/bad"$'\xff'".wav"
echo nl >"$U/new"$'\n'"line.wav"
echo bs >"$U/back\\slash.wav"
echo cr >"$U/car"$'\r'"riage.wav"
echo both >"$U/b\\oth"$'\n\xfe'".wav"
mkdir "$U/dir"$'\xe9'
echo inner >"$U/dir"$'\xe9'"/in"$'\x01'"side.wav"
ln -s "bad"$'\xff'".wav" "$U/link"$'\xff'

note "backup"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
arch=$(ls "$A"/mss-backup-2*.tar.zst)
expect_rc 0 "$CAIRN" -c "$T/c.conf" verify latest --deep

# Same names (as bytes), types, link targets and contents in two trees.
same_tree() {
	"$PY" - "$1" "$2" <<'PYEOF' || fail "$3: trees differ"
import os, sys
def tree(top):
    top = os.fsencode(top)
    out = {}
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, top)
            if os.path.islink(p):
                out[rel] = ("l", os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("d", None)
            else:
                out[rel] = ("f", open(p, "rb").read())
    return out
a, b = tree(sys.argv[1]), tree(sys.argv[2])
for k in sorted(set(a) | set(b)):
    if a.get(k) != b.get(k):
        print("differs:", k, file=sys.stderr)
        sys.exit(1)
PYEOF
}

note "restore full --to: every name byte for byte"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --to "$T/r"
same_tree "$S/Sounds" "$T/r/Sounds" "restore --to"

note "tar -xf and sha256sum -c MANIFEST.sha256"
mkdir "$T/x"
tar -xf "$arch" -C "$T/x" 2>"$T/tar.err" || { cat "$T/tar.err"; fail "tar -xf"; }
same_tree "$S/Sounds" "$T/x/Sounds" "tar -xf"
(cd "$T/x" && sha256sum --quiet -c MANIFEST.sha256) >"$T/sum.out" 2>&1 ||
	{ cat "$T/sum.out"; fail "sha256sum -c MANIFEST.sha256"; }
echo "backup-any-name: ok"

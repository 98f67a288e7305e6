# The archive is read back (cache dropped) under its temporary name, and
# published only then: manifest and sidecar first, the archive last, so
# no final-named archive ever lacks its .sha256 (make_archive used to
# rename the archive, then verify it, then write the sidecar; a kill in
# between left a complete archive without a sidecar, counted by
# keep_last). Checked two ways: the order of the system calls, and
# kill -9 at every step of publishing (CAIRN_PUBLISH_PAUSE, a testing
# aid, sleeps before each rename).
source "$TOP_SRCDIR/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
command -v strace >/dev/null || fail "strace is needed (Debian package strace)"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"

note "system call order"
# (LeakSanitizer cannot run under ptrace.)
ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$T/trace" -e trace=openat,rename,renameat,renameat2 \
	"$CAIRN" -c "$T/c.conf" backup --time '2026-06-01 03:15:00' >"$T/out" 2>&1 ||
	{ cat "$T/out"; fail "traced backup"; }
"$PY" - "$T/trace" "$A/mss-backup-2026-06-01_031500.tar.zst" <<'EOF' ||
import sys
lines = open(sys.argv[1], errors="replace").read().splitlines()
final = sys.argv[2]
part = final.rsplit("/", 1)
part = part[0] + "/." + part[1] + ".partial"
def first(pred, what):
    for i, l in enumerate(lines):
        if pred(l):
            return i
    sys.exit("no " + what)
def renamed_to(p):
    return lambda l: "rename" in l and ('"%s")' % p in l or '"%s",' % p in l) \
        and l.rstrip().endswith("= 0")
arch = first(renamed_to(final), "rename to the archive")
side = first(renamed_to(final + ".sha256"), "rename to the .sha256")
man = first(renamed_to(final + ".manifest"), "rename to the .manifest")
wr = first(lambda l: "openat" in l and '"%s"' % part in l and "O_WRONLY" in l,
           "open of the .partial for writing")
rd = None
for i in range(wr + 1, len(lines)):
    l = lines[i]
    if "openat" in l and '"%s"' % part in l and "O_RDONLY" in l:
        rd = i
        break
if rd is None:
    sys.exit("the .partial is never read back")
if not side < arch:
    sys.exit("archive renamed before its .sha256")
if not man < arch:
    sys.exit("archive renamed before its .manifest")
if not rd < arch:
    sys.exit("archive renamed before it was read back")
EOF
	{ grep -E 'rename|partial' "$T/trace" >&2; fail "publish order"; }

# No final-named archive without its sidecar.
sidecars() {
	local f
	for f in "$A"/mss-backup-2*.tar.zst; do
		[ -f "$f.sha256" ] || fail "$1: $f has no .sha256: $(ls -A "$A")"
	done
}

pid=
# crash WHEN FILE: kill -9 once FILE exists, then check and clean up.
crash() {
	local n=$1 file=$2 i=0
	CAIRN_PUBLISH_PAUSE=5 "$CAIRN" -c "$T/c.conf" backup --time "2026-06-0$n 03:15:00" >"$T/crash.out" 2>&1 &
	pid=$!
	until [ -e "$A/$file" ]; do
		i=$((i + 1))
		[ $i -le 1200 ] || fail "never saw $file"
		kill -0 "$pid" 2>/dev/null || { cat "$T/crash.out"; fail "ended before $file"; }
		sleep 0.05
	done
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
	sidecars "killed at $file"
	expect_rc 0 "$CAIRN" -c "$T/c.conf" verify latest
	out_has "2026-06-01"
	expect_rc 0 "$CAIRN" -c "$T/c.conf" list
	grep -q "2026-06-0$n" "$T/out" && fail "list shows the killed run's archive"
	# The next run removes what the killed one left.
	expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --no-targets --time "2026-06-0$n 04:00:00"
	[ -z "$(ls -A "$A" | grep -E '^\.|2026-06-0'"$n"'_031500' || true)" ] ||
		fail "killed at $file: left $(ls -A "$A")"
	rm -f "$A"/mss-backup-2026-06-0"$n"_040000.tar.zst*
	ln -sf mss-backup-2026-06-01_031500.tar.zst "$A/mss-backup-latest.tar.zst"
	sidecars "after the next run"
}
note "kill -9 before the manifest is renamed"
crash 2 .mss-backup-2026-06-02_031500.tar.zst.sha256.partial
note "kill -9 after the manifest, before the sidecar"
crash 3 mss-backup-2026-06-03_031500.tar.zst.manifest
note "kill -9 after the sidecar, before the archive"
crash 4 mss-backup-2026-06-04_031500.tar.zst.sha256
echo "backup-publish-order: ok"

#!/bin/bash
# The read-back check of a new archive overlaps its writing: each
# stretch, once written, is forced to disk (sync_file_range), dropped
# from the cache and read back by a thread while the rest is still being
# compressed, instead of one more pass over the whole archive at the
# end. Proven from the system calls: the first read of the archive comes
# before its last write, every byte is read back, and the result is the
# archive sha256sum -c accepts.
source "$TOP_SRCDIR/tests/lib.sh"
command -v strace >/dev/null || fail "strace is needed (Debian package strace)"

S=$T/src A=$T/archive
dataset "$S" 20
mss_conf "$T/c.conf" "$S" "$A" "$T/state"

# (LeakSanitizer cannot run under ptrace.)
ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$T/trace" \
	-e trace=openat,write,pread64,sync_file_range,fsync \
	"$CAIRN" -c "$T/c.conf" backup --time '2026-06-01 03:15:00' \
	>"$T/out" 2>&1 || { cat "$T/out"; fail "traced backup"; }
a=$A/mss-backup-2026-06-01_031500.tar.zst
[ "$(stat -c %s "$a")" -gt $((12 << 20)) ] || fail "test setup: archive too small"
(cd "$A" && sha256sum -c --quiet "$(basename "$a").sha256") ||
	fail "sha256sum -c"
python3 - "$T/trace" "$a" "$(stat -c %s "$a")" <<'PY' || fail "read-back order"
import re, sys
lines = open(sys.argv[1], errors="replace").read().splitlines()
d, b = sys.argv[2].rsplit("/", 1)
part, size = '"%s/.%s.partial"' % (d, b), int(sys.argv[3])
wfd = rfd = None
first_read = last_write = None
got = 0
pending = {}
for i, l in enumerate(lines):
    m = re.search(r'openat\(AT_FDCWD, (".*?"), ([A-Z_|]+).*= (\d+)$', l)
    if m and m.group(1) == part:
        if "O_RDONLY" in m.group(2) and rfd is None:
            rfd = m.group(3)
        elif "O_RDONLY" not in m.group(2) and wfd is None:
            wfd = m.group(3)
        continue
    # a thread's call may be split: "pread64(7, <unfinished ...>" and,
    # later, "<... pread64 resumed>...) = N" from the same pid
    pid, at = l.split()[0], i
    m = re.search(r'\b(write|pread64)\((\d+), .*<unfinished \.\.\.>$', l)
    if m:
        pending[pid] = (m.group(1), m.group(2), i)
        continue
    m = re.search(r'<\.\.\. (write|pread64) resumed>.*= (\d+)$', l)
    if m and pid in pending:
        call, fd, at = pending.pop(pid)
        n = m.group(2)
    else:
        m = re.search(r'\b(write|pread64)\((\d+),.*= (\d+)$', l)
        if not m:
            continue
        call, fd, n = m.groups()
    if call == "write" and fd == wfd:
        last_write = at
    if call == "pread64" and fd == rfd:
        first_read = at if first_read is None else first_read
        got += int(n)
assert wfd and rfd, (wfd, rfd)
assert first_read is not None and last_write is not None
assert first_read < last_write, "read back only after the last write"
assert got == size, "read back %d of %d bytes" % (got, size)
PY

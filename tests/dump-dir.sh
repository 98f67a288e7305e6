#!/bin/bash
# `cairn dump ARCHIVE DIR` writes a tar of the subtree to stdout, as
# restic dump does: stock tar extracts it to the source's tree (files,
# modes, times), from a full archive and from an incremental whose
# unchanged files its INDEX carries in the full; a file still dumps its
# bytes, and a terminal gets no tar.
. "$TOP_SRCDIR/tests/lib.sh"
export TZ=UTC
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"

S=$T/src A=$T/arch
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$T/state"
sed -i 's/^keep_last = 7$/keep_last = 7\nincremental = yes\nframe_size = 64K/' "$T/c.conf"
C="$CAIRN -c $T/c.conf"
tree() { (cd "$1" && find Sounds -printf '%P %y %m %s %Ts\n' | sort &&
	  find Sounds -type f -exec sha256sum {} + | sort); }

expect_rc 0 $C backup --time "2026-03-01 03:15:00"
FULL=mss-backup-2026-03-01_031500.tar.zst
note "dump $FULL Sounds | tar -x"
$C dump "$FULL" Sounds >"$T/full.tar" || fail "dump of a directory failed"
mkdir "$T/x1" && tar -xf "$T/full.tar" -C "$T/x1" || fail "tar -x failed"
tree "$S" >"$T/want"
tree "$T/x1" >"$T/got"
diff "$T/want" "$T/got" >&2 || fail "the dumped tree differs"
tar -tf "$T/full.tar" | grep -qv '^Sounds' && fail "members outside Sounds"

echo one >"$S/Sounds/one.wav"
expect_rc 0 $C backup --time "2026-03-02 03:15:00"
INCR=mss-backup-2026-03-02_031500.incr.tar.zst
note "dump $INCR Sounds/uploads/: files the full holds"
$C dump "$INCR" Sounds/ >"$T/incr.tar" || fail "dump of the incremental failed"
mkdir "$T/x2" && tar -xf "$T/incr.tar" -C "$T/x2" || fail "tar -x failed"
tree "$S" >"$T/want"
tree "$T/x2" >"$T/got"
diff "$T/want" "$T/got" >&2 || fail "the incremental's dumped tree differs"
$C dump "$INCR" Sounds/one.wav | cmp - "$S/Sounds/one.wav" || fail "file dump"
echo PASS

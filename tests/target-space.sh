#!/bin/bash
# A target with room for the archive but not for its sidecars refuses the
# send before writing anything; a send that fails after the archive went
# (here: a sidecar cannot be renamed into place) removes what it put. In
# both cases the target is left as it was, and a later send works.
. "$TOP_SRCDIR/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
TINY=$T/tiny
trap 'st=$?; umount "$TINY" 2>/dev/null || true; rm -rf "$T"; exit $st' EXIT

dataset "$T/src" 2
# Many members make a manifest of tens of KiB, so "the archive fits, its
# manifest does not" is a window of several pages.
mkdir "$T/src/Sounds/many"
for i in $(seq 1 400); do
	echo "$i" >"$T/src/Sounds/many/take-$i-of-a-long-session-name.wav"
done
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"

note "sizes of one backup"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --no-targets
a=$(ls "$T"/arch/mss-backup-2*.tar.zst)
S=$(stat -c %s "$a")
M=$(stat -c %s "$a.manifest")
[ "$M" -gt 16384 ] || fail "manifest only $M bytes; the test needs more"

note "room for the archive, not its manifest: refused, nothing left"
mkdir "$TINY"
mount -t tmpfs -o size=$((S + M / 2)) tmpfs "$TINY" ||
	fail "cannot mount a tmpfs"
run() { env CAIRN_TARGET_T_PLUGIN=local CAIRN_TARGET_T_PATH="$TINY/copy" \
	"$CAIRN" -c "$T/c.conf" "$@"; }
expect_rc 4 run backup
out_has "target t failed: .*free"
if [ -n "$(ls -A "$TINY/copy")" ]; then
	ls -la "$TINY/copy"
	fail "the failed send left files on the target"
fi

note "the next, smaller, send fits and works"
rm -rf "$T/src/Sounds/many"
expect_rc 0 run backup
n=$(ls "$TINY"/copy/mss-backup-2*.tar.zst | wc -l)
[ "$n" = 1 ] || fail "target holds $n archives, want 1"
(cd "$TINY/copy" && sha256sum -c --quiet ./*.sha256) ||
	fail "target copy does not check out"
[ -z "$(ls -A "$TINY/copy" | grep partial)" ] || fail "temporary left"
umount "$TINY"

note "a sidecar that cannot be put: the archive sent before it goes too"
C=$T/copy
mkdir -p "$C"
when='2026-03-01 03:15:00'
name=mss-backup-$(TZ=UTC date -d "$when" +%Y-%m-%d_%H%M%S).tar.zst
# A non-empty directory under the .sha256's name: its rename must fail.
mkdir -p "$C/$name.sha256/x"
expect_rc 4 env TZ=UTC CAIRN_TARGET_T_PLUGIN=local CAIRN_TARGET_T_PATH="$C" \
	"$CAIRN" -c "$T/c.conf" backup --time "$when"
[ -f "$T/arch/$name" ] || fail "no local $name (name mismatch?)"
ls -A "$C" >"$T/left"
[ "$(cat "$T/left")" = "$name.sha256" ] ||
	{ cat "$T/left"; fail "the failed send left files on the target"; }
out_has "target t failed"
out_has "removed $name of the failed send"
rm -rf "$C/$name.sha256"
expect_rc 0 env CAIRN_TARGET_T_PLUGIN=local CAIRN_TARGET_T_PATH="$C" \
	"$CAIRN" -c "$T/c.conf" backup
(cd "$C" && sha256sum -c --quiet ./*.sha256) || fail "copy does not check out"
echo "target-space: ok"

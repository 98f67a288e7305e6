#!/bin/bash
# A chain with a bad link: verify (and verify --deep) of an incremental
# checks every archive it needs and names the one that is corrupt or
# gone; the next backup is then a full one. full_every as a count, and
# backup --full, start new chains too.
. "$TOP_SRCDIR/tests/lib.sh"
export TZ=UTC

S=$T/src A=$T/arch
dataset "$S" 4
KEEP_LAST=20 mss_conf "$T/c.conf" "$S" "$A" "$T/state"
sed -i 's/^keep_last = 20$/keep_last = 20\nincremental = yes\nfull_every = 3/' "$T/c.conf"
C="$CAIRN -c $T/c.conf"
kinds() { ls "$A" | sed -n 's/^mss-backup-2026-01-\([0-9]*\)_031500\(\.incr\)\{0,1\}\.tar\.zst$/\1\2/p' | tr '\n' ' '; }

note "full_every = 3: a full and two incrementals per chain"
for d in 01 02 03 04; do
	echo "night $d" >"$S/Sounds/n$d.wav"
	expect_rc 0 $C backup --time "2026-01-$d 03:15:00"
done
[ "$(kinds)" = "01 02.incr 03.incr 04 " ] || fail "kinds: $(kinds)"

note "backup --full starts a chain at once"
expect_rc 0 $C backup --full --time "2026-01-05 03:15:00"
out_has "a full archive: --full"
expect_rc 0 $C backup --time "2026-01-06 03:15:00"
[ "$(kinds)" = "01 02.incr 03.incr 04 05 06.incr " ] || fail "kinds: $(kinds)"

note "verify and verify --deep of a sound incremental check its base"
expect_rc 0 $C verify
out_has "mss-backup-2026-01-06_031500.incr.tar.zst: 1 older archive it needs: OK"
expect_rc 0 $C verify --deep
out_has "1 older archive it needs: OK"

note "a corrupt base: verify --deep of the incremental names it; the next night is full"
f=$A/mss-backup-2026-01-05_031500.tar.zst
cp -p "$f" "$T/good"
# Same size, one byte in the middle of the data: the sidecar catches it.
printf 'Z' | dd of="$f" bs=1 seek=$(( $(stat -c %s "$f") / 2 )) conv=notrunc status=none
expect_rc 1 $C verify --deep
out_has "mss-backup-2026-01-06_031500.incr.tar.zst needs mss-backup-2026-01-05_031500.tar.zst"
expect_rc 0 $C list
out_has "mss-backup-2026-01-05_031500.tar.zst .*CORRUPT"
cp -p "$T/good" "$f"   # (the record now is stale: the file changed)
printf 'Z' | dd of="$f" bs=1 seek=$(( $(stat -c %s "$f") / 2 )) conv=notrunc status=none
expect_rc 1 $C verify mss-backup-2026-01-05_031500.tar.zst
expect_rc 0 $C backup --time "2026-01-07 03:15:00"
out_has "a full archive: an archive of the chain failed verify"
[ -f "$A/mss-backup-2026-01-07_031500.tar.zst" ] || fail "night 7 not full: $(kinds)"

note "a deleted base: verify names it, the next night is full"
expect_rc 0 $C backup --time "2026-01-08 03:15:00"
[ -f "$A/mss-backup-2026-01-08_031500.incr.tar.zst" ] || fail "night 8 not incremental: $(kinds)"
rm "$A/mss-backup-2026-01-07_031500.tar.zst"
expect_rc 1 $C verify
out_has "mss-backup-2026-01-07_031500.tar.zst, which mss-backup-2026-01-08_031500.incr.tar.zst needs for [0-9]+ files, is missing"
expect_rc 0 $C backup --time "2026-01-09 03:15:00"
out_has "a full archive"
[ -f "$A/mss-backup-2026-01-09_031500.tar.zst" ] || fail "night 9 not full: $(kinds)"

note "an incremental of the chain deleted, no verify: the backup itself sees the gap"
echo ten >"$S/Sounds/n10.wav"
expect_rc 0 $C backup --time "2026-01-10 03:15:00"
expect_rc 0 $C backup --time "2026-01-11 03:15:00"
[ "$(kinds)" = "01 02.incr 03.incr 04 05 06.incr 08.incr 09 10.incr 11.incr " ] || fail "kinds: $(kinds)"
rm "$A"/mss-backup-2026-01-10_031500.incr.tar.zst*
expect_rc 0 $C backup --time "2026-01-12 03:15:00"
out_has "a full archive: mss-backup-2026-01-10_031500.incr.tar.zst, which mss-backup-2026-01-11_031500.incr.tar.zst builds on, is missing"
[ -f "$A/mss-backup-2026-01-12_031500.tar.zst" ] || fail "night 12 not full: $(kinds)"

#!/bin/bash
# An incremental whose one changed file is small and is followed by
# thousands of unchanged ones: the writer does not hold every carried
# index record until that file's frame ends (it ends the frame early),
# and the archive, its INDEX and its .index stay exact: verify --deep
# passes, the INDEX member equals the sidecar, and a full restore of the
# night gives back the tree; the next night finds every file unchanged.
. "$TOP_SRCDIR/tests/lib.sh"

S=$T/src A=$T/arch
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$T/state"
sed -i 's/^keep_last = 7$/keep_last = 7\nincremental = yes/' "$T/c.conf"
C="$CAIRN -c $T/c.conf"
mkdir -p "$S/Sounds/aaa" "$S/Sounds/zzz"
echo first >"$S/Sounds/aaa/first.wav"
(cd "$S/Sounds/zzz" && for i in $(seq 1 6000); do echo "$i" >"f$i.wav"; done)

note "night 1: full"
expect_rc 0 $C backup --time "2026-01-01 03:15:00"
note "night 2: one small change before 6000 unchanged files"
echo changed >"$S/Sounds/aaa/first.wav"
expect_rc 0 $C backup --time "2026-01-02 03:15:00"
i2=$A/mss-backup-2026-01-02_031500.incr.tar.zst
[ -f "$i2" ] || fail "no incremental: $(ls "$A")"
tar -tf "$i2" | grep -q '^Sounds/zzz/f1\.wav$' &&
	fail "an unchanged file was stored again"
tar -xOf "$i2" INDEX | cmp -s - "$i2.index" ||
	fail "the INDEX member differs from the .index sidecar"
n=$(grep -c 'Sounds/zzz/f' "$i2.index")
[ "$n" = 6000 ] || fail "the index names $n of the 6000 unchanged files"
expect_rc 0 $C verify --deep latest
out_has "index matches the archive"

note "night 3: nothing changed, nothing stored again (the index is in order)"
expect_rc 0 $C backup --time "2026-01-03 03:15:00"
i3=$A/mss-backup-2026-01-03_031500.incr.tar.zst
tar -tf "$i3" | grep '^Sounds/.*\.wav$' >"$T/again" &&
	fail "an unchanged night stored $(wc -l <"$T/again") files again"

note "a full restore of night 3 is the tree"
expect_rc 0 $C restore full --yes --to "$T/r"
diff <(tree_state "$S/Sounds") <(tree_state "$T/r/Sounds") ||
	fail "restored Sounds differ"
[ "$(cat "$T/r/Sounds/zzz/f4097.wav")" = 4097 ] || fail "f4097 content"
echo "PASS"

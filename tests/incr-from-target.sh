#!/bin/bash
# restore --from TARGET of an incremental, the local disk gone: the
# archives its INDEX names are fetched from the target too, each checked
# against its sidecar, and the tree of the night comes back; a target
# that lacks one names it and nothing is written.
. "$TOP_SRCDIR/tests/lib.sh"
export TZ=UTC

S=$T/src A=$T/arch
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$T/state"
sed -i 's/^keep_last = 7$/keep_last = 7\nincremental = yes/' "$T/c.conf"
cat >>"$T/c.conf" <<EOC

[target copy]
plugin = local
path = $T/copy
keep_last = 3
EOC
C="$CAIRN -c $T/c.conf"

expect_rc 0 $C backup --time "2026-03-01 03:15:00"
echo one >"$S/Sounds/one.wav"
expect_rc 0 $C backup --time "2026-03-02 03:15:00"
echo two >"$S/Sounds/two.wav"
rm "$S/Sounds/uploads/sound_0002.wav"
expect_rc 0 $C backup --time "2026-03-03 03:15:00"
ls "$T/copy" | grep -q '2026-03-03_031500.incr.tar.zst$' || fail "target: $(ls "$T/copy")"
(cd "$S" && find Sounds config -printf '%P %y %m %s %Ts\n' | sort; find Sounds config -type f -exec sha256sum {} + | sort) >"$T/want"

note "the local archives lost: restore full --from copy --to"
rm -rf "$A"
expect_rc 0 $C restore full --from copy --to "$T/r" --yes
out_has "fetching mss-backup-2026-03-01_031500.tar.zst"
(cd "$T/r" && find Sounds config -printf '%P %y %m %s %Ts\n' | sort; find Sounds config -type f -exec sha256sum {} + | sort) >"$T/got"
diff "$T/want" "$T/got" >&2 || fail "tree from the target differs"

note "the target lacks the full: named, nothing written"
rm -rf "$A"
mv "$T/copy/mss-backup-2026-03-01_031500.tar.zst" "$T/away"
expect_rc 1 $C restore full --from copy --to "$T/r2" --yes
out_has "mss-backup-2026-03-01_031500.tar.zst"
[ ! -e "$T/r2" ] || [ -z "$(ls -A "$T/r2")" ] || fail "restore wrote into $T/r2"

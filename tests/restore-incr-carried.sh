#!/bin/bash
# An incremental's INDEX records that name an older archive (its
# unchanged files) are followed by restore --path, dump and ls, which
# read those bytes from that archive by seeking: a damaged frame of the
# older archive that the file does not need changes nothing. A seek of
# the incremental itself that fails its checks falls back to reading it
# whole without losing what the older archive staged; a missing older
# archive is named and nothing is written.
. "$TOP_SRCDIR/tests/lib.sh"
export TZ=UTC
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"

S=$T/src A=$T/arch
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$T/state"
sed -i 's/^keep_last = 7$/keep_last = 7\nincremental = yes\nframe_size = 64K/' "$T/c.conf"
cat >>"$T/c.conf" <<EOC

[target copy]
plugin = local
path = $T/copy
keep_last = 7
EOC
C="$CAIRN -c $T/c.conf"

corrupt() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %o $(( (b + 1) % 256 )))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
resha() {
	(cd "$(dirname "$1")" && b=$(basename "$1") &&
	 sha256sum "$b" "$b.manifest" "$b.index" >"$b.sha256")
}

expect_rc 0 $C backup --time "2026-03-01 03:15:00"
echo one >"$S/Sounds/one.wav"
expect_rc 0 $C backup --time "2026-03-02 03:15:00"
FULL=$A/mss-backup-2026-03-01_031500.tar.zst
INCR=$A/mss-backup-2026-03-02_031500.incr.tar.zst
[ -f "$INCR" ] || fail "no incremental: $(ls "$A")"
wav=Sounds/uploads/sound_0002.wav
held=$(awk -F'\t' -v p="$wav" '$2 == p { print $20 }' "$INCR.index")
[ "$held" = "$(basename "$FULL")" ] || fail "$wav is held by '$held'"

note "ls and dump of a file the incremental carries"
expect_rc 0 $C ls "$(basename "$INCR")" "$wav"
out_has "$wav"
$C dump "$(basename "$INCR")" "$wav" >"$T/dumped" || fail "dump failed"
cmp "$T/dumped" "$S/$wav" || fail "dump of $wav differs"

note "restore --path of it seeks in the full: a frame it does not need is damaged"
cp "$FULL" "$T/full.good"
other=$(awk -F'\t' '$2 == "Sounds/uploads/sound_0000.wav" { print $17 }' "$FULL.index")
mine=$(awk -F'\t' -v p="$wav" '$2 == p { print $17 }' "$FULL.index")
[ "$other" != "$mine" ] || fail "one frame for both wavs"
corrupt "$FULL" $((other + 100))
expect_rc 0 $CAIRN -v -c "$T/c.conf" restore --path "$wav" --to "$T/r1" --yes
out_has "$(basename "$FULL"): reading [0-9]+ frames"
cmp "$T/r1/$wav" "$S/$wav" || fail "$wav differs"
$C dump "$(basename "$INCR")" "$wav" | cmp - "$S/$wav" ||
	fail "dump through a damaged frame it does not need"
cp "$T/full.good" "$FULL"

note "the incremental's own seek fails: the whole of it, the full's files kept"
cp "$INCR.index" "$T/incr.index"
awk -F'\t' -v OFS='\t' '$2 == "Sounds/one.wav" { $3 = $3 + 1 } { print }' \
	"$T/incr.index" >"$INCR.index"
resha "$INCR"
expect_rc 0 $C restore audio --to "$T/r2" --yes
out_has "reading the whole archive"
diff -r "$S/Sounds" "$T/r2/Sounds" >&2 || fail "audio differs after the fall-back"
cp "$T/incr.index" "$INCR.index"
resha "$INCR"

note "from the target, the local disk gone: the full's frames only"
mkdir "$T/keep" && cp "$A"/mss-backup-2* "$T/keep/"
rm -rf "$A"
expect_rc 0 $CAIRN -v -c "$T/c.conf" restore --path "$wav" --from copy \
	--to "$T/r4" --yes
cmp "$T/r4/$wav" "$S/$wav" || fail "$wav from the target differs"
got=$(sed -n 's/.*of 1 older archives by ranged gets (\([0-9]*\) bytes).*/\1/p' "$T/out")
frames=$(awk -F'\t' -v p="$wav" 'NR > 2 && $1 != "end" &&
	($2 == p || index(p, $2 "/") == 1) && !seen[$17]++ { s += $18 }
	END { print s + 0 }' "$T/keep/$(basename "$FULL").index")
note "read $got bytes of the full ($(stat -c %s "$T/keep/$(basename "$FULL")")), its frames $frames"
[ -n "$got" ] && [ "$got" -le "$frames" ] || fail "read '$got' bytes of the full, frames $frames"
mkdir -p "$A" && cp "$T/keep"/* "$A/"

note "the full missing: named, nothing written"
mv "$FULL" "$T/away"
expect_rc 1 $C restore --path "$wav" --to "$T/r3" --yes
out_has "$(basename "$FULL")"
[ ! -e "$T/r3" ] || [ -z "$(ls -A "$T/r3")" ] || fail "restore wrote into $T/r3"
expect_rc 1 $C dump "$(basename "$INCR")" "$wav"
out_has "$(basename "$FULL").*missing"
echo PASS

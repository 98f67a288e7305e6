# Seekable restores (issue 14): a mode is restored from the frames that
# hold its members, found in the .index, whatever its place in the
# archive. Proof: a frame the mode does not need is damaged, and the
# restore still succeeds with the right bytes (a full read would fail on
# it); the mode whose frame is damaged fails, touching nothing. An index
# that fails its checksum, or one that passes it but lies about where
# members are, is not trusted: the restore reads the whole archive (its
# hash checked first) and gets the right bytes. An old single-frame
# archive without an index restores sequentially. gzip as well.
source "$TOP_SRCDIR/tests/lib.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
command -v strace >/dev/null || fail "strace is needed (Debian package strace)"

S=$T/src
dataset "$S" 4

# corrupt FILE OFFSET: one byte changed.
corrupt() {
	local b
	b=$(dd if="$1" bs=1 skip="$2" count=1 status=none | od -An -tu1 | tr -d ' ')
	printf "\\$(printf %o $(( (b + 1) % 256 )))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# resha ARCHIVE: a .sha256 sidecar matching the files as they are now.
resha() {
	(cd "$(dirname "$1")" && b=$(basename "$1") &&
	 sha256sum "$b" "$b.manifest" $( [ -f "$b.index" ] && echo "$b.index") >"$b.sha256")
}
# The frame (offset) of a member, from the index.
frame_of() { awk -F'\t' -v p="$2" '$2 == p { print $17 }' "$1.index"; }

for comp in zstd gzip; do
	A=$T/a-$comp ST=$T/st-$comp
	COMPRESSION=$comp mss_conf "$T/$comp.conf" "$S" "$A" "$ST"
	sed -i 's/^keep_last = .*/&\nframe_size = 64K/' "$T/$comp.conf"
	expect_rc 0 "$CAIRN" -c "$T/$comp.conf" backup
	arch=$(ls "$A"/mss-backup-2*.tar.* | grep -v '\.\(sha256\|manifest\|index\)$')
	cp "$arch" "$T/good"
	mkdir "$T/ref-$comp"
	tar -xf "$arch" -C "$T/ref-$comp"

	note "$comp: audio restored with a damaged frame before it"
	# The first member after the database lies between it and Sounds.
	first=$(awk -F'\t' 'NR > 3 && $1 == "f" { print $2; exit }' "$arch.index")
	case $first in Sounds/*) fail "no member between the db and Sounds";; esac
	fo=$(frame_of "$arch" "$first")
	for w in $(awk -F'\t' '$2 ~ /^Sounds\// { print $17 }' "$arch.index"); do
		[ "$w" != "$fo" ] || fail "$first shares a frame with Sounds"
	done
	corrupt "$arch" $((fo + 20))
	expect_rc 0 "$CAIRN" -v -c "$T/$comp.conf" restore audio --to "$T/r-$comp"
	out_has "reading [0-9]+ frames"
	diff -r "$T/ref-$comp/Sounds" "$T/r-$comp/Sounds" || fail "audio differs"
	expect_rc 0 "$CAIRN" -c "$T/$comp.conf" restore db --to "$T/d-$comp"
	cmp "$T/ref-$comp/data/sound_machine.db" "$T/d-$comp/data/sound_machine.db" ||
		fail "db differs"

	note "$comp: the damaged frame's own member fails, nothing restored"
	rm -rf "$T/r2"
	expect_rc 1 "$CAIRN" -c "$T/$comp.conf" restore full --to "$T/r2"
	out_has "does not match its checksum"
	out_has "live data untouched|nothing was restored"
	[ ! -e "$T/r2/Sounds" ] || fail "a failed restore left files"
	cp "$T/good" "$arch"

	note "$comp: an index failing its checksum is not used"
	cp "$arch.index" "$T/good.index"
	sed -i '3s/\t0644\t/\t0600\t/' "$arch.index"
	cmp -s "$arch.index" "$T/good.index" && fail "index not changed"
	expect_rc 0 "$CAIRN" -c "$T/$comp.conf" restore audio --to "$T/r3-$comp"
	out_has "reading the whole archive"
	diff -r "$T/ref-$comp/Sounds" "$T/r3-$comp/Sounds" || fail "audio differs"

	note "$comp: an index that passes its checksum but lies"
	# Sounds' first file moved to the frame of another member.
	wav=$(awk -F'\t' '$2 ~ /^Sounds\/uploads\/.*\.wav$/ { print $2; exit }' "$T/good.index")
	awk -F'\t' -v OFS='\t' -v w="$wav" -v f="$fo" \
		'$2 == w { $17 = f } { print }' "$T/good.index" >"$arch.index"
	resha "$arch"
	expect_rc 0 "$CAIRN" -c "$T/$comp.conf" restore audio --to "$T/r4-$comp"
	out_has "not where the index says|not in the archive|frame|damaged"
	out_has "reading the whole archive"
	diff -r "$T/ref-$comp/Sounds" "$T/r4-$comp/Sounds" || fail "audio differs"
	# A size that is not the member's.
	awk -F'\t' -v OFS='\t' -v w="$wav" '$2 == w { $3 = $3 + 1 } { print }' \
		"$T/good.index" >"$arch.index"
	resha "$arch"
	expect_rc 0 "$CAIRN" -c "$T/$comp.conf" restore audio --to "$T/r6-$comp"
	out_has "$wav is not where the index says; reading the whole archive"
	diff -r "$T/ref-$comp/Sounds" "$T/r6-$comp/Sounds" || fail "audio differs"
	cp "$T/good.index" "$arch.index"
	resha "$arch"
done

note "restore --path reads the index and the manifest once, as checked"
A=$T/a-zstd
arch=$(ls "$A"/mss-backup-2*.tar.zst)
wav=$(awk -F'\t' '$2 ~ /^Sounds\/uploads\/.*\.wav$/ { print $2; exit }' \
	"$arch.index")
ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$T/trace" -e trace=openat \
	"$CAIRN" -c "$T/zstd.conf" restore --path "$wav" --to "$T/r7" \
	>"$T/out" 2>&1 || { cat "$T/out"; fail "restore --path under strace"; }
cmp "$T/ref-zstd/$wav" "$T/r7/$wav" || fail "$wav differs"
for f in index manifest; do
	n=$(grep -c "\"$arch\.$f\", .* = [0-9]" "$T/trace" || true)
	[ "$n" = 1 ] || fail "$arch.$f opened $n times, not once"
done

note "an old single-frame archive without an index"
A=$T/a-zstd
arch=$(ls "$A"/mss-backup-2*.tar.zst)
zstd -dcq "$arch" | zstd -q -c >"$T/one.tar.zst"
mv "$T/one.tar.zst" "$arch"
rm "$arch.index"
resha "$arch"
zstd -lv "$arch" 2>&1 | grep -q '^# Zstandard Frames: 1$' || fail "not one frame"
expect_rc 0 "$CAIRN" -v -c "$T/zstd.conf" restore audio --to "$T/r5"
grep -q "reading [0-9]* frames" "$T/out" && fail "seeking without an index"
diff -r "$T/ref-zstd/Sounds" "$T/r5/Sounds" || fail "audio differs"

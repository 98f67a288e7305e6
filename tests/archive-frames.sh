# Seekable archives (issue 14): the compressed stream is a series of
# independent frames (zstd frames, gzip members) cut at member
# boundaries, and stock tools read it unchanged: tar --zstd -xf / tar
# -xzf, zstd -d, gzip -d, sha256sum -c. The .index sidecar (covered by
# .sha256, the same bytes as the last member INDEX) places every member:
# each file, cut from the archive by its frame's offset and length with
# head/tail and decompressed alone by zstd or gzip, has its manifest hash.
# frame_size groups small members and gives big ones frames of their own.
source "$TOP_SRCDIR/tests/lib.sh"

S=$T/src
dataset "$S" 4
# Members big and small: a 300 KiB file, tiny ones, an empty one.
head -c 307200 /dev/urandom >"$S/Sounds/big.wav"
for i in 1 2 3 4 5 6; do echo "tiny $i" >"$S/config/t$i.conf"; done
: >"$S/config/empty.conf"

# cut_bytes FILE OFFSET LENGTH: the SHA-256 of those bytes.
cut_bytes() {
	dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" \
		status=none | sha256sum | cut -c1-64
}
# frames ARCHIVE DECOMPRESSOR: check every file member of the index.
frames() {
	local a=$1 dec=$2 n=0
	awk -F'\t' '$1 == "f" { print $17, $18, $19, $16, $3, $13 }' \
		"$a.index" >"$T/recs"
	while read -r off len uoff data size sha; do
		dd if="$a" iflag=skip_bytes,count_bytes skip="$off" \
			count="$len" status=none | $dec >"$T/frame"
		got=$(cut_bytes "$T/frame" $((data - uoff)) "$size")
		[ "$got" = "$sha" ] || fail "member at $data: frame gives $got"
		n=$((n + 1))
	done <"$T/recs"
	[ "$n" -gt 10 ] || fail "only $n file records in $a.index"
}

for comp in zstd gzip; do
	note "$comp: backup with frame_size = 64K"
	A=$T/a-$comp ST=$T/st-$comp
	COMPRESSION=$comp mss_conf "$T/$comp.conf" "$S" "$A" "$ST"
	sed -i 's/^keep_last = .*/&\nframe_size = 64K/' "$T/$comp.conf"
	expect_rc 0 "$CAIRN" -c "$T/$comp.conf" backup
	ext=$([ $comp = zstd ] && echo zst || echo gz)
	arch=$(ls "$A"/mss-backup-2*.tar.$ext)
	[ -f "$arch.index" ] || fail "no $arch.index"

	note "$comp: the index: header, 20 fields a record, end line"
	head -1 "$arch.index" | grep -qx "cairn-index 1 compression=$comp frame_size=65536" ||
		fail "index header: $(head -1 "$arch.index")"
	awk -F'\t' 'NR > 2 && $1 != "end" && NF != 20 { exit 1 }' "$arch.index" ||
		fail "a record without 20 fields"
	recs=$(grep -c '^[fdlh]	' "$arch.index")
	tail -1 "$arch.index" | grep -qx "end	$recs" || fail "end line"
	grep -q '^f	Sounds/big.wav	307200	' "$arch.index" || fail "records"

	note "$comp: several frames; big members alone, small ones grouped"
	nframes=$(awk -F'\t' 'NR > 2 && $1 != "end" { print $17 }' "$arch.index" | sort -u | wc -l)
	[ "$nframes" -ge 5 ] || fail "only $nframes frames"
	big=$(awk -F'\t' '$2 == "Sounds/big.wav" { print $17 }' "$arch.index")
	[ "$(awk -F'\t' -v f="$big" '$17 == f' "$arch.index" | wc -l)" = 1 ] ||
		fail "the big member shares its frame"
	tiny=$(awk -F'\t' '$2 == "config/t1.conf" { print $17 }' "$arch.index")
	[ "$(awk -F'\t' -v f="$tiny" '$17 == f' "$arch.index" | wc -l)" -ge 3 ] ||
		fail "small members not grouped"
	if [ $comp = zstd ]; then
		zstd -lv "$arch" >"$T/zl" 2>&1 || { cat "$T/zl"; fail "zstd -lv"; }
		zf=$(sed -n 's/^# Zstandard Frames: *//p' "$T/zl")
		[ "$zf" -gt "$nframes" ] || fail "zstd -lv: $zf frames"
	fi

	note "$comp: each member from its frame alone"
	if [ $comp = zstd ]; then frames "$arch" "zstd -dcq"; else frames "$arch" "gzip -dc"; fi

	note "$comp: stock tools"
	(cd "$A" && sha256sum --quiet -c "$(basename "$arch").sha256") ||
		fail "sha256sum -c"
	grep -q "  $(basename "$arch").index\$" "$arch.sha256" ||
		fail ".sha256 does not cover the index"
	mkdir "$T/x-$comp" "$T/y-$comp"
	if [ $comp = zstd ]; then
		tar --zstd -xf "$arch" -C "$T/x-$comp"
		zstd -dcq "$arch" >"$T/$comp.tar"
	else
		tar -xzf "$arch" -C "$T/x-$comp"
		gzip -dc "$arch" >"$T/$comp.tar"
	fi
	(cd "$T/x-$comp" && sha256sum --quiet -c MANIFEST.sha256) ||
		fail "tar -x: MANIFEST.sha256"
	cmp "$T/x-$comp/INDEX" "$arch.index" || fail "INDEX is not the sidecar"
	tar -xf "$T/$comp.tar" -C "$T/y-$comp"
	cmp "$T/y-$comp/Sounds/big.wav" "$S/Sounds/big.wav" || fail "big.wav"
	[ "$(tar -tf "$T/$comp.tar" | tail -1)" = INDEX ] || fail "INDEX not last"
	# Offsets of the uncompressed stream: a header at every hdr_off.
	awk -F'\t' '$1 == "f" && $3 > 0 { print $16, $3, $13 }' "$arch.index" |
		head -5 | while read -r data size sha; do
		got=$(cut_bytes "$T/$comp.tar" "$data" "$size")
		[ "$got" = "$sha" ] || fail "data_off $data in the tar stream"
	done
done

note "frame_size: bad values are config errors"
sed 's/^frame_size = .*/frame_size = 12X/' "$T/zstd.conf" >"$T/bad.conf"
chmod 600 "$T/bad.conf"
expect_rc 2 "$CAIRN" -c "$T/bad.conf" backup
out_has "bad value for 'frame_size'"
sed 's/^frame_size = .*/frame_size = 1K/' "$T/zstd.conf" >"$T/bad.conf"
expect_rc 2 "$CAIRN" -c "$T/bad.conf" backup
out_has "bad value for 'frame_size'"

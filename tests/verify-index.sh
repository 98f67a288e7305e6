# cairn verify checks the index against the archive (issue 14): every
# frame starts where the last ended and holds exactly the members its
# records name, at their offsets; INDEX, after the last frame, is the
# .index sidecar. An index that lies (its .sha256 line made to match)
# fails verify, naming the member; the intact one passes.
source "$TOP_SRCDIR/tests/lib.sh"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
for comp in zstd gzip none; do
	rm -rf "$A" "$ST"
	COMPRESSION=$comp mss_conf "$T/c.conf" "$S" "$A" "$ST"
	sed -i 's/^keep_last = .*/&\nframe_size = 64K/' "$T/c.conf"
	expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
	arch=$(ls "$A"/mss-backup-2*.tar* | grep -v '\.\(sha256\|manifest\|index\)$')
	b=$(basename "$arch")
	note "$comp: the intact index matches"
	expect_rc 0 "$CAIRN" -c "$T/c.conf" verify
	out_has "index matches the archive \([0-9]+ members\)"
	cp "$arch.index" "$T/good"
	reseal() { (cd "$A" && sha256sum "$b" "$b.manifest" "$b.index" >"$b.sha256"); }
	lie() {
		awk -F'\t' -v OFS='\t' "$1" "$T/good" >"$arch.index"
		reseal
		expect_rc 1 "$CAIRN" -c "$T/c.conf" verify
		out_has "the index does not match the archive"
	}
	note "$comp: lies are caught"
	lie '$2 == "config/wifi.conf" { $3 = $3 + 1 } { print }'
	out_has "config/wifi.conf"
	lie '$2 == "config/wifi.conf" { $15 = $15 + 512 } { print }'
	lie '$2 == "log/app.log" { $2 = "log/other.log" } { print }'
	lie '$2 == "log/app.log" { next } { print }'
	# A frame's length one byte short.
	lie 'NR > 2 && $1 != "end" && !done && $1 == "f" { $18 = $18 - 1; done = 1 } { print }'
	cp "$T/good" "$arch.index"
	reseal
	expect_rc 0 "$CAIRN" -c "$T/c.conf" verify
	expect_rc 0 "$CAIRN" -c "$T/c.conf" verify --deep
done

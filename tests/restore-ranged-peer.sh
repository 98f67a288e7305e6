# Ranged restores from a target (issue 14), sourced by
# tests/restore-ranged-ssh.sh and -s3.sh after their peer is up and
# "[target $TGT]" is in $CONF. The caller defines:
#   peer_reset        forget what the peer delivered so far
#   peer_bytes        bytes the peer delivered since (its own count)
#   peer_corrupt NAME OFFSET   change one byte of object NAME there
#   peer_put NAME FILE         object NAME there is FILE again
# Proof: `restore db --from` and `restore --path ONE_WAV --from`, the
# local disk gone, bring back the right bytes while the peer delivers
# no more than the members' frames, the index and sidecars and a small
# slack (a whole fetch would be the archive); a damaged frame on the
# target is an integrity error and the live data stays as it was; an
# index there failing its checksum makes the restore fetch it all.

S=$T/src A=$T/arch
SLACK=${SLACK:-65536}
# A peer that reads ahead past a range delivers up to READAHEAD times it.
READAHEAD=${READAHEAD:-1}

ranged_setup() {
	dataset "$S" 4
	mss_conf "$CONF" "$S" "$A" "$T/state"
	sed -i 's/^keep_last = 7$/keep_last = 7\nframe_size = 256K/' "$CONF"
}

# need PATH: compressed bytes of the frames holding PATH and the
# directories above it (the index's frame_off, frame_len).
need() {
	awk -F'\t' -v p="$1" 'NR > 2 && $1 != "end" &&
		($2 == p || index(p, $2 "/") == 1) && !seen[$17]++ {
			s += $18 } END { print s + 0 }' "$T/keep/$ARCH.index"
}

# check_fetched WHAT PATH: the peer's count against the budget.
check_fetched() {
	local got side budget
	got=$(peer_bytes)
	side=$(cat "$T/keep/$ARCH".{index,manifest,sha256} | wc -c)
	budget=$(( $(need "$2") * READAHEAD + side + SLACK ))
	note "$1: the peer delivered $got bytes; budget $budget, archive $SIZE"
	[ "$got" -gt 0 ] || fail "$1: the peer counted nothing"
	[ "$got" -le "$budget" ] ||
		fail "$1: $got bytes fetched, more than $budget (archive $SIZE)"
}

ranged_run() {
	C="$CAIRN -v -c $CONF"
	expect_rc 0 $C backup
	ARCH=$(cd "$A" && ls mss-backup-2*.tar.zst)
	SIZE=$(stat -c %s "$A/$ARCH")
	mkdir "$T/keep" "$T/ref"
	cp "$A/$ARCH"* "$T/keep/"
	tar -xf "$A/$ARCH" -C "$T/ref"
	wav=Sounds/uploads/sound_0002.wav
	[ $(( $(need $wav) * READAHEAD * 2 )) -lt "$SIZE" ] ||
		fail "the frames read are most of the archive"

	note "restore db --from $TGT, the local disk gone"
	rm -rf "$A"
	peer_reset
	expect_rc 0 $C restore db --from "$TGT" --to "$T/rdb" --yes
	out_has "read .* by ranged gets"
	cmp "$T/ref/data/sound_machine.db" "$T/rdb/data/sound_machine.db" ||
		fail "db differs"
	check_fetched "restore db" data/sound_machine.db
	# Sidecars without their archive are not kept in archive_dir.
	[ -z "$(ls "$A" 2>/dev/null | grep -v '^\.')" ] ||
		fail "archive_dir holds $(ls "$A")"

	note "restore --path $wav --from $TGT"
	peer_reset
	expect_rc 0 $C restore --path "$wav" --from "$TGT" --to "$T/rwav" \
		--yes
	cmp "$T/ref/$wav" "$T/rwav/$wav" || fail "$wav differs"
	[ "$(cd "$T/rwav" && find . -type f)" = "./$wav" ] ||
		fail "more than $wav restored: $(cd "$T/rwav" && find .)"
	check_fetched "restore --path" "$wav"

	note "an index on $TGT failing its checksum: the whole archive instead"
	peer_corrupt "$ARCH.index" 300
	expect_rc 0 $C restore db --from "$TGT" --to "$T/rdb2" --yes
	out_has "fetching the whole archive"
	cmp "$T/ref/data/sound_machine.db" "$T/rdb2/data/sound_machine.db" ||
		fail "db differs"
	peer_put "$ARCH.index" "$T/keep/$ARCH.index"
	rm -rf "$A"

	note "a damaged frame of the db on $TGT: refused, live data as it was"
	off=$(awk -F'\t' '$2 == "data/sound_machine.db" { print $17 }' \
		"$T/keep/$ARCH.index")
	peer_corrupt "$ARCH" $((off + 1000))
	before=$(sha256sum "$S/data/sound_machine.db")
	expect_rc 1 $C restore db --from "$TGT" --yes
	out_has "checksum|damaged"
	out_has "live data untouched|nothing was restored"
	[ "$(sha256sum "$S/data/sound_machine.db")" = "$before" ] ||
		fail "the live db changed"
	[ ! -e "$S.pre-restore" ] && [ ! -e "$S/.cairn.pre-restore" ] ||
		fail "a safety net was made: live data was touched"
}

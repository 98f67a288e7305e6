# Ranged restores from a target (issue 14), sourced by
# tests/restore-ranged-ssh.sh and -s3.sh after their peer is up and
# "[target $TGT]" is in $CONF. The caller defines:
#   peer_reset        forget what the peer delivered so far
#   peer_bytes        bytes the peer delivered since (its own count)
#   peer_corrupt NAME OFFSET   change one byte of object NAME there
#   peer_put NAME FILE         object NAME there is FILE again
# With AGE=yes the target encrypts (its [target] has encrypt = age, the
# identity is $T/key) and the caller also defines
#   peer_get NAME FILE         FILE is object NAME there
# the objects are NAME.age, read in whole STREAM chunks.
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
SUF= ID=
if [ "${AGE:-}" = yes ]; then
	SUF=.age ID="--identity $T/key"
	# The header (4 KiB asked), the last chunk read at open, and a
	# chunk of rounding at each end of each run of frames.
	SLACK=$((SLACK + 4096 + 5 * 65552))
fi

# cipher_off OBJ P: where plaintext byte P of the age file OBJ (local)
# is: after the header and nonce, 16 bytes of tag per 64 KiB chunk.
cipher_off() {
	python3 - "$1" "$2" <<'EOP'
import sys
d = open(sys.argv[1], "rb").read(1 << 16)
start = d.index(b"\n", d.index(b"\n--- ") + 1) + 1 + 16
p = int(sys.argv[2])
print(start + p // 65536 * 65552 + p % 65536)
EOP
}

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
	[ -z "$SUF" ] || side=$((side * 2)) # and each object's header
	budget=$(( $(need "$2") * READAHEAD + side + SLACK ))
	note "$1: the peer delivered $got bytes; budget $budget, archive $SIZE"
	[ "$got" -gt 0 ] || fail "$1: the peer counted nothing"
	[ "$got" -le "$budget" ] ||
		fail "$1: $got bytes fetched, more than $budget (archive $SIZE)"
}

ranged_run() {
	C="$CAIRN -v -c $CONF"
	R_ID=$ID
	expect_rc 0 $C backup
	ARCH=$(cd "$A" && ls mss-backup-2*.tar.zst)
	SIZE=$(stat -c %s "$A/$ARCH")
	mkdir "$T/keep" "$T/ref"
	cp "$A/$ARCH"* "$T/keep/"
	for o in "$ARCH" "$ARCH.index"; do
		[ -z "$SUF" ] || peer_get "$o$SUF" "$T/keep/$o$SUF"
	done
	tar -xf "$A/$ARCH" -C "$T/ref"
	wav=Sounds/uploads/sound_0002.wav
	[ $(( $(need $wav) * READAHEAD * 2 )) -lt "$SIZE" ] ||
		fail "the frames read are most of the archive"

	note "restore db --from $TGT, the local disk gone"
	rm -rf "$A"
	peer_reset
	expect_rc 0 $C restore db --from "$TGT" $R_ID --to "$T/rdb" --yes
	out_has "read .* by ranged gets"
	cmp "$T/ref/data/sound_machine.db" "$T/rdb/data/sound_machine.db" ||
		fail "db differs"
	check_fetched "restore db" data/sound_machine.db
	# Sidecars without their archive are not kept in archive_dir.
	[ -z "$(ls "$A" 2>/dev/null | grep -v '^\.')" ] ||
		fail "archive_dir holds $(ls "$A")"

	note "restore --path $wav --from $TGT"
	peer_reset
	expect_rc 0 $C restore --path "$wav" --from "$TGT" $R_ID --to "$T/rwav" \
		--yes
	cmp "$T/ref/$wav" "$T/rwav/$wav" || fail "$wav differs"
	[ "$(cd "$T/rwav" && find . -type f)" = "./$wav" ] ||
		fail "more than $wav restored: $(cd "$T/rwav" && find .)"
	check_fetched "restore --path" "$wav"

	note "an index on $TGT failing its checksum"
	peer_corrupt "$ARCH.index$SUF" 300
	if [ -z "$SUF" ]; then # the whole archive instead
		expect_rc 0 $C restore db --from "$TGT" --to "$T/rdb2" --yes
		out_has "fetching the whole archive"
		cmp "$T/ref/data/sound_machine.db" \
			"$T/rdb2/data/sound_machine.db" || fail "db differs"
	else # checked before it is decrypted: nothing to trust
		expect_rc 1 $C restore db --from "$TGT" $R_ID --to "$T/rdb2" \
			--yes
		out_has "$ARCH.index.age.* (does not match|does not authent)"
		[ ! -e "$T/rdb2" ] || fail "restored from a bad index"
	fi
	peer_put "$ARCH.index$SUF" "$T/keep/$ARCH.index$SUF"
	rm -rf "$A"

	note "a damaged frame of the db on $TGT: refused, live data as it was"
	off=$(awk -F'\t' '$2 == "data/sound_machine.db" { print $17 }' \
		"$T/keep/$ARCH.index")
	off=$((off + 1000))
	[ -z "$SUF" ] || off=$(cipher_off "$T/keep/$ARCH$SUF" "$off")
	peer_corrupt "$ARCH$SUF" "$off"
	before=$(sha256sum "$S/data/sound_machine.db")
	expect_rc 1 $C restore db --from "$TGT" $R_ID --yes
	out_has "checksum|damaged"
	out_has "live data untouched|nothing was restored"
	[ "$(sha256sum "$S/data/sound_machine.db")" = "$before" ] ||
		fail "the live db changed"
	[ ! -e "$S.pre-restore" ] && [ ! -e "$S/.cairn.pre-restore" ] ||
		fail "a safety net was made: live data was touched"
}

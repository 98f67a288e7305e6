# Shared by tests/age-target-*.sh; sourced, never run (named *-peer.sh
# so the suite knows): an encrypted target end to end. $CONF (from
# age_setup) gets [target $TGT] from the caller; $LIST lists what the
# target holds. SEALED=yes: [cairn] encrypts instead (archive_dir holds
# ciphertext, the target is sent it as it is).
age_setup() {
	dataset "$T/src" 4
	cp -a "$T/src" "$T/pristine"
	CONF=$T/cairn.conf
	mss_conf "$CONF" "$T/src" "$T/archive" "$T/state"
	"$CAIRN" keygen -o "$T/key" >"$T/rcpt"
	"$CAIRN" keygen -o "$T/wrong" >/dev/null
}

# age_local_target NAME DIR: an encrypted local [target NAME] in $CONF.
age_local_target() {
	mkdir -p "$2"
	printf '\n[target %s]\nplugin = local\npath = %s\nencrypt = age\n%s\n' \
		"$1" "$2" "recipients = $(cat "$T/rcpt")" >>"$CONF"
}

dbdump() {
	python3 -c 'import sqlite3, sys
print("\n".join(sqlite3.connect(sys.argv[1]).iterdump()))' "$1"
}

same_tree() {
	diff -r --exclude=sound_machine.db --exclude=MANIFEST.sha256 \
		--exclude=inventory.txt --exclude=INDEX "$T/pristine" "$1" ||
		fail "restored data differs"
	[ "$(dbdump "$T/pristine/data/sound_machine.db")" = \
	  "$(dbdump "$1/data/sound_machine.db")" ] ||
		fail "restored database content differs"
}

# age_target_run FETCH: FETCH NAME DEST copies object NAME off the
# target (for the stock-tools check).
age_target_run() {
	local fetch=$1 a objs

	note "backup to the encrypted target $TGT"
	expect_rc 0 "$CAIRN" -c "$CONF" backup
	objs=$($LIST)
	a=$(echo "$objs" | grep -E '^mss-backup-[0-9_-]+\.tar\.zst\.age$') ||
		fail "no .tar.zst.age on the target: $objs"
	echo "$objs" | grep -qx "$a.sha256" || fail "no $a.sha256"
	echo "$objs" | grep -qx "${a%.age}.manifest.age" ||
		fail "no encrypted manifest"
	echo "$objs" | grep -qx "${a%.age}.index.age" ||
		fail "no encrypted index"
	echo "$objs" | grep -E '\.tar\.zst$|\.manifest$|\.index$' &&
		fail "a plaintext object on the target"

	note "stock tools: sha256sum -c without the key; age -d | tar -x"
	mkdir -p "$T/got"
	$fetch "$a" "$T/got/$a"
	$fetch "$a.sha256" "$T/got/$a.sha256"
	$fetch "${a%.age}.manifest.age" "$T/got/${a%.age}.manifest.age"
	$fetch "${a%.age}.index.age" "$T/got/${a%.age}.index.age"
	(cd "$T/got" && sha256sum -c --quiet "$a.sha256") ||
		fail "sha256sum -c of the ciphertexts"
	mkdir -p "$T/untar"
	age -d -i "$T/key" "$T/got/$a" | tar --zstd -x -C "$T/untar" ||
		fail "age -d | tar --zstd -x"
	same_tree "$T/untar"
	age -d -i "$T/key" "$T/got/${a%.age}.manifest.age" |
		grep -q 'data/sound_machine.db' || fail "manifest does not decrypt"
	age -d -i "$T/key" "$T/got/${a%.age}.index.age" |
		grep -q 'data/sound_machine.db' || fail "index does not decrypt"

	note "local disk lost; a wrong identity: exit 1, nothing touched"
	rm -rf "$T/archive"
	rm -rf "$T/src/Sounds"
	echo damaged >"$T/src/data/sound_machine.db"
	expect_rc 1 "$CAIRN" -c "$CONF" restore full --from "$TGT" --yes \
		--identity "$T/wrong"
	out_has "${a}: no identity matches its recipients"
	[ "$(cat "$T/src/data/sound_machine.db")" = damaged ] ||
		fail "live data touched"
	[ -d "$T/src/Sounds" ] && fail "live data touched (Sounds)"

	note "no identity at all: a usage error"
	expect_rc 2 env -u CAIRN_IDENTITY "$CAIRN" -c "$CONF" restore full \
		--from "$TGT" --yes
	out_has "${a} is encrypted: an identity is needed"

	note "restore full --from $TGT --identity KEY"
	expect_rc 0 "$CAIRN" -c "$CONF" restore full --from "$TGT" --yes \
		--identity "$T/key"
	same_tree "$T/src"
	if [ "${SEALED:-}" = yes ]; then # archive_dir keeps no plaintext
		[ -z "$(ls -A "$T/archive" | grep -v '\.age')" ] ||
			fail "plaintext kept in the encrypted archive_dir"
	else
		[ -f "$T/archive/${a%.age}" ] || fail "fetched archive not kept"
		(cd "$T/archive" && sha256sum -c --quiet "${a%.age}.sha256") ||
			fail "local sidecar of the decrypted archive"
	fi

	note "CAIRN_IDENTITY works as --identity"
	rm -rf "$T/archive"
	expect_rc 0 env CAIRN_IDENTITY="$T/key" "$CAIRN" -c "$CONF" restore \
		db --from "$TGT" --yes
}

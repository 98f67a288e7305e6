#!/bin/bash
# Reading an encrypted target's copies with the identity (--identity,
# CAIRN_IDENTITY or identity_file): ls and dump --target NAME, find
# PATTERN --target NAME (from each archive's .index.age), drill --target
# NAME; list --target marks the encrypted archives (text and --json).
# Without an identity: one line naming the archive, exit 2; a wrong
# identity: "no identity matches its recipients" naming it, exit 1.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/age-target-peer.sh"

age_setup
R=$T/copy P=$T/plain
mkdir -p "$P"
age_local_target copy "$R"
cat >>"$CONF" <<EOC

[target plain]
plugin = local
path = $P
EOC
expect_rc 0 "$CAIRN" -c "$CONF" backup
a=$(cd "$R" && ls mss-backup-*.tar.zst.age)
b=${a%.age}
rm -rf "$T/archive" # the local disk is lost: only the targets know
id=(--identity "$T/key")

note "list --target marks encrypted archives"
expect_rc 0 "$CAIRN" -c "$CONF" list --target copy
out_has "^$b +complete +copy \\(encrypted\\)$"
expect_rc 0 "$CAIRN" -c "$CONF" list --target plain
grep -q encrypted "$T/out" && fail "a plain archive marked encrypted"
expect_rc 0 "$CAIRN" -c "$CONF" list --target copy --json
python3 - "$T/out" "$b" <<'PY' || fail "list --json: encrypted"
import json, sys
d = json.load(open(sys.argv[1]))
a = [x for x in d["archives"] if x["name"] == sys.argv[2]]
assert a and a[0]["encrypted"] is True, d
PY
expect_rc 0 "$CAIRN" -c "$CONF" list --target plain --json
python3 - "$T/out" <<'PY' || fail "list --json: plain not encrypted"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["archives"] and all(x["encrypted"] is False for x in d["archives"])
PY

note "ls --target copy --identity: the members, from the index"
expect_rc 0 "$CAIRN" -c "$CONF" ls --target copy "${id[@]}"
out_has ' data/sound_machine\.db$'
expect_rc 0 "$CAIRN" -c "$CONF" ls "$b" data --target copy --json "${id[@]}"
out_has '"path": "data.?/sound_machine\.db"'
expect_rc 0 "$CAIRN" -c "$CONF" ls latest --target plain
out_has ' data/sound_machine\.db$'

note "dump --target copy: a member's bytes"
f=$(cd "$T/pristine" && find . -type f -name '*.wav' | head -1)
f=${f#./}
[ -n "$f" ] || f=$(cd "$T/pristine" && find . -type f | grep -v '\.db' |
	head -1 | sed 's|^\./||')
"$CAIRN" -c "$CONF" dump "$b" "$f" --target copy "${id[@]}" >"$T/dumped" ||
	fail "dump --target copy"
cmp "$T/dumped" "$T/pristine/$f" || fail "dumped bytes differ"
env CAIRN_IDENTITY="$T/key" "$CAIRN" -c "$CONF" dump "$f" --target copy \
	>"$T/dumped" || fail "dump --target copy with CAIRN_IDENTITY"
cmp "$T/dumped" "$T/pristine/$f" || fail "dumped bytes differ (env)"

note "find PATTERN --target copy: from the .index.age"
expect_rc 0 "$CAIRN" -c "$CONF" find sound_machine.db --target copy "${id[@]}"
out_has "^$b  data/sound_machine\\.db  [0-9]+$"

note "drill --target copy --identity"
expect_rc 0 "$CAIRN" -c "$CONF" drill --target copy "${id[@]}"
out_has "drill of $b \\(copy\\): OK"

note "without an identity: one line naming the archive, exit 2"
for cmd in "ls --target copy" "dump $b $f --target copy" \
	"find sound_machine.db --target copy" "drill --target copy"; do
	expect_rc 2 env -u CAIRN_IDENTITY "$CAIRN" -c "$CONF" $cmd
	out_has "$b(\\.[a-z]+)?\\.age is encrypted: an identity is needed"
done

note "a wrong identity: no identity matches, naming the archive, exit 1"
for cmd in "ls --target copy" "dump $b $f --target copy" \
	"find sound_machine.db --target copy" "drill --target copy"; do
	expect_rc 1 "$CAIRN" -c "$CONF" $cmd --identity "$T/wrong"
	out_has "$b(\\.[a-z]+)?\\.age: no identity matches its recipients"
done

note "identity_file in the target's section"
sed -i "/^\\[target copy\\]/a identity_file = $T/key" "$CONF"
expect_rc 0 env -u CAIRN_IDENTITY "$CAIRN" -c "$CONF" ls --target copy
out_has ' data/sound_machine\.db$'
ls -A "$T/state" | grep -q '^\.cairn-find' && fail "a scratch dir was left"

note "retention on the target removes an archive's .index.age with it"
sed -i "/^\[target copy\]/a keep_last = 1" "$CONF"
expect_rc 0 "$CAIRN" -c "$CONF" backup --time '2030-01-01 03:00:00'
left=$(ls -A "$R" | grep -v '^mss-backup-2030-01-01_030000\.') &&
	fail "retention left on the target: $left"
[ -f "$R/mss-backup-2030-01-01_030000.tar.zst.index.age" ] ||
	fail "the new archive's index is not on the target"
echo PASS

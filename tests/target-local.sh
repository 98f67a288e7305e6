#!/bin/bash
# local target: copies with sidecars, its own keep_last, a target defined
# by environment variables only, list --target, restore --from after the
# local archives are gone.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
cp -a "$T/src" "$T/pristine"
KEEP_LAST=5 mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
cat >>"$T/c.conf" <<EOC

[target copy]
plugin = local
path = $T/copy
keep_last = 2
EOC

note "three backups: local keeps 5, the target keeps 2"
for i in 1 2 3; do
	expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
done
n=$(ls "$T"/copy/mss-backup-2*.tar.zst | wc -l)
[ "$n" = 2 ] || fail "target holds $n archives, want 2"
n=$(ls "$T"/arch/mss-backup-2*.tar.zst | wc -l)
[ "$n" = 3 ] || fail "archive_dir holds $n archives, want 3"
(cd "$T/copy" && sha256sum -c --quiet ./*.sha256) || fail "copy checksums"
ls "$T"/copy/.*partial* 2>/dev/null && fail "temporary file left"
grep -q '"copy":{' "$T/state/last_backup.json" || fail "no targets entry"

note "list --target"
expect_rc 0 "$CAIRN" -c "$T/c.conf" list --target copy
[ "$(grep -c complete "$T/out")" = 2 ] || fail "list shows $(cat "$T/out")"

note "--no-targets and --target"
before=$(ls "$T/copy" | wc -l)
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --no-targets
[ "$(ls "$T/copy" | wc -l)" = "$before" ] || fail "--no-targets sent"
expect_rc 2 "$CAIRN" -c "$T/c.conf" backup --target nosuch
out_has "nosuch"

note "a target defined by environment variables only"
expect_rc 0 env CAIRN_TARGET_ENVCOPY_PLUGIN=local \
	CAIRN_TARGET_ENVCOPY_PATH="$T/envcopy" \
	"$CAIRN" -c "$T/c.conf" backup --target envcopy
ls "$T"/envcopy/mss-backup-*.tar.zst.sha256 >/dev/null ||
	fail "env target got nothing"

note "an unwritable target fails alone: exit 4, local archive kept"
touch "$T/notadir"
expect_rc 4 env CAIRN_TARGET_BAD_PLUGIN=local \
	CAIRN_TARGET_BAD_PATH="$T/notadir/sub" "$CAIRN" -c "$T/c.conf" backup
out_has "target bad"
n=$(ls "$T"/copy/mss-backup-2*.tar.zst | wc -l)
[ "$n" = 2 ] || fail "the good target did not get its copy"

note "restore --from after losing archive_dir"
rm -rf "$T/arch" "$T/src"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --from copy --yes
for f in Sounds config log data/exports data/server_id.txt; do
	diff -r "$T/pristine/$f" "$T/src/$f" || fail "$f differs after restore"
done
sqlite3 "$T/src/data/sound_machine.db" 'PRAGMA integrity_check' |
	grep -qx ok || fail "restored DB fails integrity_check"
echo "target-local: ok"

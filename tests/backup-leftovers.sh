# Every leftover of a killed run of this config is removed by the next
# backup (which holds the lock): .partial files of any time stamp, the
# sidecar temps beside them, sidecars whose archive never got its name,
# staging dirs (and unnamed ones of older versions), a half-replaced
# latest link. What a live run holds (its flock), what another config
# left, and whatever is not cairn's stay.
source "$TOP_SRCDIR/tests/lib.sh"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --time '2026-01-05 03:15:00'
good=mss-backup-2026-01-05_031500.tar.zst

gone="
.mss-backup-2026-01-01_000000.tar.zst.partial
.mss-backup-2026-01-01_000000.tar.zst.sha256.partial
.mss-backup-2026-01-01_000000.tar.zst.manifest.partial
.mss-backup-2026-01-01_000000.tar.gz.partial
mss-backup-2026-01-02_000000.tar.zst.sha256
mss-backup-2026-01-02_000000.tar.zst.manifest
mss-backup-2026-01-03_000000.tar.zst.sha256.tmp.12345
mss-backup-2026-01-03_000000.tar.zst.manifest.tmp.12345
"
kept="
.other-backup-2026-01-01_000000.tar.zst.partial
other-backup-2026-01-02_000000.tar.zst.sha256
mss-backup-2026-01-04_000000.tar.zst.sha256
.mss-backup-2026-01-04_000000.tar.zst.sha256.partial
.mss-backup-2026-01-04_000000.tar.zst.partial
.mss-backup-2026-01-05_031500.tar.zst
$good.sha256
$good.manifest
$good
notes.txt
.hidden
mss-backup-2026-01-06_000000.tar.zst.sha256.tmp.x1
"
for f in $gone $kept; do
	[ -e "$A/$f" ] || echo leftover >"$A/$f"
done
mkdir "$A/.cairn-staging.mss.AbC123" "$A/.cairn-staging.XyZ789" \
	"$A/.cairn-staging.other.QwE456" "$A/.cairn-staging.mss.LiVe12" \
	"$A/.cairn-staging.mss.x.AbC123"
cp "$S/data/sound_machine.db" "$A/.cairn-staging.mss.AbC123/db.db"
cp "$S/data/sound_machine.db" "$A/.cairn-staging.XyZ789/db.db"
ln -s "$good" "$A/mss-backup-latest.tar.zst.tmp"

# A live run of this name (another state_dir) holds these.
pids=
trap 'st=$?; for p in $pids; do kill "$p" 2>/dev/null; done; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; exit $st' EXIT
n=0
for f in .mss-backup-2026-01-04_000000.tar.zst.partial .cairn-staging.mss.LiVe12; do
	n=$((n + 1))
	(exec 9<"$A/$f"; flock -n 9 && touch "$T/held.$n" && exec sleep 600) &
	pids="$pids $!"
done
i=0
until [ -e "$T/held.1" ] && [ -e "$T/held.2" ]; do
	i=$((i + 1)); [ $i -le 100 ] || fail "flock holders did not start"
	sleep 0.1
done

expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --time '2026-01-07 03:15:00'
for f in $gone .cairn-staging.mss.AbC123 .cairn-staging.XyZ789 mss-backup-latest.tar.zst.tmp; do
	[ ! -e "$A/$f" ] && [ ! -L "$A/$f" ] || fail "not removed: $f"
done
out_has "removing .*\.cairn-staging\.mss\.AbC123"
for f in $kept .cairn-staging.other.QwE456 .cairn-staging.mss.LiVe12 .cairn-staging.mss.x.AbC123; do
	[ -e "$A/$f" ] || fail "removed: $f"
done
grep -q "removing .*left by an interrupted run" "$ST/backup.log" ||
	fail "backup.log does not say what was removed"
expect_rc 0 "$CAIRN" -c "$T/c.conf" verify "$good"
echo "backup-leftovers: ok"

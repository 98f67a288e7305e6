# One latest link: after `compression` changes, the link of the old
# extension (mss-backup-latest.tar.zst) would still name an old archive;
# it is removed when the new one (mss-backup-latest.tar.gz) is made.
source "$TOP_SRCDIR/tests/lib.sh"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
links() { (cd "$A" && ls -A | grep -- '-latest' | tr '\n' ' '); }

expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --time '2026-03-01 03:15:00'
[ "$(links)" = "mss-backup-latest.tar.zst " ] || fail "links: $(links)"

note "compression = gzip"
expect_rc 0 env CAIRN_COMPRESSION=gzip "$CAIRN" -c "$T/c.conf" backup --time '2026-03-02 03:15:00'
[ "$(links)" = "mss-backup-latest.tar.gz " ] || fail "links after gzip: $(links)"
[ "$(readlink "$A/mss-backup-latest.tar.gz")" = mss-backup-2026-03-02_031500.tar.gz ] ||
	fail "gzip link: $(readlink "$A/mss-backup-latest.tar.gz")"

note "compression = none, then back to zstd"
expect_rc 0 env CAIRN_COMPRESSION=none "$CAIRN" -c "$T/c.conf" backup --time '2026-03-03 03:15:00'
[ "$(links)" = "mss-backup-latest.tar " ] || fail "links after none: $(links)"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --time '2026-03-04 03:15:00'
[ "$(links)" = "mss-backup-latest.tar.zst " ] || fail "links after zstd: $(links)"
[ "$(readlink "$A/mss-backup-latest.tar.zst")" = mss-backup-2026-03-04_031500.tar.zst ] ||
	fail "zstd link: $(readlink "$A/mss-backup-latest.tar.zst")"

note "another config's link in the same archive_dir stays"
ln -s mss2-backup-2026-01-01_000000.tar.gz "$A/mss2-backup-latest.tar.gz"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --time '2026-03-05 03:15:00'
[ -L "$A/mss2-backup-latest.tar.gz" ] || fail "removed another config's link"
echo "backup-latest-link: ok"

# state_dir/restore.journal is read back by the next locking command to
# roll a killed restore back; its paths must not be trusted: a journal
# naming '../victim' made `prune` delete a directory outside the
# source. Only paths beneath the configured source, and the staging and
# safety-net dirs a restore of it makes, are accepted; anything else is
# refused with one line naming the journal, and nothing is touched.
source "$TOP_SRCDIR/tests/lib.sh"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
mkdir "$T/victim"
echo "keep me" >"$T/victim/file"
J=$ST/restore.journal
tree() { (cd "$T" && find src victim | sort; find src victim -type f -exec sha256sum {} + | sort); }
before=$(tree)

# hostile WHAT LINES...: write the journal, prune must refuse it.
hostile() {
	local what=$1
	shift
	printf '%s\n' "$@" >"$J"
	expect_rc 1 "$CAIRN" -c "$T/c.conf" prune
	out_has "restore.journal"
	[ "$(grep -c . "$T/out")" = 1 ] || { cat "$T/out" >&2; fail "$what: not one line"; }
	[ "$(tree)" = "$before" ] || { diff <(echo "$before") <(tree) >&2; fail "$what: files changed"; }
	[ -e "$J" ] || fail "$what: journal removed"
}
for v in 1 2; do
	note "journal v$v: a path with '..'"
	hostile "../victim" "cairn-restore-journal $v" "live $S" "staging $S.cairn-staging.abcdef" \
		"net $S.pre-restore/x" "path 0 1 ../victim"
	hostile "Sounds/../../victim" "cairn-restore-journal $v" "live $S" "staging $S.cairn-staging.abcdef" \
		"net $S.pre-restore/x" "path 0 1 Sounds/../../victim"
	hostile "absolute" "cairn-restore-journal $v" "live $S" "staging $S.cairn-staging.abcdef" \
		"net $S.pre-restore/x" "path 0 1 /$T/victim"
	note "journal v$v: live is not the source"
	hostile "live elsewhere" "cairn-restore-journal $v" "live $T/victim" "staging $T/victim.cairn-staging.abcdef" \
		"net $T/victim.pre-restore/x" "path 0 1 file"
	note "journal v$v: staging or net elsewhere"
	hostile "staging elsewhere" "cairn-restore-journal $v" "live $S" "staging $T" \
		"net $S.pre-restore/x" "path 0 1 Sounds"
	hostile "net elsewhere" "cairn-restore-journal $v" "live $S" "staging $S.cairn-staging.abcdef" \
		"net $T/victim" "path 1 0 file"
	hostile "net .." "cairn-restore-journal $v" "live $S" "staging $S.cairn-staging.abcdef" \
		"net $S.pre-restore/.." "path 1 0 file"
done
note "a journal of a real restore is still rolled back"
rm -f "$J"
mkdir -p "$S.cairn-staging.abcdef/Sounds" "$S.pre-restore/x"
mv "$S/Sounds" "$S.pre-restore/x/Sounds"
printf '%s\n' "cairn-restore-journal 2" "live $S" "staging $S.cairn-staging.abcdef" \
	"net $S.pre-restore/x" "path 1 1 Sounds" >"$J"
expect_rc 0 "$CAIRN" -c "$T/c.conf" prune
out_has "rolled back"
[ "$(tree)" = "$before" ] || { diff <(echo "$before") <(tree) >&2; fail "not rolled back"; }
[ ! -e "$J" ] && [ ! -e "$S.pre-restore" ] && [ ! -e "$S.cairn-staging.abcdef" ] || fail "leftovers"
echo "restore-journal-trust: ok"

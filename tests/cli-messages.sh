#!/bin/bash
# Every error is one line that names the thing: the argument, the option
# and the command, the archive (with a pointer to `cairn list`); an empty
# list and a prune with nothing to do say so instead of printing nothing.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
C="$CAIRN -c $T/c.conf"

# one RC LINE CMD...: CMD exits RC and prints exactly LINE.
one() {
	local rc=$1 want=$2
	shift 2
	expect_rc "$rc" "$@"
	[ "$(cat "$T/out")" = "$want" ] ||
		fail "$*: want one line '$want', got: $(cat "$T/out")"
}

note "usage errors"
one 2 "cairn list: unexpected argument 'extra'" $C list extra
one 2 "cairn verify: option --max-age is not valid here" \
	$C verify --max-age 1h
one 2 "cairn list: unknown option '--bogus'" $C list --bogus
one 2 "cairn list: option '--target' needs an argument" $C list --target
one 2 "cairn list: option '--json' takes no argument" $C list --json=yes
one 2 "cairn status: bad --max-age '3x' (want e.g. 30s, 90m, 26h, 7d)" \
	$C status --max-age 3x
one 2 "cairn: unknown option '--bogus'; see 'cairn --help'" $C --bogus list
one 2 "cairn: unknown command 'frob'; see 'cairn --help'" $C frob

note "empty archive_dir"
one 0 "no archives in $T/arch" $C list
expect_rc 0 $C list --json
[ "$(tr -d ' \n' <"$T/out")" = '{"schema":1,"archives":[]}' ] ||
	fail "list --json: $(cat "$T/out")"
one 0 "cairn: nothing to prune" $C prune --dry-run

note "an archive that is not there"
expect_rc 0 $C backup
one 1 "cairn: error: archive not found: $T/arch/nosuch; see 'cairn list'" \
	$C verify nosuch
expect_rc 1 $C restore full --archive nosuch --to "$T/r" --yes
out_has "archive not found: $T/arch/nosuch; see 'cairn list'"
[ "$(wc -l <"$T/out")" = 1 ] || fail "restore: $(cat "$T/out")"
one 0 "cairn: nothing to prune" $C prune --dry-run
echo "cli-messages: ok"

#!/bin/bash
# The suite runs what it builds and ships no stale notes: every unit
# program and test script is in TESTS, no "known core bug" header or
# empty CORE_BUG_TESTS stanza is left, and in CI (CI=true, which
# .ci/run sets) a test that would skip fails instead, since CI installs
# every peer.
. "$TOP_SRCDIR/tests/lib.sh"

cd "$TOP_SRCDIR"
submake -s cairn-print-tests >"$T/vars" || fail "make cairn-print-tests"
tests=" $(sed -n 's/^tests=//p' "$T/vars") "
# Scripts of plugins this build leaves out are not run, but are known.
unbuilt=" $(sed -n 's/^unbuilt=//p' "$T/vars") "
progs=$(sed -n 's/^check_programs=//p' "$T/vars")

note "every unit program built is run"
for p in $progs; do
	case $p in tests/unit-*) ;; *) continue ;; esac
	[[ $tests == *" $p "* ]] || fail "$p is built but not in TESTS"
done
for c in tests/unit-*.c; do
	[[ $tests == *" ${c%.c} "* ]] || fail "${c%.c} is not in TESTS"
done

note "every test script is run (lib.sh and *-peer.sh are sourced)"
for s in tests/*.sh; do
	case $s in tests/lib.sh | tests/*-peer.sh) continue ;; esac
	[[ $tests == *" $s "* || $unbuilt == *" $s "* ]] ||
		fail "$s is not in TESTS"
done

note "no stale known-bug notes"
if grep -il 'known core bug\|not in TESTS until' tests/*.sh tests/*.c \
	tests/*.inc tests/Makefile.inc | grep -v '^tests/suite-housekeeping'
then
	fail "stale known-bug notes in the files above"
fi
! grep -q CORE_BUG_TESTS tests/*.inc tests/Makefile.inc ||
	fail "CORE_BUG_TESTS stanza left"

note "tests skip only through skip()"
if grep -n 'exit 77' tests/*.sh |
	grep -v '^tests/\(lib\|suite-housekeeping\).sh:'; then
	fail "a test exits 77 without skip()"
fi

note "skip() skips outside CI and fails in CI, with the reason"
rc=0
(unset CI; . tests/lib.sh; skip "no peer here") 2>"$T/err" || rc=$?
[ "$rc" = 77 ] || fail "skip() outside CI: exit $rc, want 77"
rc=0
(CI=true; . tests/lib.sh; skip "no peer here") 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "skip() with CI=true: exit $rc, want 1"
grep -q '^FAIL: skipped in CI: no peer here$' "$T/err" ||
	{ cat "$T/err"; fail "skip() in CI does not say why"; }

if [ -f .ci/run ]; then # not in a release tarball
	note ".ci/run sets CI=true"
	grep -q '^export CI=true' .ci/run ||
		fail ".ci/run does not export CI=true"
fi

echo "suite-housekeeping: ok"

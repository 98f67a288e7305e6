#!/bin/bash
# configure can leave out the ssh, s3 and usb plugins (their libraries
# are then not looked for, and their tests are not run), prints what it
# builds, and makes warnings errors only with --enable-werror.
. "$TOP_SRCDIR/tests/lib.sh"

# A variable of the generated Makefile.
mkvar() {
	printf 'cairn-var:\n\t@echo $(%s)\n' "$2" |
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
			make -s --no-print-directory -C "$1" -f Makefile -f - \
			cairn-var
}
conf() {
	local dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && "$TOP_SRCDIR/configure" --cache-file="$T/cache" \
		MAKE_DATASET="$MAKE_DATASET" "$@") >"$dir.out" 2>&1 ||
		{ tail -20 "$dir.out" >&2; fail "configure $*"; }
}

note "--disable-ssh --disable-s3 --disable-usb"
conf "$T/min" --disable-ssh --disable-s3 --disable-usb
grep -q "unrecognized options" "$T/min.out" && fail "options unknown"
for p in usb ssh s3; do
	grep -Eq "^  plugin $p +no$" "$T/min.out" ||
		{ cat "$T/min.out"; fail "summary does not say $p: no"; }
done
grep -Eq '^  plugin local +yes$' "$T/min.out" || fail "summary: local"
grep -Eq '^  -Werror +no$' "$T/min.out" || fail "summary: -Werror no"
libs=" $(mkvar "$T/min" pkglib_LTLIBRARIES) "
[ "$libs" = " plugins/local.la " ] || fail "plugins built: $libs"
tests=" $(mkvar "$T/min" TESTS) "
unbuilt=" $(mkvar "$T/min" UNBUILT_TESTS) "
for t in tests/ssh.sh tests/s3.sh tests/target-usb.sh \
	tests/target-usb-mounts.sh tests/target-stop-retry.sh; do
	[[ $tests != *" $t "* ]] || fail "$t is in TESTS without its plugin"
	[[ $unbuilt == *" $t "* ]] || fail "$t is not listed as unbuilt"
done
[[ $tests == *" tests/target-local.sh "* ]] || fail "local tests dropped"
[ -z "$(mkvar "$T/min" WERROR_CFLAGS)" ] || fail "-Werror by default"
grep -q -- '-Werror' <(mkvar "$T/min" AM_CFLAGS) &&
	fail "AM_CFLAGS has -Werror by default"

note "default plugins, --enable-werror"
conf "$T/all" --enable-werror
for p in local usb ssh s3; do
	grep -Eq "^  plugin $p +yes$" "$T/all.out" ||
		fail "summary does not say $p: yes"
done
grep -Eq '^  -Werror +yes$' "$T/all.out" || fail "summary: -Werror yes"
libs=" $(mkvar "$T/all" pkglib_LTLIBRARIES) "
for p in local usb ssh s3; do
	[[ $libs == *" plugins/$p.la "* ]] || fail "plugins/$p.la not built"
done
[ -z "$(mkvar "$T/all" UNBUILT_TESTS)" ] || fail "tests left out"
[ "$(mkvar "$T/all" WERROR_CFLAGS)" = -Werror ] || fail "no -Werror"
grep -q -- '-Werror' <(mkvar "$T/all" AM_CFLAGS) ||
	fail "AM_CFLAGS lacks -Werror"

note "-q keeps configure quiet"
conf "$T/quiet" -q --disable-s3
grep -q "will build" "$T/quiet.out" && fail "summary printed with -q"
echo ok

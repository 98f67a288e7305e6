#!/bin/bash
# Plugins see only the public ABI: no file under plugins/ includes a core
# header (or anything under core/), no plugin is compiled with -I core
# (each has CPPFLAGS of its own, so automake's AM_CPPFLAGS with -I core
# does not apply) and no plugin compiles a core source file.
. "$TOP_SRCDIR/tests/lib.sh"

note "no #include of a core header under plugins/"
core_headers=$(cd "$TOP_SRCDIR/core" && ls ./*.h | sed 's|^\./||')
[ -n "$core_headers" ] || fail "no headers found in core/"
bad=0
while IFS= read -r -d '' f; do
	while IFS= read -r line; do
		inc=$(sed -E "s/^[[:space:]]*#[[:space:]]*include[[:space:]]*//;\
			     s/^[\"<]([^\">]*)[\">].*/\\1/" <<<"$line")
		case $inc in
		*core/*|*../*) bad=1 ;;
		*) for h in $core_headers; do
			[ "$inc" = "$h" ] && bad=1
		   done ;;
		esac
		[ "$bad" = 0 ] || { echo "$f: $line" >&2; fail "a plugin \
includes a core header"; }
	done < <(grep -E '^[[:space:]]*#[[:space:]]*include' "$f" || true)
done < <(find "$TOP_SRCDIR/plugins" -name '*.[ch]' -print0)

# A variable of the generated Makefile.
mkvar() {
	printf 'cairn-var:\n\t@echo $(%s)\n' "$1" |
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
			make -s --no-print-directory -C "$TOP_BUILDDIR" \
			-f Makefile -f - cairn-var
}

note "every plugin built with its own CPPFLAGS, none with -I core"
plugins=$(mkvar pkglib_LTLIBRARIES)
[ -n "$plugins" ] || fail "no plugins in pkglib_LTLIBRARIES"
for p in $plugins; do
	v=$(tr '/.-' '___' <<<"$p")
	flags=$(mkvar "${v}_CPPFLAGS")
	[ -n "$flags" ] ||
		fail "$p: no ${v}_CPPFLAGS, so AM_CPPFLAGS (-I core) applies"
	for fl in $flags $(mkvar DEFAULT_INCLUDES); do
		case $fl in
		-I*core|-I*core/) fail "$p is built with $fl" ;;
		esac
	done
	for s in $(mkvar "${v}_SOURCES"); do
		case $s in core/*) fail "$p compiles $s" ;; esac
	done
	note "$p: $flags"
done
echo "plugin-headers: ok"

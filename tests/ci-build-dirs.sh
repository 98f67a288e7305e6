#!/bin/bash
# demo/run and .ci/run build out of tree, each in a build directory of
# its own under build/ (gitignored), and neither configures the source
# tree: a sanitizer build must not reuse the demo's objects, nor `make
# install` install CI's ASan binary. (.ci/run checks the real builds.)
. "$TOP_SRCDIR/tests/lib.sh"

cd "$TOP_SRCDIR"
if [ ! -f .ci/run ] || [ ! -f demo/run ]; then
	echo "no .ci/run or demo/run here (a release tarball): nothing to check"
	exit 0
fi

note "neither script configures the source tree"
for f in demo/run .ci/run; do
	if grep -v '^[[:space:]]*#' "$f" |
		grep -E '(^|[;&|({])[[:space:]]*(\./)?configure( |$)'; then
		fail "$f runs configure in the source tree"
	fi
done
grep -q '\.\./\.\./configure' demo/run || fail "demo/run: no VPATH configure"
grep -q '\.\./\.\./configure' .ci/run || fail ".ci/run: no VPATH configure"

note "each its own build directory, under the gitignored build/"
bd() { sed -n 's|^B=\(\$PWD/\)\{0,1\}\(build/[a-z]*\)$|\2|p' "$1"; }
demo=$(bd demo/run) ci=$(bd .ci/run)
[ -n "$demo" ] && [ -n "$ci" ] || fail "no B=build/... in the scripts"
[ "$demo" != "$ci" ] || fail "demo and CI share $ci"
grep -qx '/build/' .gitignore || fail "build/ is not gitignored"
grep -q 'make -C "\$B"' demo/run || fail "demo/run does not make in \$B"
grep -q 'make -C "\$B".* check' .ci/run || fail ".ci/run does not check in \$B"

note "this build is out of tree: the source tree is unconfigured"
if [ "$(cd "$TOP_BUILDDIR" && pwd -P)" != "$(pwd -P)" ]; then
	[ ! -e config.status ] || fail "the source tree is configured in place"
fi
echo "ci-build-dirs: ok"

#!/bin/bash
# The Debian package round trip: `dpkg-buildpackage -us -uc -b` on a copy
# of the source tree builds cairn_*.deb with the binary, the plugins in
# /usr/lib/<triplet>/cairn, the units in /lib/systemd/system (installed,
# not enabled), man pages, /etc/cairn/cairn.conf.example, completion and
# logrotate; lintian reports no error; `apt-get install ./cairn_*.deb`
# installs it, the installed cairn and plugins back up and restore; a
# purge leaves nothing in /etc/cairn or /usr/lib/*/cairn.
. "$TOP_SRCDIR/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root to install a package"
for t in dpkg-buildpackage dh lintian apt-get; do
	command -v $t >/dev/null ||
		skip "$t not found (Debian packages dpkg-dev, debhelper, lintian)"
done
if dpkg-query -W -f '${Status}' cairn 2>/dev/null | grep -q installed; then
	skip "a cairn package is installed here already; not replacing it"
fi
installed=0
trap 'st=$?; [ "$installed" = 0 ] ||
	apt-get purge -y -q -o DPkg::Lock::Timeout=120 cairn >/dev/null 2>&1 ||
	true; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; exit $st' EXIT

note "dpkg-buildpackage on a copy of the source tree"
src=$T/pkg/cairn-0.1.0
mkdir -p "$src"
# Not the VCS, nor build directories inside the tree (build/ci, this
# test's own), nor a previous package build.
excl=(--exclude=./.git --exclude=./build --exclude=./_build
      --exclude=node_modules --exclude=autom4te.cache
      --exclude=./debian/cairn --exclude=./debian/.debhelper)
case $TOP_BUILDDIR/ in
"$TOP_SRCDIR"/*) excl+=(--exclude="./${TOP_BUILDDIR#"$TOP_SRCDIR"/}") ;;
esac
tar -C "$TOP_SRCDIR" "${excl[@]}" -cf - . | tar -C "$src" -xf -
[ ! -e "$src/config.status" ] || fail "the source tree is configured"
(cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CAIRN \
	-u CAIRN_PLUGIN_DIR DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 ||
	{ tail -40 "$T/build.log" >&2; fail "dpkg-buildpackage"; }
deb=$(ls "$T"/pkg/cairn_*.deb)
[ -f "$deb" ] || fail "no cairn_*.deb: $(ls "$T/pkg")"

note "contents"
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$T/files"
for f in /usr/bin/cairn /usr/lib/$triplet/cairn/local.so \
	/usr/lib/$triplet/cairn/usb.so /usr/lib/$triplet/cairn/ssh.so \
	/usr/lib/$triplet/cairn/s3.so \
	/lib/systemd/system/cairn-backup.service \
	/lib/systemd/system/cairn-backup.timer \
	/lib/systemd/system/cairn-check.service \
	/lib/systemd/system/cairn-check.timer \
	/lib/systemd/system/cairn-usb@.service \
	/usr/share/man/man1/cairn.1.gz /usr/share/man/man5/cairn.conf.5.gz \
	/etc/cairn/cairn.conf.example /etc/logrotate.d/cairn \
	/usr/share/bash-completion/completions/cairn; do
	grep -qxF "$f" "$T/files" || fail "the package lacks $f"
done
! grep -q '\.la$' "$T/files" || fail "libtool .la files packaged"

note "lintian: no errors"
lintian --allow-root "$deb" >"$T/lintian" 2>&1 || true
if grep -q '^E: ' "$T/lintian"; then
	cat "$T/lintian" >&2
	fail "lintian errors"
fi

note "apt-get install ./$(basename "$deb")"
installed=1
(cd "$T/pkg" && apt-get install -y -q -o DPkg::Lock::Timeout=120 \
	"./$(basename "$deb")") >"$T/apt.log" 2>&1 ||
	{ cat "$T/apt.log" >&2; fail "apt-get install"; }
dpkg-query -W -f '${Status}' cairn | grep -q 'install ok installed' ||
	fail "cairn is not installed"
for u in cairn-backup.timer cairn-check.timer cairn-backup.service; do
	st=$(systemctl is-enabled "$u" 2>&1 || true)
	[ "$st" = disabled ] || [ "$st" = static ] ||
		fail "$u is '$st' after installation, want it not enabled"
done
! ls /etc/systemd/system/*.wants/cairn* 2>/dev/null ||
	fail "the package enabled a unit"

note "the installed cairn backs up and restores with its plugins"
C=(env -u CAIRN_PLUGIN_DIR -u CAIRN_CONFIG /usr/bin/cairn)
expect_rc 0 "${C[@]}" --version
out_has "^config: +/etc/cairn/cairn.conf "
out_has "^plugins: /usr/lib/$triplet/cairn "
S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
printf '\n[target copy]\nplugin = local\npath = %s\n' "$T/copy" >>"$T/c.conf"
expect_rc 0 "${C[@]}" -c "$T/c.conf" plugins
for p in local usb ssh s3; do out_has "/usr/lib/$triplet/cairn/$p.so"; done
expect_rc 0 "${C[@]}" -c "$T/c.conf" backup
printf 'garbage' >"$S/data/sound_machine.db"
expect_rc 0 "${C[@]}" -c "$T/c.conf" restore db --yes
rm -rf "$A"
expect_rc 0 "${C[@]}" -c "$T/c.conf" restore full --from copy \
	--to "$T/restored" --yes
files() { (cd "$1" && find . -type f ! -name '*-shm' -exec sha256sum {} + |
	sort -k2); }
[ "$(files "$T/restored")" = "$(files "$S")" ] ||
	fail "restore --from copy differs from the source"
[ "$(sqlite3 "$S/data/sound_machine.db" 'PRAGMA integrity_check')" = ok ] ||
	fail "restore db did not put the database back"
bash --norc -c 'source /usr/share/bash-completion/completions/cairn &&
	complete -p cairn' | grep -q _cairn || fail "installed completion"
logrotate -d /etc/logrotate.d/cairn >"$T/lr" 2>&1 ||
	{ cat "$T/lr" >&2; fail "logrotate -d /etc/logrotate.d/cairn"; }

note "purge leaves nothing behind"
apt-get purge -y -q -o DPkg::Lock::Timeout=120 cairn >"$T/apt.log" 2>&1 ||
	{ cat "$T/apt.log" >&2; fail "apt-get purge"; }
installed=0
! dpkg-query -W -f '${Status}' cairn 2>/dev/null | grep -q installed ||
	fail "cairn still installed"
for p in /etc/cairn /usr/lib/*/cairn /usr/bin/cairn /etc/logrotate.d/cairn \
	/lib/systemd/system/cairn-backup.service \
	/usr/share/bash-completion/completions/cairn; do
	[ ! -e "$p" ] || fail "left after purge: $p"
done
echo "debian-package: ok"

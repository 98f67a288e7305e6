#!/bin/bash
# Temporary files that killed runs left on local and usb targets
# (.NAME.partial) are removed when backup or prune opens the target under
# the config's lock; another config's temporaries in the same directory
# (maybe a live run of it) are never touched.
. "$TOP_SRCDIR/tests/lib.sh"

USB=$T/usb
trap 'st=$?; umount "$USB" 2>/dev/null || true; rm -rf "$T"; exit $st' EXIT

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
cat >>"$T/c.conf" <<EOC

[target copy]
plugin = local
path = $T/copy
EOC

ours=".mss-backup-2020-01-01_031500.tar.zst.partial
.mss-backup-2020-01-01_031500.tar.zst.manifest.partial"
theirs=".other-backup-2020-01-01_031500.tar.zst.partial
.mss2-backup-2020-01-01_031500.tar.zst.partial"
# plant DIR: leftovers of this config and of others.
plant() {
	mkdir -p "$1"
	for f in $ours $theirs; do head -c 5000 /dev/urandom >"$1/$f"; done
}
# check DIR: ours gone, theirs still there.
check() {
	for f in $ours; do
		[ ! -e "$1/$f" ] || fail "$1/$f: leftover not removed"
	done
	for f in $theirs; do
		[ -f "$1/$f" ] || fail "$1/$f: another config's file removed"
	done
}

note "local: backup removes this config's leftovers, no one else's"
plant "$T/copy"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
check "$T/copy"
(cd "$T/copy" && sha256sum -c --quiet ./mss-*.sha256) || fail "copy checksums"

note "local: prune does too"
plant "$T/copy"
expect_rc 0 "$CAIRN" -c "$T/c.conf" prune
check "$T/copy"

note "list --target (no lock) leaves them alone"
plant "$T/copy"
expect_rc 0 "$CAIRN" -c "$T/c.conf" list --target copy
for f in $ours; do [ -f "$T/copy/$f" ] || fail "list removed $f"; done

if [ "$(id -u)" = 0 ]; then
	note "usb: backup removes this config's leftovers, no one else's"
	mkdir "$USB"
	mount -t tmpfs -o size=64m tmpfs "$USB" || fail "cannot mount a tmpfs"
	plant "$USB/mss"
	expect_rc 0 env CAIRN_TARGET_USB_PLUGIN=usb \
		CAIRN_TARGET_USB_PATH="$USB/mss" \
		CAIRN_TARGET_USB_MOUNT="$USB" \
		"$CAIRN" -c "$T/c.conf" backup --target usb
	check "$USB/mss"
	(cd "$USB/mss" && sha256sum -c --quiet ./mss-*.sha256) ||
		fail "usb copy checksums"
fi
echo "target-clean: ok"

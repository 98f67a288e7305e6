#!/bin/bash
# ssh target, through the core, against a real OpenSSH server: backup and
# prune remove the temporaries (.NAME.partial-PID) that killed runs of
# this config left, never another config's; a server disk with room for
# the archive but not its sidecars refuses the send and keeps nothing.
source "$TOP_SRCDIR/tests/lib.sh"
source "$TOP_SRCDIR/tests/sshd-peer.sh"

[ -x "$CAIRN" ] || fail "$CAIRN not built"
[ -f "$CAIRN_PLUGIN_DIR/ssh.so" ] || fail "ssh plugin not built"

sshd_init
client_key "$T/id" ed25519
sshd_authorize "$T/id.pub"
sshd_start
sshd_known_hosts "$T/kh" ed25519

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
# nas REMOTE-DIR CMD...: cairn with an ssh target writing to REMOTE-DIR.
nas() {
	local dir=$1
	shift
	env CAIRN_TARGET_NAS_PLUGIN=ssh CAIRN_TARGET_NAS_HOST=127.0.0.1 \
		CAIRN_TARGET_NAS_PORT="$SSHD_PORT" \
		CAIRN_TARGET_NAS_USER="$(id -un)" \
		CAIRN_TARGET_NAS_PATH="$dir" \
		CAIRN_TARGET_NAS_IDENTITY="$T/id" \
		CAIRN_TARGET_NAS_KNOWN_HOSTS="$T/kh" \
		"$CAIRN" -c "$T/c.conf" "$@"
}

REMOTE=$T/nas/mss
ours=".mss-backup-2020-01-01_031500.tar.zst.partial-4242
.mss-backup-2020-01-01_031500.tar.zst.sha256.partial-17"
theirs=".other-backup-2020-01-01_031500.tar.zst.partial-4242
.mss2-backup-2020-01-01_031500.tar.zst.partial-4242"
plant() {
	mkdir -p "$REMOTE"
	for f in $ours $theirs; do
		head -c 5000 /dev/urandom >"$REMOTE/$f"
	done
}
check() {
	for f in $ours; do
		[ ! -e "$REMOTE/$f" ] || fail "$f: leftover not removed"
	done
	for f in $theirs; do
		[ -f "$REMOTE/$f" ] || fail "$f: another config's file removed"
	done
}

note "backup removes this config's leftovers, no one else's"
plant
expect_rc 0 nas "$REMOTE" backup
check
out_has "removed .*left by a killed run"
(cd "$REMOTE" && sha256sum -c --quiet ./mss-*.sha256) ||
	fail "remote checksums"

note "prune does too"
plant
expect_rc 0 nas "$REMOTE" prune
check

note "SIGTERM during an upload: stopped, temporary removed, nothing left"
# The source is a FIFO fed in two halves, the signal in between: the
# upload is mid-way, whatever the link's speed.
mkfifo "$T/fifo"
PLUGIN_TOOL_SIZE=8388608 "$PLUGIN_TOOL" "$CAIRN_PLUGIN_DIR/ssh.so" \
	host=127.0.0.1 port="$SSHD_PORT" user="$(id -un)" path="$REMOTE" \
	identity="$T/id" known_hosts="$T/kh" \
	put "$T/fifo" mss-backup-stop.tar.zst >"$T/pt.out" 2>&1 &
ptpid=$!
exec 3>"$T/fifo"
head -c 4194304 /dev/urandom >&3
for i in $(seq 1 200); do
	ls -A "$REMOTE" >"$T/ls"
	grep -q '^\.mss-backup-stop\.tar\.zst\.partial-' "$T/ls" && break
	sleep 0.05
done
grep -q '^\.mss-backup-stop\.tar\.zst\.partial-' "$T/ls" ||
	{ cat "$T/pt.out"; fail "the upload did not start"; }
kill -TERM "$ptpid"
head -c 4194304 /dev/urandom >&3 2>/dev/null || true
exec 3>&-
rc=0
wait "$ptpid" || rc=$?
cat "$T/pt.out"
[ "$rc" = 1 ] || fail "stopped upload: exit $rc, want 1 (CAIRN_EFAIL)"
grep -q "interrupted" "$T/pt.out" || fail "the error does not say interrupted"
ls -A "$REMOTE" >"$T/ls"
grep -q 'mss-backup-stop' "$T/ls" &&
	{ cat "$T/ls"; fail "the stopped upload left a file"; }

if [ "$(id -u)" = 0 ]; then
	note "room for the archive, not its manifest: refused, nothing left"
	mkdir "$T/big"
	for i in $(seq 1 400); do
		echo "$i" >"$T/big/take-$i-of-a-long-session-name.wav"
	done
	cp -a "$T/big" "$T/src/Sounds/many"
	expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --no-targets
	a=$(ls "$T"/arch/mss-backup-2*.tar.zst | sort | tail -1)
	S=$(stat -c %s "$a")
	M=$(stat -c %s "$a.manifest")
	[ "$M" -gt 16384 ] || fail "manifest only $M bytes, too small"
	TINY=$T/tiny
	mkdir "$TINY"
	mount -t tmpfs -o size=$((S + M / 2)) tmpfs "$TINY" ||
		fail "cannot mount a tmpfs"
	trap 'st=$?; umount "$TINY" 2>/dev/null || true; sshd_cleanup
		rm -rf "$T"; exit $st' EXIT
	mkdir "$TINY/mss"
	expect_rc 4 nas "$TINY/mss" backup
	out_has "target nas failed: .*space"
	if [ -n "$(ls -A "$TINY/mss")" ]; then
		ls -la "$TINY/mss"
		fail "the failed send left files on the server"
	fi
	rm -rf "$T/src/Sounds/many"
	expect_rc 0 nas "$TINY/mss" backup
	(cd "$TINY/mss" && sha256sum -c --quiet ./*.sha256) ||
		fail "the smaller send does not check out"
fi
echo "ssh-clean: ok"

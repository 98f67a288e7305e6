#!/bin/bash
# ssh plugin against a real OpenSSH server on 127.0.0.1: round trip, key
# types, strict host keys (plain, hashed, changed, unknown), auth errors,
# a server killed mid-upload, connection refused.
source "$TOP_SRCDIR/tests/lib.sh"
source "$TOP_SRCDIR/tests/sshd-peer.sh"

PLUGIN=$CAIRN_PLUGIN_DIR/ssh.so
[ -f "$PLUGIN" ] || fail "$PLUGIN not built"
[ -x "$PLUGIN_TOOL" ] || fail "$PLUGIN_TOOL not built"

sshd_init
K=$T/keys
mkdir -p "$K"
client_key "$K/ed" ed25519
client_key "$K/ec" ecdsa
ssh-keygen -q -t ecdsa -m PEM -N '' -C cairn-test-pem -f "$K/ecpem"
client_key "$K/enc" ed25519 's3cret-Pass'
client_key "$K/rsa" rsa
client_key "$K/other" ed25519 # never authorized
for k in ed ec ecpem enc rsa; do sshd_authorize "$K/$k.pub"; done
sshd_start

KH=$T/known_hosts
sshd_known_hosts "$KH" ed25519 # ed25519 only: libssh2 would pick ECDSA
REMOTE=$T/remote/backups
ME=$(id -un)
ID=$K/ed

# pt [key=value]... CMD...: plugin-tool with this server's settings;
# leading key=value pairs win over the defaults.
pt() {
	local kv=()
	while [[ $# -gt 0 && $1 == *=* ]]; do kv+=("$1"); shift; done
	"$PLUGIN_TOOL" "$PLUGIN" "${kv[@]}" host=127.0.0.1 \
		port="$SSHD_PORT" user="$ME" path="$REMOTE" \
		identity="$ID" known_hosts="$KH" "$@"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# out_fixed STRING: like out_has, for a literal string.
out_fixed() {
	grep -qF -- "$1" "$T/out" ||
		{ cat "$T/out" >&2; fail "output lacks '$1'"; }
}
# objs: the objects the last list printed (log lines start with '[').
objs() { grep -v '^\[' "$T/out" || true; }

head -c 3000000 /dev/urandom >"$T/a.bin"
echo sidecar >"$T/a.bin.sha256"

note "path created when missing, put/list/get/del round trip"
[ ! -e "$T/remote" ] || fail "remote dir exists before the first put"
expect_rc 0 pt put "$T/a.bin" mss-backup-1.tar.zst
[ -f "$REMOTE/mss-backup-1.tar.zst" ] || fail "not uploaded"
[ "$(stat -c %a "$REMOTE/mss-backup-1.tar.zst")" = 600 ] ||
	fail "remote archive not 0600"
expect_rc 0 pt put "$T/a.bin.sha256" mss-backup-1.tar.zst.sha256
expect_rc 0 pt list
out_has "^mss-backup-1\.tar\.zst 3000000 [0-9]+$"
out_has "^mss-backup-1\.tar\.zst\.sha256 8 "
[ "$(objs | wc -l)" = 2 ] || { cat "$T/out"; fail "list: 2 lines"; }
expect_rc 0 pt get mss-backup-1.tar.zst "$T/got.bin"
[ "$(sha "$T/got.bin")" = "$(sha "$T/a.bin")" ] || fail "get: hash differs"
[ "$(stat -c %a "$T/got.bin")" = 600 ] || fail "get: local file not 0600"
ls "$T" | grep -q partial && fail "get left a temporary file"
expect_rc 0 pt del mss-backup-1.tar.zst.sha256
expect_rc 0 pt list
[ "$(objs | wc -l)" = 1 ] || { cat "$T/out"; fail "del did not delete"; }
expect_rc 8 pt del mss-backup-1.tar.zst.sha256
expect_rc 8 pt get nothing-here "$T/none"
[ ! -e "$T/none" ] || fail "failed get left $T/none"
expect_rc 0 pt check
out_has "free"

note "re-upload of an existing name replaces it"
head -c 1000 /dev/urandom >"$T/b.bin"
expect_rc 0 pt put "$T/b.bin" mss-backup-1.tar.zst
[ "$(sha "$REMOTE/mss-backup-1.tar.zst")" = "$(sha "$T/b.bin")" ] ||
	fail "overwrite: wrong content"

note "nested missing path, empty file"
: >"$T/empty"
expect_rc 0 pt path="$T/remote/x/y/z" put "$T/empty" e
[ -f "$T/remote/x/y/z/e" ] || fail "nested path not created"
expect_rc 0 pt path="$T/remote/never" list
[ -z "$(objs)" ] || fail "list of a missing dir printed something"

note "ECDSA client keys (OpenSSH and PEM format); ECDSA-only known_hosts"
sshd_known_hosts "$T/kh_ec" ecdsa
# libssh2 1.10 leaks 112 bytes (BIGNUMs in its parser) per login with an
# OpenSSH-format ECDSA key: no leak check for that one command.
ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
	expect_rc 0 pt identity="$K/ec" known_hosts="$T/kh_ec" \
	put "$T/a.bin" ec.bin
[ "$(sha "$REMOTE/ec.bin")" = "$(sha "$T/a.bin")" ] || fail "ecdsa upload"
expect_rc 0 pt identity="$K/ecpem" known_hosts="$T/kh_ec" list
out_has "^ec\.bin 3000000 "

note "encrypted key with passphrase_file"
printf 's3cret-Pass\n' >"$T/pass"
chmod 600 "$T/pass"
expect_rc 0 pt identity="$K/enc" passphrase_file="$T/pass" list
printf 'wrong-Pass\n' >"$T/badpass"
chmod 600 "$T/badpass"
expect_rc 4 pt identity="$K/enc" passphrase_file="$T/badpass" list
out_fixed "$K/enc"
grep -q 'wrong-Pass\|s3cret' "$T/out" && fail "passphrase leaked"
chmod 644 "$T/pass"
expect_rc 7 pt identity="$K/enc" passphrase_file="$T/pass" list
out_has "passphrase_file"

note "hashed known_hosts entry"
sshd_known_hosts "$T/kh_hashed" ed25519 ecdsa
ssh-keygen -q -H -f "$T/kh_hashed" >/dev/null 2>&1
grep -q '^|1|' "$T/kh_hashed" || fail "ssh-keygen -H did not hash"
grep -q 127.0.0.1 "$T/kh_hashed" && fail "hashed file still names the host"
expect_rc 0 pt known_hosts="$T/kh_hashed" put "$T/a.bin" hashed.bin
sshd_known_hosts "$T/kh_hashed_ed" ed25519
ssh-keygen -q -H -f "$T/kh_hashed_ed" >/dev/null 2>&1
expect_rc 0 pt known_hosts="$T/kh_hashed_ed" list

note "known_hosts with lines libssh2 cannot parse still works"
{
	echo "@cert-authority *.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA"
	echo "garbage"
	cat "$KH"
} >"$T/kh_mixed"
expect_rc 0 pt known_hosts="$T/kh_mixed" list

before=$(ls -A "$REMOTE" | sort)
note "changed host key refused with the fingerprint, nothing uploaded"
ssh-keygen -q -t ed25519 -N '' -f "$T/fake_host"
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" \
	"$(cut -d' ' -f1,2 "$T/fake_host.pub")" >"$T/kh_wrong"
expect_rc 4 pt known_hosts="$T/kh_wrong" put "$T/a.bin" wrong.bin
out_has "SHA256:"
out_fixed "$(sshd_fingerprint ed25519)"
out_has "CHANGED"
[ "$(ls -A "$REMOTE" | sort)" = "$before" ] || fail "something uploaded"

note "hashed changed key refused"
cp "$T/kh_wrong" "$T/kh_wrong_h"
ssh-keygen -q -H -f "$T/kh_wrong_h" >/dev/null 2>&1
expect_rc 4 pt known_hosts="$T/kh_wrong_h" put "$T/a.bin" wrong.bin
out_fixed "$(sshd_fingerprint ed25519)"

note "@revoked host key refused"
{ cat "$KH"; printf '@revoked * %s\n' \
	"$(cut -d' ' -f1,2 "$SSHD_DIR/host_ed25519.pub")"; } >"$T/kh_rev"
expect_rc 4 pt known_hosts="$T/kh_rev" list
out_has "revoked"

note "unknown host refused (no trust on first use)"
expect_rc 4 pt known_hosts="$T/kh_none" put "$T/a.bin" wrong.bin
out_has "unknown host key"
out_has "SHA256:"
grep -qF -e "$(sshd_fingerprint ed25519)" -e "$(sshd_fingerprint ecdsa)" \
	"$T/out" || fail "fingerprint is not the server's"
[ ! -e "$T/kh_none" ] || fail "known_hosts created without consent"
[ "$(ls -A "$REMOTE" | sort)" = "$before" ] || fail "something uploaded"

note "accept_new_host_key = yes records the key, then it is enforced"
expect_rc 0 pt known_hosts="$T/kh_new" accept_new_host_key=yes list
grep -q "^\[127.0.0.1\]:$SSHD_PORT " "$T/kh_new" || fail "key not recorded"
[ "$(stat -c %a "$T/kh_new")" = 600 ] || fail "known_hosts not 0600"
expect_rc 0 pt known_hosts="$T/kh_new" list
ssh-keygen -l -f "$T/kh_new" >/dev/null || fail "recorded line unreadable"
# accept-new never overrides a changed key
expect_rc 4 pt known_hosts="$T/kh_wrong" accept_new_host_key=yes list

note "wrong user key refused, naming key and user@host"
expect_rc 4 pt identity="$K/other" list
out_fixed "$K/other"
out_fixed "$ME@127.0.0.1"

note "RSA user key: the error says why"
expect_rc 4 pt identity="$K/rsa" list
out_has "RSA"
out_has "ed25519"

note "config errors name the key"
expect_rc 7 pt identity="$T/nope" list
out_has "identity"
expect_rc 7 "$PLUGIN_TOOL" "$PLUGIN" host=127.0.0.1 path=/x identity="$ID" \
	port=99999 list
out_has "port"
expect_rc 7 "$PLUGIN_TOOL" "$PLUGIN" path=/x identity="$ID" list
out_has "host"

note "ssh-agent"
eval "$(ssh-agent -s)" >/dev/null
AGENT_PID=$SSH_AGENT_PID
ssh-add -q "$K/ec" 2>/dev/null
expect_rc 0 "$PLUGIN_TOOL" "$PLUGIN" host=127.0.0.1 port="$SSHD_PORT" \
	user="$ME" path="$REMOTE" known_hosts="$KH" agent=yes list
out_has "^ec\.bin "
ssh-add -q -D 2>/dev/null
expect_rc 4 "$PLUGIN_TOOL" "$PLUGIN" host=127.0.0.1 port="$SSHD_PORT" \
	user="$ME" path="$REMOTE" known_hosts="$KH" agent=yes list

note "permission denied"
# Root passes mode checks; sysfs refuses new files even to root (EACCES).
probe=$(touch /sys/kernel/cairn-probe 2>&1 || true)
if [[ $probe == *"Permission denied"* ]]; then
	expect_rc 9 pt path=/sys/kernel put "$T/a.bin" x
	out_has "permission denied"
else
	note "(sysfs does not answer EACCES here: EPERM case not run)"
fi

note "server killed mid-upload: no final name, next put cleans up"
head -c 200000000 /dev/urandom >"$T/big.bin"
rc=0
pt put "$T/big.bin" big.tar.zst >"$T/put.out" 2>&1 &
put_pid=$!
for i in $(seq 1000); do
	ls -A "$REMOTE" | grep -q '^\.big\.tar\.zst\.partial-' && break
	kill -0 "$put_pid" 2>/dev/null || break
	sleep 0.01
done
ls -A "$REMOTE" | grep -q '^\.big\.tar\.zst\.partial-' ||
	fail "no .partial file appeared during the upload"
sshd_crash
wait "$put_pid" || rc=$?
cat "$T/put.out"
[ "$rc" = 2 ] ||
	fail "put: expected CAIRN_ERETRY (2) when the server died, got $rc"
[ ! -e "$REMOTE/big.tar.zst" ] || fail "final name exists after a crash"
sshd_start restart
expect_rc 0 pt list
grep -q partial "$T/out" && fail "list shows a temporary file"
expect_rc 0 pt put "$T/big.bin" big.tar.zst
[ "$(sha "$REMOTE/big.tar.zst")" = "$(sha "$T/big.bin")" ] ||
	fail "re-upload differs"
ls -A "$REMOTE" | grep -q partial && fail "stale temporary left behind"
rm -f "$T/big.bin" "$REMOTE/big.tar.zst"

note "no space left on a small filesystem"
mkdir -p "$T/remote/small"
if mount -t tmpfs -o size=1m cairn-test "$T/remote/small" 2>/dev/null; then
	rc=0
	pt path="$T/remote/small" put "$T/a.bin" full.bin >"$T/out" 2>&1 ||
		rc=$?
	umount "$T/remote/small"
	[ "$rc" = 6 ] || { cat "$T/out"; fail "ENOSPC: expected 6, got $rc"; }
	grep -q 'space' "$T/out" || fail "ENOSPC message"
else
	note "(cannot mount tmpfs here: ENOSPC case not run)"
fi

note "connection refused is transient"
sshd_stop
expect_rc 2 pt list
out_has "refused"
echo "ok"

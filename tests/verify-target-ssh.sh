#!/bin/bash
# `cairn verify --target` on an ssh target (the test's own sshd on
# 127.0.0.1): a good copy passes, a flipped byte, a missing sidecar and
# a truncated object each fail naming the target and the object.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/sshd-peer.sh"
. "$TOP_SRCDIR/tests/verify-target-lib.sh"
[ -f "$CAIRN_PLUGIN_DIR/ssh.so" ] || fail "ssh plugin not built"

sshd_init
client_key "$T/id" ed25519
sshd_authorize "$T/id.pub"
sshd_start
sshd_known_hosts "$T/kh" ed25519
R=$T/nas/backups/mss
mkdir -p "$R"

mss_backed_up
cat >>"$T/c.conf" <<EOC

[target nas]
plugin = ssh
host = 127.0.0.1
port = $SSHD_PORT
user = $(id -un)
path = $R
identity = $T/id
known_hosts = $T/kh
EOC
expect_rc 0 "$CAIRN" -c "$T/c.conf" sync --target nas
name=$(cd "$A" && ls mss-backup-2*.tar.zst)
on_nas() { echo "$R/$1"; }
vt_checks nas "$T/c.conf" "$name" on_nas
echo "verify-target-ssh: ok"

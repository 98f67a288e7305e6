#!/bin/bash
# `cairn verify --target` on an ssh target (the test's own sshd on
# 127.0.0.1): a good copy passes, a flipped byte, a missing sidecar and
# a truncated object each fail naming the target and the object.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/sshd-peer.sh"
. "$TOP_SRCDIR/tests/verify-target-peer.sh"
[ -f "$CAIRN_PLUGIN_DIR/ssh.so" ] || fail "ssh plugin not built"

sshd_ready
R=$T/nas/backups/mss
mkdir -p "$R"
mss_backed_up
ssh_target "$T/c.conf" nas "$R"
expect_rc 0 "$CAIRN" -c "$T/c.conf" sync --target nas
name=$(cd "$A" && ls mss-backup-2*.tar.zst)
on_nas() { echo "$R/$1"; }
vt_checks nas "$T/c.conf" "$name" on_nas
echo "verify-target-ssh: ok"

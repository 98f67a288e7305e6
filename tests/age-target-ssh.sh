#!/bin/bash
# An encrypted ssh target (the test sshd on 127.0.0.1) end to end: the
# copies are NAME.tar.zst.age and friends, age -d | tar -x of them is
# the tree, the local disk lost, restore --from with the identity; a
# wrong identity is refused naming the archive, with nothing touched.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/sshd-peer.sh"
. "$TOP_SRCDIR/tests/age-target-peer.sh"
command -v age >/dev/null || skip "age not installed"
[ -f "$CAIRN_PLUGIN_DIR/ssh.so" ] || fail "ssh plugin not built"

sshd_init
client_key "$T/id" ed25519
sshd_authorize "$T/id.pub"
sshd_start
sshd_known_hosts "$T/kh" ed25519
R=$T/nas/backups/mss

age_setup
TGT=nas
ssh_target "$CONF" nas "$R"
printf 'encrypt = age\nrecipients = %s\n' "$(cat "$T/rcpt")" >>"$CONF"
LIST="ls -A $R"
ssh_fetch() { cp "$R/$1" "$2"; }
age_target_run ssh_fetch
echo PASS

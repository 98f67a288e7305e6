#!/bin/bash
# ssh plugin: the ABI 2 conformance suite (plugin-tool conform) against a
# real OpenSSH server on 127.0.0.1; no temporary left on the server.
source "$TOP_SRCDIR/tests/lib.sh"
source "$TOP_SRCDIR/tests/sshd-peer.sh"

PLUGIN=$CAIRN_PLUGIN_DIR/ssh.so
[ -f "$PLUGIN" ] || fail "$PLUGIN not built"
sshd_init
client_key "$T/id" ed25519
sshd_authorize "$T/id.pub"
sshd_start
sshd_known_hosts "$T/kh" ed25519
REMOTE=$T/remote/conform

note "conformance"
expect_rc 0 "$PLUGIN_TOOL" "$PLUGIN" host=127.0.0.1 port="$SSHD_PORT" \
	user="$(id -un)" path="$REMOTE" identity="$T/id" known_hosts="$T/kh" \
	conform
out_has "ok: ranged get \(offset, length\)"
[ -z "$(ls -A "$REMOTE")" ] || { ls -la "$REMOTE"; fail "ssh left files"; }
echo "ssh-conform: ok"

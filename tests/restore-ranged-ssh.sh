#!/bin/bash
# restore db / --path from an ssh target (the test sshd on 127.0.0.1)
# reads only the frames it needs by ranged gets: the server's own
# count (sftp-server logs the bytes read of each file it closes) stays
# within the frames, the index and the sidecars; see
# tests/restore-ranged-peer.sh.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/sshd-peer.sh"
. "$TOP_SRCDIR/tests/restore-ranged-peer.sh"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
[ -f "$CAIRN_PLUGIN_DIR/ssh.so" ] || fail "ssh plugin not built"

sshd_init
# The peer's byte counter: OpenSSH's sftp-server logs "close ... bytes
# read N written M" for each file it closes.
SFTP_SERVER=${SFTP_SERVER:-/usr/lib/openssh/sftp-server}
[ -x "$SFTP_SERVER" ] || skip "no $SFTP_SERVER (openssh-sftp-server)"
printf '#!/bin/sh\nexec %s -e -l INFO 2>>%s\n' "$SFTP_SERVER" \
	"$T/sftp.log" >"$T/sftp-wrap"
chmod 755 "$T/sftp-wrap"
sed -i "s|^Subsystem sftp internal-sftp\$|Subsystem sftp $T/sftp-wrap|" \
	"$SSHD_DIR/sshd_config"
grep -q "sftp-wrap" "$SSHD_DIR/sshd_config" || fail "sshd_config not changed"
# libssh2's sftp read asks up to 4 buffers ahead; the plugin passes
# buffers small enough that it never reads past the range: no extra
# budget for read-ahead.
READAHEAD=1
client_key "$T/id" ed25519
sshd_authorize "$T/id.pub"
sshd_start
sshd_known_hosts "$T/kh" ed25519
R=$T/nas/backups/mss
TGT=nas
CONF=$T/c.conf
ranged_setup
ssh_target "$CONF" nas "$R"

peer_reset() { : >"$T/sftp.log"; }
peer_bytes() {
	sed -n 's/.*close ".*" bytes read \([0-9]*\) written.*/\1/p' \
		"$T/sftp.log" | awk '{ s += $1 } END { print s + 0 }'
}
peer_corrupt() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$R/$1" | tr -d ' ')
	printf "\\$(printf %o $(( (b + 1) % 256 )))" |
		dd of="$R/$1" bs=1 seek="$2" conv=notrunc status=none
}
peer_put() { cp "$2" "$R/$1"; }
ranged_run
echo PASS

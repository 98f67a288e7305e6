# A private OpenSSH server on 127.0.0.1 for the ssh plugin's tests and
# benchmark; sourced after tests/lib.sh (needs $T, fail, skip, free_port).
#
#   sshd_init             host keys, empty authorized_keys, config, a port
#   sshd_authorize PUB    allow a client public key
#   sshd_start / sshd_stop / sshd_crash (SIGKILL, sessions included)
#   sshd_known_hosts FILE TYPE...   known_hosts lines for this server
#   client_key FILE TYPE [PASSPHRASE]   a client key pair
#
# The EXIT trap stops the server (and any ssh-agent we started) and keeps
# lib.sh's removal of $T.

SSHD=${SSHD:-/usr/sbin/sshd}
SSHD_DIR=$T/sshd
SSHD_PID=
SSHD_PORT=
AGENT_PID=

sshd_cleanup() {
	[ -z "$SSHD_PID" ] || sshd_crash
	[ -z "$AGENT_PID" ] || kill "$AGENT_PID" 2>/dev/null || true
}
trap 'st=$?; sshd_cleanup; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; exit $st' EXIT

# Child pids of $1, from /proc (ppid is the 2nd field after the comm).
children_of() {
	local f line rest
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		rest=${line##*) }
		set -- "$1" $rest
		[ "$3" = "$1" ] && { f=${f#/proc/}; echo "${f%/stat}"; }
	done
	return 0
}

# Kill $2 and all its descendants with signal $1, children first seen.
kill_tree() {
	local sig=$1 pid=$2 kids c
	kids=$(children_of "$pid")
	kill "-$sig" "$pid" 2>/dev/null || true
	for c in $kids; do
		kill_tree "$sig" "$c"
	done
}

sshd_init() {
	[ -x "$SSHD" ] || skip "no $SSHD (apt-get install openssh-server)"
	command -v ssh-keygen >/dev/null || skip "no ssh-keygen"
	mkdir -p "$SSHD_DIR" /run/sshd
	ssh-keygen -q -t ed25519 -N '' -C host -f "$SSHD_DIR/host_ed25519"
	ssh-keygen -q -t ecdsa -N '' -C host -f "$SSHD_DIR/host_ecdsa"
	: >"$SSHD_DIR/authorized_keys"
	SSHD_PORT=$(free_port)
	sshd_config
}

sshd_config() {
	cat >"$SSHD_DIR/sshd_config" <<EOC
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $SSHD_DIR/host_ed25519
HostKey $SSHD_DIR/host_ecdsa
PidFile none
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $SSHD_DIR/authorized_keys
Subsystem sftp internal-sftp
LogLevel VERBOSE
MaxStartups 100
EOC
}

sshd_authorize() { cat "$1" >>"$SSHD_DIR/authorized_keys"; }

# Start and wait (bounded) until it listens. On a first start a port taken
# meanwhile is replaced; a restart keeps the port known_hosts names.
sshd_start() {
	local try i
	for try in 1 2 3; do
		: >"$SSHD_DIR/log"
		"$SSHD" -D -e -f "$SSHD_DIR/sshd_config" 2>>"$SSHD_DIR/log" &
		SSHD_PID=$!
		for i in $(seq 100); do
			grep -q "listening on 127.0.0.1 port $SSHD_PORT" \
				"$SSHD_DIR/log" && return 0
			kill -0 "$SSHD_PID" 2>/dev/null || break
			sleep 0.1
		done
		cat "$SSHD_DIR/log" >&2
		sshd_crash
		[ "${1:-}" = restart ] && sleep 1 && continue
		SSHD_PORT=$(free_port)
		sshd_config
	done
	fail "sshd did not start"
}

sshd_stop() {
	[ -n "$SSHD_PID" ] || return 0
	kill_tree TERM "$SSHD_PID"
	wait "$SSHD_PID" 2>/dev/null || true
	SSHD_PID=
}

# The server dies the hard way, sessions included, as in a power cut.
sshd_crash() {
	[ -n "$SSHD_PID" ] || return 0
	kill_tree KILL "$SSHD_PID"
	wait "$SSHD_PID" 2>/dev/null || true
	SSHD_PID=
}

# sshd_known_hosts FILE TYPE...: entries for [127.0.0.1]:PORT, TYPE one of
# ed25519 ecdsa.
sshd_known_hosts() {
	local out=$1 t
	shift
	: >"$out"
	for t in "$@"; do
		printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" \
			"$(cut -d' ' -f1,2 "$SSHD_DIR/host_$t.pub")" >>"$out"
	done
}

# The OpenSSH fingerprint of a server host key, e.g. SHA256:abc...
sshd_fingerprint() {
	ssh-keygen -l -E sha256 -f "$SSHD_DIR/host_$1.pub" | cut -d' ' -f2
}

# client_key FILE TYPE [PASSPHRASE]
client_key() {
	ssh-keygen -q -t "$2" -N "${3:-}" -C "cairn-test-$2" -f "$1"
}

# sshd_ready: the server running, a client key $T/id it accepts and
# $T/kh knowing its ed25519 host key.
sshd_ready() {
	sshd_init
	client_key "$T/id" ed25519
	sshd_authorize "$T/id.pub"
	sshd_start
	sshd_known_hosts "$T/kh" ed25519
}

# ssh_target CONF NAME PATH: append [target NAME] for this server with
# $T/id and $T/kh, files under PATH.
ssh_target() {
	printf '\n[target %s]\nplugin = ssh\nhost = 127.0.0.1\nport = %s\n' \
		"$2" "$SSHD_PORT" >>"$1"
	printf 'user = %s\npath = %s\nidentity = %s\nknown_hosts = %s\n' \
		"$(id -un)" "$3" "$T/id" "$T/kh" >>"$1"
}

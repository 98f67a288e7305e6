# Shared helpers for the shell tests; sourced, never run.
# Every test gets a private scratch dir, removed on exit unless KEEP=1.
set -eu
set -o pipefail

umask 077
T=$(mktemp -d "${TMPDIR:-/tmp}/cairn-test.XXXXXX")
# A test that runs cairn in the background keeps its pid in $pid (and a
# holder's fifo in $T/hold): it is killed, and the fifo removed, on exit.
pid=
trap 'st=$?; rm -f "$T/hold"; [ -z "$pid" ] || kill -9 "$pid" 2>/dev/null ||
      true; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; exit $st' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
# skip REASON: exit 77 (SKIP). CI installs every peer a test needs, so
# there (CI=true) a skip is a failure.
skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: skipped in CI: $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}
note() { echo "--- $*"; }

# expect_rc RC CMD...: run CMD, fail unless it exits RC. Output in $T/out.
expect_rc() {
	local want=$1 rc=0
	shift
	"$@" >"$T/out" 2>&1 || rc=$?
	if [ "$rc" != "$want" ]; then
		cat "$T/out" >&2
		fail "expected exit $want, got $rc: $*"
	fi
}

# out_has REGEX: the last expect_rc output matches REGEX.
out_has() { grep -Eq -- "$1" "$T/out" || { cat "$T/out" >&2; fail "output lacks /$1/"; }; }

# mss_backed_up: the 4 MB sound machine tree in $S, its config in
# $T/c.conf (archives in $A, state in $ST), one backup made: $name.
mss_backed_up() {
	S=$T/src A=$T/archive ST=$T/state
	dataset "$S" 4
	mss_conf "$T/c.conf" "$S" "$A" "$ST"
	expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
	name=$(cd "$A" && ls mss-backup-2*.tar.zst)
}

# tree_state DIR: type, mode, size, mtime, link target and hash of every
# entry (SQLite's -shm aside), to compare a tree before and after.
tree_state() {
	(cd "$1" &&
	 find . ! -name '*-shm' ! -type d -printf '%P %y %m %s %Ts %l\n' |
		sort
	 find . -type d -printf '%P %y %m\n' | sort
	 find . -type f ! -name '*-shm' -exec sha256sum {} + | sort -k2)
}

# dataset DIR MB: a deterministic make-dataset tree (cached per size).
dataset() {
	local dir=$1 mb=${2:-4}
	local cache="${TOP_BUILDDIR:-/tmp}/tests/.dataset-$mb"
	if [ ! -d "$cache" ]; then
		# The tree's modes are the dataset's (0644 files), not this
		# shell's umask 077: tests compare them.
		(umask 022 && python3 "$MAKE_DATASET" "$cache.tmp.$$" \
			--mb "$mb" >/dev/null)
		mv -T "$cache.tmp.$$" "$cache" 2>/dev/null ||
			rm -rf "$cache.tmp.$$"
	fi
	mkdir -p "$dir"
	cp -a "$cache/." "$dir/"
}

# mss_conf FILE SRC ARCHIVE STATE: the sound machine profile for a test.
mss_conf() {
	cat >"$1" <<EOC
[cairn]
name = mss
source = $2
archive_dir = $3
state_dir = $4
compression = ${COMPRESSION:-zstd}
keep_last = ${KEEP_LAST:-7}

[component db]
type = sqlite
path = data/sound_machine.db

[component audio]
type = files
path = Sounds

[component config]
type = files
path = config data/server_id.txt data/exports

[component logs]
type = files
path = log
required = no

[mode db]
components = db

[mode audio]
components = audio
EOC
	chmod 600 "$1"
}

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A make of its own: not the parent's jobserver, flags or directory notes.
submake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make --no-print-directory -C "$TOP_BUILDDIR" "$@"
}

# install_dest: `make install DESTDIR=$T/dest` into $D, and dir NAME for
# the expanded install directories (bindir, pkglibdir, ...).
install_dest() {
	D=$T/dest
	submake install DESTDIR="$D" >"$T/install.log" 2>&1 ||
		{ cat "$T/install.log" >&2; fail "make install DESTDIR=$D"; }
	submake -s cairn-print-dirs >"$T/dirs" || fail "make cairn-print-dirs"
}
dir() { sed -n "s|^$1=||p" "$T/dirs"; }

# stream_interrupted CONF COPY ARCH: a backup held before publishing has
# streamed into a temporary on the target (dir COPY), nothing under a
# final name; SIGTERM then leaves COPY empty (ARCH: its archive_dir).
stream_interrupted() {
	local conf=$1 copy=$2 arch=$3 pid rc=0

	note "before the commit: streamed, but nothing under the final name"
	CAIRN_PUBLISH_PAUSE=60 "$CAIRN" -c "$conf" backup >"$T/run.out" 2>&1 &
	pid=$!
	for _ in $(seq 1 1200); do
		grep -q '^cairn: writing' "$T/run.out" &&
			ls -A "$copy" 2>/dev/null | grep -q '\.partial$' &&
			ls "$arch"/.*partial* >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	ls -A "$copy" 2>/dev/null | grep -q '\.partial$' ||
		{ cat "$T/run.out"; fail "no temporary on the target while writing"; }
	ls -A "$copy" | grep -Eq '^mss-backup-[0-9_-]+\.tar\.zst' &&
		fail "a name is visible on the target before the commit"

	note "SIGTERM before the commit: nothing left on the target"
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 1 ] || { cat "$T/run.out"; fail "interrupted run: exit $rc"; }
	[ -z "$(ls -A "$copy")" ] ||
		{ ls -la "$copy"; fail "the aborted stream left files"; }
}

# mem_plugin_dir: $P, a plugin dir holding the test's mem plugin alone.
mem_plugin_dir() {
	P=$T/plugins
	mkdir -m 755 "$P"
	cp "$TOP_BUILDDIR/tests/.libs/mem.so" "$P/"
	chmod 755 "$P"/*.so
}

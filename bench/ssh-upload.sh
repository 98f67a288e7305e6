#!/bin/bash
# Upload speed of the ssh plugin against scp, to the same private sshd on
# 127.0.0.1, with a ~381 MB archive of the 388 MB make-dataset tree.
#
#   bench/ssh-upload.sh          (from a configured and built tree)
#
# Env: TOP_BUILDDIR (default: the tree holding this script), MB (388),
# RUNS (1: uploads per tool; the best is reported), KEEP=1 keeps the
# scratch dir. Needs: openssh-server, openssh-client, zstd, python3.
TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
TOP_BUILDDIR=${TOP_BUILDDIR:-$TOP_SRCDIR}
PLUGIN_TOOL=${PLUGIN_TOOL:-$TOP_BUILDDIR/tests/plugin-tool}
CAIRN_PLUGIN_DIR=${CAIRN_PLUGIN_DIR:-$TOP_BUILDDIR/plugins/.libs}
CAIRN=${CAIRN:-$TOP_BUILDDIR/cairn}
MAKE_DATASET=${MAKE_DATASET:-$TOP_SRCDIR/../shared/bench/make-dataset}
MB=${MB:-388}
RUNS=${RUNS:-1}
source "$TOP_SRCDIR/tests/lib.sh"
source "$TOP_SRCDIR/tests/sshd-peer.sh"

PLUGIN=$CAIRN_PLUGIN_DIR/ssh.so
[ -f "$PLUGIN" ] && [ -x "$PLUGIN_TOOL" ] ||
	fail "build first: make plugins/ssh.la tests/plugin-tool"
command -v zstd >/dev/null || fail "needs zstd"
command -v scp >/dev/null || fail "needs scp (openssh-client)"

now() { date +%s.%N; }
mbps() { python3 -c "import sys; print('%.1f' % ($1 / 1e6 / ($3 - $2)))"; }

note "dataset ($MB MB) and archive"
python3 "$MAKE_DATASET" "$T/data" --mb "$MB" >/dev/null
ARCHIVE=
if [ -x "$CAIRN" ]; then
	mss_conf "$T/cairn.conf" "$T/data" "$T/archive" "$T/state"
	if "$CAIRN" -q -c "$T/cairn.conf" backup --no-targets >/dev/null 2>&1
	then
		ARCHIVE=$(ls "$T"/archive/mss-backup-*.tar.zst 2>/dev/null |
			grep -v latest | head -1)
	fi
fi
if [ -z "$ARCHIVE" ]; then
	ARCHIVE=$T/archive.tar.zst
	tar -C "$T" -cf - data | zstd -q -T2 -3 >"$ARCHIVE"
	how="tar | zstd -T2 -3"
else
	how="cairn backup"
fi
SIZE=$(stat -c %s "$ARCHIVE")
SUM=$(sha256sum "$ARCHIVE" | cut -d' ' -f1)
echo "archive: $SIZE bytes ($how)"

sshd_init
client_key "$T/id" ed25519
sshd_authorize "$T/id.pub"
sshd_start
sshd_known_hosts "$T/kh" ed25519 ecdsa
REMOTE=$T/remote
mkdir -p "$REMOTE"
ME=$(id -un)

best_plugin=0 best_scp=0
for run in $(seq "$RUNS"); do
	rm -f "$REMOTE"/*
	t0=$(now)
	"$PLUGIN_TOOL" "$PLUGIN" host=127.0.0.1 port="$SSHD_PORT" user="$ME" \
		path="$REMOTE" identity="$T/id" known_hosts="$T/kh" \
		put "$ARCHIVE" plugin.tar.zst 2>"$T/err" || {
		cat "$T/err"
		fail "plugin upload failed"
	}
	t1=$(now)
	scp -q -P "$SSHD_PORT" -i "$T/id" -o BatchMode=yes \
		-o UserKnownHostsFile="$T/kh" -o StrictHostKeyChecking=yes \
		"$ARCHIVE" "$ME@127.0.0.1:$REMOTE/scp.tar.zst"
	t2=$(now)
	for f in plugin scp; do
		sum=$(sha256sum "$REMOTE/$f.tar.zst" | cut -d' ' -f1)
		[ "$sum" = "$SUM" ] || fail "$f upload differs from the archive"
	done
	p=$(mbps "$SIZE" "$t0" "$t1")
	s=$(mbps "$SIZE" "$t1" "$t2")
	echo "run $run: plugin $p MB/s, scp $s MB/s"
	best_plugin=$(python3 -c "print(max($best_plugin, $p))")
	best_scp=$(python3 -c "print(max($best_scp, $s))")
done
echo "ssh plugin put: $best_plugin MB/s"
echo "scp:            $best_scp MB/s"
ratio=$(python3 -c "print('%.2f' % ($best_plugin / $best_scp))")
echo "ratio plugin/scp: $ratio"

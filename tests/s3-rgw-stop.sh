#!/bin/bash
# The last of the s3 tests (make orders it after them): stops the RGW they
# shared (tests/s3-peer.sh) if none of them still uses it, so a run leaves
# no ceph daemons behind, and checks they are gone.
. "$TOP_SRCDIR/tests/lib.sh"
RGW_HOME=${RGW_HOME:-$TOP_BUILDDIR/tests/.rgw}
[ -d "$RGW_HOME" ] || { echo "no shared RGW running"; exit 0; }
pids=$(cat "$RGW_HOME/pids" 2>/dev/null || true)
"$TOP_SRCDIR/tests/rgw/reap" "$RGW_HOME" "" 0
if [ -d "$RGW_HOME.users" ] && [ -n "$(ls "$RGW_HOME.users")" ]; then
	echo "RGW still in use by $(ls "$RGW_HOME.users"): left running"
	exit 0
fi
for p in $pids; do
	cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null || true)
	case $cmd in
	*"$RGW_HOME/ceph.conf"*) fail "ceph daemon $p still runs" ;;
	esac
done
[ ! -e "$RGW_HOME" ] || fail "$RGW_HOME left behind"
echo "shared RGW stopped"

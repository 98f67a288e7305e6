#!/bin/bash
# Many hosts, one bucket (Ceph RGW): prefix = fleet/%h/ expands to each
# host's short name and %n to the config's name, so one config template
# serves a fleet; list --target s3 --all-hosts shows every host's archives
# with their host; a host's retention never touches another host's.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"

command -v unshare >/dev/null || fail "unshare is missing (util-linux)"
unshare --uts true 2>/dev/null || skip "no UTS namespace (not root?)"
s3_peer_start
dataset "$T/src" 4
# conf HOST: one host's config, the same [target s3] for all.
conf() {
	KEEP_LAST=5 mss_conf "$T/$1.conf" "$T/src" "$T/arch-$1" "$T/state-$1"
	s3_target "$T/$1.conf" endpoint="$S3_DIRECT" prefix=fleet/%n/%h/ \
		keep_last=1
}
# on HOST ARGS...: cairn as host HOST (its own UTS namespace).
on() {
	local h=$1
	shift
	unshare --uts sh -c 'hostname "$0.example.org" && exec "$@"' "$h" \
		"$CAIRN" -c "$T/$h.conf" "$@"
}
keys() { s3_rgw versions "$S3_BUCKET" "$1" | cut -d' ' -f1 | sort; }
conf alpha
conf beta

note "each host writes under fleet/mss/HOST/"
expect_rc 0 on alpha backup
expect_rc 0 on beta backup
keys fleet/mss/alpha/ | grep -q '\.tar\.zst$' || fail "nothing under fleet/mss/alpha/"
keys fleet/mss/beta/ | grep -q '\.tar\.zst$' || fail "nothing under fleet/mss/beta/"
keys fleet/ | grep -v '^fleet/mss/\(alpha\|beta\)/' && fail "objects outside the hosts' prefixes"
B=$(basename "$(ls "$T"/arch-beta/mss-backup-2*.tar.zst)")

note "alpha's retention keeps alpha's one archive and all of beta's"
sleep 1
expect_rc 0 on alpha backup
[ "$(keys fleet/mss/alpha/ | grep -c '\.tar\.zst$')" = 1 ] ||
	fail "alpha keeps $(keys fleet/mss/alpha/ | grep -c '\.tar\.zst$'), want 1"
keys fleet/mss/beta/ | grep -qx "fleet/mss/beta/$B" || fail "alpha pruned beta's $B"
expect_rc 0 on alpha prune
keys fleet/mss/beta/ | grep -qx "fleet/mss/beta/$B" || fail "alpha's prune removed beta's $B"

note "list --target s3: this host's; --all-hosts: every host's, with host"
expect_rc 0 on alpha list --target s3
grep -q "$B" "$T/out" && fail "alpha lists beta's archive without --all-hosts"
expect_rc 0 on alpha list --target s3 --all-hosts
out_has "beta .*$B|$B.* beta"
out_has "alpha"
expect_rc 0 on alpha list --target s3 --all-hosts --json
out_has "\"host\": *\"beta\""
out_has "\"host\": *\"alpha\""
echo "s3-hosts: ok"

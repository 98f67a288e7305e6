#!/bin/bash
# Object Lock on a real store (Ceph RGW): every object cairn puts to a
# lock-enabled bucket carries the mode and a retain-until date (lock_last
# = 5m, then 60s: seconds-scale periods); RGW itself refuses to delete a
# locked version; retention reports "locked until DATE" and keeps the run
# green; once the period is over prune removes every version it wrote;
# a compliance lock survives prune and a bypass with the same key;
# `cairn plugins` says when a bucket has no Object Lock.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"

s3_peer_start
GOV=$S3_BUCKET-gov
EXP=$S3_BUCKET-exp
CMP=$S3_BUCKET-cmp
s3_mkbucket "$GOV" lock
s3_mkbucket "$EXP" lock
s3_mkbucket "$CMP" lock
[ "$(s3_rgw bucketlock "$GOV")" = Enabled ] || fail "$GOV has no Object Lock"
dataset "$T/src" 4

# conf FILE BUCKET MODE LOCK_LAST: a config with an s3 target on RGW.
conf() {
	mss_conf "$1" "$T/src" "$T/arch-$2" "$T/state-$2"
	s3_target "$1" endpoint="$S3_DIRECT" bucket="$2" object_lock="$3" \
		lock_last="$4" keep_last=1
}
# versions BUCKET: "KEY VERSION latest|old|marker" under mss/.
versions() { s3_rgw versions "$1" mss/ | sort; }
# until_of BUCKET KEY: the retain-until of KEY as seconds, "" if none.
until_of() {
	local l
	l=$(s3_rgw lock "$1" "$2")
	[ "$l" = none ] || date -u -d "${l#* }" +%s
}

note "object_lock on a bucket without Object Lock: cairn plugins says so"
conf "$T/plain.conf" "$S3_BUCKET" governance 30s
expect_rc 4 "$CAIRN" -c "$T/plain.conf" plugins
out_has "Object Lock is not enabled"

note "governance, lock_last = 5m: every object locked for 5 minutes"
conf "$T/gov.conf" "$GOV" governance 5m
t0=$(date -u +%s)
expect_rc 0 "$CAIRN" -c "$T/gov.conf" backup
t1=$(date -u +%s)
A=$(basename "$(ls "$T"/arch-$GOV/mss-backup-2*.tar.zst)")
versions "$GOV" >"$T/v"
grep -q "^mss/$A " "$T/v" || { cat "$T/v"; fail "$A not in $GOV"; }
for k in $(cut -d' ' -f1 "$T/v"); do
	l=$(s3_rgw lock "$GOV" "$k")
	case $l in GOVERNANCE\ *) ;; *) fail "$k: lock '$l', want GOVERNANCE" ;; esac
	u=$(until_of "$GOV" "$k")
	[ "$u" -ge $((t0 + 299)) ] && [ "$u" -le $((t1 + 301)) ] ||
		fail "$k retained until $u, want $t0..$t1 + 5 min"
done
grep -q "^mss/$A.sha256 " "$T/v" || fail "no sidecar of $A"
until=$(until_of "$GOV" "mss/$A")

note "RGW refuses to delete the locked version"
vid=$(sed -n "s|^mss/$A \([^ ]*\) latest$|\1|p" "$T/v")
rc=0
s3_rgw delver "$GOV" "mss/$A" "$vid" 2>"$T/err" || rc=$?
[ "$rc" = 3 ] || { cat "$T/err"; fail "delete of a locked version: rc $rc, want 3 (403)"; }

note "retention within the period: locked until DATE, the run is green"
sleep 1 # a second archive name
expect_rc 0 "$CAIRN" -c "$T/gov.conf" backup
out_has "$A.* locked until $(date -u -d @"$until" +%Y-%m-%d)"
grep -q '"status":"success"' "$T/state-$GOV/last_backup.json" ||
	fail "a refused delete failed the run"
versions "$GOV" >"$T/v"
grep -q "^mss/$A [^ ]* latest$" "$T/v" || { cat "$T/v"; fail "$A is no longer current"; }
grep -q ' marker$' "$T/v" && { cat "$T/v"; fail "prune left delete markers"; }
expect_rc 0 "$CAIRN" -c "$T/gov.conf" list --target s3
out_has "$A"

note "an archive someone put without a lock"
echo x >"$T/x"
bare=mss-backup-2020-01-01_031500.tar.zst
s3_rgw put "$GOV" "mss/$bare" "$T/x"
sha256sum "$T/x" | sed "s| .*|  $bare|" >"$T/x.sha256"
s3_rgw put "$GOV" "mss/$bare.sha256" "$T/x.sha256"

note "lock_last = 60s: locked at the next backup, pruned after the period"
conf "$T/exp.conf" "$EXP" governance 60s
expect_rc 0 "$CAIRN" -c "$T/exp.conf" backup
X=$(basename "$(ls "$T"/arch-$EXP/mss-backup-2*.tar.zst)")
until=$(until_of "$EXP" "mss/$X")
sleep 1
expect_rc 0 "$CAIRN" -c "$T/exp.conf" backup
out_has "$X.* locked until"
while [ "$(date -u +%s)" -le "$until" ]; do sleep 1; done
expect_rc 0 "$CAIRN" -c "$T/exp.conf" prune
versions "$EXP" >"$T/v"
grep -q "^mss/$X" "$T/v" && { cat "$T/v"; fail "versions of $X left"; }
[ "$(grep -c '\.tar\.zst [^ ]* latest$' "$T/v")" = 1 ] ||
	{ cat "$T/v"; fail "want the newer archive kept"; }
# The unlocked archive in the governance bucket goes at its prune.
expect_rc 0 "$CAIRN" -c "$T/gov.conf" prune
versions "$GOV" >"$T/v"
grep -q "^mss/$bare" "$T/v" && { cat "$T/v"; fail "versions of $bare left"; }
grep -q "^mss/$A [^ ]* latest$" "$T/v" || { cat "$T/v"; fail "$A went"; }

note "compliance: survives prune and a governance bypass, same key"
conf "$T/cmp.conf" "$CMP" compliance 1d
expect_rc 0 "$CAIRN" -c "$T/cmp.conf" backup
C=$(basename "$(ls "$T"/arch-$CMP/mss-backup-2*.tar.zst)")
sleep 1
expect_rc 0 "$CAIRN" -c "$T/cmp.conf" backup
out_has "$C.* locked until"
expect_rc 0 "$CAIRN" -c "$T/cmp.conf" prune
out_has "$C.* locked until"
versions "$CMP" >"$T/v"
grep -q "^mss/$C [^ ]* latest$" "$T/v" || { cat "$T/v"; fail "$C is gone"; }
case $(s3_rgw lock "$CMP" "mss/$C") in
COMPLIANCE\ *) ;;
*) fail "$C is not under a compliance lock" ;;
esac
vid=$(sed -n "s|^mss/$C \([^ ]*\) latest$|\1|p" "$T/v")
rc=0
s3_rgw delver "$CMP" "mss/$C" "$vid" bypass 2>"$T/err" || rc=$?
[ "$rc" = 3 ] || fail "compliance delete with bypass: rc $rc, want 3"
echo "s3-lock: ok"

#!/bin/bash
# `cairn verify --target` on s3 (Ceph RGW, through the test proxy): a
# good copy passes; a flipped byte, a missing sidecar and a truncated
# object each fail naming the target and the object. With object_lock,
# every object's lock is checked by HEAD: an archive whose lock was
# shortened by a governance bypass with the same key, a sidecar put
# again without a lock, and a lock of another mode than object_lock
# names are each reported; an encrypted copy is locked like a plain one.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"
. "$TOP_SRCDIR/tests/verify-target-peer.sh"

s3_peer_start
mss_backed_up
s3_target "$T/c.conf"
expect_rc 0 "$CAIRN" -c "$T/c.conf" sync --target s3
vt_get() { s3_rgw get "$S3_BUCKET" "mss/$2" "$3"; }
vt_put() { s3_rgw put "$S3_BUCKET" "mss/$3" "$2"; }
vt_rm() { s3_rgw rm "$S3_BUCKET" "mss/$2"; }
vt_checks s3 "$T/c.conf" "$name"

note "object_lock: every object locked as its retention wants"
GOV=$S3_BUCKET-gov
s3_mkbucket "$GOV" lock
mss_conf "$T/g.conf" "$T/src" "$T/arch-g" "$T/state-g"
s3_target "$T/g.conf" bucket="$GOV" object_lock=governance lock_last=1h
expect_rc 0 "$CAIRN" -c "$T/g.conf" backup
G=$(cd "$T/arch-g" && ls mss-backup-2*.tar.zst)
expect_rc 0 "$CAIRN" -c "$T/g.conf" verify --target s3
out_has "^target s3: $G: OK \(3 objects match its sidecar, locked as its retention wants\)"

note "a lock of another mode than object_lock names"
sed 's/^object_lock = governance/object_lock = compliance/' "$T/g.conf" \
	>"$T/c2.conf"
chmod 600 "$T/c2.conf"
expect_rc 1 "$CAIRN" -c "$T/c2.conf" verify --target s3
out_has "target s3: $G: locked GOVERNANCE, but object_lock = COMPLIANCE"

note "a lock shortened with a governance bypass"
soon=$(date -u -d '+2 min' +%Y-%m-%dT%H:%M:%SZ)
s3_rgw retain "$GOV" "mss/$G" "$soon" bypass
expect_rc 1 "$CAIRN" -c "$T/g.conf" verify --target s3
out_has "target s3: $G: locked only until ${soon%:*}:[0-9]{2}Z?, its retention wants"
out_has "^target s3: $G: FAILED \(1 problem\)"

note "an object put again without a lock (its new version is current)"
s3_rgw get "$GOV" "mss/$G.sha256" "$T/side"
s3_rgw put "$GOV" "mss/$G.sha256" "$T/side"
case $(s3_rgw lock "$GOV" "mss/$G.sha256") in
none) ;;
*) fail "the lock of $G.sha256 is still on" ;;
esac
expect_rc 1 "$CAIRN" -c "$T/g.conf" verify --target s3 --json
python3 - "$T/out" "$G" <<'PY' || fail "bad --json of lock problems"
import json, sys
d = json.load(open(sys.argv[1]))
a = d["archives"][0]
assert d["ok"] is False and a["archive"] == sys.argv[2], d
p = a["problems"]
assert len(p) == 2, p
assert any(x.startswith(sys.argv[2] + ".sha256: not locked") for x in p), p
assert any(x.startswith(sys.argv[2] + ": locked only until") for x in p), p
PY
note "an encrypted copy on a locked bucket: every object locked"
age-keygen -o "$T/akey" 2>/dev/null
mss_conf "$T/e.conf" "$T/src" "$T/arch-e" "$T/state-e"
s3_target "$T/e.conf" bucket="$GOV" prefix=enc/ object_lock=governance \
	lock_last=1h encrypt=age recipients="$(age-keygen -y "$T/akey")"
expect_rc 0 "$CAIRN" -c "$T/e.conf" backup
E=$(cd "$T/arch-e" && ls mss-backup-2*.tar.zst)
for o in "$E.age" "$E.age.sha256" "$E.manifest.age" "$E.index.age"; do
	case $(s3_rgw lock "$GOV" "enc/$o") in
	GOVERNANCE\ *) ;;
	*) fail "enc/$o is not locked: $(s3_rgw lock "$GOV" "enc/$o")" ;;
	esac
done
expect_rc 0 "$CAIRN" -c "$T/e.conf" verify --target s3
out_has "^target s3: $E: OK \(3 objects match its sidecar, locked as its retention wants\)"
echo "verify-target-s3: ok"

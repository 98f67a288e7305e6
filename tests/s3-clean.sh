#!/bin/bash
# s3 target through the core: multipart uploads that killed runs of this
# config left are aborted at the next backup, those of other configs or
# other prefixes are not; SIGTERM while a part is in flight (held by the
# proxy) stops the run, aborts the upload and leaves nothing of the run
# on the store, no partial archive and no untrue status.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"

command -v s3cmd >/dev/null || fail "s3cmd is missing (apt-get install s3cmd)"
s3_peer_start
s3cmd_conf "$T/s3cfg" "127.0.0.1:$S3_PORT"
dataset "$T/src" 12
KEEP_LAST=5 mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
s3_target "$T/c.conf" part_size=5M parallel=2
# has_upload REGEX: an unfinished upload's key matches (no early-exit
# grep in a pipe: pipefail would turn its SIGPIPE into a failure).
has_upload() { s3_uploads >"$T/uploads"; grep -Eq "^$1" "$T/uploads"; }
remote() { s3_pt mss/ endpoint="$S3_DIRECT" list | cut -d' ' -f1 | sort; }

note "uploads left by killed runs: this config's are aborted, no others"
ours=mss/mss-backup-2020-01-01_031500.tar.zst
theirs="mss/other-backup-2020-01-01_031500.tar.zst
mss/mss2-backup-2020-01-01_031500.tar.zst
elsewhere/mss-backup-2020-01-01_031500.tar.zst"
for k in $ours $theirs; do s3_initiate "$k"; done
s3_initiate "$ours" # two of the same key
[ "$(s3_uploads | wc -l)" = 5 ] || fail "uploads not planted: $(s3_uploads)"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
out_has "aborted multipart upload of s3://$S3_BUCKET/$ours, left by a killed"
s3_uploads | cut -d' ' -f1 | sort >"$T/left"
[ "$(cat "$T/left")" = "$(echo "$theirs" | sort)" ] ||
	{ cat "$T/left"; fail "wrong uploads aborted"; }
# A second client's view (s3cmd lists them through the proxy).
s3cmd -c "$T/s3cfg" --no-ssl multipart "s3://$S3_BUCKET" >"$T/mp" ||
	fail "s3cmd multipart failed"
grep -q "$ours" "$T/mp" && { cat "$T/mp"; fail "s3cmd still lists $ours"; }
grep -q "other-backup" "$T/mp" || { cat "$T/mp"; fail "s3cmd lost theirs"; }
grep -c '\.tar\.zst$' <(remote) | grep -qx 1 || fail "backup not on the store"

note "SIGTERM while a part is in flight: stopped, aborted, nothing left"
# The proxy holds the first part (tests/s3proxy.py's hang fault), so the
# TERM always lands while an upload is in flight, however loaded the
# machine is.
before=$(remote)
cp "$T/state/last_backup.json" "$T/last.before"
echo "PUT partNumber=1& hang" >"$S3_FAULT"
"$CAIRN" -c "$T/c.conf" backup >"$T/run.out" 2>&1 &
pid=$!
for i in $(seq 1 1200); do
	[ -e "$S3_FAULT.held" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
[ -e "$S3_FAULT.held" ] || { cat "$T/run.out"; fail "no part was held"; }
has_upload 'mss/mss-backup-2' ||
	{ cat "$T/run.out"; fail "no upload in flight"; }
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
# Let the held part go on: its upload is gone, so it cannot land.
rm -f "$S3_FAULT" "$S3_FAULT.held"
cat "$T/run.out"
[ "$rc" != 0 ] || fail "an interrupted run exited 0"
grep -q "interrupted" "$T/run.out" || fail "the log does not say interrupted"
grep -q "aborted multipart upload of s3://$S3_BUCKET/mss/mss-backup-2" \
	"$T/run.out" || fail "the upload was not aborted"
has_upload 'mss/mss-' && fail "an upload is left on the store: $(s3_uploads)"
[ "$(remote)" = "$before" ] ||
	{ remote; fail "the interrupted run left objects"; }
s3cmd -c "$T/s3cfg" --no-ssl multipart "s3://$S3_BUCKET" >"$T/mp" ||
	fail "s3cmd multipart failed"
grep -q "mss/mss-backup" "$T/mp" &&
	{ cat "$T/mp"; fail "s3cmd lists an upload"; }
# No untrue status: the last run is recorded as it was, or as failed.
cmp -s "$T/last.before" "$T/state/last_backup.json" ||
	! grep -q '"status":"success"' "$T/state/last_backup.json" ||
	{ cat "$T/state/last_backup.json"; fail "the interrupted run says success"; }
# No partial archive under a final name: each one there checks out.
(cd "$T/arch" && for a in mss-backup-2*.tar.zst; do
	sha256sum -c --quiet "$a.sha256" || exit 1
done) || fail "a partial archive is left in $T/arch"

note "the next run works"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
[ "$(grep -c '\.tar\.zst$' <(remote))" = 2 ] ||
	fail "want 2 archives on the store"
echo "s3-clean: ok"

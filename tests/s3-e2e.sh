#!/bin/bash
# s3 target through the core: backups with the target's own retention,
# list --target, restore --from after the local archives are gone, a wrong
# secret (exit 4, local archive kept), and a config file holding secret_key
# that others can read (exit 2). The peer is Ceph RGW behind the
# fault-injecting proxy (tests/s3-peer.sh).
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/s3-peer.sh"

s3_peer_start
# 12 MB: the archive goes up in several 5 MiB parts.
dataset "$T/src" 12
cp -a "$T/src" "$T/pristine"
KEEP_LAST=5 mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
s3_target "$T/c.conf" region=us-east-1 part_size=5M parallel=3 keep_last=2

# remote NAME...: what the bucket holds under mss/, via RGW directly.
remote() {
	"$PLUGIN_TOOL" "$CAIRN_PLUGIN_DIR/s3.so" endpoint="$S3_DIRECT" \
		bucket="$S3_BUCKET" prefix=mss/ access_key="$S3_ACCESS" \
		secret_key="$S3_SECRET" list | cut -d' ' -f1 | sort
}

note "three backups: the s3 target keeps 2 (archive and sidecars)"
: >"$S3_PROXY_LOG"
for i in 1 2 3; do
	expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
done
remote >"$T/remote"
n=$(grep -c '^mss-backup-2.*\.tar\.zst$' "$T/remote" || true)
[ "$n" = 2 ] || { cat "$T/remote"; fail "bucket holds $n archives, want 2"; }
for a in $(grep '\.tar\.zst$' "$T/remote"); do
	grep -qx "$a.sha256" "$T/remote" || fail "$a has no .sha256 sidecar"
	grep -qx "$a.manifest" "$T/remote" || fail "$a has no .manifest"
done
newest=$(ls "$T"/arch/mss-backup-2*.tar.zst | sort | tail -1)
grep -qx "$(basename "$newest")" "$T/remote" ||
	fail "newest archive not in the bucket"
n=$(ls "$T"/arch/mss-backup-2*.tar.zst | wc -l)
[ "$n" = 3 ] || fail "archive_dir holds $n archives, want 3"
grep -q '"s3":{' "$T/state/last_backup.json" || fail "no s3 entry in state"
grep -Eq '^PUT [^ ]*\.tar\.zst\?partNumber=2&' "$S3_PROXY_LOG" ||
	fail "archives were not sent as multipart uploads"

note "cairn plugins runs the target's check"
expect_rc 0 "$CAIRN" -c "$T/c.conf" plugins
out_has "s3 .*reachable, authenticated"

note "list --target s3"
expect_rc 0 "$CAIRN" -c "$T/c.conf" list --target s3
[ "$(grep -c 'mss-backup-2' "$T/out")" = 2 ] || fail "list shows $(cat "$T/out")"
out_has "$(basename "$newest")"

note "restore full --from s3 after losing archive_dir and the data"
rm -rf "$T/arch" "$T/src"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --from s3 --yes
for f in Sounds config log data/exports data/server_id.txt; do
	diff -r "$T/pristine/$f" "$T/src/$f" >/dev/null ||
		fail "$f differs after restore"
done
sqlite3 "$T/src/data/sound_machine.db" 'PRAGMA integrity_check' |
	grep -qx ok || fail "restored DB fails integrity_check"

note "wrong secret: exit 4, the local archive is kept"
sed 's/^secret_key = .*/secret_key = WrongSecretSentinel4711/' "$T/c.conf" \
	>"$T/bad.conf"
chmod 600 "$T/bad.conf"
rm -rf "$T/arch"
expect_rc 4 "$CAIRN" -c "$T/bad.conf" backup
out_has "s3"
grep -q WrongSecretSentinel4711 "$T/out" && fail "the secret was printed"
grep -rq WrongSecretSentinel4711 "$T/state" && fail "the secret was logged"
n=$(ls "$T"/arch/mss-backup-2*.tar.zst 2>/dev/null | wc -l)
[ "$n" = 1 ] || fail "local archive not kept after the target failed"
(cd "$T/arch" && sha256sum -c --quiet ./*.sha256) || fail "local archive bad"
remote >"$T/remote"
grep -qx "$(basename "$(ls "$T"/arch/mss-backup-2*.tar.zst)")" "$T/remote" &&
	fail "archive reached the bucket with a wrong secret"

note "secret_key in a config file others can read: exit 2"
chmod 644 "$T/c.conf"
expect_rc 2 "$CAIRN" -c "$T/c.conf" backup
out_has "c.conf"
chmod 640 "$T/c.conf"
expect_rc 2 "$CAIRN" -c "$T/c.conf" list --target s3

note "a target from environment variables only, keys from AWS_*"
chmod 600 "$T/c.conf"
sed -i '/^\[target s3\]/,$d' "$T/c.conf"
expect_rc 0 env CAIRN_TARGET_ENVS3_PLUGIN=s3 \
	CAIRN_TARGET_ENVS3_ENDPOINT="$S3_ENDPOINT" \
	CAIRN_TARGET_ENVS3_BUCKET="$S3_BUCKET" \
	CAIRN_TARGET_ENVS3_PREFIX=env AWS_ACCESS_KEY_ID="$S3_ACCESS" \
	AWS_SECRET_ACCESS_KEY="$S3_SECRET" \
	"$CAIRN" -c "$T/c.conf" backup --target envs3
"$PLUGIN_TOOL" "$CAIRN_PLUGIN_DIR/s3.so" endpoint="$S3_DIRECT" \
	bucket="$S3_BUCKET" prefix=env access_key="$S3_ACCESS" \
	secret_key="$S3_SECRET" list >"$T/envlist"
grep -q '^mss-backup-2.*\.tar\.zst ' "$T/envlist" ||
	fail "env-only s3 target got nothing"
echo "s3-e2e: ok"

# Backups that fail: each exits with the contract's status, says why
# (naming the path or the key), records the failure, runs on_failure,
# leaves nothing half-written, and never costs an older archive.
source "$TOP_SRCDIR/tests/lib.sh"
# Debian's python3 (a pyenv shim on PATH can take a second to start).
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
cat >>"$T/c.conf" <<EOF

[hooks]
post_backup = env | grep '^CAIRN_' >$T/post.env
on_failure = env | grep '^CAIRN_' >$T/fail.env
EOF

mounted=
cleanup() {
	[ -z "$mounted" ] || umount "$mounted" 2>/dev/null || umount -l "$mounted" || true
}
trap 'st=$?; cleanup; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; exit $st' EXIT

json_get() {
	"$PY" -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print("" if v is None else v)' "$@"
}
no_leftovers() {
	local l
	l=$(cd "$1" && ls -A | grep -E 'partial|staging|\.tmp' || true)
	[ -z "$l" ] || fail "leftovers in $1: $l"
}

note "a good backup first; post_backup sees CAIRN_ARCHIVE"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
good=$(cd "$A" && ls mss-backup-2*.tar.zst)
grep -qx "CAIRN_ARCHIVE=$A/$good" "$T/post.env" || { cat "$T/post.env"; fail "post_backup: CAIRN_ARCHIVE"; }
grep -qx "CAIRN_STATUS=success" "$T/post.env" || fail "post_backup: CAIRN_STATUS"
[ ! -e "$T/fail.env" ] || fail "on_failure ran after a success"
ok_time=$(json_get "$ST/last_backup.json" last_success)
snapshot_archives() { (cd "$A" && ls -l --time-style=+%s mss-backup-* | sha256sum); }
before=$(snapshot_archives)

# after_failure WHAT: the common checks after a failed run.
after_failure() {
	[ "$(json_get "$ST/last_backup.json" status)" = failure ] || fail "$1: status not failure"
	err=$(json_get "$ST/last_backup.json" error)
	[ -n "$err" ] || fail "$1: no error in last_backup.json"
	[ "$(json_get "$ST/last_backup.json" last_success)" = "$ok_time" ] ||
		fail "$1: last_success changed"
	[ -e "$T/fail.env" ] || fail "$1: on_failure did not run"
	grep -qx "CAIRN_STATUS=failure" "$T/fail.env" || fail "$1: on_failure CAIRN_STATUS"
	grep -q "^CAIRN_ERROR=..*" "$T/fail.env" || fail "$1: on_failure CAIRN_ERROR empty"
	[ "$(snapshot_archives)" = "$before" ] || fail "$1: archives changed: $(ls "$A")"
	no_leftovers "$A"
	expect_rc 1 "$CAIRN" -c "$T/c.conf" status
	expect_rc 0 "$CAIRN" -c "$T/c.conf" verify latest --deep
	rm -f "$T/fail.env" "$T/post.env"
}

note "missing source"
expect_rc 1 env CAIRN_SOURCE="$T/gone" "$CAIRN" -c "$T/c.conf" backup
out_has "source directory not found: $T/gone"
after_failure "missing source"
case $err in *"source directory not found: $T/gone"*) ;; *) fail "error: $err";; esac
grep -q "source directory not found" "$ST/backup.log" || fail "backup.log lacks the error"

note "a required component path missing"
mv "$S/Sounds" "$T/Sounds.away"
expect_rc 1 "$CAIRN" -c "$T/c.conf" backup
out_has "Sounds"
after_failure "missing Sounds"
mv "$T/Sounds.away" "$S/Sounds"

note "archive_dir whose parent is a regular file"
echo x >"$T/afile"
expect_rc 1 env CAIRN_ARCHIVE_DIR="$T/afile/archive" "$CAIRN" -c "$T/c.conf" backup
out_has "$T/afile/archive"
after_failure "archive_dir under a file"

note "pre_backup hook exits 1"
expect_rc 1 env CAIRN_HOOKS_PRE_BACKUP="echo no way; exit 1" "$CAIRN" -c "$T/c.conf" backup
out_has "pre_backup"
after_failure "pre_backup"

note "a damaged database is not archived"
cp "$S/data/sound_machine.db" "$T/db.good"
dd if=/dev/urandom of="$S/data/sound_machine.db" bs=1024 seek=8 count=64 conv=notrunc 2>/dev/null
expect_rc 1 "$CAIRN" -c "$T/c.conf" backup
out_has "sound_machine.db"
after_failure "damaged db"
cp "$T/db.good" "$S/data/sound_machine.db"

note "post_backup failing does not fail the backup"
expect_rc 0 env CAIRN_HOOKS_POST_BACKUP="exit 7" "$CAIRN" -c "$T/c.conf" backup
out_has "post_backup"
[ "$(json_get "$ST/last_backup.json" status)" = success ] || fail "post_backup failure recorded as failure"
before=$(snapshot_archives)
ok_time=$(json_get "$ST/last_backup.json" last_success)

note "config errors exit 2 with FILE:LINE"
cp "$T/c.conf" "$T/bad.conf"
sed -i 's/^keep_last = .*/keep_last = seven/' "$T/bad.conf"
line=$(grep -n '^keep_last' "$T/bad.conf" | cut -d: -f1)
expect_rc 2 "$CAIRN" -c "$T/bad.conf" backup
out_has "$T/bad.conf:$line"
out_has keep_last
sed -i "s/^keep_last = .*/keep_last = 7\nflavour = mint/" "$T/bad.conf"
line=$(grep -n '^flavour' "$T/bad.conf" | cut -d: -f1)
expect_rc 2 "$CAIRN" -c "$T/bad.conf" backup
out_has "$T/bad.conf:$line"
out_has flavour
expect_rc 2 "$CAIRN" -c "$T/nonexistent.conf" backup
out_has "$T/nonexistent.conf"
expect_rc 2 env CAIRN_COMPRESSION=lz4 "$CAIRN" -c "$T/c.conf" backup
out_has "CAIRN_COMPRESSION"
expect_rc 2 "$CAIRN" -c "$T/c.conf" backup --bogus
expect_rc 2 "$CAIRN" -c "$T/c.conf" frobnicate
expect_rc 2 "$CAIRN" -c "$T/c.conf" backup --time yesterday
chmod 644 "$T/c.conf"
cp "$T/c.conf" "$T/secret.conf"
printf '\n[target s3]\nplugin = s3\nsecret_key = abc123secret\n' >>"$T/secret.conf"
chmod 644 "$T/secret.conf"
expect_rc 2 "$CAIRN" -c "$T/secret.conf" backup
out_has "secret_key"
grep -q abc123secret "$T/out" && fail "secret in the message"
chmod 600 "$T/c.conf"
[ ! -e "$T/fail.env" ] || fail "on_failure ran for a config error"
[ "$(snapshot_archives)" = "$before" ] || fail "config errors changed archives"

note "archive_dir on a read-only file system"
mkdir "$T/ro"
if mount -t tmpfs -o ro,size=1m tmpfs "$T/ro" 2>/dev/null; then
	mounted=$T/ro
	expect_rc 1 env CAIRN_ARCHIVE_DIR="$T/ro" "$CAIRN" -c "$T/c.conf" backup
	out_has "$T/ro"
	out_has "Read-only"
	after_failure "read-only archive_dir"
	umount "$T/ro"
	mounted=
else
	echo "SKIP part: cannot mount tmpfs (not root?)"
fi

note "disk full while writing the archive"
mkdir "$T/small" "$T/tiny"
if mount -t tmpfs -o size=2m tmpfs "$T/small" 2>/dev/null; then
	mounted=$T/small
	# A tiny tree fits...
	mkdir -p "$T/tiny/data" "$T/tiny/Sounds" "$T/tiny/config" "$T/tiny/data/exports"
	cp "$T/db.good" "$T/tiny/data/sound_machine.db"
	echo id >"$T/tiny/data/server_id.txt"
	head -c 10000 /dev/urandom >"$T/tiny/Sounds/a.wav"
	mss_conf "$T/tiny.conf" "$T/tiny" "$T/small" "$T/tiny-state"
	cat >>"$T/tiny.conf" <<EOF

[hooks]
on_failure = env | grep '^CAIRN_' >$T/fail.env
EOF
	expect_rc 0 "$CAIRN" -c "$T/tiny.conf" backup
	old=$(cd "$T/small" && ls mss-backup-2*.tar.zst)
	# ...then the tree grows past the free space (random: incompressible).
	head -c 3000000 /dev/urandom >"$T/tiny/Sounds/b.wav"
	expect_rc 1 "$CAIRN" -c "$T/tiny.conf" backup
	out_has "No space left|no space"
	[ "$(cd "$T/small" && ls mss-backup-2*.tar.zst)" = "$old" ] ||
		fail "disk full: archives now $(ls "$T/small")"
	no_leftovers "$T/small"
	expect_rc 0 "$CAIRN" -c "$T/tiny.conf" verify "$old" --deep
	[ "$(readlink "$T/small/mss-backup-latest.tar.zst")" = "$old" ] || fail "latest moved"
	[ "$(json_get "$T/tiny-state/last_backup.json" status)" = failure ] || fail "disk full not recorded"
	grep -q "^CAIRN_ERROR=.*[Ss]pace" "$T/fail.env" || fail "on_failure CAIRN_ERROR: $(cat "$T/fail.env")"
	# Free space again: the next run works.
	rm "$T/tiny/Sounds/b.wav"
	expect_rc 0 "$CAIRN" -c "$T/tiny.conf" backup
	umount "$T/small"
	mounted=
else
	echo "SKIP part: cannot mount tmpfs (not root?)"
fi
echo "backup-failures: ok"

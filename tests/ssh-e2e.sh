#!/bin/bash
# cairn with an ssh target against a real OpenSSH server on 127.0.0.1:
# remote retention, list --target, restore --from after losing the local
# archives, and a changed host key costing the target but not the archive.
source "$TOP_SRCDIR/tests/lib.sh"
source "$TOP_SRCDIR/tests/sshd-peer.sh"

[ -x "$CAIRN" ] || fail "$CAIRN not built"
[ -f "$CAIRN_PLUGIN_DIR/ssh.so" ] || fail "ssh plugin not built"

sshd_init
client_key "$T/id" ed25519
sshd_authorize "$T/id.pub"
sshd_start
sshd_known_hosts "$T/kh" ed25519
REMOTE=$T/nas/backups/mss

dataset "$T/src" 4
cp -a "$T/src" "$T/pristine"
CONF=$T/cairn.conf
mss_conf "$CONF" "$T/src" "$T/archive" "$T/state"
cat >>"$CONF" <<EOC

[target nas]
plugin = ssh
host = 127.0.0.1
port = $SSHD_PORT
user = $(id -un)
path = $REMOTE
identity = $T/id
known_hosts = $T/kh
keep_last = 2
EOC

archives() { ls -A "$1" | grep -E '^mss-backup-[0-9_-]+\.tar\.zst$' || true; }

note "three backups: the target keeps the last two"
for run in 1 2 3; do
	expect_rc 0 "$CAIRN" -c "$CONF" backup
done
[ "$(archives "$T/archive" | wc -l)" = 3 ] || fail "local keeps 3"
[ "$(archives "$REMOTE" | wc -l)" = 2 ] || {
	ls -la "$REMOTE"
	fail "remote does not hold exactly 2 archives"
}
for a in $(archives "$REMOTE"); do
	[ -f "$REMOTE/$a.sha256" ] || fail "$a: no .sha256 on the target"
	[ -f "$REMOTE/$a.manifest" ] || fail "$a: no .manifest on the target"
	[ -f "$REMOTE/$a.index" ] || fail "$a: no .index on the target"
	(cd "$REMOTE" && sha256sum -c --quiet "$a.sha256") ||
		fail "$a: checksum on the target"
done
[ "$(ls -A "$REMOTE" | wc -l)" = 8 ] || {
	ls -la "$REMOTE"
	fail "remote holds other files than 2 archives and their sidecars"
}
# the two newest local archives are the ones kept remotely
[ "$(archives "$T/archive" | sort | tail -2)" = \
  "$(archives "$REMOTE" | sort)" ] || fail "target kept the wrong archives"

note "cairn list --target nas"
expect_rc 0 "$CAIRN" -c "$CONF" list --target nas
for a in $(archives "$REMOTE"); do out_has "$a"; done
oldest=$(archives "$T/archive" | sort | head -1)
grep -qF "$oldest" "$T/out" && fail "list shows a pruned archive"

note "local archives lost: restore full --from nas"
newest=$(archives "$REMOTE" | sort | tail -1)
rm -rf "$T/archive"
rm -rf "$T/src/Sounds"
echo damaged >"$T/src/data/sound_machine.db"
expect_rc 0 "$CAIRN" -c "$CONF" restore full --from nas --yes
# SQLite's online backup rewrites header counters (change counter, schema
# cookie), so the database is compared by content, the rest byte for byte.
diff -r --exclude=sound_machine.db "$T/pristine" "$T/src" ||
	fail "restored data differs"
dbdump() {
	python3 -c 'import sqlite3, sys
print("\n".join(sqlite3.connect(sys.argv[1]).iterdump()))' "$1"
}
[ "$(dbdump "$T/pristine/data/sound_machine.db")" = \
  "$(dbdump "$T/src/data/sound_machine.db")" ] ||
	fail "restored database content differs"


note "changed host key: exit 4, the local archive survives"
ssh-keygen -q -t ed25519 -N '' -f "$T/fake_host"
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" \
	"$(cut -d' ' -f1,2 "$T/fake_host.pub")" >"$T/kh"
before=$(ls -A "$REMOTE" | sort)
expect_rc 4 "$CAIRN" -c "$CONF" backup
out_has "SHA256:"
[ "$(ls -A "$REMOTE" | sort)" = "$before" ] || fail "uploaded anyway"
made=$(archives "$T/archive" | sort | tail -1)
[ -n "$made" ] && [ "$made" != "$newest" ] ||
	fail "no new local archive after the failed target"
(cd "$T/archive" && sha256sum -c --quiet "$made.sha256") ||
	fail "local archive damaged"
echo "ok"

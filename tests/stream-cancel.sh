#!/bin/bash
# A target thread still retrying when the local archive fails is
# cancelled, not only waited for: the ssh target's peer keeps refusing
# (a closed port) and its retry_delay is an hour, so the old code slept
# in its back-off for an hour before the run could end. Here the run
# ends as soon as the archive fails: no second retry, a "failure"
# status naming the archive's error, nothing left in archive_dir. (The
# watchdog only keeps a broken build from hanging the suite: 300 s
# against the hour the old code waited.)
. "$TOP_SRCDIR/tests/lib.sh"

S=$T/src
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$T/arch" "$T/state"
ssh-keygen -q -t ed25519 -N '' -f "$T/id"
: >"$T/kh"
cat >>"$T/c.conf" <<EOC

[target nas]
plugin = ssh
host = 127.0.0.1
port = $(free_port)
user = $(id -un)
path = $T/remote
identity = $T/id
known_hosts = $T/kh
retries = 5
retry_delay = 1h

[inventory]
command.wait = touch $T/inv-started; while [ -e $T/hold ]; do sleep 0.1; done
EOC
unset CAIRN_RETRY_DELAY

until_seen() { # FILE REGEX: wait until REGEX is in FILE (or cairn ended)
	until grep -Eq -- "$2" "$1" 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || { cat "$1"; fail "cairn ended early"; }
		sleep 0.1
	done
}

note "the target retries its open; the archive then fails"
touch "$T/hold"
"$CAIRN" -c "$T/c.conf" backup >"$T/run.out" 2>&1 &
pid=$!
until_seen "$T/run.out" "target nas: .*retrying \(2 of 6\)"
until [ -e "$T/inv-started" ]; do sleep 0.1; done
# A required path goes while the run is held: the archive fails.
rm "$S/data/server_id.txt"
rm "$T/hold"
(sleep 300 && kill -9 "$pid" && touch "$T/watchdog") 2>/dev/null &
wd=$!
rc=0
wait "$pid" || rc=$?
pid=
kill "$wd" 2>/dev/null || true
[ ! -e "$T/watchdog" ] ||
	{ cat "$T/run.out"; fail "the run slept in the target's back-off"; }
[ "$rc" = 1 ] || { cat "$T/run.out"; fail "exit $rc, want 1"; }
grep -q "vanished during the backup" "$T/run.out" ||
	{ cat "$T/run.out"; fail "not the archive's failure"; }
grep -q "retrying (3 of 6)" "$T/run.out" &&
	{ cat "$T/run.out"; fail "the cancelled target retried again"; }
grep -q '"status":"failure"' "$T/state/last_backup.json" ||
	fail "status: $(cat "$T/state/last_backup.json")"
[ -z "$(ls -A "$T/arch" | grep -v '^mss-backup-latest' || true)" ] ||
	{ ls -la "$T/arch"; fail "the failed run left files"; }
echo "stream-cancel: ok"

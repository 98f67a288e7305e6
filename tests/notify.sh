#!/bin/bash
# [notify NAME] sections through the notify plugin, against a recording
# HTTP server on 127.0.0.1: healthchecks gets /start, then the plain URL
# on success or /fail with the log tail as the body; a webhook gets a
# JSON POST with status, archive, error and targets. Transient errors
# (HTTP 500) are retried; a dead endpoint never fails the backup.
. "$TOP_SRCDIR/tests/lib.sh"

[ -f "$CAIRN_PLUGIN_DIR/notify.so" ] || skip "notify plugin not built"
srv=
trap 'st=$?; [ -z "$srv" ] || kill "$srv" 2>/dev/null; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; exit $st' EXIT
serve() { # serve FAILS: (re)start the recorder, $port, empty $T/req
	[ -z "$srv" ] || { kill "$srv"; wait "$srv" 2>/dev/null || true; }
	rm -f "$T/port" "$T/req"
	python3 "$TOP_SRCDIR/tests/httprec.py" "$T/port" "$T/req" "${1:-0}" &
	srv=$!
	while [ ! -s "$T/port" ]; do
		kill -0 "$srv" 2>/dev/null || fail "recorder did not start"
		sleep 0.1
	done
	port=$(cat "$T/port")
}
req() { # req N FIELD: field of the Nth request (1-based)
	python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(r[int(sys.argv[2])-1][sys.argv[3]])' \
		"$T/req" "$1" "$2"
}
nreq() { [ -f "$T/req" ] && wc -l <"$T/req" || echo 0; }

serve
dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
cat >>"$T/c.conf" <<EOC

[target usb]
plugin = local
path = $T/usb

[notify hc]
type = healthchecks
url = http://127.0.0.1:$port/ping/abc-123

[notify hook]
type = webhook
url = http://127.0.0.1:$port/hook
header = Authorization: Bearer s3cret
EOC
C="$CAIRN -c $T/c.conf"
export CAIRN_RETRY_DELAY=0

note "success: /start, the plain URL, a JSON webhook"
expect_rc 0 $C backup
name=$(cd "$T/arch" && ls mss-backup-2*.tar.zst)
[ "$(nreq)" = 3 ] || { cat "$T/req"; fail "want 3 requests"; }
[ "$(req 1 path)" = /ping/abc-123/start ] || fail "start: $(req 1 path)"
[ "$(req 2 path)" = /ping/abc-123 ] || fail "success: $(req 2 path)"
[ "$(req 2 method)" = POST ] || fail "success method"
req 2 agent | grep -q '^cairn/' || fail "user agent $(req 2 agent)"
[ "$(req 3 path)" = /hook ] || fail "webhook path $(req 3 path)"
[ "$(req 3 type)" = application/json ] || fail "webhook type $(req 3 type)"
[ "$(req 3 auth)" = "Bearer s3cret" ] || fail "webhook header"
req 3 body >"$T/body"
python3 - "$T/body" "$name" <<'PY' || fail "webhook body: $(cat "$T/body")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["status"] == "success" and j["archive"] == sys.argv[2], j
assert j["error"] is None and j["name"] == "mss", j
assert j["targets"] == {"usb": {"status": "success", "error": None}}, j
assert j["bytes"] > 0 and "success" in j["title"] and j["text"], j
PY
grep -q "abc-123\|s3cret" "$T/state/backup.log" && fail "secret in the log"

note "failure: /fail with the log tail as body; webhook has the error"
serve
sed -i "s#127.0.0.1:[0-9]*#127.0.0.1:$port#" "$T/c.conf"
expect_rc 1 env CAIRN_SOURCE="$T/nosuch" $C backup
[ "$(nreq)" = 3 ] || { cat "$T/req"; fail "want 3 requests"; }
[ "$(req 2 path)" = /ping/abc-123/fail ] || fail "fail: $(req 2 path)"
b=$(req 2 body)
grep -q "source directory not found" <<<"$b" || fail "fail body: $b"
grep -q "backup of $T/nosuch started" <<<"$b" || fail "no log tail: $b"
req 3 body >"$T/body"
python3 - "$T/body" <<'PY' || fail "webhook body: $(cat "$T/body")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["status"] == "failure", j
assert "source directory not found" in j["error"], j
PY

note "transient errors are retried; the backup does not wait on them"
serve 2
sed -i "s#127.0.0.1:[0-9]*#127.0.0.1:$port#" "$T/c.conf"
expect_rc 0 $C backup --no-targets
[ "$(req 1 path)" = /ping/abc-123/start ] && [ "$(req 2 path)" = /ping/abc-123/start ] &&
	[ "$(req 3 path)" = /ping/abc-123/start ] || { cat "$T/req"; fail "no retry"; }
out_has "notify hc: .*HTTP status 500; retrying"
[ "$(req 4 path)" = /ping/abc-123 ] || fail "success after retries"

note "events = failure: the webhook stays quiet on success"
serve
sed -i "s#127.0.0.1:[0-9]*#127.0.0.1:$port#" "$T/c.conf"
expect_rc 0 env CAIRN_NOTIFY_HOOK_EVENTS=failure $C backup --no-targets
grep -q '"/hook"' "$T/req" && fail "webhook told of a success"

note "a dead endpoint and a bad section never fail the backup"
kill "$srv"; wait "$srv" 2>/dev/null || true; srv=
expect_rc 0 env CAIRN_NOTIFY_HOOK_COLOR=red $C backup --no-targets
out_has "notify hook: .*unknown key 'color'"
out_has "notify hc: .*; the run goes on"
expect_rc 2 env CAIRN_NOTIFY_HC_EVENTS=sometimes $C status
echo "notify: ok"

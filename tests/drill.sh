#!/bin/bash
# cairn drill: the latest archive (local, or fetched from a target)
# test-restores into a private scratch dir that is gone afterwards; the
# drill hook sees the copy in CAIRN_DRILL_DIR; a command component's
# drill command gets its dump; the verdict is kept per target in
# drills.json. A corrupted archive, a failing hook, a failing drill
# command and a SIGTERM each fail the drill, and are recorded so.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
echo "dump me" >"$T/dumpsrc"
cat >>"$T/c.conf" <<EOC

[component app]
type = command
file = dumps/app.dump
dump = cat $T/dumpsrc
restore = cat >/dev/null
drill = cat >"\$CAIRN_DRILL_DIR/got" && grep -q 'dump me' "\$CAIRN_DRILL_DIR/got" && test "\$(cat "\$CAIRN_DRILL_FILE")" = "dump me" && touch $T/cmd-drilled

[target usb]
plugin = local
path = $T/usb

[hooks]
drill = test -f "\$CAIRN_DRILL_DIR/data/sound_machine.db" && { [ "\$CAIRN_MODE" = db ] || test -d "\$CAIRN_DRILL_DIR/Sounds"; } && echo "\$CAIRN_ARCHIVE \$CAIRN_TARGET \$CAIRN_MODE \$CAIRN_DRILL_DIR" >>$T/hook.log
EOC
C="$CAIRN -c $T/c.conf"
scratch() { find "$T/state" -maxdepth 1 -name '.cairn-drill.*' | grep -c . || true; }
field() { # field WHERE KEY: drills.json[WHERE][KEY]
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]].get(sys.argv[3]))' \
		"$T/state/drills.json" "$1" "$2"
}

note "no archive yet: the drill fails, and says so"
expect_rc 1 $C drill
[ "$(field local status)" = failure ] || fail "no-archive drill not recorded"

expect_rc 0 $C backup
name=$(cd "$T/arch" && ls mss-backup-2*.tar.zst)

note "local drill: every check passes, the hook sees the copy"
rm -f "$T/hook.log" "$T/cmd-drilled"
expect_rc 0 $C drill
out_has "drill of $name \(local\): OK"
out_has "1 databases pass integrity_check"
out_has "1 command drills"
[ -f "$T/cmd-drilled" ] || fail "the drill command did not run"
grep -q "^$name local full $T/state/.cairn-drill\.[^/]*/restore$" \
	"$T/hook.log" || fail "hook env: $(cat "$T/hook.log")"
[ "$(scratch)" = 0 ] || fail "scratch dir left behind"
[ "$(field local status)" = success ] || fail "drills.json local"
[ "$(field local archive)" = "$name" ] || fail "drills.json archive"
[ "$(stat -c %a "$T/state/drills.json")" = 600 ] || fail "drills.json mode"

note "--json"
expect_rc 0 $C drill db --json
python3 - "$T/out" <<'PY' || fail "drill --json: $(cat "$T/out")"
import json, sys
t = open(sys.argv[1]).read()
j = json.loads(t[t.index("{"):t.rindex("}") + 1])
assert j["schema"] == 1 and j["status"] == "success", j
assert j["target"] == "local" and j["databases"] == 1, j
PY

ok_local=$(field local last_success)

note "drill of the target's copy, recorded under its name"
rm -f "$T/hook.log"
expect_rc 0 $C drill --target usb
out_has "\(usb\): OK"
grep -q "^$name usb full " "$T/hook.log" || fail "hook on usb copy"
[ "$(field usb status)" = success ] || fail "drills.json usb"
[ "$(scratch)" = 0 ] || fail "scratch dir left behind (target)"
expect_rc 2 $C drill --target nosuch

note "a failing drill hook fails the drill"
expect_rc 1 env CAIRN_HOOKS_DRILL='exit 3' $C drill
out_has "drill hook exited 3"
[ "$(field local status)" = failure ] || fail "hook failure not recorded"
[ "$(field local last_success)" = "$ok_local" ] ||
	fail "last_success lost after a failure"
[ "$(scratch)" = 0 ] || fail "scratch left after a failed hook"

note "a failing drill command fails the drill"
expect_rc 1 env CAIRN_COMPONENT_APP_DRILL='exit 5' $C drill
out_has "component app: drill command exited 5"

note "a corrupted target copy fails its drill; the local one still passes"
f="$T/usb/$name"
sz=$(stat -c %s "$f")
printf 'X' | dd of="$f" bs=1 seek=$((sz / 2)) conv=notrunc 2>/dev/null
expect_rc 1 $C drill --target usb
out_has "$name"
[ "$(field usb status)" = failure ] || fail "corrupt usb copy not recorded"
expect_rc 0 $C drill
[ "$(field local status)" = success ] || fail "local drill after repair"

note "a corrupted local archive fails the drill"
f="$T/arch/$name"
printf 'X' | dd of="$f" bs=1 seek=$((sz / 2)) conv=notrunc 2>/dev/null
expect_rc 1 $C drill
[ "$(field local status)" = failure ] || fail "corrupt archive not recorded"
[ "$(scratch)" = 0 ] || fail "scratch left after a corrupt archive"

note "SIGTERM during the drill: exit 1, scratch gone, recorded"
expect_rc 0 $C backup --no-targets
rm -f "$T/started"
env CAIRN_HOOKS_DRILL="touch $T/started; sleep 600" $C drill \
	>"$T/term.out" 2>&1 & pid=$!
while [ ! -e "$T/started" ]; do
	kill -0 "$pid" 2>/dev/null || { cat "$T/term.out"; fail "drill ended early"; }
	sleep 0.1
done
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?; pid=
[ "$rc" = 1 ] || { cat "$T/term.out"; fail "SIGTERM: exit $rc, want 1"; }
grep -q "interrupted" "$T/term.out" || fail "no 'interrupted': $(cat "$T/term.out")"
[ "$(scratch)" = 0 ] || fail "scratch left after SIGTERM"
[ "$(field local status)" = failure ] || fail "interrupted drill not recorded"
field local error | grep -q interrupted || fail "error: $(field local error)"

note "a killed drill's scratch is removed by the next locked run"
mkdir -m 700 "$T/state/.cairn-drill.dead01"
expect_rc 0 $C drill
[ "$(scratch)" = 0 ] || fail "dead drill's scratch not removed"
echo "drill: ok"

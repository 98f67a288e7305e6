#!/bin/bash
# conf/logrotate/cairn, as installed in sysconfdir/logrotate.d: logrotate
# parses it, and forced on a state_dir it moves backup.log aside (the
# older one compressed), the next run's cairn starts a fresh backup.log
# (0600), and a later rotation keeps the history in order.
. "$TOP_SRCDIR/tests/lib.sh"

command -v logrotate >/dev/null ||
	skip "logrotate not found (Debian package logrotate)"
install_dest
snippet=$D$(dir sysconfdir)/logrotate.d/cairn
[ -f "$snippet" ] || fail "not installed: $(dir sysconfdir)/logrotate.d/cairn"

note "the installed snippet parses"
logrotate -d -s "$T/lr.state" "$snippet" >"$T/lr.out" 2>&1 ||
	{ cat "$T/lr.out" >&2; fail "logrotate -d $snippet"; }
grep -q '/var/backups/\*/backup.log' "$T/lr.out" ||
	fail "snippet does not name /var/backups/*/backup.log"
! grep -qi 'error' "$T/lr.out" || { cat "$T/lr.out" >&2; fail "errors"; }

# The same rules on this test's state_dir (its pattern line replaced).
mss_backed_up
sed "s|^/var/backups/\*/backup.log {|$ST/backup.log {|" "$snippet" \
	>"$T/lr.conf"
grep -q "^$ST/backup.log {" "$T/lr.conf" || fail "pattern line not found"
sed -i "s/create 0600 root root/create 0600 $(id -un) $(id -gn)/" \
	"$T/lr.conf"
chmod 644 "$T/lr.conf"
lr() { logrotate -f -s "$T/lr.state" "$T/lr.conf" >"$T/lr.out" 2>&1 ||
	{ cat "$T/lr.out" >&2; fail "logrotate -f"; }; }

note "rotation moves the log aside; the next run starts a fresh one"
grep -q 'backup of' "$ST/backup.log" || fail "no backup.log to rotate"
first=$(cat "$ST/backup.log")
lr
[ -f "$ST/backup.log.1" ] || fail "no backup.log.1: $(ls "$ST")"
[ "$(cat "$ST/backup.log.1")" = "$first" ] || fail "backup.log.1 differs"
[ ! -s "$ST/backup.log" ] || fail "backup.log not emptied"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --no-targets
[ "$(grep -c 'backup of' "$ST/backup.log")" = 1 ] ||
	fail "the new run did not write a fresh backup.log"
[ "$(stat -c %a "$ST/backup.log")" = 600 ] || fail "backup.log not 0600"

note "a second rotation compresses the older log"
lr
[ -f "$ST/backup.log.2.gz" ] || fail "no backup.log.2.gz: $(ls "$ST")"
[ "$(gzip -dc "$ST/backup.log.2.gz")" = "$first" ] ||
	fail "backup.log.2.gz is not the first run's log"
grep -q 'backup of' "$ST/backup.log.1" || fail "backup.log.1 lost"
echo "logrotate: ok"

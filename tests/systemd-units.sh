#!/bin/bash
# The installed systemd units pass `systemd-analyze verify` without a single
# message, as system units and as user units, and schedule what the runbook
# promises (03:15 nightly, persistent; hourly freshness check).
source "$TOP_SRCDIR/tests/lib.sh"

command -v systemd-analyze >/dev/null ||
	skip "systemd-analyze not found (Debian package systemd)"
command -v man >/dev/null || skip "man not found (Debian package man-db)"

install_dest
bindir=$(dir bindir)
mandir=$(dir mandir)
sysdir=$(dir systemdunitdir)
userdir=$(dir systemduserunitdir)
[ -n "$bindir" ] && [ -n "$sysdir" ] && [ -n "$userdir" ] ||
	fail "install dirs unknown: $(cat "$T/dirs")"
[ -x "$D$bindir/cairn" ] || fail "cairn not installed in $bindir"

units="cairn-backup.service cairn-backup.timer cairn-check.service cairn-check.timer"
units="$units cairn-drill.service cairn-drill.timer" # wave P: weekly drill
for d in "$sysdir" "$userdir"; do
	got=$(cd "$D$d" && ls cairn* | sort | tr '\n' ' ')
	# The USB sync template is a system unit (tests/usb-rule.sh).
	extra=; [ "$d" = "$userdir" ] || extra=cairn-usb@.service
	want=$(printf '%s\n' $units $extra | sort | tr '\n' ' ')
	[ "$got" = "$want" ] || fail "$d holds '$got', want '$want'"
	if grep -En '@[A-Za-z_]+@' "$D$d"/cairn*; then
		fail "unsubstituted @variables@ in $d"
	fi
done

# The contract, as the units state it.
has() { grep -Eq -- "$2" "$D$1" || fail "$1 lacks /$2/"; }
hasnt() { ! grep -Eq -- "$2" "$D$1" || fail "$1 has /$2/"; }
for d in "$sysdir" "$userdir"; do
	has "$d/cairn-backup.timer" '^OnCalendar=\*-\*-\* 03:15:00$'
	has "$d/cairn-backup.timer" '^Persistent=true$'
	hasnt "$d/cairn-backup.timer" '^RandomizedDelaySec=[^0]'
	has "$d/cairn-backup.timer" '^WantedBy=timers\.target$'
	has "$d/cairn-check.timer" '^OnCalendar=hourly$'
	has "$d/cairn-check.timer" '^WantedBy=timers\.target$'
	has "$d/cairn-drill.timer" '^OnCalendar=Sun \*-\*-\* 05:15:00$'
	has "$d/cairn-drill.timer" '^Persistent=true$'
	has "$d/cairn-drill.timer" '^WantedBy=timers\.target$'
	has "$d/cairn-drill.service" '^Type=oneshot$'
	for s in cairn-backup.service cairn-check.service; do
		has "$d/$s" '^Type=oneshot$'
		[ "$(grep -c '^ExecStart=' "$D$d/$s")" = 1 ] ||
			fail "$d/$s: want exactly one ExecStart="
	done
	has "$d/cairn-backup.service" '^Nice=10$'
	has "$d/cairn-backup.service" '^IOSchedulingClass=idle$'
	has "$d/cairn-backup.service" '^UMask=0077$'
	has "$d/cairn-backup.service" '^NoNewPrivileges=yes$'
done
has "$sysdir/cairn-backup.service" "^ExecStart=$bindir/cairn backup\$"
has "$sysdir/cairn-check.service" \
	"^ExecStart=$bindir/cairn status --max-age 26h\$"
has "$sysdir/cairn-drill.service" "^ExecStart=$bindir/cairn drill\$"
for k in 'ProtectSystem=strict' 'ReadWritePaths=/var/backups' \
	'ReadWritePaths=-/srv' \
	'ProtectHome=read-only' 'PrivateTmp=yes' 'ProtectKernelTunables=yes' \
	'ProtectKernelModules=yes' 'RestrictSUIDSGID=yes' 'LockPersonality=yes'; do
	has "$sysdir/cairn-backup.service" "^$k\$"
done
# usb checks read block devices and mountinfo; ssh and s3 need the network.
for k in PrivateDevices ProtectClock PrivateNetwork DeviceAllow \
	ProtectProc ProcSubset IPAddressDeny; do
	hasnt "$sysdir/cairn-backup.service" "^$k="
done
cfg='-c %h/\.config/cairn/cairn\.conf'
has "$userdir/cairn-drill.service" "^ExecStart=$bindir/cairn $cfg drill\$"
has "$userdir/cairn-backup.service" "^ExecStart=$bindir/cairn $cfg backup\$"
has "$userdir/cairn-check.service" \
	"^ExecStart=$bindir/cairn $cfg status --max-age 26h\$"
# A user manager cannot set up mount namespaces.
for s in cairn-backup.service cairn-check.service; do
	hasnt "$userdir/$s" \
		'^(Protect(System|Home|Kernel[A-Za-z]*|ControlGroups|Hostname)|PrivateTmp|PrivateNetwork|ReadWritePaths)='
done

# systemd-analyze verify checks that ExecStart= names an executable, so it
# must see the binary that was installed into $D: verify copies that differ
# only in that path.  (verify --root=$D would check the installed files as
# they are, but it needs systemd's own units inside the root, and systemd
# 252 refuses --root together with --user.)
copy_units() {
	local from=$1 to=$2 f line
	mkdir -p "$to"
	for f in $units; do
		while IFS= read -r line; do
			case $line in
			"ExecStart=$bindir/"*)
				line="ExecStart=$D${line#ExecStart=}" ;;
			esac
			printf '%s\n' "$line"
		done <"$D$from/$f" >"$to/$f"
		[ "$(diff "$D$from/$f" "$to/$f" | grep -c '^>')" = \
			"$(grep -c '^ExecStart=' "$to/$f")" ] ||
			fail "verify copy of $from/$f differs beyond ExecStart="
	done
}
copy_units "$sysdir" "$T/verify/system"
copy_units "$userdir" "$T/verify/user"

mkdir -p "$T/home" "$T/run"
chmod 700 "$T/run"
# verify exits 0 after most warnings, so any output at all is a failure.
# MANPATH lets it check Documentation=man:... against the installed pages.
analyze() {
	local rc=0
	env HOME="$T/home" XDG_RUNTIME_DIR="$T/run" MANPATH="$D$mandir" \
		systemd-analyze "$@" >"$T/verify.out" 2>&1 || rc=$?
	if [ "$rc" != 0 ] || [ -s "$T/verify.out" ]; then
		cat "$T/verify.out" >&2
		return 1
	fi
}

# The check itself must be able to fail: a unit with a typo is caught.
mkdir -p "$T/bad"
cp "$T/verify/system/cairn-backup.service" "$T/bad/"
echo 'NoNewPriviledges=yes' >>"$T/bad/cairn-backup.service"
if analyze verify "$T/bad/cairn-backup.service" 2>/dev/null; then
	fail "systemd-analyze verify did not report an unknown key"
fi
grep -q NoNewPriviledges "$T/verify.out" ||
	fail "unexpected verify output: $(cat "$T/verify.out")"

note "system units in $sysdir"
(cd "$T/verify/system" && analyze verify $units) ||
	fail "systemd-analyze verify: system units"
note "user units in $userdir"
(cd "$T/verify/user" && analyze --user verify $units) ||
	fail "systemd-analyze --user verify: user units"

# The 03:15 schedule parses and means what it says.
systemd-analyze calendar '*-*-* 03:15:00' >"$T/cal" ||
	fail "OnCalendar does not parse"
grep -q 'Normalized form: \*-\*-\* 03:15:00' "$T/cal" ||
	fail "unexpected calendar: $(cat "$T/cal")"
exit 0

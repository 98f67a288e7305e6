#!/bin/bash
# The config file must be a regular file that only root or the caller
# could have written (its hooks run as the reader): anything else is
# refused with exit 2 and one line naming the file and the reason.
. "$TOP_SRCDIR/tests/lib.sh"

mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
cat >>"$T/c.conf" <<EOC

[hooks]
pre_backup = touch $T/hook-ran
EOC

# refused FILE REGEX: `cairn -c FILE plugins` exits 2 with one line.
# timeout only turns a hang (/dev/zero, a FIFO) into a failure.
refused() {
	expect_rc 2 timeout 120 "$CAIRN" -c "$1" plugins
	out_has "$2"
	[ "$(wc -l <"$T/out")" = 1 ] || { cat "$T/out"; fail "not one line"; }
}

note "a private file owned by root (or us) loads"
expect_rc 0 "$CAIRN" -c "$T/c.conf" plugins

note "not regular files: /dev/zero, a FIFO, a directory"
refused /dev/zero "refusing config /dev/zero: not a regular file"
mkfifo "$T/fifo"
refused "$T/fifo" "refusing config $T/fifo: not a regular file"
mkdir "$T/dir"
refused "$T/dir" "refusing config $T/dir: not a regular file"

note "world- or group-writable: refused, and no hook runs"
for m in 602 620 666; do
	chmod "$m" "$T/c.conf"
	refused "$T/c.conf" \
		"refusing config $T/c.conf: writable by group or others"
	expect_rc 2 "$CAIRN" -c "$T/c.conf" backup --no-targets
	[ ! -e "$T/hook-ran" ] || fail "hook ran from a mode $m config"
done
chmod 600 "$T/c.conf"

note "owned by another user who is not root: refused"
if [ "$(id -u)" = 0 ]; then
	chown 65534 "$T/c.conf"
	refused "$T/c.conf" \
		"refusing config $T/c.conf: owned by uid 65534, not root or you"
	expect_rc 2 "$CAIRN" -c "$T/c.conf" backup --no-targets
	[ ! -e "$T/hook-ran" ] || fail "hook ran from another user's config"
	chown 0 "$T/c.conf"
fi

note "through \$CAIRN_CONFIG too"
chmod 666 "$T/c.conf"
expect_rc 2 env CAIRN_CONFIG="$T/c.conf" "$CAIRN" plugins
out_has "refusing config $T/c.conf: writable by group or others"

echo "config-file-checks: ok"

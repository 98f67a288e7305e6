#!/bin/bash
# A plugin's SECRET key (mem's `token`) is refused, with FILE:LINE, in a
# config file group or others can read, once the plugin's specs are
# known; a private file is fine, and neither `cairn plugins` nor
# `cairn config check` prints it.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
mem_plugin_dir
export CAIRN_PLUGIN_DIR="$P"
printf '[target m]\nplugin = mem\ntoken = s3cr3t-value\n' >>"$T/c.conf"
line=$(grep -n '^token' "$T/c.conf" | cut -d: -f1)

chmod 644 "$T/c.conf"
expect_rc 4 "$CAIRN" -c "$T/c.conf" backup
out_has "c\.conf:$line: holds 'token' but is readable by group or others; chmod 600"
! grep -q s3cr3t-value "$T/out" || fail "the secret was printed"

chmod 600 "$T/c.conf"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
expect_rc 0 "$CAIRN" -c "$T/c.conf" plugins
out_has "token +string +secret"
! grep -q s3cr3t-value "$T/out" || fail "cairn plugins printed the secret"
expect_rc 0 "$CAIRN" -c "$T/c.conf" config check
! grep -q s3cr3t-value "$T/out" || fail "config check printed the secret"
out_has 'token += \*\*\*'
expect_rc 0 "$CAIRN" -c "$T/c.conf" config check --json
! grep -q s3cr3t-value "$T/out" || fail "config check --json printed it"
out_has '"value":"\*\*\*"'
echo "target-secret-keys: ok"

#!/bin/bash
# encrypt = age and its keys: a target (or [cairn]) with encrypt = age
# and no recipient is a config error naming it; a bad recipient names
# FILE:LINE; a passphrase or identity file others can read exits 2.
. "$TOP_SRCDIR/tests/lib.sh"
S=$T/src A=$T/archive ST=$T/state
mkdir -p "$S/data" "$T/copy"
mss_conf "$T/c.conf" "$S" "$A" "$ST"
"$CAIRN" keygen -o "$T/key" >"$T/rcpt"
rcpt=$(cat "$T/rcpt")
conf() { cp "$T/c.conf" "$T/t.conf"; cat >>"$T/t.conf"; chmod 600 "$T/t.conf"; }
# copy_conf LINE...: t.conf with a local [target copy] and these lines.
copy_conf() {
	printf '[target copy]\nplugin = local\npath = %s\n' "$T/copy" |
		cat - <(printf '%s\n' "$@") | conf
}

note "encrypt = age without a recipient: exit 2 naming the target"
copy_conf "encrypt = age"
expect_rc 2 "$CAIRN" -c "$T/t.conf" list
out_has '\[target copy\]: encrypt = age but no recipients'

note "the same from the environment alone"
expect_rc 2 env CAIRN_TARGET_ENV_PLUGIN=local CAIRN_TARGET_ENV_PATH="$T/copy" \
	CAIRN_TARGET_ENV_ENCRYPT=age "$CAIRN" -c "$T/c.conf" list
out_has '\[target env\]: encrypt = age but no recipients'

note "a bad recipient names where it is"
copy_conf "encrypt = age" "recipients = $rcpt age1notarecipient"
expect_rc 2 "$CAIRN" -c "$T/t.conf" list
out_has 't.conf:[0-9]+:1: not an age recipient'
printf '# keys\n%s\nssh-ed25519 AAAA\n' "$rcpt" >"$T/rfile"
copy_conf "encrypt = age" "recipients_file = $T/rfile"
expect_rc 2 "$CAIRN" -c "$T/t.conf" list
out_has "rfile:3: not an age recipient"
grep -q AAAA "$T/out" && fail "the bad line was echoed"

note "encrypt takes age or none"
copy_conf "encrypt = gpg"
expect_rc 2 "$CAIRN" -c "$T/t.conf" list
out_has "encrypt = gpg: want age or none"

note "a passphrase file others can read: exit 2; never printed"
printf 'sekrit-pass\n' >"$T/pass"
chmod 644 "$T/pass"
copy_conf "encrypt = age" "passphrase_file = $T/pass"
expect_rc 2 "$CAIRN" -c "$T/t.conf" list
out_has "pass: readable by group or others"
grep -q sekrit "$T/out" && fail "passphrase in the output"
chmod 600 "$T/pass"
expect_rc 0 "$CAIRN" -c "$T/t.conf" list

note "a passphrase cannot be mixed with recipients"
copy_conf "encrypt = age" "recipients = $rcpt" "passphrase_file = $T/pass"
expect_rc 2 "$CAIRN" -c "$T/t.conf" list
out_has '\[target copy\]: passphrase_file cannot be mixed'

note "recipients and a recipients file together are fine"
age-keygen -y "$T/key" >"$T/rfile"
copy_conf "encrypt = age" "recipients = $rcpt" "recipients_file = $T/rfile"
expect_rc 0 "$CAIRN" -c "$T/t.conf" list

note "[cairn]'s recipients are the targets' default"
sed -i "/^\[cairn\]/a recipients = $rcpt" "$T/c.conf"
copy_conf "encrypt = age"
expect_rc 0 "$CAIRN" -c "$T/t.conf" list

note "encrypt = age in [cairn]: a target's own encrypt key is refused"
sed -i "/^\[cairn\]/a encrypt = age" "$T/t.conf"
expect_rc 2 "$CAIRN" -c "$T/t.conf" list
out_has "t.conf:[0-9]+: encrypt: \\[cairn\\] encrypts the archive already, and \\[target copy\\] gets that ciphertext"
copy_conf
sed -i "/^\[cairn\]/a encrypt = age" "$T/t.conf"
expect_rc 0 "$CAIRN" -c "$T/t.conf" list

note "encrypt = age in [cairn] with incremental = yes: exit 2"
sed -i "/^\[cairn\]/a incremental = yes" "$T/t.conf"
expect_rc 2 "$CAIRN" -c "$T/t.conf" list
out_has "\\[cairn\\]: incremental = yes cannot go with encrypt = age"
echo PASS

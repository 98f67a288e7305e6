#!/bin/bash
# cairn keygen: an identity file (0600) in age-keygen's format, its
# recipient printed; never over an existing file; `age-keygen -y` of it
# prints the same recipient, and stock age encrypts to it.
. "$TOP_SRCDIR/tests/lib.sh"
command -v age-keygen >/dev/null || skip "age-keygen not installed"

note "keygen -o writes the identity, prints the recipient"
expect_rc 0 "$CAIRN" keygen -o "$T/key"
rcpt=$(cat "$T/out")
[[ $rcpt =~ ^age1[a-z0-9]{58}$ ]] || fail "not a recipient: $rcpt"
[ "$(stat -c %a "$T/key")" = 600 ] || fail "identity file is not 0600"
grep -Eq '^# created: [0-9]{4}-[0-9]{2}-[0-9]{2}T' "$T/key" ||
	fail "no created line"
grep -qx "# public key: $rcpt" "$T/key" || fail "no public key line"
grep -Eqx 'AGE-SECRET-KEY-1[0-9A-Z]{58}' "$T/key" || fail "no key line"
[ "$(wc -l <"$T/key")" = 3 ] || fail "identity file is not 3 lines"

note "age-keygen -y reads it and prints the same recipient"
[ "$(age-keygen -y "$T/key")" = "$rcpt" ] || fail "age-keygen -y differs"

note "stock age encrypts to it and decrypts with it"
echo "hello cairn" | age -r "$rcpt" -o "$T/msg.age"
[ "$(age -d -i "$T/key" "$T/msg.age")" = "hello cairn" ] ||
	fail "age cannot use cairn's identity"

note "never over an existing file"
sum=$(sha256sum <"$T/key")
expect_rc 1 "$CAIRN" keygen -o "$T/key"
out_has "key: exists; not overwriting it"
[ "$(sha256sum <"$T/key")" = "$sum" ] || fail "identity overwritten"
ls -a "$T" | grep -q cairn-keygen && fail "temporary file left"

note "without -o the identity file goes to stdout; --json"
expect_rc 0 "$CAIRN" keygen
grep -q '^# public key: age1' "$T/out" && grep -q '^AGE-SECRET-KEY-1' \
	"$T/out" || fail "keygen without -o printed no identity"
expect_rc 0 "$CAIRN" keygen -o "$T/key2" --json
out_has '"schema": ?1'
out_has '"recipient": ?"age1'
out_has "\"identity_file\": ?\"$T/key2\""

note "each key is new; keygen needs no config"
[ "$(age-keygen -y "$T/key2")" != "$rcpt" ] || fail "same key twice"
CAIRN_CONFIG=/nonexistent expect_rc 0 "$CAIRN" keygen -o "$T/key3"
expect_rc 2 "$CAIRN" list -o x
out_has "option -o is not valid here"
echo "PASS"

#!/bin/bash
# core/age.c against Debian's age 1.1.1, both ways, through the test-only
# tests/age-tool: files age -r / age -p made decrypt with cairn's codec,
# and cairn's ciphertext decrypts with age -d -i; damage is refused.
. "$TOP_SRCDIR/tests/lib.sh"
command -v age >/dev/null || skip "age not installed"
TOOL=$TOP_BUILDDIR/tests/age-tool

age-keygen -o "$T/key" 2>/dev/null
rcpt=$(age-keygen -y "$T/key")
# Sizes around the 64 KiB chunk: empty, one byte, a full chunk, more.
for n in 0 1 65535 65536 65537 300000; do
	head -c $n /dev/urandom >"$T/p$n"
done

note "age -r encrypts, cairn decrypts"
for n in 0 1 65535 65536 65537 300000; do
	age -r "$rcpt" -o "$T/a$n.age" "$T/p$n"
	"$TOOL" decrypt -i "$T/key" <"$T/a$n.age" >"$T/d$n" ||
		fail "cairn cannot decrypt age's $n bytes"
	cmp -s "$T/p$n" "$T/d$n" || fail "$n bytes differ"
done

note "cairn encrypts (to two recipients), age -d -i decrypts"
age-keygen -o "$T/key2" 2>/dev/null
for n in 0 1 65535 65536 65537 300000; do
	"$TOOL" encrypt -r "$rcpt" -r "$(age-keygen -y "$T/key2")" \
		<"$T/p$n" >"$T/c$n.age"
	age -d -i "$T/key" "$T/c$n.age" >"$T/e$n" ||
		fail "age cannot decrypt cairn's $n bytes"
	cmp -s "$T/p$n" "$T/e$n" || fail "$n bytes differ (age)"
	age -d -i "$T/key2" "$T/c$n.age" | cmp -s "$T/p$n" - ||
		fail "second recipient cannot decrypt"
done

note "a recipients file in age-keygen -y format"
{ echo "# backup keys"; age-keygen -y "$T/key"; echo; } >"$T/rcpts"
"$TOOL" encrypt -R "$T/rcpts" <"$T/p1" >"$T/r.age"
age -d -i "$T/key" "$T/r.age" | cmp -s "$T/p1" - || fail "-R file"

note "passphrases (scrypt) both ways"
printf 'correct horse battery\n' >"$T/pass"
chmod 600 "$T/pass"
# age -p reads the passphrase from the terminal only; script(1) gives
# it one when util-linux is there.
if command -v script >/dev/null; then
	cmd="age -p -o $T/s.age $T/p65537"
	{ sleep 1; echo 'correct horse battery'; sleep 1;
	  echo 'correct horse battery'; sleep 1; } |
		script -qec "$cmd" /dev/null >/dev/null 2>&1 || true
	if [ -s "$T/s.age" ]; then
		"$TOOL" decrypt -p "$T/pass" <"$T/s.age" |
			cmp -s "$T/p65537" - || fail "cannot decrypt age -p"
	else
		note "age -p not scriptable here; the scrypt vectors cover it"
	fi
fi
"$TOOL" encrypt -p "$T/pass" <"$T/p65537" >"$T/s2.age"
sed -n 2p "$T/s2.age" | grep -q '^-> scrypt ' || fail "no scrypt stanza"
if command -v script >/dev/null; then
	cmd="age -d -o $T/s2.out $T/s2.age"
	{ sleep 1; echo 'correct horse battery'; sleep 1; } |
		script -qec "$cmd" /dev/null >/dev/null 2>&1 || true
	[ -s "$T/s2.out" ] && { cmp -s "$T/p65537" "$T/s2.out" ||
		fail "age -d of cairn's scrypt file differs"; }
fi
"$TOOL" decrypt -p "$T/pass" <"$T/s2.age" | cmp -s "$T/p65537" - ||
	fail "scrypt round trip"

note "wrong identity: no identity matches"
age-keygen -o "$T/other" 2>/dev/null
expect_rc 1 "$TOOL" decrypt -i "$T/other" <"$T/c300000.age"
out_has "no identity matches its recipients"

note "flipped byte, truncation, dropped chunk: integrity errors"
hlen=$(( $(grep -abo -m1 $'^---' "$T/c300000.age" | cut -d: -f1) ))
size=$(stat -c %s "$T/c300000.age")
cp "$T/c300000.age" "$T/x.age"
printf '\xff' | dd of="$T/x.age" bs=1 seek=$((size - 70000)) conv=notrunc \
	2>/dev/null
expect_rc 1 "$TOOL" decrypt -i "$T/key" <"$T/x.age"
out_has "does not authenticate"
head -c $((size - 1)) "$T/c300000.age" >"$T/x.age"
expect_rc 1 "$TOOL" decrypt -i "$T/key" <"$T/x.age"
out_has "does not authenticate|truncated"
head -c $((size - 65552 * 2)) "$T/c300000.age" >"$T/x.age"
tail -c $((65552 + 300000 - 4 * 65536 + 16)) "$T/c300000.age" >>"$T/x.age"
expect_rc 1 "$TOOL" decrypt -i "$T/key" <"$T/x.age"
out_has "does not authenticate|truncated"
[ "$hlen" -gt 0 ] || fail "no header end"

note "a group-readable identity is refused"
chmod 640 "$T/key"
expect_rc 2 "$TOOL" decrypt -i "$T/key" <"$T/c1.age"
out_has "readable by group or others"
echo "PASS"

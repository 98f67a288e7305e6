#!/bin/bash
# A crafted .sha256 sidecar: the archive named 101 times (each line used to
# re-hash the whole archive), names other than the archive and its
# sidecars, a path with '/', a sidecar that never names the archive. Each
# is refused with one line naming the sidecar, by verify and by a restore
# --from a target that serves it.
. "$TOP_SRCDIR/tests/lib.sh"

dataset "$T/src" 2
mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
cat >>"$T/c.conf" <<EOC

[target copy]
plugin = local
path = $T/copy
EOC
C="$CAIRN -c $T/c.conf"
expect_rc 0 $C backup
A=$(cd "$T/arch" && ls mss-backup-2*.tar.zst)
S="$T/arch/$A.sha256"
cp "$S" "$T/good.sha256"
hex=$(sha256sum "$T/arch/$A" | cut -d' ' -f1)
mhex=$(sha256sum "$T/arch/$A.manifest" | cut -d' ' -f1)

# refused REGEX: verify fails with exactly one line matching REGEX that
# names the sidecar.
refused() {
	expect_rc 1 $C verify "$A"
	[ "$(wc -l <"$T/out")" = 1 ] || fail "not one line: $(cat "$T/out")"
	out_has "$1"
	out_has "$A\.sha256"
}

note "the archive named 101 times"
for i in $(seq 101); do echo "$hex  $A"; done >"$S"
refused "$A is named twice"
[ "$(grep -o "$A" "$T/out" | wc -l)" -le 3 ] || fail "error repeats: $(cat "$T/out")"

note "the manifest named twice"
{ echo "$hex  $A"; echo "$mhex  $A.manifest"; echo "$mhex  $A.manifest"; } >"$S"
refused "$A\.manifest is named twice"

note "another file, even with its right hash"
echo hello >"$T/arch/other.txt"
{ echo "$hex  $A"; echo "$(sha256sum "$T/arch/other.txt" | cut -d' ' -f1)  other.txt"; } >"$S"
refused "unexpected name other\.txt"

note "a path with '/'"
{ echo "$hex  $A"; echo "$mhex  ../arch/$A.manifest"; } >"$S"
refused "unexpected name \.\./arch/$A\.manifest"

note "a sidecar that does not name the archive"
echo "$mhex  $A.manifest" >"$S"
refused "does not cover $A"
: >"$S"
refused "does not cover $A"

note "the real sidecar still passes"
cp "$T/good.sha256" "$S"
expect_rc 0 $C verify "$A"
expect_rc 0 $C verify latest

note "restore --from a target serving a repeated sidecar is refused"
for i in $(seq 101); do echo "$hex  $A"; done >"$T/copy/$A.sha256"
expect_rc 1 $C restore full --from copy --archive "$A" --to "$T/out-dir" --yes
out_has "$A is named twice"
[ -e "$T/out-dir/data/sound_machine.db" ] && fail "restored from a hostile sidecar"
echo "verify-sidecar-hostile: ok"

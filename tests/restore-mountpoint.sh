# When the live source is a mount point, staging and safety net must be
# inside it (a rename cannot cross file systems). A refused restore must
# leave neither there: no .cairn.pre-restore/ in the live tree (the net
# is made only when something goes into it, and removed when unused).
source "$TOP_SRCDIR/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip "mounting needs root"

S=$T/src A=$T/archive ST=$T/state
mkdir -p "$S"
mount -t tmpfs -o size=64m tmpfs "$S" 2>/dev/null || skip "cannot mount tmpfs"
trap 'st=$?; umount "$S" 2>/dev/null || umount -l "$S"; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; exit $st' EXIT
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
cp "$T/c.conf" "$T/base.conf"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
echo changed >"$S/config/wifi.conf"
listing() { (cd "$S" && find . | sort); }
before=$(listing)
clean() {
	[ "$(listing)" = "$before" ] || { diff <(echo "$before") <(listing) >&2; fail "$1: live tree changed"; }
	[ ! -e "$S/.cairn.pre-restore" ] || fail "$1: .cairn.pre-restore left in the live tree"
	[ -z "$(ls -d "$S"/.cairn-staging.* 2>/dev/null)" ] || fail "$1: staging left in the live tree"
}

note "pre_restore refuses"
printf '\n[hooks]\npre_restore = exit 1\n' >>"$T/c.conf"
expect_rc 1 "$CAIRN" -c "$T/c.conf" restore full --yes
out_has "pre_restore"
clean "pre_restore refused"

note "verify_restore fails: rolled back"
cp "$T/base.conf" "$T/c.conf"
printf '\n[hooks]\nverify_restore = exit 1\n' >>"$T/c.conf"
expect_rc 1 "$CAIRN" -c "$T/c.conf" restore full --yes
out_has "rolled back"
clean "verify_restore failed"

note "a restore that replaces nothing makes no safety net"
cp "$T/base.conf" "$T/c.conf"
rm -rf "$S/Sounds"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore audio --yes
[ -d "$S/Sounds/uploads" ] || fail "restore audio restored nothing"
[ ! -e "$S/.cairn.pre-restore" ] || fail "a safety net though nothing was replaced"

note "a restore that replaces keeps its net inside the mount"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore full --yes
out_has "replaced files are in $S/.cairn.pre-restore/"
echo "restore-mountpoint: ok"

# Environment overrides end to end (tests/unit-config-env.c pins them
# down in config_load):
#  - CAIRN_HOOKS_* / CAIRN_INVENTORY_COMMAND_* work without [hooks] /
#    [inventory] in the file;
#  - CAIRN_TARGET_Y_PATH without a target y is exit 2 naming the
#    variable (a typo must not lose the target silently);
#  - CAIRN_SWAP_PAUSE (restore testing aid) is not a config key.
source "$TOP_SRCDIR/tests/lib.sh"

S=$T/src A=$T/archive ST=$T/state
dataset "$S" 4
mss_conf "$T/c.conf" "$S" "$A" "$ST"
grep -q '^\[hooks\]\|^\[inventory\]' "$T/c.conf" && fail "test setup: file has [hooks]"

note "hooks and inventory commands from the environment alone"
expect_rc 0 env CAIRN_HOOKS_PRE_BACKUP="touch $T/pre-ran" \
	CAIRN_HOOKS_POST_BACKUP="touch $T/post-ran" \
	CAIRN_INVENTORY_COMMAND_HELLO="echo hello-from-env" \
	"$CAIRN" -c "$T/c.conf" backup
arch=$(cd "$A" && ls mss-backup-2*.tar.zst)
[ -e "$T/pre-ran" ] || fail "CAIRN_HOOKS_PRE_BACKUP did not run"
[ -e "$T/post-ran" ] || fail "CAIRN_HOOKS_POST_BACKUP did not run"
tar -xOf "$A/$arch" inventory.txt >"$T/inv"
grep -q hello-from-env "$T/inv" || fail "CAIRN_INVENTORY_COMMAND_HELLO not in inventory.txt"

note "a variable for a target that does not exist"
expect_rc 2 env CAIRN_TARGET_USB_PATH=/media/usb "$CAIRN" -c "$T/c.conf" backup
out_has CAIRN_TARGET_USB_PATH

note "CAIRN_SWAP_PAUSE is accepted"
expect_rc 0 env CAIRN_SWAP_PAUSE=0 "$CAIRN" -c "$T/c.conf" restore db --yes
echo "backup-env-overrides: ok"

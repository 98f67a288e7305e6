#!/bin/bash
# The installed bash completion, driven through COMP_WORDS as bash
# would: commands and each command's options from the cairn in PATH,
# modes and targets from the config in effect (-c, else $CAIRN_CONFIG;
# sections of the file and those CAIRN_* variables define), archive
# names from `cairn list` (or `cairn list --target` after --from). With
# and without bash-completion's _init_completion.
. "$TOP_SRCDIR/tests/lib.sh"

command -v cairn >/dev/null && [ "$(command -v cairn)" != "$CAIRN" ] &&
	note "ignoring $(command -v cairn): the test puts the build's first"
install_dest
file=$(find "$D" -path '*/bash-completion/completions/cairn' -type f)
[ -n "$file" ] || fail "completion not installed under bash-completion/completions"
mkdir -p "$T/bin"
ln -s "$CAIRN" "$T/bin/cairn"
export PATH="$T/bin:$PATH"

mss_backed_up   # $T/c.conf, one archive: $name
cat >>"$T/c.conf" <<EOC

[target copy]
plugin = local
path = $T/copy

[ target  usb ]
plugin = usb
path = $T/usb
enabled = no
EOC
sleep 1 # a second archive with another name
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup --target copy
second=$(cd "$A" && ls mss-backup-2*.tar.zst | grep -vx "$name")
[ -n "$second" ] || fail "no second archive"
# Another config, named by $CAIRN_CONFIG.
cat >"$T/other.conf" <<EOC
[cairn]
name = other
source = $T/src
archive_dir = $T/oarch
[component all]
type = files
path = .
[mode everything]
components = all
[target offsite]
plugin = local
path = $T/off
EOC
chmod 600 "$T/other.conf"

# comp LINE: the sorted completions for the end of LINE, as bash
# computes them (a trailing space starts a new, empty word).
comp() {
	env -u CAIRN_CONFIG ${ENVS:-} bash --norc -c '
		[ -z "$3" ] || source "$3"
		source "$1"
		line=$2
		read -ra COMP_WORDS <<<"$line"
		[[ $line == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$line COMP_POINT=${#line}
		COMPREPLY=()
		_cairn cairn "${COMP_WORDS[COMP_CWORD]}" \
			"${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$file" "$1" \
		"${FRAMEWORK:-}"
}
want() { # LINE WORDS...: exactly these completions
	local line=$1 got exp
	shift
	got=$(comp "$line" | tr '\n' ' ')
	exp=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	[ "$got" = "$exp" ] || fail "'$line': got '$got', want '$exp'"
}
has() { # LINE WORDS...: at least these
	local line=$1 got w
	shift
	got=$(comp "$line")
	for w; do
		grep -qxF -- "$w" <<<"$got" ||
			fail "'$line': '$w' missing from: $(echo $got)"
	done
}

run_cases() {
	note "registered for cairn"
	[ "$(bash --norc -c "source '$file'; complete -p cairn")" = \
		"complete -F _cairn cairn" ] || fail "complete -p cairn"

	note "commands, global options"
	has "cairn " backup restore list verify status prune plugins usb-rule
	! comp "cairn " | grep -qx usage || fail "'usage' offered as command"
	want "cairn pr" prune
	has "cairn -" -c --config -q -v --help --version
	want "cairn -c $T/c.co" "$T/c.conf"

	note "options per command"
	want "cairn -c $T/c.conf backup --t" --target
	has "cairn -c $T/c.conf backup --" --target --no-targets --help
	! comp "cairn -c $T/c.conf backup --" | grep -qx -- --archive ||
		fail "backup offers --archive"
	has "cairn -q restore db --" --archive --from --to --exact --dry-run \
		--yes

	note "modes and targets from -c FILE, and from CAIRN_* variables"
	want "cairn -c $T/c.conf restore " full db audio
	want "cairn -c $T/c.conf restore --dry-run a" audio
	want "cairn -c $T/c.conf restore db " # one operand only
	want "cairn -c $T/c.conf backup --target " copy usb
	want "cairn --config $T/c.conf restore --from " copy usb
	want "cairn -c $T/c.conf usb-rule " copy usb
	ENVS="CAIRN_TARGET_NAS_BOX_PLUGIN=ssh CAIRN_MODE_LOGS_COMPONENTS=logs" \
		want "cairn -c $T/c.conf backup --target " copy usb nas_box
	ENVS="CAIRN_MODE_LOGS_COMPONENTS=logs" \
		want "cairn -c $T/c.conf restore " full db audio logs

	note "\$CAIRN_CONFIG when there is no -c; -c wins over it"
	ENVS="CAIRN_CONFIG=$T/other.conf" want "cairn restore " full everything
	ENVS="CAIRN_CONFIG=$T/other.conf" want "cairn list --target " offsite
	ENVS="CAIRN_CONFIG=$T/other.conf" \
		want "cairn -c $T/c.conf list --target " copy usb

	note "archive names from cairn list, and from the --from target"
	want "cairn -c $T/c.conf verify " latest "$name" "$second"
	want "cairn -c $T/c.conf restore db --archive " latest "$name" \
		"$second"
	want "cairn -c $T/c.conf restore db --from copy --archive " latest \
		"$second"
	want "cairn -c $T/c.conf config " check
}
run_cases
if [ -f /usr/share/bash-completion/bash_completion ]; then
	note "again, under bash-completion (_init_completion)"
	FRAMEWORK=/usr/share/bash-completion/bash_completion run_cases
elif [ "${CI:-}" = true ]; then
	fail "bash-completion not installed (Debian package bash-completion)"
fi
echo "completion: ok"

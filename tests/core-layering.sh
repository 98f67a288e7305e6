#!/bin/bash
# The core's files form layers, and calls run one way, downwards:
#   main -> commands -> stages -> component registry -> component
#   types -> base -> util.
# Each core file has a layer here; it may call functions of files at its
# own layer or below, and the "calls" graph between files has no cycle.
# Calls are read from the built objects (nm), so comments and strings do
# not count and nothing is missed. core/cairn.h declares each function
# under the heading ("/* FILE.c: ...") of the file that defines it, and
# every global function of the core is declared there (or in util.h).
# Component types are ops tables, and no core function is longer than
# a screen or two.
. "$TOP_SRCDIR/tests/lib.sh"

layers='
0 util.c log.c signal.c
1 config.c exec.c lock.c retention.c manifest.c catalog.c state.c
1 leftovers.c journal.c archive.c snapshot.c plan.c
1 index.c
2 comp_files.c comp_sqlite.c comp_command.c
3 comp.c
4 inventory.c stage.c backup.c restore.c verify.c prune.c
4 dispatch.c
4 members.c
4 incr.c
4 verify_target.c
5 cmd_backup.c cmd_restore.c cmd_verify.c cmd_list.c cmd_status.c
5 cmd_prune.c
5 cmd_usb_rule.c cmd_config.c cmd_sync.c
1 jsonout.c
5 cmd_ls.c cmd_dump.c cmd_diff.c cmd_find.c
4 shrink.c
4 drill.c notify.c
5 cmd_drill.c
6 main.c
0 bech32.c
1 age.c crypt.c
4 target_age.c
5 cmd_keygen.c
1 plugin.c backend.c
1 objlock.c
5 cmd_plugins.c
4 stream.c
1 reader.c
'
allowed_edges=''

declare -A layer def
while read -r l files; do
	[ -n "$l" ] || continue
	for f in $files; do layer[$f]=$l; done
done <<<"$layers"

obj() {
	local b=${1%.c}
	for o in "$TOP_BUILDDIR/core/libcairncore_a-$b.o" \
		"$TOP_BUILDDIR/core/cairn-$b.o"; do
		[ -f "$o" ] && { echo "$o"; return; }
	done
	fail "no object for core/$1 in $TOP_BUILDDIR/core"
}

note "every core file has a layer, every layer entry a file"
files=$(cd "$TOP_SRCDIR/core" && ls ./*.c | sed 's|^\./||')
for f in $files; do
	[ -n "${layer[$f]:-}" ] || fail "core/$f has no layer in $0"
done
for f in "${!layer[@]}"; do
	[ -f "$TOP_SRCDIR/core/$f" ] || fail "layer entry $f: no core/$f"
done

for f in $files; do
	for s in $(nm --defined-only -g "$(obj "$f")" |
		   awk '$2 ~ /^[TDBRC]$/ && $3 !~ /^__/ { print $3 }'); do
		def[$s]=$f
	done
done

note "calls go to the same layer or below, and never in a cycle"
: >"$T/edges"
bad=0
for f in $files; do
	for s in $(nm -u "$(obj "$f")" | awk '{ print $2 }'); do
		g=${def[$s]:-}
		[ -n "$g" ] && [ "$g" != "$f" ] || continue
		if [ "${layer[$g]}" -gt "${layer[$f]}" ]; then
			echo "core/$f (layer ${layer[$f]}) calls $s of" \
			     "core/$g (layer ${layer[$g]})" >&2
			bad=1
		fi
		[[ $allowed_edges == *" $f>$g "* ]] || echo "$f $g" >>"$T/edges"
	done
done
[ "$bad" = 0 ] || fail "calls upwards"
sort -u "$T/edges" >"$T/e"
if ! tsort "$T/e" >/dev/null 2>"$T/loop"; then
	cat "$T/loop" >&2
	fail "the core's files call each other in a cycle (above)"
fi

note "cairn.h declares each function under its defining file's heading"
# heading lines "/* FILE.c: ..." switch the file; prototypes start in
# column 0 with a type and hold '('; variables are "extern" lines.
awk '
	/^\/\* [a-z_0-9]+\.c:/ { sub(/^\/\* /, ""); sub(/:.*/, ""); f = $0;
				next }
	/^\/\*/ && !/^\/\* [a-z_0-9]+\.c:/ && /\*\/$/ { next }
	/^[a-z]/ && !/^(struct|enum|union) [a-z_]+ \{/ && /\(/ &&
	    !/^#/ && !/^extern/ {
		s = $0; sub(/\(.*/, "", s); sub(/.*[^a-z_0-9]/, "", s);
		print (f ? f : "-"), s; next }
	/^extern / { s = $0; sub(/[[;].*/, "", s); sub(/.*[^a-z_0-9]/, "", s);
		print (f ? f : "-"), s }
' "$TOP_SRCDIR/core/cairn.h" >"$T/decls"
awk '/^[a-z]/ && /\(/ && !/^#/ { s = $0; sub(/\(.*/, "", s);
	sub(/.*[^a-z_0-9]/, "", s); print "util.c", s }' \
	"$TOP_SRCDIR/core/util.h" >>"$T/decls"
[ -s "$T/decls" ] || fail "no declarations found in cairn.h"
bad=0
while read -r f s; do
	if [ "$f" = - ]; then
		echo "cairn.h: $s is declared under no FILE.c heading" >&2
		bad=1
	elif [ "${def[$s]:-}" != "$f" ]; then
		echo "cairn.h: $s is declared under $f but defined in" \
		     "${def[$s]:-no core file}" >&2
		bad=1
	fi
done <"$T/decls"
[ "$bad" = 0 ] || fail "declarations under the wrong heading"

note "every global of the core is declared"
for s in "${!def[@]}"; do
	[ "$s" = main ] && continue
	grep -q " $s\$" "$T/decls" ||
		{ echo "core/${def[$s]}: $s is global but not declared" >&2
		  bad=1; }
done
[ "$bad" = 0 ] || fail "undeclared globals (make them static or declare)"

note "component types are ops tables: no type switch outside their files"
# Only the type-name table (config.c), the registry (comp.c) and the
# type's own file know a type.
if grep -n 'COMP_FILES\|COMP_SQLITE\|COMP_COMMAND' "$TOP_SRCDIR"/core/*.c |
	grep -v '^[^:]*/core/\(config\|comp\|comp_[a-z]*\)\.c:'; then
	fail "a component type is tested outside config.c, comp.c, comp_*.c"
fi

note "every function of the core fits on a screen (90 lines at most)"
if awk 'FNR == 1 { start = 0 }
	/^[a-z].*\(/ && !/;$/ { name = $0; start = FNR }
	/^}/ && start { if (FNR - start > 90) { print FILENAME ": " \
		FNR - start " lines: " name; bad = 1 }; start = 0 }
	END { exit !bad }' "$TOP_SRCDIR"/core/*.c; then
	fail "functions too long (split them)"
fi
echo ok

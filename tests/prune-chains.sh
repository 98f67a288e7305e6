#!/bin/bash
# Retention over chains of incrementals, locally and on a target (each
# with its own keep_last): a restore point keeps every archive it needs
# (back to its full), the latest link's archive keeps its chain too, and
# prune --dry-run shows the chains. The archives are stand-ins (names
# and sidecars are all retention reads).
. "$TOP_SRCDIR/tests/lib.sh"

export TZ=UTC
mkdir -p "$T/src/Sounds" "$T/src/data"
KEEP_LAST=1 mss_conf "$T/c.conf" "$T/src" "$T/arch" "$T/state"
cat >>"$T/c.conf" <<EOC

[target copy]
plugin = local
path = $T/copy
keep_last = 4
EOC
C="$CAIRN -c $T/c.conf"

# Six nights: F I I F I I (01-01 .. 01-06) in $1.
nights() {
	local d k n
	mkdir -p "$1"
	for d in 1 2 3 4 5 6; do
		case $d in 1|4) k= ;; *) k=.incr ;; esac
		n=mss-backup-2026-01-0${d}_031500$k.tar.zst
		echo "night $d" >"$1/$n"
		(cd "$1" && sha256sum "$n" >"$n.sha256" && : >"$n.manifest")
	done
}
names() { (cd "$1" && ls mss-backup-2*.tar.zst | sed 's/mss-backup-2026-//; s/_031500//' | tr '\n' ' '); }
nights "$T/arch"
nights "$T/copy"
ln -s mss-backup-2026-01-06_031500.incr.tar.zst \
	"$T/arch/mss-backup-latest.tar.zst"

note "names of incrementals are archives: list shows their kind"
expect_rc 0 $C list
[ "$(grep -c '\.incr\.tar\.zst  *incr ' "$T/out")" = 4 ] || { cat "$T/out"; fail "list kinds"; }
[ "$(grep -c '[0-9]\.tar\.zst  *full ' "$T/out")" = 2 ] || { cat "$T/out"; fail "list kinds"; }
expect_rc 0 $C list --json
grep -q '"kind":"incr"' <(tr -d ' \n' <"$T/out") || fail "no kind in --json"

note "prune --dry-run shows the chains and removes nothing"
before=$(ls -A "$T/arch" "$T/copy" | sha256sum)
expect_rc 0 $C prune --dry-run
out_has "chain mss-backup-2026-01-01_031500.tar.zst: full \+ 2 incrementals, 0 restore points kept"
out_has "chain mss-backup-2026-01-04_031500.tar.zst: full \+ 2 incrementals, 1 restore point kept"
out_has "keep   mss-backup-2026-01-04_031500.tar.zst \(needed by mss-backup-2026-01-06_031500.incr.tar.zst\)"
out_has "keep   mss-backup-2026-01-06_031500.incr.tar.zst \(restore point\)"
out_has "remove mss-backup-2026-01-02_031500.incr.tar.zst"
out_has "would remove mss-backup-2026-01-01_031500.tar.zst"
out_has "target copy: chain mss-backup-2026-01-01_031500.tar.zst: full \+ 2 incrementals, 1 restore point kept"
grep -q "would remove mss-backup-2026-01-04" "$T/out" && fail "would drop a needed base"
[ "$(ls -A "$T/arch" "$T/copy" | sha256sum)" = "$before" ] || fail "dry run removed"

note "prune: keep_last=1 locally keeps the newest night's whole chain"
expect_rc 0 $C prune
got=$(names "$T/arch")
[ "$got" = "01-04.tar.zst 01-05.incr.tar.zst 01-06.incr.tar.zst " ] ||
	fail "local kept: $got"
ls "$T"/arch/mss-backup-2026-01-0[123]* 2>/dev/null && fail "sidecars left"

note "the target's keep_last=4 reaches night 3: its chain back to night 1 stays"
got=$(names "$T/copy")
[ "$got" = "01-01.tar.zst 01-02.incr.tar.zst 01-03.incr.tar.zst 01-04.tar.zst 01-05.incr.tar.zst 01-06.incr.tar.zst " ] ||
	fail "target kept: $got"
expect_rc 0 env CAIRN_TARGET_COPY_KEEP_LAST=3 $C prune
got=$(names "$T/copy")
[ "$got" = "01-04.tar.zst 01-05.incr.tar.zst 01-06.incr.tar.zst " ] ||
	fail "target keep_last=3 kept: $got"

note "the latest link's archive is held with its chain"
rm -rf "$T/arch"
nights "$T/arch"
ln -s mss-backup-2026-01-02_031500.incr.tar.zst \
	"$T/arch/mss-backup-latest.tar.zst"
expect_rc 0 $C prune --dry-run
out_has "keep   mss-backup-2026-01-02_031500.incr.tar.zst \(held\)"
out_has "keep   mss-backup-2026-01-01_031500.tar.zst \(needed by mss-backup-2026-01-02_031500.incr.tar.zst\)"
expect_rc 0 $C prune
got=$(names "$T/arch")
[ "$got" = "01-01.tar.zst 01-02.incr.tar.zst 01-04.tar.zst 01-05.incr.tar.zst 01-06.incr.tar.zst " ] ||
	fail "held chain: $got"

#!/bin/bash
# The stock-tool recovery recipe of cairn(1) ("Recovering with tar
# alone"), run as the man page prints it, reproduces a night's tree from
# a full and its incrementals byte for byte (content, modes, mtimes,
# links; deleted and renamed files gone), with zstd and with gzip.
. "$TOP_SRCDIR/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
export TZ=UTC

# The recipe's lines, groff escapes undone.
sed -n '/^\.SS Recovering with tar alone/,/^\.fi/p' "$TOP_SRCDIR/man/cairn.1" |
	sed -n '/^\.nf/,/^\.fi/p' | grep -v '^\.' |
	sed 's/\\-/-/g; s/\\e/\\/g' >"$T/recipe.sh"
grep -q 'tar --zstd -xpf "\$F"' "$T/recipe.sh" || fail "no recipe in cairn.1: $(cat "$T/recipe.sh")"

# Every path's metadata and bytes; the database by its SQL dump (an
# online-backup snapshot is not the live file's bytes); data/ itself is
# not archived (only what is under it).
state() {
	(cd "$1" && find . -mindepth 1 ! -path ./data ! -name '*-shm' \
		! -name '*-wal' ! -name sound_machine.db \
		-printf '%P %y %m %U %G %s %Ts %l\n' | sort
	 find . -type f ! -name '*-shm' ! -name '*-wal' \
		! -name sound_machine.db -exec sha256sum {} + | sort -k2
	 "$PY" -c 'import sqlite3,sys; print("\n".join(sqlite3.connect(sys.argv[1]).iterdump()))' \
		data/sound_machine.db | sha256sum)
}

for comp in zstd gzip; do
	S=$T/$comp/src A=$T/$comp/arch
	ext=.tar.zst; [ $comp = gzip ] && ext=.tar.gz
	dataset "$S" 4
	COMPRESSION=$comp mss_conf "$T/c.conf" "$S" "$A" "$T/$comp/state"
	sed -i 's/^keep_last = 7$/keep_last = 7\nincremental = yes/' "$T/c.conf"
	C="$CAIRN -c $T/c.conf"
	U=$S/Sounds/uploads

	note "$comp: a full and three incrementals"
	expect_rc 0 $C backup --time "2026-02-11 03:15:00"
	echo added >"$U/added.wav"
	printf 'XY' | dd of="$U/sound_0001.wav" bs=1 seek=64 conv=notrunc status=none
	touch -d "2025-01-01 00:00:07" "$U/sound_0001.wav"
	ln -s uploads/added.wav "$S/Sounds/newest.wav"
	mkdir -p "$S/Sounds/gone/deeper" && echo y >"$S/Sounds/gone/deeper/z.wav"
	expect_rc 0 $C backup --time "2026-02-12 03:15:00"
	mv "$U/sound_0002.wav" "$U/moved.wav"
	rm "$S/data/exports/trackpack_2.zip"
	rm -r "$S/Sounds/gone"
	chmod 0600 "$S/config/wifi.conf"
	expect_rc 0 $C backup --time "2026-02-13 03:15:00"
	rm "$U/added.wav" "$S/Sounds/newest.wav"
	mkdir "$S/Sounds/new dir" && echo x >"$S/Sounds/new dir/a file.wav"
	expect_rc 0 $C backup --time "2026-02-14 03:15:00"
	N=$A/mss-backup-2026-02-14_031500.incr$ext
	F=$A/mss-backup-2026-02-11_031500$ext
	[ -f "$N" ] && [ -f "$F" ] || fail "names: $(ls "$A")"
	# Nothing changes the live tree after the last night: it is the
	# night's tree (the DB too: a snapshot of an idle DB is its bytes).
	state "$S" >"$T/want"

	note "$comp: the recipe with tar, awk, sort, comm, xargs"
	mkdir "$T/$comp/out"
	r=$(sed "s|^cd /srv/mss/cloud-data.*|cd '$T/$comp/out'|;
		 s|^A=.*|A='$A'|; s|^N=.*|N='$N'|; s|^F=.*|F='$F'|;
		 s|/tmp/keep|'$T/$comp/keep'|g" "$T/recipe.sh")
	[ $comp = gzip ] && r=$(sed 's/--zstd/-z/g; s/\\\.tar\\\.zst/\\.tar\\.gz/g' <<<"$r")
	bash -euo pipefail -c "$r" >"$T/out" 2>&1 || { cat "$T/out" "$T/recipe.sh"; fail "$comp: the recipe failed"; }
	state "$T/$comp/out" >"$T/got"
	diff "$T/want" "$T/got" >&2 || fail "$comp: the recipe's tree differs"
done

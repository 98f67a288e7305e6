#!/bin/bash
# A drill compares each restored database's row counts with the
# archive's inventory.txt: an archive whose checksums and manifest are
# all consistent, but whose database lacks rows the inventory recorded,
# fails the drill (and is recorded as failed).
. "$TOP_SRCDIR/tests/lib.sh"

mss_backed_up
C="$CAIRN -c $T/c.conf"
expect_rc 0 $C drill
out_has "4 tables' row counts match"

note "a consistent archive whose inventory says one more row"
x=$T/x
mkdir "$x"
tar -xf "$A/$name" -C "$x"
tar -tf "$A/$name" >"$T/members"
sed -i 's/^    rows: events=\([0-9]*\)$/    rows: events=1\1/' "$x/inventory.txt"
grep -q '^    rows: events=1' "$x/inventory.txt" || fail "inventory edit"
h=$(sha256sum "$x/inventory.txt" | cut -d' ' -f1)
for m in "$x/MANIFEST.sha256" "$A/$name.manifest"; do
	sed -i "s/^[0-9a-f]\{64\}  inventory.txt\$/$h  inventory.txt/" "$m"
done
rm -f "$A/$name.index"
tar --zstd -cf "$A/$name" -C "$x" --no-recursion -T "$T/members"
(cd "$A" && sha256sum "$name" "$name.manifest" >"$name.sha256")
expect_rc 0 $C verify --deep
expect_rc 1 $C drill
out_has "component db: restored rows differ from inventory.txt \(events=1"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["local"]; assert d["status"] == "failure", d' \
	"$ST/drills.json" || fail "not recorded"
echo "drill-rows: ok"

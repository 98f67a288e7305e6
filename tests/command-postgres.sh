#!/bin/bash
# command components against a real, throwaway PostgreSQL cluster.
. "$TOP_SRCDIR/tests/lib.sh"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || skip "PostgreSQL server binaries not installed"
id postgres >/dev/null 2>&1 || skip "no postgres user"
[ "$(id -u)" = 0 ] || skip "needs root to run initdb as postgres"

# The server runs as postgres, so its dir cannot live in root's $T.
PGDIR=$(mktemp -d /tmp/cairn-pg.XXXXXX)
chown postgres "$PGDIR"
PORT=$(free_port)
stop_pg() {
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate \
		stop >/dev/null 2>&1 || true
	rm -rf "$PGDIR"
}
trap 'st=$?; stop_pg; rm -rf "$T"; exit $st' EXIT
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -A trust \
	-U postgres >"$T/initdb.log" 2>&1 || { cat "$T/initdb.log"; fail "initdb"; }
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -w -l "$PGDIR/log" \
	-o "-c listen_addresses=127.0.0.1 -p $PORT -k $PGDIR" start >/dev/null ||
	{ cat "$PGDIR/log"; fail "pg_ctl start"; }
PSQL="psql -X -q -At -h 127.0.0.1 -p $PORT -U postgres"
$PSQL -c "CREATE DATABASE app"
$PSQL -d app <<'SQL'
CREATE TABLE tracks (id serial PRIMARY KEY, title text, seconds real);
INSERT INTO tracks (title, seconds)
	SELECT 'track ' || g, g * 1.5 FROM generate_series(1, 5000) g;
CREATE TABLE plays (id bigserial PRIMARY KEY, track int REFERENCES tracks,
	at timestamptz DEFAULT now());
INSERT INTO plays (track) SELECT 1 + g % 5000 FROM generate_series(1, 20000) g;
SQL
sums() {
	$PSQL -d app -c "SELECT count(*), md5(string_agg(t::text, ',' ORDER BY id))
		FROM tracks t" -c "SELECT count(*), md5(string_agg(
		p.id || ':' || p.track, ',' ORDER BY id)) FROM plays p"
}
before=$(sums)

mkdir -p "$T/src/uploads"
echo "cover art" >"$T/src/uploads/cover.png"
cat >"$T/c.conf" <<EOC
[cairn]
name = pgapp
source = $T/src
archive_dir = $T/arch
state_dir = $T/state

[component pg]
type = command
file = db/app.dump
dump = pg_dump -h 127.0.0.1 -p $PORT -U postgres --format=custom app
restore = pg_restore -h 127.0.0.1 -p $PORT -U postgres --clean --if-exists --create --dbname=postgres
timeout = 600

[component uploads]
type = files
path = uploads

[mode db]
components = pg

[mode all]
components = pg uploads
EOC

note "backup with a pg_dump component"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
A=$(ls "$T"/arch/pgapp-backup-2*.tar.zst)
tar -tf "$A" >"$T/members"
grep -qx db/app.dump "$T/members" || fail "no db/app.dump member"
mkdir "$T/x" && tar -xf "$A" -C "$T/x"
(cd "$T/x" && sha256sum -c --quiet MANIFEST.sha256) || fail "manifest"
grep -q "dump: exit 0" "$T/x/inventory.txt" || fail "inventory lacks the dump"
ls -a "$T/arch" | grep -q staging && fail "staging left behind"

note "drop the database, restore mode db, compare rows"
$PSQL -c "DROP DATABASE app"
expect_rc 0 "$CAIRN" -c "$T/c.conf" restore db --yes
[ "$(sums)" = "$before" ] || fail "rows differ after restore"

note "a failing dump fails the run, with its stderr, and leaves nothing"
expect_rc 1 env CAIRN_COMPONENT_PG_DUMP="pg_dump -h 127.0.0.1 -p $PORT -U postgres -Fc nosuchdb" \
	"$CAIRN" -c "$T/c.conf" backup
out_has 'component pg: dump exited 1: .*nosuchdb'
grep -q 'nosuchdb' "$T/state/backup.log" || fail "stderr not in backup.log"
grep -q '"status":"failure"' "$T/state/last_backup.json" || fail "state"
ls -a "$T/arch" | grep -Eq 'staging|partial' && fail "staging files left"

note "a failing restore command fails the restore and rolls back uploads"
echo "new art" >"$T/src/uploads/cover.png"
expect_rc 1 env CAIRN_COMPONENT_PG_RESTORE="pg_restore -h 127.0.0.1 -p $PORT -U postgres -d nosuchdb" \
	"$CAIRN" -c "$T/c.conf" restore all --yes
out_has "component pg: restore exited"
out_has "rolled back"
[ "$(cat "$T/src/uploads/cover.png")" = "new art" ] ||
	fail "uploads not rolled back after the failed pg restore"
[ "$(sums)" = "$before" ] || fail "database changed by a failed restore"
echo "command-postgres: ok"

#!/usr/bin/env bash
# Major upgrades through ramsafe (docs/upgrade.md): sets taken on the host's PostgreSQL 15,
# restored with `ramsafe restore --pg-version N` into each newer major N given, inside
# scripts/pgenv N's root (test/matrix/upgrade_restore.sh, which asserts there):
#   set 1  the fidelity fixture (test/fixtures/cluster_fixture.sh) and an ALTER SYSTEM
#          setting: the restore must equal N's own import of the same dump files (age |
#          zstd | psql and pg_restore of N, no ramsafe), and hold the same data as on 15
#   set 2  the same cluster plus what N no longer has: old_snapshot_threshold in
#          postgresql.auto.conf, force_parallel_mode for a role and next to a database's
#          other settings, the adminpack extension (gone in 17); and hstore created at its
#          old version 1.4: the restore leaves out the settings and adminpack and names
#          each, keeps everything else, and hstore at 1.4
#   set 3  a physical base backup (WAL archived through this build's ramsafe.so): refused
#          into another major, with --backup-id and with --target-time, saying why
# Needs each root's build (scripts/pgenv N test builds build-pgN) and this host's build.
# Usage, as root: bash test/matrix/upgrade_test.sh 17 18      (ROWS=N resizes the big table)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../fixtures/cluster_fixture.sh
. "$HERE/../fixtures/cluster_fixture.sh"
# shellcheck source-path=SCRIPTDIR source=../fixtures/fingerprint.sh
. "$HERE/../fixtures/fingerprint.sh"

majors=("$@")
[[ ${#majors[@]} -gt 0 ]] || majors=(17 18)
ROWS="${ROWS:-50000}"
: "${RAMSAFE_TEST_LIBRARY:=$RAMSAFE_REPO_DIR/build/ramsafe.so}"
export RAMSAFE_TEST_LIBRARY
for major in "${majors[@]}"; do
  [[ -x "$RAMSAFE_REPO_DIR/build-pg$major/ramsafe" ]] ||
    fail "no build for PostgreSQL $major: run scripts/pgenv $major test first"
done
[[ "$PG_MAJOR" == 15 ]] || fail "the sets are taken on the host's PostgreSQL 15 (PG_BINDIR is $PG_BINDIR)"
ramsafe_test_init upgrade
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

ramsafe_keys
pg_start_cluster src
load_cluster_fixture src "$ROWS"
psql_as src postgres -c "ALTER SYSTEM SET work_mem = '7MB'"
conf="$(ramsafe_config src)"
rs "$conf" backup --no-progress >/dev/null || fail "backup of the fixture on 15 failed"
set1="$(basename "$(newest_set "$WORK/store/main")")"
cluster_fingerprint src "$WORK/fp/source"
pass "fixture ($ROWS rows) backed up on PostgreSQL 15 as $set1"

# What a newer major no longer has, next to what it keeps.
psql_as src postgres -c "ALTER SYSTEM SET old_snapshot_threshold = '1h'" \
  -c "ALTER ROLE alice SET force_parallel_mode = off" \
  -c "ALTER DATABASE app SET force_parallel_mode = off" \
  -c "CREATE DATABASE extold"
psql_as src extold -c "CREATE EXTENSION hstore VERSION '1.4'" -c "CREATE EXTENSION adminpack" \
  -c "CREATE TABLE kv (id int PRIMARY KEY, h hstore)" -c "INSERT INTO kv VALUES (1, 'a=>1')"
rs "$conf" backup --no-progress >/dev/null || fail "the second backup on 15 failed"
set2="$(basename "$(newest_set "$WORK/store/main")")"
[[ "$set2" != "$set1" ]] || fail "the second backup has the first one's id"
assert_eq 1.4 "$(jq -r '.files[] | select(.database == "extold") | .extensions.hstore.version' \
  "$WORK/store/main/$set2/manifest.json")" "the manifest records extension versions"
pass "second set $set2 with settings and an extension 17 and 18 lack, and hstore 1.4"

# A physical set: its own cluster archiving through this build's library, cluster walsrc.
ramsafe_test_library # sets lib
pg_init_cluster w
ramsafe_wal_conf w "ramsafe.cluster_name = 'walsrc'"
pg_start_existing w
wconf="$(ramsafe_config w "ramsafe.cluster_name = 'walsrc'")"
rs "$wconf" base-backup --no-progress >/dev/null || fail "base-backup on 15 failed"
set3="$(basename "$(newest_set "$WORK/store/walsrc")")"
pg_stop_cluster w
pass "physical set $set3 taken on PostgreSQL 15"

for major in "${majors[@]}"; do
  note "restoring into PostgreSQL $major (scripts/pgenv $major)"
  "$RAMSAFE_REPO_DIR/scripts/pgenv" "$major" run bash test/matrix/upgrade_restore.sh "$major" \
    "$WORK" "$set1" "$set2" "$set3" ||
    fail "the upgrade to PostgreSQL $major failed (its lines above say where)"
  pass "PostgreSQL 15 -> $major"
done

#!/usr/bin/env bash
# The PostgreSQL N side of test/matrix/upgrade_test.sh, run inside scripts/pgenv N's root:
#   upgrade_restore.sh N OUTER_WORK SET1 SET2 SET3
# OUTER_WORK is the host test's work directory (on /dev/shm, the same path in the root): its
# store, keys and the 15 source's fingerprint. See upgrade_test.sh for what each set holds.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../fixtures/fingerprint.sh
. "$HERE/../fixtures/fingerprint.sh"

major="$1" outer="$2" set1="$3" set2="$4" set3="$5"
[[ "$PG_MAJOR" == "$major" ]] || fail "this root runs PostgreSQL $PG_MAJOR, not $major"
RAMSAFE_BIN="$RAMSAFE_REPO_DIR/build-pg$major/ramsafe"
ramsafe_test_init "upgrade-pg$major"
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

identity="$outer/keys/identity.txt"
verify_keys="$outer/keys/verify_keys.txt"
# restore_conf CLUSTER NAME: a configuration for restoring the host's store into cluster NAME.
restore_conf() {
  local conf="$WORK/$2.conf"
  cat >"$conf" <<EOF
ramsafe.local_dir = '$outer/store'
ramsafe.cluster_name = '$1'
ramsafe.identity_file = '$identity'
ramsafe.verify_keys_file = '$verify_keys'
ramsafe.data_directory = '$WORK/$2/data'
EOF
  chown postgres:postgres "$conf"
  pg_mkdir "$WORK/$2" "$WORK/$2/data"
  printf '%s\n' "$conf"
}
json_field() { jq -r "$1" "$2"; }

# ------------------------------------------------------------------ set 1: fidelity
conf="$(restore_conf main dst)"
out="$(rs "$conf" restore --pg-version "$major" --backup-id "$set1" --report "$WORK/report1.json" --no-progress 2>&1)" ||
  fail "restore --pg-version $major of $set1 failed" "$out"
assert_contains "$out" "PostgreSQL 15) into PostgreSQL $major at" "the restore names both majors"
assert_eq 15 "$(json_field .source_major "$WORK/report1.json")" "the report's source major"
assert_eq "$major" "$(json_field .target_major "$WORK/report1.json")" "the report's target major"
assert_eq 0 "$(json_field '.dropped_settings | length' "$WORK/report1.json")" "nothing dropped from the fixture"
assert_eq "$major" "$(cat "$WORK/dst/data/PG_VERSION")" "the data directory is PostgreSQL $major's"
pg_start_existing dst
assert_eq 7MB "$(psql_as dst postgres -c 'SHOW work_mem')" "the ALTER SYSTEM setting is back"
cluster_fingerprint dst "$WORK/fp/restored"
pass "set 1 restored into PostgreSQL $major and started"

# PostgreSQL N's own import of the same dump files, without ramsafe (the README's standard
# tools): the same initdb settings (18's initdb would turn checksums on: the source had none).
checksums=()
((major >= 18)) && checksums=(--no-data-checksums)
pg_start_cluster ref -E UTF8 --locale=C.UTF-8 "${checksums[@]}"
plain="$WORK/plain"
mkdir -p "$plain/db"
for f in globals.sql db/postgres.dump db/template1.dump db/app.dump db/shop.dump db/legacy.dump; do
  age -d -i "$identity" "$outer/store/main/$set1/$f.zst.age" | zstd -d -q >"$plain/$f" ||
    fail "age | zstd of $f failed"
done
chown -R postgres:postgres "$plain"
env $(pg_env ref) "$PG_BINDIR/psql" -X -q -d postgres -f "$plain/globals.sql" >/dev/null 2>"$WORK/ref-globals.err" || true
if grep -v 'role "postgres" already exists' "$WORK/ref-globals.err" | grep -q ERROR; then
  fail "the reference import of the globals failed" "$(cat "$WORK/ref-globals.err")"
fi
pgr() { env $(pg_env ref) PGOPTIONS="-c default_transaction_read_only=off" "$PG_BINDIR/pg_restore" --exit-on-error "$@"; }
pgr --clean --if-exists --create -d template1 "$plain/db/postgres.dump"
pgr --clean --if-exists --create -d postgres "$plain/db/template1.dump"
for db in app shop legacy; do pgr --create -d postgres "$plain/db/$db.dump"; done
cluster_fingerprint ref "$WORK/fp/reference"
compare_fingerprints "$WORK/fp/restored" "$WORK/fp/reference"
pass "ramsafe's restore equals PostgreSQL $major's own import of the same dump (contents and pg_dumpall)"

# The data is the source's: every table, sequence and large object as on 15. What else
# differs between 15 and N is printed: the real version differences.
data_lines() { grep -E '^(table|matview|sequence|large_object|large_objects)'$'\t' "$1" || true; }
if ! diff <(data_lines "$outer/fp/source.content") <(data_lines "$WORK/fp/restored.content") >"$WORK/data.diff"; then
  fail "the data differs from PostgreSQL 15's" "$(head -n 40 "$WORK/data.diff")"
fi
rows="$(data_lines "$WORK/fp/restored.content" | wc -l)"
diff "$outer/fp/source.content" "$WORK/fp/restored.content" | grep '^[<>]' | sed 's/^/# 15 vs '"$major"' content: /' >&2 || true
diff <(_schema_canonical "$outer/fp/source.schema") <(_schema_canonical "$WORK/fp/restored.schema") |
  grep '^[<>]' | head -n 40 | sed 's/^/# 15 vs '"$major"' pg_dumpall: /' >&2 || true
pass "the same data as on PostgreSQL 15 ($rows tables, sequences and large objects)"
pg_stop_cluster ref

# ------------------------------------------------------------------ set 2: what N lacks
pg_wipe_data dst
out="$(rs "$conf" restore --pg-version "$major" --backup-id "$set2" --report "$WORK/report2.json" --no-progress 2>&1)" ||
  fail "restore --pg-version $major of $set2 failed" "$out"
dropped="$(jq -r '.dropped_settings[] | "\(.setting) \(.where)"' "$WORK/report2.json" | sort)"
expected="$(printf '%s\n' "force_parallel_mode ALTER DATABASE app" "force_parallel_mode ALTER ROLE alice" \
  "old_snapshot_threshold postgresql.auto.conf:$(grep -n old_snapshot_threshold "$WORK/dst/data/postgresql.auto.conf" | cut -d: -f1)" | sort)"
assert_eq "$expected" "$dropped" "the report names exactly the settings PostgreSQL $major lacks"
assert_contains "$out" "setting old_snapshot_threshold (postgresql.auto.conf:" "the restore says which setting it left out"
assert_contains "$out" "3 settings of PostgreSQL 15 that PostgreSQL $major does not have were left out" "and sums them up"
assert_contains "$(cat "$WORK/dst/data/postgresql.auto.conf")" "#old_snapshot_threshold = '1h'" \
  "postgresql.auto.conf keeps the line, commented out"
pg_start_existing dst
q() { psql_as dst postgres -c "$1"; }
assert_eq 7MB "$(q 'SHOW work_mem')" "the other ALTER SYSTEM setting is kept"
assert_eq "work_mem=16MB,ramsafe_fixture.tenant=acme" \
  "$(q "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'app' AND s.setrole = 0")" \
  "app's other settings are kept"
assert_eq "maintenance_work_mem=70MB" \
  "$(q "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase JOIN pg_roles r ON r.oid = s.setrole WHERE d.datname = 'app' AND r.rolname = 'alice'")" \
  "alice's setting in app, from the same archive entry, is kept"
assert_eq "search_path=crm, public,statement_timeout=30s" \
  "$(q "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = 'alice' AND s.setdatabase = 0")" \
  "alice's other settings are kept"
assert_eq '"a"=>"1"' "$(psql_as dst extold -c "SELECT h FROM kv")" "hstore data restored"
assert_eq 1.4 "$(psql_as dst extold -c "SELECT extversion FROM pg_extension WHERE extname = 'hstore'")" \
  "hstore is back at its version 1.4, not $major's default"
assert_eq "extold adminpack 2.1 " \
  "$(jq -r '.extension_changes[] | "\(.database) \(.extension) \(.backed_up) \(.restored)"' "$WORK/report2.json")" \
  "the report names only adminpack, which PostgreSQL $major does not have"
assert_contains "$out" "extension adminpack 2.1 (in database \"extold\") is not installed for PostgreSQL $major" \
  "the restore says it left adminpack out"
# Every extension of app is at its version on 15 (18's defaults are newer: citext 1.8).
recorded="$(jq -r '.files[] | select(.database == "app") | .extensions | to_entries[] | "\(.key) \(.value.version)"' \
  "$outer/store/main/$set2/manifest.json" | sort)"
assert_eq "$recorded" "$(psql_as dst app -c "SELECT extname || ' ' || extversion FROM pg_extension ORDER BY 1")" \
  "app's extensions are at their versions of 15"
pass "set 2: 3 settings and adminpack, which PostgreSQL $major lacks, left out and named, the rest kept; extensions at 15's versions"
pg_stop_cluster dst

# ------------------------------------------------------------------ set 3: physical, refused
pconf="$(restore_conf walsrc phys)"
assert_fails_with 1 rs "$pconf" restore --pg-version "$major" --backup-id "$set3" --no-progress
assert_contains "$ASSERT_OUTPUT" "is a physical base backup of PostgreSQL 15: its data files and WAL can only be restored by PostgreSQL 15, not $major" \
  "a physical set is refused across majors, saying why"
assert_fails_with 3 rs "$pconf" restore --pg-version "$major" --target-time '2100-01-01 00:00:00+00' --no-progress
assert_contains "$ASSERT_OUTPUT" "WAL replays only on the major it was written by" "--target-time across majors says why"
assert_eq "" "$(find "$WORK/phys/data" -mindepth 1 | head -n 1)" "the data directory is left empty"
pass "physical sets and WAL are refused across majors with a clear message"

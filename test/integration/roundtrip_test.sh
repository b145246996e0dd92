#!/usr/bin/env bash
# The main promise: back up a whole real PostgreSQL cluster on tmpfs with `ramsafe
# backup`, wipe the data directory, `ramsafe restore`, and get everything back:
# pg_dumpall of the restored cluster equals the original's and every table's row count
# and content checksum match (test/fixtures/fingerprint.sh). Also the standard-tools
# promise (age | zstd | pg_restore without ramsafe), list/verify, and the non-empty data
# directory rules of restore.
# Run as root: bash test/integration/roundtrip_test.sh   (ROWS=N to resize the big table)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../fixtures/cluster_fixture.sh
. "$HERE/../fixtures/cluster_fixture.sh"
# shellcheck source-path=SCRIPTDIR source=../fixtures/fingerprint.sh
. "$HERE/../fixtures/fingerprint.sh"

ROWS="${ROWS:-1000000}"
ramsafe_test_init roundtrip
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

ramsafe_keys
pg_start_cluster src
load_cluster_fixture src "$ROWS"
# A setting in postgresql.auto.conf and a line in pg_hba.conf must come back too.
psql_as src postgres -c "ALTER SYSTEM SET work_mem = '7MB'"
# An extension at an older version than the default (pg_dump records none): it must come
# back at that version, not at the default pg_restore would create.
psql_as src postgres -c "CREATE DATABASE extold"
psql_as src extold -c "CREATE EXTENSION hstore VERSION '1.4'" \
  -c "CREATE TABLE kv (id int PRIMARY KEY, h hstore)" -c "INSERT INTO kv VALUES (1, 'a=>1')"
echo "# ramsafe roundtrip marker" >>"$(pg_datadir src)/pg_hba.conf"
conf="$(ramsafe_config src)"
pass "fixture loaded (big table: $ROWS rows)"

# ------------------------------------------------------------------ backup
out="$(rs "$conf" backup 2>&1)"
assert_contains "$out" "backup " "backup says what it did"
set_dir="$(newest_set "$WORK/store/main")"
[[ -n "$set_dir" ]] || fail "no published set in $WORK/store/main" "$out"
id="$(basename "$set_dir")"
for f in manifest.json globals.sql.zst.age config.tar.zst.age db/app.dump.zst.age db/shop.dump.zst.age \
  db/legacy.dump.zst.age db/postgres.dump.zst.age db/template1.dump.zst.age; do
  assert_file_exists "$set_dir/$f" "set has $f"
done
assert_eq "" "$(find "$WORK/store" -name '*.partial')" "no .partial left after a good backup"
manifest="$(cat "$set_dir/manifest.json")"
assert_contains "$manifest" '"database": "legacy"' "manifest lists the LATIN1 database"
assert_not_contains "$manifest" "AGE-SECRET-KEY" "manifest holds no secret"
# Only ciphertext on disk: no file of the set holds a recognisable plaintext.
if grep -rlaF -e "PGDMP" -e "CREATE ROLE" -e "work_mem" "$set_dir" --exclude=manifest.json >/dev/null; then
  fail "a stored file holds plaintext" "$(grep -rlaF -e PGDMP -e 'CREATE ROLE' "$set_dir")"
fi
assert_eq "age-encryption.org/v1" "$(head -c 21 "$set_dir/db/app.dump.zst.age")" "files are age files"
pass "backup $id published with every database, globals and config, encrypted"

list_json="$(rs "$conf" list --json)"
assert_contains "$list_json" "\"backup_id\": \"$id\"" "list --json shows the set"
assert_contains "$(rs "$conf" list)" "$id" "list shows the set"
verify_out="$(rs "$conf" verify)"
assert_contains "$verify_out" "$id (local " "verify names the set and its store"
assert_contains "$verify_out" "): ok (" "verify"
assert_contains "$(rs "$conf" verify --deep "$id")" "decrypted and decompressed" "verify --deep"
pass "list, verify and verify --deep accept the set"

# ------------------------------------------------------------------ standard tools
# A database file restores with age, zstd and pg_restore alone.
pg_start_cluster plain
psql_as plain postgres -c "CREATE DATABASE shop_copy"
psql_as plain postgres -c "CREATE ROLE shop_owner; CREATE ROLE app_owner; CREATE ROLE readers; CREATE ROLE writers; CREATE ROLE alice" >/dev/null
age -d -i "$WORK/keys/identity.txt" "$set_dir/db/shop.dump.zst.age" | zstd -d -q |
  "$PG_BINDIR/pg_restore" --exit-on-error --no-owner --no-acl -h "$(pg_sockdir plain)" -p "$(pg_port plain)" \
    -U postgres -d shop_copy
assert_eq "$(psql_as src shop -c "select count(*), sum(hashtext(o::text)) from orders o")" \
  "$(psql_as plain shop_copy -c "select count(*), sum(hashtext(o::text)) from orders o")" \
  "orders restored by age | zstd | pg_restore"
# (Whole outputs captured first: grep -q would close the pipe early and, under pipefail,
# fail the pipeline with SIGPIPE.)
globals_sql="$(age -d -i "$WORK/keys/identity.txt" "$set_dir/globals.sql.zst.age" | zstd -d -q)"
assert_contains "$globals_sql" "CREATE ROLE alice" "globals decrypt with age | zstd"
config_list="$(rs "$conf" decrypt "$set_dir/config.tar.zst.age" | tar -tf -)"
assert_contains $'\n'"$config_list"$'\n' $'\npg_hba.conf\n' "config.tar lists pg_hba.conf"
pg_stop_cluster plain
pass "age -d | zstd -d | pg_restore restores a database file without ramsafe"

# ------------------------------------------------------------------ wipe and restore
cluster_fingerprint src "$WORK/fp/src"
pg_wipe_data src
out="$(rs "$conf" restore 2>&1)" || fail "restore failed" "$out"
assert_contains "$out" "restored backup $id" "restore names the set"
data="$(pg_datadir src)"
assert_file_not_exists "$data/.ramsafe-restore" "no staging left"
assert_file_not_exists "$data/postmaster.pid" "the private postmaster is stopped"
assert_eq "postgres 700" "$(stat -c '%U %a' "$data")" "data directory stays postgres-owned, 0700"
report="$(cat "$data/ramsafe_restore_report.json")"
assert_contains "$report" '"outcome": "restored"' "report outcome"
assert_contains "$report" "\"backup_id\": \"$id\"" "report backup id"
pg_start_existing src
cluster_fingerprint src "$WORK/fp/dst"
compare_fingerprints "$WORK/fp/src" "$WORK/fp/dst"
assert_eq "7MB" "$(psql_as src postgres -c "show work_mem")" "postgresql.auto.conf restored"
grep -qx "# ramsafe roundtrip marker" "$data/pg_hba.conf" || fail "pg_hba.conf not restored"
assert_eq 1.4 "$(psql_as src extold -c "SELECT extversion FROM pg_extension WHERE extname = 'hstore'")" \
  "hstore is back at its version 1.4, not the default"
assert_contains "$report" '"extension_changes": []' "the report names no extension change"
assert_contains "$report" "\"source_major\": $PG_MAJOR" "the report names the major"
pass "restore brings back every role, database, setting and row (pg_dumpall and content equal)"

# ------------------------------------------------------------------ non-empty data directory
pg_stop_cluster src
before="$(find "$data" -printf '%P %s %T@\n' | sort | sha256sum)"
assert_fails_with 4 rs "$conf" restore
assert_contains "$ASSERT_OUTPUT" "not empty" "restore explains a non-empty data directory"
rs "$conf" restore --if-empty >"$WORK/ifempty.out" 2>&1 || fail "restore --if-empty failed" "$(cat "$WORK/ifempty.out")"
assert_contains "$(cat "$WORK/ifempty.out")" "not empty" "--if-empty says why it did nothing"
assert_eq "$before" "$(find "$data" -printf '%P %s %T@\n' | sort | sha256sum)" "non-empty data directory untouched"
pass "a non-empty data directory is left alone (exit 4, or 0 with --if-empty)"

echo "roundtrip: all passed"

#!/usr/bin/env bash
# Bad-input drill: every ramsafe.* setting given a malformed value, in the server (ALTER
# SYSTEM, a reload of a broken file, a broken include) and in the companion's file; SQL
# functions called by a role without rights; a missing pg_dump. Each must give one clear
# message naming the setting (or file:line) and the value, the server keeps running, the
# worker keeps its last good settings, and nothing is lost (the data and the older set).
#   test/drills/bad_input.sh
# Prints "drill bad_input: cycles=1 faults_injected=... faults_detected=...".
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init drill_bad_input
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
require_installed_extension

ramsafe_keys
pg_mkdir "$WORK/store"
pg_init_cluster x
pg_conf x "shared_preload_libraries = 'ramsafe'" \
  "ramsafe.local_dir = '$WORK/store'" \
  "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = ''" "ramsafe.local_retention = ''" \
  "include_if_exists = '$WORK/extra.conf'"
pg_start_existing x
q() { psql_as x postgres -c "$1"; }
q "CREATE EXTENSION ramsafe"
q "CREATE DATABASE app"
psql_as x app -c "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g"
first="$(q "SELECT backup_id FROM ramsafe_backup_now()")"
worker="$(q "SELECT worker_pid FROM ramsafe_status()")"
injected=0
detected=0

# A malformed value for each type and rule (plain strings such as ramsafe.host accept any
# text and are not listed).
declare -A bad=(
  [ramsafe.cluster_name]="a/b" [ramsafe.local_dir]="relative/dir" [ramsafe.recipients_file]="keys.txt"
  [ramsafe.data_directory]="data" [ramsafe.passphrase_file]="pass" [ramsafe.identity_file]="id.txt" [ramsafe.compression_level]="42"
  [ramsafe.port]="70000" [ramsafe.passfile]="pgpass" [ramsafe.bindir]="bin"
  [ramsafe.restore_jobs]="-1" [ramsafe.on_missing]="maybe" [ramsafe.schedule]="61 * * * *"
  [ramsafe.timezone]="Mars/Olympus" [ramsafe.max_rate]="fast" [ramsafe.ram_warn_percent]="0"
  [ramsafe.drive_credentials_file]="sa.json" [ramsafe.drive_token_file]="token.json"
  [ramsafe.drive_ca_file]="ca.pem" [ramsafe.drive_chunk_kb]="300"
  [ramsafe.drive_api_url]="http://www.googleapis.com" [ramsafe.drive_oauth_url]="https://x/"
  [ramsafe.local_retention]="dayly=7" [ramsafe.drive_retention]="weekly=many"
  [ramsafe.local_base_retention]="last=two" [ramsafe.drive_base_retention]="monthly"
  [ramsafe.signing_key_file]="signing.key" [ramsafe.verify_keys_file]="verify_keys.txt"
  [ramsafe.state_file]="state.json"
)
mapfile -t all_settings < <(q "SELECT name FROM pg_settings WHERE name LIKE 'ramsafe.%' ORDER BY 1")
for name in "${all_settings[@]}"; do
  value="${bad[$name]:-}"
  [[ -n "$value" ]] || { note "$name takes any text"; continue; }
  injected=$((injected + 2))
  # In the server: ALTER SYSTEM refuses, naming the setting and the value.
  rc=0
  out="$(q "ALTER SYSTEM SET $name = '$value'" 2>&1)" || rc=$?
  [[ "$rc" -ne 0 && "$out" == *"$name"* && "$out" == *"$value"* ]] ||
    fail "ALTER SYSTEM SET $name = '$value' was not refused clearly" "$out"
  detected=$((detected + 1))
  # In the companion's file: exit 2, naming the setting, the value and file:line.
  conf="$(ramsafe_config x "$name = '$value'")"
  rc=0
  out="$(rs "$conf" list 2>&1)" || rc=$?
  [[ "$rc" -eq 2 && "$out" == *"$name"* && "$out" == *"$value"* && "$out" == *".conf:"* ]] ||
    fail "the companion did not refuse $name = '$value' clearly (exit $rc)" "$out"
  detected=$((detected + 1))
done
pass "every checked setting: ALTER SYSTEM refuses it, the companion exits 2; both name setting, value and place"

# A broken value in an included file, then a broken include: a reload keeps the old settings.
injected=$((injected + 2))
printf "ramsafe.compression_level = 99\n" >"$WORK/extra.conf"
chown postgres:postgres "$WORK/extra.conf"
q "SELECT pg_reload_conf()" >/dev/null
logged() { grep -q "$1" "$(pg_logfile x)"; }
wait_for "the reload's complaint" 20 logged '99 is outside the valid range for parameter "ramsafe.compression_level"'
assert_contains "$(cat "$(pg_logfile x)")" "contains errors" "the server says the file has errors"
assert_eq 3 "$(q "SHOW ramsafe.compression_level")" "the old value stays"
detected=$((detected + 1))
printf "ramsafe.schedule = '@daily\n" >"$WORK/extra.conf" # unterminated quote
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the syntax error" 20 logged "syntax error in file \"$WORK/extra.conf\" line 1"
detected=$((detected + 1))
conf="$(ramsafe_config x "include '$WORK/extra.conf'")"
assert_fails_with 2 rs "$conf" list
assert_contains "$ASSERT_OUTPUT" "$WORK/extra.conf:1" "the companion names the broken include's file and line"
rm -f "$WORK/extra.conf"
q "SELECT pg_reload_conf()" >/dev/null
pass "broken values and syntax in an included file: the server logs them and keeps its settings"

# SQL functions without rights.
injected=$((injected + 1))
q "CREATE ROLE nobody LOGIN"
rc=0
out="$(psql_as x postgres -U nobody -c "SELECT * FROM ramsafe_backup_now()" 2>&1)" || rc=$?
[[ "$rc" -ne 0 && "$out" == *"permission denied for function ramsafe_backup_now"* ]] || fail "backup_now by a role without rights" "$out"
detected=$((detected + 1))

# A missing pg_dump: the backup fails with the cause, the worker lives on.
injected=$((injected + 1))
bindir_without_pg_dump "$WORK/nodump"
rm -f "$WORK/nodump/pg_dump"
q "ALTER SYSTEM SET ramsafe.bindir = '$WORK/nodump'"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the reload" 10 bash -c "[[ \"\$(runuser -u postgres -- $PG_BINDIR/psql -X -qAt -h $(pg_sockdir x) -p $(pg_port x) -U postgres -d postgres -c 'SHOW ramsafe.bindir')\" == '$WORK/nodump' ]]"
rc=0
out="$(q "SELECT backup_id FROM ramsafe_backup_now()" 2>&1)" || rc=$?
[[ "$rc" -ne 0 && "$out" == *pg_dump* ]] || fail "a backup without pg_dump did not fail clearly" "$out"
detected=$((detected + 1))
q "ALTER SYSTEM RESET ramsafe.bindir"
q "SELECT pg_reload_conf()" >/dev/null
pass "SQL without rights and a missing pg_dump: clear errors"

# Nothing was lost: the server and its worker are the same, the data is there, the older
# set verifies, and a backup works again.
assert_eq "$worker" "$(q "SELECT worker_pid FROM ramsafe_status()")" "the worker never restarted"
assert_eq 1000 "$(psql_as x app -c "SELECT count(*) FROM t")" "the data is intact"
conf="$(ramsafe_config x)"
rs "$conf" verify --deep "$first" >/dev/null || fail "the older set does not verify"
wait_for "a backup after all this" 30 q "SELECT backup_id FROM ramsafe_backup_now()"
pass "server, worker, data and the older set all unharmed; backups work"

echo "drill bad_input: cycles=1 faults_injected=$injected faults_detected=$detected"
[[ "$injected" -eq "$detected" ]] || fail "bad input drill: $((injected - detected)) faults not detected"

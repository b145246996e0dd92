#!/usr/bin/env bash
# The server against a hostile local store (issue 14, items 5 and 6): a manifest nested
# 200,000 arrays deep and one whose backup_id is terminal escape sequences, in the store
# when the server starts. The scheduler worker reads the store at start (even with
# ramsafe.schedule = ''), ramsafe_backups() and ramsafe_status() read it too; none may
# crash (a crashing worker or backend makes PostgreSQL restart every backend), and no
# escape byte may reach a client. And a store others can write is refused, by name.
# Needs the installed extension (cmake --install build). Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init hostile_server
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

require_installed_extension

ramsafe_keys
pg_mkdir "$WORK/store"
store="$WORK/store/main"
pg_init_cluster x
pg_conf x "shared_preload_libraries = 'ramsafe'" \
  "ramsafe.local_dir = '$WORK/store'" \
  "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = ''" \
  "ramsafe.local_retention = ''"
pg_start_existing x
q() { psql_as x postgres -c "$1"; }
q "CREATE EXTENSION ramsafe"
good="$(q "SELECT backup_id FROM ramsafe_backup_now()")"
[[ -n "$good" ]] || fail "no backup"

# The planted manifests (the worker and the SQL functions read the store's manifests).
mkdir -p "$store/20970101T000000Z" "$store/20960101T000000Z"
deep_manifest >"$store/20970101T000000Z/manifest.json"
jq --arg id $'\e]0;owned\a\e[2J20260101T000000Z' '.backup_id = $id | .format_version = 1 | del(.sequence)' "$store/$good/manifest.json" \
  >"$WORK/escapes.json"
sum="$(jq -cS 'del(.manifest_sha256)' "$WORK/escapes.json" | tr -d '\n' | sha256sum | cut -d' ' -f1)"
jq -S --arg s "$sum" '.manifest_sha256 = $s' "$WORK/escapes.json" >"$store/20960101T000000Z/manifest.json"
chown -R postgres:postgres "$store"

# The worker reads the store as it starts; a backup by the worker reads it again.
pg_stop_cluster x
pg_start_existing x
worker_up() { [[ -n "$(q "SELECT worker_pid FROM ramsafe_status()")" ]]; }
wait_for "the worker to start" 30 worker_up
second="$(q "SELECT backup_id FROM ramsafe_backup_now()")"
[[ -n "$second" && "$second" != "$good" ]] || fail "the worker's backup after the restart failed"
rows="$(q "SELECT backup_id || ' ' || usable || ' ' || coalesce(problem, '') FROM ramsafe_backups() ORDER BY backup_id")"
assert_contains "$rows" "$good true" "ramsafe_backups() lists the good set"
assert_contains "$rows" "20970101T000000Z false" "the deep manifest's set is unusable"
assert_contains "$rows" "nested deeper than 64 levels" "and says why"
assert_contains "$rows" 'manifest is for backup \x1b]0;owned\x07\x1b[2J' "the escapes are escaped"
[[ "$rows" != *$'\e'* && "$rows" != *$'\a'* ]] || fail "ramsafe_backups() returned a raw escape byte"
status="$(q "SELECT * FROM ramsafe_status()")"
[[ "$status" != *$'\e'* ]] || fail "ramsafe_status() returned a raw escape byte"
log="$(cat "$(pg_logfile x)")"
assert_not_contains "$log" "terminated by signal" "no server process crashed"
assert_not_contains "$log" "reinitializing" "the server never crash-restarted"
[[ "$log" != *$'\e'* ]] || fail "the server log holds a raw escape byte"
pass "the worker, ramsafe_backups() and ramsafe_status() survive the planted manifests"

# A store that group or others can write: backups refuse it, naming it.
chmod 0770 "$store"
rc=0
out="$(q "SELECT backup_id FROM ramsafe_backup_now()" 2>&1)" || rc=$?
[[ "$rc" != 0 ]] || fail "a backup into a group-writable store succeeded"
assert_contains "$out" "the backup store $store has mode 0770" "the error names the store and its mode"
chmod 0700 "$store"
assert_not_contains "$(cat "$(pg_logfile x)")" "terminated by signal" "still no crash"
pass "a group-writable store is refused with its name"

echo "hostile_server: all passed"

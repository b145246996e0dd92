#!/usr/bin/env bash
# The server's worker with the Drive store, against the Drive v3 emulator:
#   - with 30% of Drive requests failing (429, 503, resets), every set of a per-minute
#     schedule reaches Drive, and the local backups still start on time
#   - ramsafe_status() shows the remote, pending uploads and the last upload;
#     ramsafe_backups() lists the Drive copies
#   - bad credentials (a key Google does not know), set with SIGHUP: local backups go on,
#     status and log carry the reason, nothing secret is logged; fixing the setting
#     uploads what is pending
#   - fast shutdown during an upload: the server stops within seconds
# Needs the installed extension (cmake --install build). Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init drive_worker
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/drive.sh
. "$HERE/../lib/drive.sh"

require_installed_extension

drive_start
drive_service_account sa
drive_shared_drive sd "$DRIVE_DIR/sa.json" fileOrganizer # Content manager, as docs/drive.md says
drive_service_account stranger --unregistered
ramsafe_keys
pg_mkdir "$WORK/store"
store="$WORK/store/main"
mapfile -t drive_lines < <(drive_settings "$DRIVE_DIR/sa.json" sd)
pg_init_cluster x
pg_conf x "shared_preload_libraries = 'ramsafe'" \
  "ramsafe.local_dir = '$WORK/store'" \
  "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = '* * * * *'" \
  "ramsafe.local_retention = ''" "ramsafe.drive_retention = ''" \
  "${drive_lines[@]}"
# 30% of Drive's answers fail from the very start.
drive_fail_30_percent 5
pg_start_existing x
q() { psql_as x postgres -c "$1"; }
status() { q "SELECT $1 FROM ramsafe_status()"; }
status_is() { [[ "$(status "$1")" == t ]]; }
local_sets() { find "$store" -mindepth 1 -maxdepth 1 -type d -name '2*' ! -name '*.partial' -printf '%f\n' 2>/dev/null | sort; }
q "CREATE EXTENSION ramsafe"
q "CREATE DATABASE app"
psql_as x app -c "CREATE TABLE t AS SELECT g, md5(g::text) AS h, repeat(md5((g*3)::text), 4) AS r FROM generate_series(1, 60000) g"

# ----------------------------------------------------- schedule + uploads under 30% failures
all_on_drive() {
  local n
  n="$(local_sets | wc -l)"
  [[ "$n" -ge 3 ]] && status_is "pending_uploads = 0 AND NOT running" &&
    [[ "$(q "SELECT count(*) FROM ramsafe_backups() WHERE store = 'drive' AND usable")" -eq "$n" ]]
}
wait_for "a catch-up and two scheduled backups, all on Drive" 240 all_on_drive
first="$(local_sets | head -n 1)"
while read -r id; do
  [[ "$id" == "$first" ]] && continue # the catch-up backup runs at start, at any second
  seconds="${id:13:2}"
  [[ "$id" =~ ^[0-9]{8}T[0-9]{6}Z$ && "10#$seconds" -le 10 ]] ||
    fail "scheduled backup $id did not start within 10 s of its minute"
done < <(local_sets)
faults="$(drive_admin GET /stats | json 'Object.values(d.faults).reduce((a, b) => a + b, 0)')"
[[ "$faults" -ge 5 ]] || fail "too few faults were injected ($faults)"
assert_eq "drive folder sd/main" "$(status remote_store)" "ramsafe_status names the remote"
# (waited for: the next minute's backup may finish between the wait above and this check)
wait_for "the last upload to be the last backup" 120 \
  status_is "last_upload_id = last_backup_id AND last_upload_at >= last_finished_at"
assert_contains "$(cat "$(pg_logfile x)")" "ramsafe: copied backup" "a LOG line per copy"
drive_admin DELETE /faults >/dev/null
pass "per-minute schedule on time, every set on Drive with $faults Drive requests failing"

# ------------------------------------------------------------------- bad credentials (SIGHUP)
q "ALTER SYSTEM SET ramsafe.drive_credentials_file = '$DRIVE_DIR/stranger.json'"
q "ALTER SYSTEM SET ramsafe.schedule = ''"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the reload" 10 status_is "schedule = ''"
id="$(q "SELECT backup_id FROM ramsafe_backup_now()")"
[[ -d "$store/$id" ]] || fail "the local backup did not happen"
wait_for "the remote error in ramsafe_status" 60 status_is "last_remote_error LIKE '%refused the credentials of service account stranger@%'"
assert_eq t "$(status "pending_uploads >= 1")" "the new set is pending"
assert_contains "$(cat "$(pg_logfile x)")" "WARNING:  ramsafe: copying backup" "a WARNING in the log"
assert_contains "$(cat "$(pg_logfile x)")" "Local backups go on as scheduled" "saying local backups go on"
pass "bad credentials: local backup done, reason in status and log"

q "ALTER SYSTEM RESET ramsafe.drive_credentials_file"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the pending set to reach Drive after the fix" 60 status_is "pending_uploads = 0 AND last_upload_id = '$id'"
pass "fixing the setting uploads what was pending"

# ---------------------------------------------------------------- fast shutdown mid-upload
drive_admin POST /faults '{"rules": [{"match": {"kind": "upload_chunk"}, "action": "delay", "ms": 2000}]}' >/dev/null
q "SELECT backup_id FROM ramsafe_backup_now()" >/dev/null
wait_for "an upload in progress" 60 status_is "uploading_backup_id IS NOT NULL"
start_ms="${EPOCHREALTIME/./}"
pg_stop_cluster x fast
elapsed_ms=$(((${EPOCHREALTIME/./} - start_ms) / 1000))
[[ "$elapsed_ms" -lt 10000 ]] || fail "fast shutdown during an upload took $elapsed_ms ms"
pass "fast shutdown during an upload: stopped in $elapsed_ms ms"

assert_no_secrets "$(cat "$(pg_logfile x)")" "server log"
assert_no_secrets "$(cat "$DRIVE_DIR/emulator.log")" "emulator log"
pass "no secret or token in the logs"

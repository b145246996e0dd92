#!/usr/bin/env bash
# Retention with WAL archiving on (issue 16, item 1): logical sets and physical base backups
# do not compete for the same slots, against a real server on tmpfs and the Drive emulator,
# with the default policies:
#   - the issue's sequence: a base backup, then three ramsafe_backup_now() calls; retention
#     (the worker's after each backup and upload pass, then ramsafe_prune(false)) keeps the
#     base in both stores, and the WAL after it, saying which policy kept it
#   - a reboot (clean stop, data directory wiped, restore --if-empty, start) brings back every
#     committed row, also the one committed after the last logical backup
#   - after that restart ramsafe_status() shows the last backup, the last base backup, the
#     last archived WAL and Drive's newest copy, read from the stores (item 9)
#   - the recoverable-window guard: the newer base's WAL made incomplete and a base policy of
#     last=1: the older base, on which the latest recoverable point depends, is kept, with a
#     WARNING from ramsafe_prune() and in the worker's log
# Needs the installed extension (cmake --install build). Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init wal_retention
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/drive.sh
. "$HERE/../lib/drive.sh"
require_installed_extension

drive_start
drive_shared_drive sd
drive_service_account sa
ramsafe_keys
pg_mkdir "$WORK/store"
store="$WORK/store/main"
mapfile -t drive_lines < <(drive_settings "$DRIVE_DIR/sa.json" sd)
pg_init_cluster w
# No ramsafe.*_retention lines: the defaults are what is tested.
pg_conf w "shared_preload_libraries = 'ramsafe'" \
  "archive_mode = on" "archive_library = 'ramsafe'" "archive_timeout = 2" \
  "ramsafe.local_dir = '$WORK/store'" \
  "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = ''" \
  "${drive_lines[@]}"
pg_start_existing w
conf="$(ramsafe_config w "${drive_lines[@]}")"
log="$(pg_logfile w)"
q() { psql_as w postgres -c "$1"; }
status() { q "SELECT $1 FROM ramsafe_status()"; }
status_is() { [[ "$(status "$1")" == t ]]; }
archived_up_to() { [[ "$(q "SELECT coalesce(last_archived_wal, '') >= '$1' FROM pg_stat_archiver")" == t ]]; }
local_sets() { find "$store" -mindepth 1 -maxdepth 1 -type d -name '2*' ! -name '*.partial' -printf '%f\n' | sort; }
drive_sets() {
  drive_admin GET /files | json "[...new Set(d.files.filter(f => f.appProperties && f.appProperties.ramsafe_path === 'manifest.json').map(f => f.appProperties.ramsafe_set))].sort().join('\n')"
}
local_wal() { find "$store/wal" -name '*.zst.age' ! -name '.*' -printf '%f\n' | sed 's/\.zst\.age$//' | sort; }
drive_wal() {
  drive_admin GET /files | json "d.files.filter(f => f.appProperties && f.appProperties.ramsafe_wal_part === 'data').map(f => f.appProperties.ramsafe_wal).sort().join('\n')"
}
on_drive() { # every local WAL file and the given sets are on Drive
  local id sets
  [[ -z "$(comm -23 <(local_wal) <(drive_wal))" ]] || return 1
  sets="$(drive_sets)"
  for id in "$@"; do grep -qx "$id" <<<"$sets" || return 1; done
}
# The worker prunes too; ramsafe_prune(false) waits its turn for the store's lock.
prune_now() { q "SELECT count(*) FROM ramsafe_prune(false)" >/dev/null; }
rows() { q "SELECT string_agg(id::text, ' ' ORDER BY id) FROM t"; }

q "CREATE EXTENSION ramsafe"
q "CREATE TABLE t (id int PRIMARY KEY, note text NOT NULL)"
q "INSERT INTO t VALUES (1, 'before the base backup')"

# ------------------------------------------------------------------ the issue's sequence
base="$(q "SELECT backup_id FROM ramsafe_base_backup_now()")"
q "INSERT INTO t VALUES (2, 'after the base backup')"
ids=()
for i in 1 2 3; do
  ids+=("$(q "SELECT backup_id FROM ramsafe_backup_now()")")
  q "INSERT INTO t VALUES ($((i + 2)), 'after logical backup $i')"
done
# Row 5 is committed after the last logical backup: only the base and its WAL hold it.
seg="$(q "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")"
q "SELECT pg_switch_wal()" >/dev/null
# 150 s, not 60: past the archiver's own 60 s wake-up, should it miss the switch's signal.
wait_for "the WAL holding the last row to be archived" 150 archived_up_to "$seg"
uploads_done() { on_drive "$@" && status_is "pending_uploads = 0 AND wal_drive_pending_files = 0"; }
wait_for "the newest set and every WAL file on Drive, nothing pending" 120 uploads_done "${ids[2]}"
wait_for "retention to run (ramsafe_prune(false))" 60 prune_now
local_now="$(local_sets)"
assert_contains "$local_now" "$base" "the local store keeps the base backup"
assert_contains "$(drive_sets)" "$base" "Drive keeps the base backup"
for id in "${ids[@]}"; do assert_contains "$local_now" "$id" "and the logical set $id"; done
assert_contains "$(local_wal)" "$seg" "the WAL after the base stays"
reasons="$(q "SELECT store || ' ' || action || ' ' || reason FROM ramsafe_prune(true) WHERE backup_id = '$base'")"
assert_contains "$reasons" "local keep base backup: last 1 of 2; daily" "ramsafe.local_base_retention keeps it"
assert_contains "$reasons" "drive keep base backup: last 1 of 2; daily" "ramsafe.drive_base_retention keeps it"
assert_not_contains "$(grep -F "retention deleted" "$log" | grep -F "backup sets" || true)" "$base" \
  "no retention deleted the base"
pass "a base backup, then three logical backups: the base and its WAL stay in both stores"

# ------------------------------------------------------------------ a reboot
pg_stop_cluster w
pg_wipe_data w
out="$(rs "$conf" restore --if-empty --no-progress 2>&1)" || fail "restore after the reboot failed" "$out"
assert_contains "$out" "restored base $base + WAL up to" "the restore used the base and its WAL"
pg_start_existing w
assert_eq "1 2 3 4 5" "$(rows)" "every committed row is back"
pass "reboot: restore of base + WAL brings back every committed row, also the one after the last logical backup"

# ------------------------------------------------------------------ the status after the restart
wait_for "the worker" 30 status_is "worker_pid IS NOT NULL"
wait_for "the status to be filled from the stores" 30 status_is "last_backup_id IS NOT NULL"
assert_eq "${ids[2]}" "$(status last_backup_id)" "last_backup_id: the newest logical set"
assert_eq "$base" "$(status last_base_backup_id)" "last_base_backup_id"
assert_eq t "$(status "last_archived_wal >= '$seg' AND last_archived_at IS NOT NULL")" "last_archived_wal"
assert_eq t "$(status "remote_store LIKE 'drive %'")" "the Drive store is named"
wait_for "Drive's newest copy in the status" 60 status_is "last_upload_id = '${ids[2]}' AND last_upload_at IS NOT NULL"
pass "after the restart ramsafe_status() shows the last backup, base, WAL and Drive copy from the stores"

# ------------------------------------------------------------------ the recoverable-window guard
base2="$(q "SELECT backup_id FROM ramsafe_base_backup_now()")"
start2="$(q "SELECT wal_start FROM ramsafe_backups() WHERE backup_id = '$base2' AND store = 'local'")"
[[ -n "$start2" ]] || fail "no wal_start for $base2"
wait_for "the new base and every WAL file on Drive" 120 uploads_done "$base2"
# The newer base's first WAL file is lost from the local store: that base cannot be restored
# from it, and the older base's WAL run ends just before it.
mv "$(find "$store/wal" -name "$start2.zst.age")" "$WORK/aside"
# A reload makes the worker compare the stores, and prune, at once.
q "ALTER SYSTEM SET ramsafe.local_base_retention = 'last=1'"
q "SELECT pg_reload_conf()" >/dev/null
setting_is() { [[ "$(q "SHOW $1")" == "$2" ]]; }
wait_for "the reload" 10 setting_is ramsafe.local_base_retention last=1
out="$(q "SELECT action || ' ' || reason FROM ramsafe_prune(true) WHERE store = 'local' AND backup_id = '$base'" 2>&1)"
assert_contains "$out" "keep base backup: not selected by last=1, but kept: the latest recoverable point" \
  "the older base is kept, saying why"
assert_contains "$out" "WARNING:  ramsafe: retention keeps a backup set its policy would delete" \
  "ramsafe_prune() raises a WARNING"
log_warns() { grep -qF "WARNING:  ramsafe: retention kept a backup set its policy would delete" "$log"; }
wait_for "the worker's WARNING" 120 log_warns
assert_contains "$(grep -F -A1 "retention kept a backup set" "$log")" "local: retention would have moved the latest recoverable point back" \
  "the detail says what the policy would have done"
assert_contains "$(local_sets)" "$base" "the older base is still there"
pass "the recoverable-window guard keeps the base the latest point depends on, with a WARNING"

pg_is_running w || fail "the server is not running at the end"
assert_not_contains "$(cat "$log")" "terminated by signal" "no process crashed"

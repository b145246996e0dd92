#!/usr/bin/env bash
# What the server tells about itself when its configuration or its start is not what the
# operator thinks (issue 16, items 7-9), against a real server on tmpfs:
#   - the settings in a file included with include_if_exists that the server cannot read
#     (mode 0600, root's): the server skips it with a LOG line only; the worker WARNs that
#     no backup can be taken, with a hint; once the file is readable, backups work
#   - a bad ramsafe.schedule in the file at server start: PostgreSQL's WARNING, the hourly
#     default in force, and ramsafe_status() shows the rejection (schedule_rejected,
#     rejected_settings); a bad value on reload: a WARNING naming the value in force; a
#     fixed or removed line clears it
#   - after a restart, ramsafe_status() shows the last backup, the last base backup and the
#     last archived WAL from the store, not NULLs (the backup taken before the restart)
# Needs the installed extension (cmake --install build). Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init extension_status
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
require_installed_extension

ramsafe_keys
pg_mkdir "$WORK/store"
settings_file="$WORK/ramsafe.conf"
cat >"$settings_file" <<EOF
ramsafe.local_dir = '$WORK/store'
$(printf '%s\n' "${RAMSAFE_KEY_SETTINGS[@]}")
ramsafe.schedule = '0 0 1 1 *'
EOF
chown root:root "$settings_file"
chmod 0600 "$settings_file"
pg_init_cluster x
pg_conf x "shared_preload_libraries = 'ramsafe'" \
  "archive_mode = on" "archive_library = 'ramsafe'" \
  "include_if_exists = '$settings_file'"
pg_start_existing x
log="$(pg_logfile x)"
q() { psql_as x postgres -c "$1"; }
status() { q "SELECT $1 FROM ramsafe_status()"; }
status_is() { [[ "$(status "$1")" == t ]]; }
log_has() { grep -qF -- "$1" "$log"; }
q "CREATE EXTENSION ramsafe"

# ------------------------------------------------------------------ include_if_exists, unreadable
wait_for "the worker's WARNING" 30 log_has "WARNING:  ramsafe: no backup can be taken: ramsafe.local_dir is not set"
assert_contains "$(cat "$log")" "skipping missing configuration file \"$settings_file\"" \
  "(the server itself only says it skipped the file)"
assert_contains "$(grep -F -A1 "no backup can be taken" "$log")" "HINT:  If the ramsafe.* settings are in a file included with include_if_exists" \
  "the hint names include_if_exists"
chown postgres:postgres "$settings_file"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the reload" 10 status_is "schedule = '0 0 1 1 *'"
assert_eq published "$(q "SELECT outcome FROM ramsafe_backup_now()")" "a backup works once the file is readable"
pass "settings in an unreadable include_if_exists file: the worker WARNs that no backup can be taken"

# ------------------------------------------------------------------ last backup after a restart
q "CREATE TABLE t AS SELECT g FROM generate_series(1, 100) g"
base="$(q "SELECT backup_id FROM ramsafe_base_backup_now()")"
logical="$(q "SELECT backup_id FROM ramsafe_backup_now()")"
q "INSERT INTO t SELECT g FROM generate_series(101, 200) g"  # a switch needs WAL to switch
seg="$(q "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")"
q "SELECT pg_switch_wal()" >/dev/null
archived_up_to() { [[ "$(q "SELECT coalesce(last_archived_wal, '') >= '$1' FROM pg_stat_archiver")" == t ]]; }
wait_for "segment $seg to be archived" 150 archived_up_to "$seg"
archived="$(status last_archived_wal)"
pg_stop_cluster x
pg_start_existing x
wait_for "the worker" 30 status_is "worker_pid IS NOT NULL"
wait_for "the status to be filled from the store" 30 status_is "last_backup_id IS NOT NULL"
assert_eq "$logical" "$(status last_backup_id)" "last_backup_id after the restart"
assert_eq t "$(q "SELECT s.last_finished_at = b.finished_at FROM ramsafe_status() s, ramsafe_backups() b
                  WHERE b.backup_id = '$logical'")" "last_finished_at is the set's finish time"
assert_eq t "$(status "last_backup_age < interval '10 minutes' AND last_stored_bytes > 0 AND last_databases >= 1")" \
  "last_backup_age, last_stored_bytes, last_databases"
assert_eq "$base" "$(status last_base_backup_id)" "last_base_backup_id after the restart"
assert_eq t "$(status "last_base_backup_at IS NOT NULL")" "last_base_backup_at"
assert_eq t "$(status "last_archived_wal >= '$archived' AND last_archived_at IS NOT NULL")" \
  "last_archived_wal after the restart"
assert_eq 0 "$(status backups_scheduled)" "(the counters are since the start)"
pass "after a restart the status shows the last backup $logical, base $base and WAL $archived from the store"

# ------------------------------------------------------------------ a rejected schedule
echo "ramsafe.schedule = '61 * * * *'" >>"$settings_file"
pg_stop_cluster x
pg_start_existing x
wait_for "the worker" 30 status_is "worker_pid IS NOT NULL"
assert_contains "$(cat "$log")" "WARNING:  invalid value for ramsafe.schedule: \"61 * * * *\" (minute 61 is out of range 0-59)" \
  "PostgreSQL's WARNING at start stays"
assert_eq "0 * * * *" "$(status schedule)" "the hourly default is in force"
wait_for "the rejection in the status" 30 status_is "schedule_rejected IS NOT NULL"
assert_eq "invalid value for ramsafe.schedule: \"61 * * * *\" (minute 61 is out of range 0-59); in force: '0 * * * *'" \
  "$(status schedule_rejected)" "schedule_rejected names the value, the problem and what is in force"
assert_contains "$(status rejected_settings)" "ramsafe.schedule" "rejected_settings lists it"
sed -i '$d' "$settings_file"
echo "ramsafe.schedule = '0 0 2 1 *'" >>"$settings_file"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the fixed schedule" 10 status_is "schedule_rejected IS NULL AND rejected_settings IS NULL"
assert_eq "0 0 2 1 *" "$(status schedule)" "the fixed schedule is in force"
pass "a bad schedule at start: the status shows it rejected; fixing it clears that"

sed -i '$d' "$settings_file"
echo "ramsafe.schedule = '@fortnightly'" >>"$settings_file"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the rejection on reload" 10 status_is "schedule_rejected IS NOT NULL"
assert_contains "$(status schedule_rejected)" "in force: '0 0 2 1 *'" "on reload the previous value stays in force"
wait_for "the worker's WARNING" 10 log_has "WARNING:  ramsafe: configured values the server rejected are not in force"
sed -i '$d' "$settings_file"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the removed line to clear the rejection" 10 status_is "schedule_rejected IS NULL"
pass "a bad schedule on reload: WARNING and status; removing the line clears it"

# A rejection at start whose line is then removed (PostgreSQL does not check it again):
# the worker reads the files afresh when it starts.
echo "ramsafe.local_retention = 'dayly=7'" >>"$settings_file"
pg_stop_cluster x
pg_start_existing x
wait_for "the rejected retention" 30 status_is "rejected_settings LIKE '%ramsafe.local_retention%'"
sed -i '$d' "$settings_file"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the rejection to clear" 10 status_is "rejected_settings IS NULL"
# The postmaster still remembers the refusal of its start; a worker it starts again must not
# show it.
pid="$(status worker_pid)"
kill -TERM "$pid"
worker_restarted() { status_is "worker_pid IS NOT NULL AND worker_pid <> $pid"; }
wait_for "the postmaster to start the worker again" 30 worker_restarted
# It serves a request only after its start: then its view of the settings is published.
assert_eq published "$(q "SELECT outcome FROM ramsafe_backup_now()")" "the new worker backs up"
assert_eq t "$(status "rejected_settings IS NULL")" "the restarted worker shows no stale rejection"
pass "a setting rejected at start and removed later is no longer shown, also by a restarted worker"

assert_not_contains "$(cat "$log")" "terminated by signal" "no process crashed"

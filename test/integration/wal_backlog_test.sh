#!/usr/bin/env bash
# The extension's side of WAL archiving (docs/wal.md) against a real server on tmpfs, with
# the store on a small tmpfs of its own that the test fills:
#   - ramsafe.base_backup_schedule: the worker takes a catch-up base backup at start and then
#     one per minute; ramsafe_base_backup_now() takes one; ramsafe_status() shows
#     last_base_backup_at, archiving and recoverable_to
#   - policy keep, store full: archiving fails, the WARNING and ramsafe_status() give the
#     backlog in bytes and age; nothing dropped; with room again every segment generated
#     meanwhile is archived (none lost)
#   - policy drop with a 32MB limit, store full: only the segments beyond the limit are
#     dropped (the oldest first), the backlog stays at the limit, wal_chain_broken_at is set,
#     the break is marked in the store once it has room, the worker's next base backup clears
#     it, `ramsafe list` shows where each base's WAL ends; a restore from the older base
#     reports the break and stops before it
# Needs the installed extension (cmake --install build): the SQL functions come from it.
# Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init wal_backlog
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

require_installed_extension

ramsafe_keys
store="$WORK/small"
mount_tmpfs "$store" 64m
waldir="$store/main/wal/00000001"
pg_init_cluster w
pg_conf w "shared_preload_libraries = 'ramsafe'" \
  "archive_mode = on" \
  "archive_library = 'ramsafe'" \
  "ramsafe.local_dir = '$store'" \
  "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = ''" \
  "ramsafe.base_backup_schedule = '* * * * *'" \
  "ramsafe.local_retention = ''" "ramsafe.local_base_retention = ''" \
  "ramsafe.wal_backlog_policy = 'keep'" \
  "max_wal_size = '1GB'"
pg_start_existing w
log="$(pg_logfile w)"
q() { psql_as w postgres -c "$1"; }
status() { q "SELECT $1 FROM ramsafe_status()"; }
archiver() { q "SELECT $1 FROM pg_stat_archiver"; }
archived_up_to() { [[ "$(archiver "coalesce(last_archived_wal, '') >= '$1'")" == t ]]; }
failed_more_than() { (("$(archiver failed_count)" > $1)); }
log_has() { grep -qF -- "$1" "$log"; }
physical_sets() { q "SELECT count(*) FROM ramsafe_backups() WHERE kind = 'physical' AND usable"; }
more_physical_than() { (("$(physical_sets)" > $1)); }
status_is() { [[ "$(status "$1")" == "$2" ]]; }
conf="$(ramsafe_config w "ramsafe.local_dir = '$store'")"
q "CREATE EXTENSION ramsafe"
q "CREATE TABLE t (g int, h text)"

# Writes some WAL, switches segments, prints the name of the segment switched away from.
new_segment() {
  q "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000) g" >/dev/null
  local seg
  seg="$(q "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")"
  q "SELECT pg_switch_wal()" >/dev/null
  printf '%s\n' "$seg"
}
# Fills the store's tmpfs (root writes past nothing: tmpfs reserves no blocks).
fill_store() {
  dd if=/dev/zero of="$store/filler" bs=64k status=none 2>/dev/null || true
  [[ "$(df --output=avail -B1 "$store" | tail -n 1 | tr -d ' ')" -lt 65536 ]] ||
    fail "the store's tmpfs is not full" "$(df -h "$store")"
}
empty_store() { rm -f "$store/filler"; }
ready_segments() {
  find "$(pg_datadir w)/pg_wal/archive_status" -name '????????????????????????.ready' | wc -l
}

# ------------------------------------------------------------------ scheduled base backups
wait_for "the catch-up base backup at start" 120 more_physical_than 0
assert_contains "$(cat "$log")" "ramsafe: taking a base backup: catch-up: there is no base backup yet" \
  "the worker says why it takes the first base backup"
assert_eq t "$(status "archiving")" "archiving is on"
assert_eq t "$(status "last_base_backup_at IS NOT NULL AND last_base_backup_id IS NOT NULL")" \
  "last_base_backup_at and _id are set"
assert_eq t "$(status "next_base_backup > now()")" "the next base backup is scheduled"
first="$(status last_base_backup_id)"
wait_for "a scheduled base backup in the next minute" 150 more_physical_than 1
wait_for "the status to show the scheduled base backup" 10 \
  status_is "last_base_backup_id <> '$first'" t
assert_eq t "$(status "recoverable_to IS NOT NULL AND recoverable_to <= now() + interval '1 minute'")" \
  "recoverable_to is set"
assert_eq 0 "$(status "archive_failures")" "no archive failures yet"
pass "the worker takes a catch-up base backup at start and then one per minute"

# Off, then on demand.
q "ALTER SYSTEM SET ramsafe.base_backup_schedule = ''"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the schedule to be off" 10 status_is "next_base_backup IS NULL" t
# A scheduled backup may have started just before the reload: let it finish.
wait_for "the worker to be idle" 120 status_is "running" f
before="$(physical_sets)"
out="$(q "SELECT outcome, backup_id FROM ramsafe_base_backup_now()")"
assert_contains "$out" "published|" "ramsafe_base_backup_now() waits and publishes"
id_now="${out#published|}"
assert_eq "$((before + 1))" "$(physical_sets)" "one more physical set"
assert_eq "$id_now" "$(status last_base_backup_id)" "the status shows it"
assert_eq t "$(q "SELECT wal_complete AND wal_start IS NOT NULL AND wal_reaches_at IS NOT NULL
                  FROM ramsafe_backups() WHERE backup_id = '$id_now'")" \
  "ramsafe_backups() shows the WAL the new base reaches"
pass "ramsafe_base_backup_now() takes a base backup; ramsafe_backups() shows how far its WAL reaches"

# ------------------------------------------------------------------ policy keep, store full
failed="$(archiver failed_count)"
fill_store
generated=()
for _ in 1 2 3; do generated+=("$(new_segment)"); done
wait_for "archiving to fail with the store full" 60 failed_more_than "$failed"
wait_for "the WARNING naming ${generated[0]}" 30 log_has "could not archive WAL file \"${generated[0]}\""
backlog_line="$(grep -F -A1 "could not archive WAL file" "$log" | grep -F 'WAL backlog:' | tail -n 1)"
assert_contains "$backlog_line" "bytes in" "the WARNING's detail gives the backlog in bytes"
assert_contains "$backlog_line" "the oldest waiting" "and its age"
note "$backlog_line"
generated+=("$(new_segment)")  # wakes the archiver: the status is refreshed at each call
wait_for "the status to show a backlog of at least 3 segments" 60 \
  status_is "wal_backlog_bytes >= 3 * 16777216" t
assert_eq t "$(status "wal_backlog_oldest_at <= now() AND archive_failures > 0")" \
  "the oldest waiting segment's time and the failures are shown"
assert_contains "$(status last_archive_error)" "No space left on device" "the cause is shown"
assert_eq t "$(status "wal_chain_broken_at IS NULL")" "keep: the chain is whole"
note "backlog: $(status "wal_backlog_bytes || ' bytes, oldest since ' || wal_backlog_oldest_at")"
empty_store
generated+=("$(new_segment)")
wait_for "every segment to be archived once there is room" 120 archived_up_to "${generated[-1]}"
for seg in "${generated[@]}"; do
  assert_file_exists "$waldir/$seg.zst.age" "keep: $seg was archived after the fault"
done
[[ -z "$(find "$store" -name '*.dropped')" ]] || fail "keep dropped something" "$(find "$store" -name '*.dropped')"
wait_for "the backlog to drain" 60 status_is "wal_backlog_bytes" 0
pass "keep: backlog in bytes and age in the status and the WARNING; then all ${#generated[@]} segments archived, none lost"

# ------------------------------------------------------------------ policy drop
old_base="$id_now"
q "ALTER SYSTEM SET ramsafe.wal_backlog_policy = 'drop'"
q "ALTER SYSTEM SET ramsafe.wal_backlog_limit = '32MB'"
# Set, so the worker takes a base backup when the chain breaks, but never due by itself.
q "ALTER SYSTEM SET ramsafe.base_backup_schedule = '0 0 1 1 *'"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the reload" 10 status_is "next_base_backup IS NOT NULL" t
q "INSERT INTO t VALUES (-1, 'before the drop')"
pre="$(new_segment)"
wait_for "the segment before the drop to be archived" 150 archived_up_to "$pre"
fill_store
dropped_gen=()
for _ in 1 2 3 4 5 6; do dropped_gen+=("$(new_segment)"); done
wait_for "a segment to be dropped" 150 log_has "ramsafe: DROPPED WAL segment"
wait_for "the backlog to shrink to the limit" 150 status_is "wal_backlog_bytes <= 33554432" t
# (The status is measured just before PostgreSQL renames the last dropped file's .ready.)
ready_is() { [[ "$(ready_segments)" == "$1" ]]; }
wait_for "two segments (32MB) kept waiting: nothing dropped within the limit" 30 ready_is 2
broken="$(status wal_chain_broken_at)"
[[ -n "$broken" ]] || fail "wal_chain_broken_at is not set after a drop"
drops="$(grep -oE 'DROPPED WAL segment "[0-9A-F]{24}"' "$log" | grep -oE '[0-9A-F]{24}')"
first_drop="$(head -n 1 <<<"$drops")"
assert_eq "${dropped_gen[0]}" "$first_drop" "the oldest unarchived segment is dropped first"
# The two waiting are the newest: every dropped one is older. (The worker's base backup
# attempts after the break switch segments too, so more than the six may have come.)
mapfile -t kept < <(find "$(pg_datadir w)/pg_wal/archive_status" -name '????????????????????????.ready' -printf '%f\n' |
  sed 's/\.ready$//' | sort)
assert_eq 2 "${#kept[@]}" "two segments waiting"
while read -r seg; do
  [[ "$seg" < "${kept[0]}" ]] || fail "dropped $seg is not older than the waiting ${kept[0]}"
done <<<"$drops"
for seg in "${dropped_gen[@]:0:4}"; do
  grep -qxF "$seg" <<<"$drops" || fail "$seg should have been dropped (beyond the limit)"
done
assert_contains "$(grep -F -A1 "DROPPED WAL segment \"$first_drop\"" "$log")" \
  "No restore can replay WAL past this segment" "the LOG says what is lost"
assert_file_not_exists "$waldir/$first_drop.zst.age"
note "dropped: $(tr '\n' ' ' <<<"$drops")"
pass "drop: only the segments beyond the 32MB limit were dropped ($(wc -l <<<"$drops")), oldest first; the 2 newest wait; wal_chain_broken_at = $broken"

# Room again: the kept segments are archived, the break is marked, the worker takes a base.
empty_store
new_segment >/dev/null
wait_for "the kept segments to be archived" 120 archived_up_to "${kept[1]}"
for seg in "${kept[@]}"; do assert_file_exists "$waldir/$seg.zst.age"; done
wait_for "the break to be marked in the store" 30 test -f "$waldir/$first_drop.dropped"
wait_for "the worker's base backup after the break" 180 status_is "wal_chain_broken_at IS NULL" t
new_base="$(status last_base_backup_id)"
assert_ne "$old_base" "$new_base" "a new base backup was taken"
assert_contains "$(cat "$log")" "taking a base backup: the WAL chain is broken" "the worker says why"
list="$(rs "$conf" list)"
assert_contains "$list" "WAL chain broken at $first_drop" "ramsafe list shows where the older bases' WAL ends"
assert_contains "$list" "recoverable window (local):" "ramsafe list shows the window"
assert_eq "$first_drop" "$(rs "$conf" list --json |
  jq -r --arg id "$old_base" '.[] | select(.backup_id == $id) | .wal.chain_broken_at')" \
  "list --json: the older base's WAL is broken at the first drop"
assert_eq t "$(q "SELECT wal_chain_broken_at = '$first_drop' FROM ramsafe_backups() WHERE backup_id = '$old_base'")" \
  "ramsafe_backups(): the older base's WAL is broken at the first drop"
note "$list"
pass "with room again: kept segments archived, break marked, the next base backup clears it"

# Restore from the older base: replay stops before the dropped segment, and says so.
q "INSERT INTO t VALUES (-2, 'after the new base')"
pg_wipe_data w
report="$WORK/report.json"
touch "$report" && chown postgres:postgres "$report"
out="$(rs "$conf" restore --backup-id "$old_base" --report "$report" 2>&1)" ||
  fail "restore of the older base failed" "$out"
assert_contains "$out" "the WAL chain was broken at $first_drop" "restore warns where the chain was broken"
assert_eq "$first_drop" "$(jq -r .wal_chain_broken_at "$report")" "the report names the break"
last="$(jq -r .wal_last_archived "$report")"
assert_eq "$pre" "$last" "the WAL reached ends with the segment before the dropped one"
pg_start_existing w
assert_eq 1 "$(q "SELECT count(*) FROM t WHERE g = -1")" "the row from before the drop is back"
assert_eq 0 "$(q "SELECT count(*) FROM t WHERE g = -2")" "the row after the break is not (it is past the gap)"
pass "restore from the base before the break stops at $last and reports the break at $first_drop"

pg_is_running w || fail "the server is not running at the end"
assert_not_contains "$(cat "$log")" "terminated by signal" "no process crashed"

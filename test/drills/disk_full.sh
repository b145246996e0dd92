#!/usr/bin/env bash
# Disk-full drill, through the server's worker:
#   - the local store (its own small tmpfs) fills during a backup: the backup fails with
#     "No space left on device" in ramsafe_status() and a WARNING in the log, the older set
#     is unharmed (verify --deep), nothing partial is left or listed, and the next backup
#     succeeds once there is space again;
#   - the data directory's tmpfs (the database in RAM) nearly full: the RAM WARNING fires
#     and ramsafe_ram_usage()/ramsafe_status() show it.
#   test/drills/disk_full.sh [--cycles N]   (default 1; each cycle fills the store once)
# Prints "drill disk_full: cycles=... next_backups_ok=... faults_injected=... faults_detected=...".
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cycles=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cycles) cycles="$2"; shift 2 ;;
    *) echo "usage: $0 [--cycles N]" >&2; exit 2 ;;
  esac
done
[[ "$cycles" =~ ^[1-9][0-9]*$ ]] || { echo "disk_full.sh: --cycles must be a positive integer, not '$cycles'" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init drill_disk_full
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
require_installed_extension

ramsafe_keys
store_fs="$WORK/storefs"
mount_tmpfs "$store_fs" 64m
mkdir -p "$WORK/x"
mount_tmpfs "$WORK/x/data" 192m # the database "in RAM", its own filesystem
pg_init_cluster x
pg_conf x "shared_preload_libraries = 'ramsafe'" \
  "ramsafe.local_dir = '$store_fs'" \
  "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = ''" "ramsafe.local_retention = ''" \
  "ramsafe.ram_warn_percent = 95" \
  "min_wal_size = '32MB'" "max_wal_size = '32MB'"
pg_start_existing x
q() { psql_as x postgres -c "$1"; }
q "CREATE EXTENSION ramsafe"
q "CREATE DATABASE app"
psql_as x app -c "CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 100000) g"
store="$store_fs/main"
injected=0
detected=0
next_backups_ok=0

for ((cycle = 1; cycle <= cycles; cycle++)); do
  good="$(q "SELECT backup_id FROM ramsafe_backup_now()")"
  set_kb="$(du -sk "$store/$good" | cut -f1)"
  used_kb="$(df -k --output=used "$store_fs" | tail -1)"
  # Room for less than one more set of twice the size: the next backup must hit ENOSPC.
  mount -o remount,size=$((used_kb + set_kb + 64))k "$store_fs"
  psql_as x app -c "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(100001, 200000) g"
  injected=$((injected + 1))
  rc=0
  out="$(q "SELECT backup_id FROM ramsafe_backup_now()" 2>&1)" || rc=$?
  [[ "$rc" -ne 0 ]] || fail "cycle $cycle: a backup into a full store succeeded" "$out"
  assert_contains "$out" "No space left on device" "cycle $cycle: the caller gets the cause"
  assert_contains "$(q "SELECT last_error FROM ramsafe_status()")" "No space left on device" "status shows it"
  assert_contains "$(cat "$(pg_logfile x)")" "WARNING:  ramsafe: backup failed:" "the log has a WARNING"
  detected=$((detected + 1))
  assert_eq "$good" "$(find "$store" -mindepth 1 -maxdepth 1 ! -name .lock -printf '%f\n')" \
    "cycle $cycle: only the older set is in the store (nothing partial left)"
  assert_eq 0 "$(q "SELECT count(*) FROM ramsafe_backups() WHERE NOT usable")" "nothing unusable listed"
  conf="$(ramsafe_config x "ramsafe.local_dir = '$store_fs'")"
  rs "$conf" verify --deep "$good" >/dev/null || fail "cycle $cycle: the older set was harmed"
  mount -o remount,size=64m "$store_fs"
  next="$(q "SELECT backup_id FROM ramsafe_backup_now()")"
  [[ -d "$store/$next" ]] || fail "cycle $cycle: the next backup did not publish"
  next_backups_ok=$((next_backups_ok + 1))
  psql_as x app -c "DELETE FROM t WHERE g > 100000"
  rm -rf "${store:?}/$good" "${store:?}/$next"
  pass "cycle $cycle: store full -> clear error in caller, status and log; older set intact; next backup fine"
done

# ----------------------------------------------------------- the database's own tmpfs
# Each cycle left t's pages of 100000 deleted rows behind; give them back first, or with
# many cycles the fill below runs the data tmpfs out of room for WAL (a PANIC).
psql_as x app -c "VACUUM FULL t"
q "CHECKPOINT"
psql_as x app -c "CREATE TABLE fill AS SELECT g, md5(g::text) AS h FROM generate_series(1, 1100000) g"
# Measured after a checkpoint has trimmed pg_wal, as the restart below will have: the
# filesystem is then at least this full when the worker looks.
q "CHECKPOINT"
percent="$(q "SELECT used_percent FROM ramsafe_ram_usage()")"
threshold="$(awk -v p="$percent" 'BEGIN { printf "%d", p - 5 }')"
[[ "$threshold" -ge 30 ]] || fail "the data tmpfs is only $percent% full; the drill needs more"
q "ALTER SYSTEM SET ramsafe.ram_warn_percent = $threshold"
pg_stop_cluster x
pg_start_existing x # the worker checks at start, then every minute
injected=$((injected + 1))
warned() { grep -q "WARNING:  ramsafe: the filesystem of the data directory .* full (ramsafe.ram_warn_percent = $threshold)" "$(pg_logfile x)"; }
wait_for "the RAM WARNING" 30 warned
detected=$((detected + 1))
assert_eq t "$(q "SELECT used_percent >= $threshold FROM ramsafe_ram_usage()")" "ramsafe_ram_usage shows it"
assert_eq t "$(q "SELECT filesystem_free_bytes < filesystem_bytes * (100 - $threshold) / 100.0 FROM ramsafe_status()")" \
  "ramsafe_status shows the little space left"
pass "the data directory's tmpfs at $percent%: WARNING at ramsafe.ram_warn_percent = $threshold, status shows it"

echo "drill disk_full: cycles=$cycles next_backups_ok=$next_backups_ok faults_injected=$injected faults_detected=$detected"

#!/usr/bin/env bash
# The extension against a real server on tmpfs: the scheduler worker and the SQL surface.
#   - no backup yet -> a catch-up backup at start; a per-minute schedule then produces
#     backups on time without any call
#   - SIGHUP with a new schedule takes effect without a restart
#   - ramsafe_backup_now() returns an id that `ramsafe restore` restores
#   - two concurrent ramsafe_backup_now() calls produce one backup
#   - a core error in the worker (unreadable recipients file) -> ERROR for the caller,
#     WARNING in the log, the worker keeps running
#   - SIGKILL of the worker mid-backup -> the postmaster restarts it, its pg_dump dies with
#     it, nothing partial is listed, the next backup succeeds
#   - fast shutdown during a backup -> the server stops within seconds, no orphan pg_dump
#   - CREATE EXTENSION without shared_preload_libraries -> a clear error
# Needs the installed extension (cmake --install build). Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init extension
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
  "ramsafe.schedule = '* * * * *'" \
  "ramsafe.timezone = 'Europe/Berlin'" \
  "ramsafe.local_retention = ''"
pg_start_existing x
q() { psql_as x postgres -c "$1"; }
status() { q "SELECT $1 FROM ramsafe_status()"; }
# Conditions for wait_for, evaluated at every poll.
status_is() { [[ "$(status "$1")" == t ]]; }
setting_is() { [[ "$(q "SHOW $1")" == "$2" ]]; }
sets() { find "$store" -mindepth 1 -maxdepth 1 -type d -name '2*' ! -name '*.partial' 2>/dev/null | wc -l; }
q "CREATE EXTENSION ramsafe"
q "CREATE DATABASE app"
psql_as x app -c "CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 300000) g"

# ------------------------------------------------------------------ schedule
wait_for "the catch-up backup at start" 60 status_is "last_backup_id IS NOT NULL"
assert_contains "$(cat "$(pg_logfile x)")" "taking a catch-up backup: there is no backup yet" "the log explains the catch-up"
assert_eq "Europe/Berlin" "$(status timezone)" "the schedule's time zone"
# The next whole minute; or, when a minute began since the worker set it, the one now due.
assert_eq t "$(status "next_run IN (date_trunc('minute', now()) + interval '1 minute',
                                    date_trunc('minute', now()))")" "next run is the next minute"
first_scheduled="$(status backups_scheduled)"
wait_for "a scheduled backup at the next minute" 90 \
  status_is "backups_scheduled > $first_scheduled AND NOT running"
# It ran at the top of its minute: finished within 20 s of it (the backup takes ~1-2 s).
assert_eq t "$(status "extract(second FROM last_finished_at) < 20")" "the scheduled backup ran on time"
assert_contains "$(cat "$(pg_logfile x)")" "ramsafe: backup $(status last_backup_id) complete" "one LOG line per backup"
pass "catch-up at start, then a per-minute schedule backs up on time without a call"

q "ALTER SYSTEM SET ramsafe.schedule = '0 0 1 1 *'"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the new schedule" 10 status_is "schedule = '0 0 1 1 *'"
assert_eq t "$(status "next_run = (date_trunc('year', now() AT TIME ZONE 'Europe/Berlin') + interval '1 year') AT TIME ZONE 'Europe/Berlin'")" \
  "next run is the next New Year in Berlin"
pass "SIGHUP with a new schedule takes effect without a restart"

# Base backups need WAL archiving through ramsafe, which this server does not do: one
# WARNING naming the settings, per configuration (a reload with the same one is quiet).
base_warning="ramsafe: no scheduled base backups: ramsafe.base_backup_schedule = '@daily' needs WAL archiving through ramsafe"
base_warnings() { grep -cF "$base_warning" "$(pg_logfile x)" || true; }
base_warnings_are() { [[ "$(base_warnings)" == "$1" ]]; }
q "ALTER SYSTEM SET ramsafe.base_backup_schedule = '@daily'"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the WARNING about base backups without archiving" 10 base_warnings_are 1
assert_contains "$(grep -F "$base_warning" "$(pg_logfile x)")" "the server has archive_mode = off, archive_library = ''" \
  "the WARNING names what the server has"
assert_eq t "$(status "next_base_backup IS NULL AND NOT archiving")" "no base backup scheduled"
# Another reload with the same base backup configuration (the worker's next_run shows it
# was processed): no second WARNING.
q "ALTER SYSTEM SET ramsafe.schedule = '0 0 2 1 *'"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the worker to reload" 10 status_is "extract(day FROM next_run AT TIME ZONE 'Europe/Berlin') = 2"
assert_eq 1 "$(base_warnings)" "one WARNING for that configuration"
q "ALTER SYSTEM SET ramsafe.schedule = '0 0 1 1 *'"
q "ALTER SYSTEM RESET ramsafe.base_backup_schedule"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the worker to reload" 10 status_is "extract(day FROM next_run AT TIME ZONE 'Europe/Berlin') = 1"
pass "ramsafe.base_backup_schedule without WAL archiving: one WARNING naming the settings, nothing scheduled"

# ------------------------------------------------------------------ backup_now + restore
row="$(q "SELECT backup_id || ' ' || outcome FROM ramsafe_backup_now()")"
id="${row%% *}"
assert_eq "published" "${row#* }" "backup_now waits for the published set"
[[ -d "$store/$id" ]] || fail "backup_now's id $id is not a set in $store"
assert_eq t "$(q "SELECT usable FROM ramsafe_backups() WHERE backup_id = '$id'")" "ramsafe_backups lists it"
assert_eq 0 "$(q "SELECT count(*) FROM ramsafe_verify('$id') WHERE NOT ok")" "ramsafe_verify finds it intact"
pg_mkdir "$WORK/copy"
conf="$(ramsafe_config x "ramsafe.data_directory = '$WORK/copy/data'")"
pg_mkdir "$WORK/copy/data"
out="$(rs "$conf" restore --backup-id "$id" 2>&1)" || fail "restore of $id failed" "$out"
pg_start_existing copy
assert_eq "$(psql_as x app -c "select count(*), md5(string_agg(h, ',' order by g)) from t")" \
  "$(psql_as copy app -c "select count(*), md5(string_agg(h, ',' order by g)) from t")" "restored data"
pg_stop_cluster copy
pass "ramsafe_backup_now() returns an id that ramsafe restore restores"

before="$(sets)"
q "SELECT backup_id FROM ramsafe_backup_now()" >"$WORK/a.out" &
a=$!
q "SELECT backup_id FROM ramsafe_backup_now()" >"$WORK/b.out" &
b=$!
wait "$a" "$b"
assert_eq "$(cat "$WORK/a.out")" "$(cat "$WORK/b.out")" "both calls got the same backup"
assert_eq $((before + 1)) "$(sets)" "one new set"
pass "two concurrent ramsafe_backup_now() calls produce one backup"

# ------------------------------------------------------------------ core errors in the worker
pid="$(status worker_pid)"
q "ALTER SYSTEM SET ramsafe.recipients_file = '$WORK/keys/absent.txt'"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the reload" 10 setting_is ramsafe.recipients_file "$WORK/keys/absent.txt"
assert_fails_with 1 q "SELECT * FROM ramsafe_backup_now()"
assert_contains "$ASSERT_OUTPUT" "ERROR:  ramsafe: backup failed: ramsafe.recipients_file = '$WORK/keys/absent.txt'" "the caller gets the cause"
# The caller hears of the failure before the worker's WARNING reaches the log file.
wait_for "the log to have the worker's WARNING" 30 \
  grep -qF "WARNING:  ramsafe: backup failed: ramsafe.recipients_file" "$(pg_logfile x)"
assert_eq "$pid" "$(status worker_pid)" "the worker survived"
assert_contains "$(status last_error)" "absent.txt" "ramsafe_status shows the last error"
q "ALTER SYSTEM RESET ramsafe.recipients_file"
q "SELECT pg_reload_conf()" >/dev/null
pass "a core error in the worker becomes an ERROR for the caller and a WARNING in the log"

# Errors thrown in the core inside SQL functions, many times in one backend: clean ERRORs,
# and the backend's memory does not grow (nothing leaks across the boundary).
{
  for _ in $(seq 200); do echo "SELECT * FROM ramsafe_verify('no-such-backup');"; echo "SELECT count(*) FROM ramsafe_backups();"; done
  echo "SELECT pg_read_file('/proc/self/status');"
  for _ in $(seq 3000); do echo "SELECT * FROM ramsafe_verify('no-such-backup');"; echo "SELECT count(*) FROM ramsafe_backups();"; done
  echo "SELECT pg_read_file('/proc/self/status');"
} | "$PG_BINDIR/psql" -X -q -At -h "$(pg_sockdir x)" -p "$(pg_port x)" -U postgres -d postgres >"$WORK/leak.out" 2>"$WORK/leak.err" || true
assert_eq 3200 "$(grep -c 'ERROR:  ramsafe: no backup no-such-backup in local' "$WORK/leak.err")" "every call raised the core's error"
mapfile -t rss < <(awk '/^VmRSS:/ {print $2}' "$WORK/leak.out")
assert_eq 2 "${#rss[@]}" "two RSS samples"
((rss[1] - rss[0] < 1024)) || fail "backend RSS grew by $((rss[1] - rss[0])) kB over 6000 calls"
pass "core errors inside SQL functions: 3000 clean ERRORs, backend RSS grew $((rss[1] - rss[0])) kB"

# ------------------------------------------------------------------ SIGKILL and shutdown mid-backup
slow="$WORK/slowbin"
bindir_without_pg_dump "$slow"
cat >"$slow/pg_dump" <<EOF
#!/bin/bash
# pg_dump that stalls in the app database (a huge one, as far as the worker can tell).
if [[ "\$1" == --version ]]; then exec "$PG_BINDIR/pg_dump" --version; fi
if [[ "\$*" != *"dbname='app'"* ]]; then exec "$PG_BINDIR/pg_dump" "\$@"; fi
touch "$WORK/slow-started"
exec sleep 600
EOF
chmod 0755 "$slow/pg_dump"
no_stalled_dump() { ! pgrep -u postgres -f '^sleep 600$' >/dev/null; }
use_slow_dump() {
  rm -f "$WORK/slow-started"
  q "ALTER SYSTEM SET ramsafe.bindir = '$slow'"
  q "SELECT pg_reload_conf()" >/dev/null
  wait_for "the reload" 10 setting_is ramsafe.bindir "$slow"
  q "SELECT outcome FROM ramsafe_backup_now(false)" >/dev/null
  wait_for "the backup to reach the app database" 30 test -f "$WORK/slow-started"
}

use_slow_dump
stalled_id="$(status running_backup_id)"
assert_eq "database" "$(status phase)" "ramsafe_status shows the phase"
pid="$(status worker_pid)"
# Background priority: the worker and the pg_dump it started are SCHED_IDLE ("IDL").
assert_eq IDL "$(ps -o cls= -p "$pid" | tr -d ' ')" "the worker runs at SCHED_IDLE"
stalled_dump="$(pgrep -u postgres -f '^sleep 600$')"
assert_eq IDL "$(ps -o cls= -p "$stalled_dump" | tr -d ' ')" "its pg_dump runs at SCHED_IDLE"
# A caller waiting for the running backup shows why in pg_stat_activity: ramsafe's own wait
# event from PostgreSQL 17 (extension/pg_compat.h), the generic "Extension" before.
q "SELECT * FROM ramsafe_backup_now()" >"$WORK/waiter.out" 2>&1 &
waiter=$!
backup_wait=Extension
((PG_MAJOR >= 17)) && backup_wait=RamsafeBackupWait
waiter_waits_on() {
  [[ "$(q "SELECT wait_event_type || ':' || wait_event FROM pg_stat_activity
           WHERE query LIKE '%ramsafe_backup_now()%' AND pid <> pg_backend_pid()")" == "Extension:$1" ]]
}
wait_for "the waiting caller's wait event $backup_wait" 30 waiter_waits_on "$backup_wait"
pass "a caller waiting in ramsafe_backup_now() shows wait event Extension:$backup_wait (PostgreSQL $PG_MAJOR)"
kill -KILL "$pid"
worker_restarted() {
  local now
  now="$(q "SELECT worker_pid FROM ramsafe_status()" 2>/dev/null)" || return 1
  [[ "$now" =~ ^[0-9]+$ && "$now" != "$pid" ]]
}
wait_for "the postmaster to restart the worker" 60 worker_restarted
wait "$waiter" || true # the waiter gets an ERROR: the worker exited during the backup
wait_for "the killed worker's pg_dump to die with it" 10 no_stalled_dump
assert_eq 0 "$(q "SELECT count(*) FROM ramsafe_backups() WHERE backup_id = '$stalled_id' OR NOT usable")" \
  "nothing partial is listed"
q "ALTER SYSTEM RESET ramsafe.bindir"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the reload" 10 setting_is ramsafe.bindir ""
assert_eq published "$(q "SELECT outcome FROM ramsafe_backup_now()")" "the next backup succeeds"
pass "SIGKILL of the worker: restarted, its pg_dump gone, nothing partial listed, next backup fine"

use_slow_dump
t0="${EPOCHREALTIME//[.,]/}"
pg_stop_cluster x fast
t1="${EPOCHREALTIME//[.,]/}"
(((t1 - t0) < 10000000)) || fail "fast shutdown during a backup took $(((t1 - t0) / 1000)) ms"
wait_for "no orphan pg_dump" 10 no_stalled_dump
pass "fast shutdown during a backup: stopped in $(((t1 - t0) / 1000)) ms, no orphan pg_dump"

# ------------------------------------------------------------------ without preload
pg_start_cluster plain
assert_fails_with 1 psql_as plain postgres -c "CREATE EXTENSION ramsafe"
assert_contains "$ASSERT_OUTPUT" "ramsafe must be loaded via shared_preload_libraries" "clear error without preload"
pass "CREATE EXTENSION without shared_preload_libraries gives a clear error"

echo "extension: all passed"

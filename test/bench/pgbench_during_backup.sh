#!/usr/bin/env bash
# Benchmark (not a test): pgbench TPS while the ramsafe worker backs up, next to TPS with
# no backup, in the same session on the same cluster. The worker's backups run exactly as
# scheduled ones do (same code path, pg_dump at nice 10 and idle I/O class); to keep the
# whole measuring window under backup load, backups are requested back to back with
# ramsafe_backup_now() for the duration of each "backup" run. For reference, a third run
# does the same with a bare `nice -n 19 pg_dump -Fc -Z0 > /dev/null` loop: the cost any
# logical backup has (its snapshot holds back pruning of pgbench's hot rows), the floor
# for ramsafe's own.
#
# Run as root after `cmake --install build`: test/bench/pgbench_during_backup.sh
#   SCALE=30     pgbench scale (30 ~ 450 MB)      SECONDS_PER_RUN=30   CLIENTS=4
#   ROUNDS=2     idle/backup pairs, alternated     DISK_DIR=/var/tmp    where the store goes
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
SCALE="${SCALE:-30}"
RUN_SECONDS="${SECONDS_PER_RUN:-30}"
CLIENTS="${CLIENTS:-4}"
ROUNDS="${ROUNDS:-2}"
DISK_DIR="${DISK_DIR:-/var/tmp}"
ramsafe_test_init pgbench
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

disk="$(mktemp -d "$DISK_DIR/ramsafe-pgbench-XXXX")"
chown postgres:postgres "$disk"
ramsafe_on_exit rm -rf "$disk"
ramsafe_keys
pg_init_cluster b
pg_conf b "shared_preload_libraries = 'ramsafe'" "shared_buffers = 256MB" "max_wal_size = 4GB" \
  "ramsafe.local_dir = '$disk'" "ramsafe.recipients_file = '$WORK/keys/recipients.txt'" \
  "ramsafe.schedule = ''" ${MAX_RATE:+"ramsafe.max_rate = $MAX_RATE"}
pg_start_existing b
psql_as b postgres -c "CREATE EXTENSION ramsafe" -c "CREATE DATABASE bench"
env $(pg_env b) "$PG_BINDIR/pgbench" -q -i -s "$SCALE" bench >/dev/null 2>&1

tps() { # tps: one pgbench run, prints its TPS
  env $(pg_env b) "$PG_BINDIR/pgbench" -n -c "$CLIENTS" -j 2 -T "$RUN_SECONDS" bench 2>/dev/null |
    awk '/^tps/ { print $3 }'
}
dump_loop() { # plain pg_dump to /dev/null back to back (no compression, no encryption)
  while [[ ! -e "$WORK/stop" ]]; do
    env $(pg_env b) nice -n 19 "$PG_BINDIR/pg_dump" -Fc -Z0 -d bench >/dev/null
    echo x >>"$WORK/dumps"
  done
}
backups_loop() { # requests backups back to back until $WORK/stop exists
  while [[ ! -e "$WORK/stop" ]]; do
    psql_as b postgres -c "SELECT outcome FROM ramsafe_backup_now()" >/dev/null || true
    echo x >>"$WORK/backups"
  done
}

printf '%-6s %10s %11s %7s %8s %9s %7s\n' round idle_tps backup_tps ratio backups pgdump_tps ratio
idle_sum=0 busy_sum=0
for ((round = 1; round <= ROUNDS; round++)); do
  idle="$(tps)"
  rm -f "$WORK/stop" "$WORK/backups"
  backups_loop &
  loop=$!
  wait_for "the first backup to start" 30 bash -c "[[ \$(env $(pg_env b) $PG_BINDIR/psql -XAtc 'select running from ramsafe_status()' postgres) == t ]]"
  busy="$(tps)"
  touch "$WORK/stop"
  wait "$loop"
  rm -f "$WORK/stop"
  dump_loop &
  loop=$!
  dumped="$(tps)"
  touch "$WORK/stop"
  wait "$loop"
  printf '%-6s %10.1f %11.1f %7.3f %8d %9.1f %7.3f\n' "$round" "$idle" "$busy" "$(awk -v a="$busy" -v b="$idle" 'BEGIN{print a/b}')" \
    "$(wc -l <"$WORK/backups")" "$dumped" "$(awk -v a="$dumped" -v b="$idle" 'BEGIN{print a/b}')"
  idle_sum="$(awk -v a="$idle_sum" -v b="$idle" 'BEGIN{print a+b}')"
  busy_sum="$(awk -v a="$busy_sum" -v b="$busy" 'BEGIN{print a+b}')"
done
printf 'overall: backup TPS / idle TPS = %.3f (target >= 0.85; scale %s, %s clients, %s s runs)\n' \
  "$(awk -v a="$busy_sum" -v b="$idle_sum" 'BEGIN{print a/b}')" "$SCALE" "$CLIENTS" "$RUN_SECONDS"

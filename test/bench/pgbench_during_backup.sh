#!/usr/bin/env bash
# Benchmark (not a test): pgbench TPS while the ramsafe worker backs up, next to TPS with
# no backup, in the same session on the same cluster.
#  1. Scheduled backups (ramsafe.schedule = '* * * * *') during one pgbench run with
#     per-second progress: TPS in the seconds a backup ran against the other seconds.
#  2. A harsher load: backups requested back to back with ramsafe_backup_now() for the
#     whole of each "backup" run, against "idle" runs. For reference, a third run
# does the same with a bare `nice -n 19 pg_dump -Fc -Z0 > /dev/null` loop, and a fourth
# only holds a REPEATABLE READ snapshot open: the cost any snapshot-consistent logical
# backup has (pruning of pgbench's hot rows is held back), whatever its CPU use.
#
# Run as root after `cmake --install build`: test/bench/pgbench_during_backup.sh
#   SCALE=30     pgbench scale (30 ~ 450 MB)      SECONDS_PER_RUN=30   CLIENTS=4
#   ROUNDS=2     idle/backup pairs, alternated     DISK_DIR=/var/tmp    where the store goes
#   SCHEDULED_SECONDS=150  the pgbench run with per-minute scheduled backups
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
SCALE="${SCALE:-30}"
RUN_SECONDS="${SECONDS_PER_RUN:-30}"
SCHEDULED_SECONDS="${SCHEDULED_SECONDS:-150}"
CLIENTS="${CLIENTS:-4}"
ROUNDS="${ROUNDS:-2}"
export DISK_DIR="${DISK_DIR:-/var/tmp}"
ramsafe_test_init pgbench
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

bench_disk_dir pgbench
disk="$BENCH_DISK"
ramsafe_keys
pg_init_cluster b
pg_conf b "shared_preload_libraries = 'ramsafe'" "shared_buffers = 256MB" "max_wal_size = 4GB" \
  "ramsafe.local_dir = '$disk'" "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = ''" ${MAX_RATE:+"ramsafe.max_rate = $MAX_RATE"}
pg_start_existing b
psql_as b postgres -c "CREATE EXTENSION ramsafe" -c "CREATE DATABASE bench"
env $(pg_env b) "$PG_BINDIR/pgbench" -q -i -s "$SCALE" bench >/dev/null 2>&1

tps() { # tps: one pgbench run, prints its TPS
  (
    # shellcheck disable=SC2046 # pg_env prints NAME=VALUE words without spaces
    export $(pg_env b)
    bench_tps bench "$RUN_SECONDS" "$CLIENTS"
  )
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

# ---- 1. Scheduled backups, as users run them: ramsafe.schedule = '* * * * *' during one
# long pgbench run with per-second progress; TPS of the seconds in which a scheduled backup
# ran (from its manifest's start and finish) against the other seconds of the same run.
psql_as b postgres -c "ALTER SYSTEM SET ramsafe.schedule = '* * * * *'" -c "SELECT pg_reload_conf()" >/dev/null
env $(pg_env b) "$PG_BINDIR/pgbench" -n -c "$CLIENTS" -j 2 -T "$SCHEDULED_SECONDS" -P 1 \
  --progress-timestamp bench >/dev/null 2>"$WORK/progress.txt"
psql_as b postgres -c "ALTER SYSTEM SET ramsafe.schedule = ''" -c "SELECT pg_reload_conf()" >/dev/null
wait_for "the last scheduled backup to finish" 120 bash -c "[[ \$(env $(pg_env b) $PG_BINDIR/psql -XAtc 'select running from ramsafe_status()' postgres) == f ]]"
: >"$WORK/windows.txt"
for manifest in "$disk"/main/*/manifest.json; do
  started="$(sed -n 's/.*"started_at": "\(.*\)".*/\1/p' "$manifest")"
  finished="$(sed -n 's/.*"finished_at": "\(.*\)".*/\1/p' "$manifest")"
  printf '%s %s\n' "$(date -d "$started" +%s.%N)" "$(date -d "$finished" +%s.%N)" >>"$WORK/windows.txt"
done
# progress lines: "progress: <epoch> s, <tps> tps, ..." for the second ending at <epoch>.
awk -v skip=5 'NR == FNR { start[NR] = $1; end[NR] = $2; n = NR; next }
  /^progress:/ {
    t = $2 + 0; tps = $4 + 0
    if (++seen <= skip) next
    during = 0
    for (i = 1; i <= n; i++) if (t > start[i] && t - 1 < end[i]) during = 1
    if (during) { d += tps; dn++ } else { o += tps; on++ }
  }
  END {
    if (dn == 0 || on == 0) { print "scheduled: no second with (or without) a backup; make SCHEDULED_SECONDS longer"; exit }
    printf "scheduled: %d backups; TPS during backups %.1f (%d s) / without %.1f (%d s) = %.3f (target >= 0.85)\n",
      n, d / dn, dn, o / on, on, (d / dn) / (o / on)
  }' "$WORK/windows.txt" "$WORK/progress.txt"

# ---- 2. Backups back to back (a harsher load), next to a bare pg_dump loop.
printf '%-6s %10s %11s %7s %8s %9s %7s %9s %7s\n' round idle_tps backup_tps ratio backups pgdump_tps ratio snap_tps ratio
idle_sum=0 busy_sum=0
for ((round = 1; round <= ROUNDS; round++)); do
  idle="$(tps)"
  rm -f "$WORK/stop" "$WORK/backups"
  backups_loop &
  loop=$!
  wait_for "the first backup to start" 30 bash -c "[[ \$(env $(pg_env b) $PG_BINDIR/psql -XAtc 'select running from ramsafe_status()' postgres) == t ]]"
  if ((round == 1)); then # the scheduling class of every backup process (IDL = SCHED_IDLE)
    for _ in $(seq 200); do # up to 10 s for pg_dump's backend to start its COPY
      ps -u postgres -o args= | grep '[C]OPY' >/dev/null && break
      sleep 0.05
    done
    ps -u postgres -o cls=,ni=,args= | grep -E '[r]amsafe scheduler|[p]g_dump|[C]OPY' | sed 's/^/# /'
  fi
  busy="$(tps)"
  touch "$WORK/stop"
  wait "$loop"
  rm -f "$WORK/stop"
  dump_loop &
  loop=$!
  dumped="$(tps)"
  touch "$WORK/stop"
  wait "$loop"
  # Only a snapshot held open, no work at all: what MVCC alone costs pgbench.
  env $(pg_env b) "$PG_BINDIR/psql" -X -q -d bench -c "BEGIN ISOLATION LEVEL REPEATABLE READ" \
    -c "SELECT count(*) FROM pgbench_branches" -c "SELECT pg_sleep($RUN_SECONDS + 5)" >/dev/null &
  holder=$!
  snap="$(tps)"
  kill "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
  printf '%-6s %10.1f %11.1f %7.3f %8d %9.1f %7.3f %9.1f %7.3f\n' "$round" "$idle" "$busy" "$(awk -v a="$busy" -v b="$idle" 'BEGIN{print a/b}')" \
    "$(wc -l <"$WORK/backups")" "$dumped" "$(awk -v a="$dumped" -v b="$idle" 'BEGIN{print a/b}')" \
    "$snap" "$(awk -v a="$snap" -v b="$idle" 'BEGIN{print a/b}')"
  idle_sum="$(awk -v a="$idle_sum" -v b="$idle" 'BEGIN{print a+b}')"
  busy_sum="$(awk -v a="$busy_sum" -v b="$busy" 'BEGIN{print a+b}')"
done
printf 'overall: backup TPS / idle TPS = %.3f (target >= 0.85; scale %s, %s clients, %s s runs)\n' \
  "$(awk -v a="$busy_sum" -v b="$idle_sum" 'BEGIN{print a/b}')" "$SCALE" "$CLIENTS" "$RUN_SECONDS"

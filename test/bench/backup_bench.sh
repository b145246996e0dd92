#!/usr/bin/env bash
# Backup benchmark (not a test): for the dataset at two scales, side by side in one run,
#   A  ramsafe backup (whole cluster: globals, config, every database)
#   B  pg_dump -Fc -Z0 DB | zstd -3 | age -r KEY > file   (the dataset's database only)
#   C  the same work as A in shell: pg_dumpall --globals-only, then that pipeline for every
#      database, one after the other
# and prints wall time, the ratio A/B, peak RSS of ramsafe's own process (VmHWM, polled from
# /proc; pg_dump's memory is pg_dump's, the same in both), the bytes ramsafe caused to be
# written to storage (/proc/PID/io write_bytes, with the store on a real disk) next to the
# size of the encrypted set — equal means nothing but the encrypted files hit the disk.
#
# Run as root: test/bench/backup_bench.sh
#   SCALES="1 4"    dataset scales (default: 1 4, i.e. ~100 MB and ~400 MB of table data)
#   DATASET=FILE    psql script taking -v scale=N (default: test/bench/gen_dataset.sql)
#   RUNS=2          runs of each variant per scale; the best time of each is printed
#   DISK_DIR=DIR    where the stores go (default /var/tmp; must not be tmpfs for write_bytes)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
SCALES="${SCALES:-1 4}"
DATASET="${DATASET:-$HERE/gen_dataset.sql}"
RUNS="${RUNS:-2}"
DISK_DIR="${DISK_DIR:-/var/tmp}"
ramsafe_test_init bench
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
command -v age >/dev/null && command -v zstd >/dev/null || fail "age and zstd are needed (scripts/setup)"

disk="$(mktemp -d "$DISK_DIR/ramsafe-bench-XXXX")"
chown postgres:postgres "$disk"
ramsafe_on_exit rm -rf "$disk"
ramsafe_keys
recipient="$(grep -v '^#' "$WORK/keys/recipients.txt" | head -n 1)"

now_us() { echo "${EPOCHREALTIME//[.,]/}"; }
# run_measured OUT_PREFIX CMD...: run CMD (as postgres, exec'd so $! is the process itself),
# polling its VmHWM and write_bytes until it exits; sets WALL_US, PEAK_KIB, WRITE_BYTES.
run_measured() {
  local t0 pid hwm=0 wb=0 v
  t0="$(now_us)"
  (exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$@") >/dev/null 2>"$WORK/run.err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    v="$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)"
    [[ -n "$v" && "$v" -gt "$hwm" ]] && hwm="$v"
    v="$(awk '/^write_bytes:/ {print $2}' "/proc/$pid/io" 2>/dev/null || true)"
    [[ -n "$v" && "$v" -gt "$wb" ]] && wb="$v"
    sleep 0.02
  done
  wait "$pid" || fail "benchmark command failed: $*" "$(cat "$WORK/run.err")"
  WALL_US=$(($(now_us) - t0))
  PEAK_KIB="$hwm"
  WRITE_BYTES="$wb"
}
secs() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1e6 }'; }

pg_start_cluster bench
pg_conf bench "max_wal_size = 4GB" "checkpoint_timeout = 30min"
psql_as bench postgres -c "ALTER SYSTEM SET shared_buffers = '256MB'" >/dev/null
pg_stop_cluster bench
pg_start_existing bench
psql_as bench postgres -c "CREATE DATABASE forum"

printf '%-6s %9s %10s %7s %7s %8s %8s %14s %10s %8s\n' scale dump_MiB ramsafe_s pipe_s A/B all_s A/C ramsafe_peak write_MiB set_MiB
for scale in $SCALES; do
  "$PG_BINDIR/psql" -X -q -h "$(pg_sockdir bench)" -p "$(pg_port bench)" -U postgres -v scale="$scale" \
    -f "$DATASET" forum >/dev/null
  psql_as bench forum -c "VACUUM ANALYZE" >/dev/null
  dump_bytes="$(env $(pg_env bench) "$PG_BINDIR/pg_dump" -Fc -Z0 -d forum | wc -c)"
  best_a=0 best_b=0 best_c=0 peak=0 writes=0 set_bytes=0
  for ((run = 1; run <= RUNS; run++)); do
    rm -rf "$disk/store" "$disk/pipe.age"
    pg_mkdir "$disk/store"
    conf="$(ramsafe_config bench "ramsafe.local_dir = '$disk/store'")"
    run_measured "$RAMSAFE_TEST_BIN" backup --config "$conf"
    ((best_a == 0 || WALL_US < best_a)) && best_a=$WALL_US
    ((PEAK_KIB > peak)) && peak=$PEAK_KIB
    writes=$WRITE_BYTES
    set_bytes="$(du -sb --apparent-size "$(newest_set "$disk/store/main")" | cut -f1)"

    run_measured bash -c "PGHOST='$(pg_sockdir bench)' PGPORT='$(pg_port bench)' PGUSER=postgres \
      '$PG_BINDIR/pg_dump' -Fc -Z0 -d forum | zstd -3 -q | age -r '$recipient' > '$disk/pipe.age'; sync '$disk/pipe.age'"
    ((best_b == 0 || WALL_US < best_b)) && best_b=$WALL_US

    rm -rf "$disk/shell"
    pg_mkdir "$disk/shell"
    run_measured bash -c "export PGHOST='$(pg_sockdir bench)' PGPORT='$(pg_port bench)' PGUSER=postgres
      set -e -o pipefail
      '$PG_BINDIR/pg_dumpall' --globals-only | zstd -3 -q | age -r '$recipient' > '$disk/shell/globals.sql.zst.age'
      for db in \$('$PG_BINDIR/psql' -XAtc 'select datname from pg_database where datallowconn' postgres); do
        '$PG_BINDIR/pg_dump' -Fc -Z0 -d \"\$db\" | zstd -3 -q | age -r '$recipient' > '$disk/shell/'\"\$db\".dump.zst.age
      done
      sync -f '$disk/shell'"
    ((best_c == 0 || WALL_US < best_c)) && best_c=$WALL_US
  done
  printf '%-6s %9.1f %10s %7s %7.2f %8s %8.2f %10d KiB %10.2f %8.2f\n' "$scale" "$(awk -v b="$dump_bytes" 'BEGIN{print b/1048576}')" \
    "$(secs "$best_a")" "$(secs "$best_b")" "$(awk -v a="$best_a" -v b="$best_b" 'BEGIN{print a/b}')" \
    "$(secs "$best_c")" "$(awk -v a="$best_a" -v c="$best_c" 'BEGIN{print a/c}')" \
    "$peak" "$(awk -v b="$writes" 'BEGIN{print b/1048576}')" "$(awk -v b="$set_bytes" 'BEGIN{print b/1048576}')"
done
echo "Best of $RUNS runs each. A/B = ramsafe (whole cluster, every file fsynced) / one-database pipeline;"
echo "A/C = ramsafe / the whole cluster in shell; ramsafe_peak = VmHWM of the ramsafe process;"
echo "write_MiB = bytes ramsafe sent to the disk, set_MiB = size of the encrypted set it published."

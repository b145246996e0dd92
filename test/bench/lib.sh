# shellcheck shell=bash
# Shared helpers of the benchmarks in test/bench (source after test/lib/common.sh and
# ramsafe_test_init):
#
#   bench_disk_dir NAME          a fresh directory on a real disk ($DISK_DIR, default
#                                /var/tmp; refused if it is tmpfs), postgres-owned, removed
#                                at exit, in BENCH_DISK (call it in the main shell, not in
#                                $(...), or the cleanup is lost)
#   bench_measure [--user U] [--worker PID] [--python-counts] -- CMD...
#                                run CMD once under test/bench/measure.py; sets M_WALL,
#                                M_CPU (s), M_RSS_KIB, M_WRITE (bytes); fails if CMD fails
#   bench_tps DB SECONDS CLIENTS pgbench TPS of one run against DB (PGHOST/PGPORT/PGUSER
#                                from the environment)
#   bench_median                 median of the numbers on stdin (one a line)
#   bench_max                    largest of the numbers on stdin
#   bench_div A B [FMT]          A / B with awk (FMT default %.2f; "-" if B is 0 or empty)
#   bench_bytes PATH...          apparent size in bytes of files / directories

BENCH_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# shellcheck disable=SC2034 # BENCH_DISK is the result
bench_disk_dir() {
  local base="${DISK_DIR:-/var/tmp}" dir
  [[ -d "$base" ]] || fail "DISK_DIR $base does not exist"
  if [[ "$(stat -f -c %T "$base")" == tmpfs ]]; then
    fail "DISK_DIR $base is a tmpfs: write_bytes would not mean anything; pick a directory on disk"
  fi
  dir="$(mktemp -d "$base/ramsafe-$1-XXXX")"
  chown postgres:postgres "$dir"
  ramsafe_on_exit rm -rf --one-file-system "$dir"
  BENCH_DISK="$dir"
}

# shellcheck disable=SC2034 # M_* are results for the caller
bench_measure() {
  local out="$WORK/measure.out" err="$WORK/measure.err" rc
  rm -f "$out"
  rc=0
  python3 "$BENCH_LIB_DIR/measure.py" --out "$out" "$@" >"$WORK/measure.stdout" 2>"$err" || rc=$?
  [[ "$rc" == 0 && -s "$out" ]] || fail "measure.py failed (exit $rc): $*" "$(tail -n 20 "$err")"
  local k v
  M_RC="" M_WALL="" M_CPU="" M_RSS_KIB="" M_WRITE=""
  while IFS='=' read -r k v; do
    case "$k" in
      rc) M_RC="$v" ;;
      wall_s) M_WALL="$v" ;;
      cpu_s) M_CPU="$v" ;;
      peak_rss_kib) M_RSS_KIB="$v" ;;
      write_bytes) M_WRITE="$v" ;;
    esac
  done <"$out"
  [[ "$M_RC" == 0 ]] || fail "benchmark command failed (exit $M_RC): $*" \
    "$(tail -n 20 "$err")" "$(tail -n 5 "$WORK/measure.stdout")"
}

bench_tps() {
  local db="$1" seconds="$2" clients="$3" tps
  tps="$("$PG_BINDIR/pgbench" -n -c "$clients" -j 2 -T "$seconds" "$db" 2>/dev/null |
    awk '/^tps/ { print $3; exit }')"
  [[ -n "$tps" ]] || fail "pgbench against $db gave no TPS"
  printf '%s\n' "$tps"
}

bench_median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bench_max() {
  sort -g | tail -n 1
}

bench_div() {
  awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { if (b == "" || b == "-" || a == "-" || b + 0 == 0) print "-"; else printf f "\n", a / b }'
}

bench_bytes() {
  du -scb --apparent-size "$@" | tail -n 1 | cut -f1
}

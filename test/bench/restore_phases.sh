#!/usr/bin/env bash
# Where the time of a restore goes (issue 6: ramsafe restore ≤ 1.1× initdb + start +
# globals + pg_restore -j2). Not a test: prints medians, checks nothing but row counts.
#
# Usage: test/bench/restore_phases.sh [--scale N] [--runs N]     (as root)
#
# Builds a cluster with test/bench/gen_dataset.sql at scale N (default 1) in database
# forum, backs it up with the companion ($RAMSAFE_BIN, default build/ramsafe; only the
# companion is used, the extension need not be installed) and keeps plain pg_dump -Fc -Z0
# files of every database. Then, RUNS times (default 5), alternating:
#   ramsafe     ramsafe restore (restore_jobs 2) into an empty tmpfs data directory + pg_ctl
#               start -w (until the server accepts connections)
#   j2          initdb + pg_ctl start -w + psql globals + pg_restore -j2 -d DB per database
#               (postgres/template1 into the existing ones, the others after createdb)
#   phases      the steps of the ramsafe path without ramsafe (no decryption), one by one,
#               from the plain files: initdb, start of a postmaster with the restore
#               settings, globals, postgres and template1 with --clean --create (as ramsafe
#               does), forum's pre-data, data and post-data sections read from stdin, a
#               second copy of forum's post-data with -j2 from the file (the part a
#               parallel post-data pass could save), stop, start of the real server
# and prints the median of each figure. Stores go to $DISK_DIR (default /var/tmp).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
scale=1 runs=5
while (($#)); do
  case "$1" in
    --scale) scale="${2:?--scale needs a value}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a value}"; shift 2 ;;
    -h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "restore_phases.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ "$scale" =~ ^[1-9][0-9]{0,3}$ && "$runs" =~ ^[1-9][0-9]?$ ]] || { echo "restore_phases.sh: bad --scale or --runs" >&2; exit 2; }

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
if [[ -z "${RAMSAFE_BIN:-}" ]]; then
  RAMSAFE_BIN="$HERE/../../build/ramsafe"
fi
export RAMSAFE_BIN
ramsafe_test_init restore_phases
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
bench_disk_dir restore
disk="$BENCH_DISK"
pg_mkdir "$disk/store" "$disk/plain"

note "scale $scale: dataset"
pg_start_cluster src
psql_as src postgres -c "CREATE DATABASE forum"
"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres \
  -v scale="$scale" -f "$HERE/gen_dataset.sql" forum >/dev/null
psql_as src forum -c "VACUUM ANALYZE"
comments="$(psql_as src forum -c "SELECT count(*) FROM forum.comments")"
ramsafe_keys
conf="$(ramsafe_config src "ramsafe.local_dir = '$disk/store'" "ramsafe.restore_jobs = 2" "ramsafe.compression_level = 3")"
rs "$conf" backup --no-progress >/dev/null
# shellcheck disable=SC2016 # $1... expand in that shell
runuser -u postgres -- env PGHOST="$(pg_sockdir src)" PGPORT="$(pg_port src)" PGUSER=postgres bash -c '
  set -euo pipefail
  "$PG_BINDIR/pg_dumpall" --globals-only -f "$1/globals.sql"
  for db in postgres template1 forum; do "$PG_BINDIR/pg_dump" -Fc -Z0 -d "$db" -f "$1/$db.dump"; done' \
  dumps "$disk/plain"
pg_stop_cluster src

pg_init_cluster r
rdata="$(pg_datadir r)" rsock="$(pg_sockdir r)" rport="$(pg_port r)"
rconf="$(ramsafe_config r "ramsafe.local_dir = '$disk/store'" "ramsafe.restore_jobs = 2")"
touch "$WORK/r/log"
chown postgres:postgres "$WORK/r/log"
printf '%s\n' r >>"$WORK/.ramsafe/clusters"

# The timed steps, run as postgres; each prints "STEP SECONDS" lines.
cat >"$WORK/bin/steps.sh" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
how="$1" bin="$2" conf="$3" data="$4" plain="$5" log="$6"
B="$PG_BINDIR"
start_real() { "$B/pg_ctl" start -D "$data" -l "$log" -w -t 300 -o "-c port=$PGPORT -c unix_socket_directories=$PGHOST -c listen_addresses=''" >/dev/null; }
# The restore postmaster's settings (core/restore/restore.cc, PrivatePostmaster).
start_bulk() {
  "$B/pg_ctl" start -D "$data" -l "$log" -w -t 300 -o "-c port=$PGPORT -c unix_socket_directories=$PGHOST -c listen_addresses='' -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c wal_level=minimal -c max_wal_senders=0 -c archive_mode=off -c autovacuum=off -c max_wal_size=4GB -c checkpoint_timeout=1h -c maintenance_work_mem=256MB" >/dev/null
}
t0=$EPOCHREALTIME first=$EPOCHREALTIME
step() { local t=$EPOCHREALTIME; awk -v a="$t0" -v b="$t" -v s="$1" 'BEGIN { printf "%s %.3f\n", s, b - a }'; t0=$t; }
total() { awk -v a="$first" -v b="$EPOCHREALTIME" 'BEGIN { printf "total %.3f\n", b - a }'; }
restore() { "$B/pg_restore" --exit-on-error "$@"; }
case "$how" in
  ramsafe)
    "$bin" restore --config "$conf" --no-progress >/dev/null 2>&1; step restore
    start_real; step start
    total ;;
  j2)
    "$B/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null; step initdb
    start_real; step start
    "$B/psql" -X -q -d postgres -f "$plain/globals.sql" >/dev/null 2>&1; step globals
    restore -j2 -d postgres "$plain/postgres.dump"
    restore -j2 -d template1 "$plain/template1.dump"; step builtin_dbs
    "$B/createdb" -T template0 forum; step createdb
    restore -j2 -d forum "$plain/forum.dump"; step pg_restore_j2
    total ;;
  phases)
    "$B/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null; step initdb
    start_bulk; step start_private
    "$B/psql" -X -q -d postgres -f "$plain/globals.sql" >/dev/null 2>&1; step globals
    restore --create --clean --if-exists -d template1 <"$plain/postgres.dump"
    restore --create --clean --if-exists -d postgres <"$plain/template1.dump"; step builtin_dbs_clean_create
    restore --create --section=pre-data -d postgres <"$plain/forum.dump"; step pre_data
    restore --section=data -d forum <"$plain/forum.dump"; step data
    "$B/psql" -X -q -d postgres -c "CREATE DATABASE forum2 TEMPLATE forum STRATEGY FILE_COPY"; t0=$EPOCHREALTIME
    restore --section=post-data -d forum <"$plain/forum.dump"; step post_data_1
    restore -j2 --section=post-data -d forum2 "$plain/forum.dump"; step post_data_j2
    "$B/psql" -X -q -d postgres -c "DROP DATABASE forum2"; t0=$EPOCHREALTIME
    "$B/pg_ctl" stop -D "$data" -m fast -w >/dev/null; step stop_private
    start_real; step start_real ;;
esac
EOF
chown postgres:postgres "$WORK/bin/steps.sh"
chmod 0755 "$WORK/bin/steps.sh"

tsv="$WORK/steps.tsv"
: >"$tsv"
for ((run = 1; run <= runs; run++)); do
  for how in ramsafe j2 phases; do
    pg_wipe_data r
    out="$(runuser -u postgres -- env PGHOST="$rsock" PGPORT="$rport" PGUSER=postgres PG_BINDIR="$PG_BINDIR" \
      "$WORK/bin/steps.sh" "$how" "$RAMSAFE_TEST_BIN" "$rconf" "$rdata" "$disk/plain" "$WORK/r/log")" ||
      fail "$how run $run failed" "$out" "$(tail -n 20 "$WORK/r/log")"
    got="$(psql_as r forum -c "SELECT count(*) FROM forum.comments")"
    assert_eq "$comments" "$got" "forum.comments rows after the $how run"
    pg_stop_cluster r
    while read -r step secs; do printf '%s\t%s\t%s\t%s\n' "$how" "$step" "$run" "$secs" >>"$tsv"; done <<<"$out"
    note "run $run $how: $(tr '\n' ' ' <<<"$out")"
  done
done

echo
echo "restore of scale $scale, medians of $runs runs (seconds):"
awk -F'\t' '!seen[$1 FS $2]++ { print $1 "\t" $2 }' "$tsv" | while IFS=$'\t' read -r how step; do
  printf '  %-8s %-26s %s\n' "$how" "$step" \
    "$(awk -F'\t' -v h="$how" -v s="$step" '$1 == h && $2 == s { print $4 }' "$tsv" | bench_median)"
done
r="$(awk -F'\t' '$1 == "ramsafe" && $2 == "total" { print $4 }' "$tsv" | bench_median)"
j="$(awk -F'\t' '$1 == "j2" && $2 == "total" { print $4 }' "$tsv" | bench_median)"
echo "  ramsafe / j2: ×$(bench_div "$r" "$j")"

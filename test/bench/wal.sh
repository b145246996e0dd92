#!/usr/bin/env bash
# The WAL archiving benchmark (issue 7, "Performance"; not a test: it prints figures side
# by side, never pass/fail). Run as root; `test/bench/wal.sh --help` for the options,
# docs/testing.md ("WAL archiving") for what each figure means.
#
# 1. PostgreSQL 15 on tmpfs, ramsafe preloaded and archiving (archive_library, archive_timeout
#    60 s), full_page_writes on, the store on disk ($DISK_DIR); a pgbench database; a
#    physical base backup (`ramsafe base-backup`).
# 2. Steady load: pgbench at a fixed rate (-R) for --minutes. Measured between two WAL
#    switches (each waited for in the archive): the raw WAL volume (pg_wal_lsn_diff), the
#    segments archived, the bytes ramsafe stored for them, the bytes the archiver process
#    wrote (/proc/PID/io write_bytes) and its CPU time; then one logical snapshot
#    (`ramsafe backup`) of the same cluster. Extrapolated to an hour: a table of bytes per
#    hour for WAL mode, snapshot-only mode (hourly, every 15 min) and the raw WAL.
# 3. Restore: a fresh base backup, then unthrottled pgbench until the WAL has advanced by
#    the measured raw WAL rate × 3600 s ("one hour of WAL"; a CHECKPOINT every 3 s meanwhile,
#    so that full-page images keep coming as they do under the slower steady load), all of
#    it archived; a logical
#    snapshot of that final state; the data directory wiped; `ramsafe restore` of the base +
#    WAL, then of the logical snapshot, each timed until the started server accepts
#    connections, and checked against the final state.
# Markdown backquotes and hooks eval'd at exit are in single quotes on purpose.
# shellcheck disable=SC2016
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  cat <<EOF
Usage: test/bench/wal.sh [options]   (as root)

Measures what WAL archiving through ramsafe writes to disk per hour under a steady pgbench
load, against snapshot-only mode and the raw WAL volume, and the restore time of a base
backup + one hour of WAL against the logical snapshot of the same state. Prints markdown
tables (also in OUT/wal-results.md); no pass/fail.

Options:
  --minutes M     length of the steady load (default: 5)
  --scale S       pgbench scale (default: 10, about 160 MB)
  --rate TPS      pgbench rate during the steady load, transactions/s (default: 100)
  --clients N     pgbench clients (default: 2)
  --out DIR       results directory (default: test/bench/out)
  --restore-wal-mb MB   WAL to generate for the restore measurement (default: one hour
                  at the rate measured under the steady load)
  --no-restore    skip the restore measurement (part 3)
  -h, --help      this help

Environment: DISK_DIR (where the store goes, default /var/tmp; must not be tmpfs),
RAMSAFE_BIN (the companion; default build/ramsafe), RAMSAFE_TEST_LIBRARY (the ramsafe.so
to load, an absolute path; default build/ramsafe.so, else the installed extension).
Exit codes: 0 done, 1 a step failed, 2 bad arguments.
EOF
}

bad_arg() {
  printf 'test/bench/wal.sh: %s\n' "$1" >&2
  printf "Run 'test/bench/wal.sh --help' for usage.\n" >&2
  exit 2
}

minutes=5 scale=10 rate=100 clients=2 out_dir="$HERE/out" do_restore=1 restore_wal_mb=""
while (($#)); do
  opt="$1"
  case "$opt" in
    -h | --help) usage; exit 0 ;;
    --no-restore) do_restore=0; shift; continue ;;
    --minutes | --scale | --rate | --clients | --out | --restore-wal-mb)
      (($# >= 2)) || bad_arg "$opt needs a value"
      val="$2"
      shift 2 ;;
    --minutes=* | --scale=* | --rate=* | --clients=* | --out=* | --restore-wal-mb=*)
      val="${opt#*=}"
      opt="${opt%%=*}"
      shift ;;
    *) bad_arg "unknown argument '$opt'" ;;
  esac
  case "$opt" in
    --minutes)
      [[ "$val" =~ ^[1-9][0-9]{0,2}$ ]] || bad_arg "--minutes: '$val' is not an integer from 1 to 999"
      minutes="$val" ;;
    --scale)
      [[ "$val" =~ ^[1-9][0-9]{0,3}$ ]] || bad_arg "--scale: '$val' is not an integer from 1 to 9999"
      scale="$val" ;;
    --rate)
      [[ "$val" =~ ^[1-9][0-9]{0,4}$ ]] || bad_arg "--rate: '$val' is not an integer from 1 to 99999"
      rate="$val" ;;
    --clients)
      [[ "$val" =~ ^[1-9][0-9]?$ ]] || bad_arg "--clients: '$val' is not an integer from 1 to 99"
      clients="$val" ;;
    --out)
      [[ -n "$val" ]] || bad_arg "--out: empty directory name"
      out_dir="$val" ;;
    --restore-wal-mb)
      [[ "$val" =~ ^[1-9][0-9]{0,5}$ ]] || bad_arg "--restore-wal-mb: '$val' is not an integer from 1 to 999999"
      restore_wal_mb="$val" ;;
  esac
done
[[ "$(id -u)" == 0 ]] || bad_arg "must run as root (the cluster runs as the postgres user)"
command -v jq >/dev/null || bad_arg "jq is needed (scripts/setup --test installs it)"

# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
: "${RAMSAFE_BIN:=$HERE/../../build/ramsafe}"
[[ -x "$RAMSAFE_BIN" ]] || bad_arg "no ramsafe companion at $RAMSAFE_BIN: build it (scripts/build) or set RAMSAFE_BIN"
export RAMSAFE_BIN
if [[ -z "${RAMSAFE_TEST_LIBRARY:-}" && -f "$HERE/../../build/ramsafe.so" ]]; then
  RAMSAFE_TEST_LIBRARY="$(cd "$HERE/../../build" && pwd)/ramsafe.so"
fi
export RAMSAFE_TEST_LIBRARY
ramsafe_test_init bench_wal
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
ramsafe_test_library # sets lib: a private copy of the built ramsafe.so (or "ramsafe")
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
bench_disk_dir wal
disk="$BENCH_DISK"
store="$disk/store"
pg_mkdir "$store"
ramsafe_keys
started_us="${EPOCHREALTIME//[.,]/}"

# ------------------------------------------------------------------ the cluster
# The scheduler worker is off (ramsafe.schedule = ''): a library named by path cannot
# start it, and snapshots are taken with `ramsafe backup` below. full_page_writes is back
# on (the harness turns it off): WAL volume is what this measures.
pg_init_cluster w
pg_conf w "shared_preload_libraries = '$lib'" \
  "archive_mode = on" "archive_library = '$lib'" "archive_timeout = 60" \
  "full_page_writes = on" \
  "ramsafe.local_dir = '$store'" \
  "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = ''"
pg_start_existing w
conf="$(ramsafe_config w "ramsafe.local_dir = '$store'")"
q() { psql_as w postgres -c "$1"; }
export PGHOST PGPORT PGUSER=postgres
PGHOST="$(pg_sockdir w)" PGPORT="$(pg_port w)"
seg_size="$(q "SELECT pg_size_bytes(current_setting('wal_segment_size'))")"

archived_up_to() { [[ "$(q "SELECT coalesce(last_archived_wal, '') >= '$1' FROM pg_stat_archiver")" == t ]]; }
# switch_and_archive: close the current segment and wait until the archive has it, so a
# measurement starts and ends on a segment boundary with nothing pending.
switch_and_archive() {
  local seg
  seg="$(q "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")"
  q "SELECT pg_switch_wal()" >/dev/null
  wait_for "WAL segment $seg to be archived" 600 archived_up_to "$seg"
}
archiver_pid() {
  local pm
  pm="$(head -n 1 "$(pg_datadir w)/postmaster.pid")"
  ps --ppid "$pm" -o pid=,args= | awk '$2 == "postgres:" && $3 == "archiver" { print $1; exit }'
}
io_write_bytes() { awk '/^write_bytes:/ { print $2 }' "/proc/$1/io"; }
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
wal_dir_bytes() { if [[ -d "$store/main/wal" ]]; then bench_bytes "$store/main/wal"; else echo 0; fi; }
wal_files() { find "$store/main/wal" -name '*.zst.age' 2>/dev/null | wc -l; }
lsn_diff() { q "SELECT pg_wal_lsn_diff('$1', '$2')::bigint"; }
lsn_bytes() { echo $(((16#${1%/*} << 32) + 16#${1#*/})); } # X/Y (hex) as a byte position
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
hz="$(getconf CLK_TCK)"

note "pgbench -i -s $scale"
q "CREATE DATABASE bench"
"$PG_BINDIR/pgbench" -i -q -s "$scale" bench >/dev/null 2>"$WORK/pgbench-init.err" ||
  fail "pgbench -i failed" "$(tail -n 5 "$WORK/pgbench-init.err")"
q "CHECKPOINT" >/dev/null

# base_backup: `ramsafe base-backup` measured; sets BASE_ID, BASE_STORED, BASE_WALL
base_backup() {
  bench_measure --user postgres -- "$RAMSAFE_TEST_BIN" base-backup --config "$conf" --json --no-progress
  BASE_ID="$(jq -r .backup_id "$WORK/measure.stdout")"
  BASE_STORED="$(bench_bytes "$store/main/$BASE_ID")"
  BASE_WALL="$M_WALL"
  [[ -n "$BASE_ID" && "$BASE_ID" != null ]] || fail "base-backup gave no backup id" "$(cat "$WORK/measure.stdout")"
}
# logical_backup: `ramsafe backup` measured; sets SNAP_ID, SNAP_STORED, SNAP_WALL, SNAP_WRITE
logical_backup() {
  bench_measure --user postgres -- "$RAMSAFE_TEST_BIN" backup --config "$conf" --no-progress
  SNAP_ID="$(basename "$(newest_set "$store/main")")"
  SNAP_STORED="$(bench_bytes "$store/main/$SNAP_ID")"
  SNAP_WALL="$M_WALL" SNAP_WRITE="$M_WRITE"
}

note "base backup"
base_backup
base1_id="$BASE_ID" base1_stored="$BASE_STORED" base1_wall="$BASE_WALL"
note "base backup $base1_id: $(mb "$base1_stored") MB stored, ${base1_wall} s"

# ------------------------------------------------------------------ steady load
switch_and_archive
apid="$(archiver_pid)"
[[ -n "$apid" ]] || fail "no archiver process under the postmaster"
lsn0="$(q "SELECT pg_current_wal_lsn()")"
hist0="$(psql_as w bench -c "SELECT count(*) FROM pgbench_history")"
count0="$(q "SELECT archived_count FROM pg_stat_archiver")"
failed0="$(q "SELECT failed_count FROM pg_stat_archiver")"
stored0="$(wal_dir_bytes)" files0="$(wal_files)"
aw0="$(io_write_bytes "$apid")" ac0="$(cpu_ticks "$apid")"
t0="${EPOCHREALTIME//[.,]/}"
note "steady load: pgbench -R $rate -c $clients for $minutes min"
"$PG_BINDIR/pgbench" -n -c "$clients" -j "$clients" -R "$rate" -T "$((minutes * 60))" bench \
  >"$WORK/pgbench-steady.out" 2>"$WORK/pgbench-steady.err" ||
  fail "pgbench (steady load) failed" "$(tail -n 5 "$WORK/pgbench-steady.err")"
steady_tps="$(awk '/^tps/ { print $3; exit }' "$WORK/pgbench-steady.out")"
steady_lag="$(awk '/^rate limit schedule lag:/ { print $6; exit }' "$WORK/pgbench-steady.out")"
lsn1="$(q "SELECT pg_current_wal_lsn()")"
hist1="$(psql_as w bench -c "SELECT count(*) FROM pgbench_history")"
switch_and_archive
t1="${EPOCHREALTIME//[.,]/}"
[[ "$(archiver_pid)" == "$apid" ]] || fail "the archiver process restarted during the measurement"
aw1="$(io_write_bytes "$apid")" ac1="$(cpu_ticks "$apid")"
stored1="$(wal_dir_bytes)" files1="$(wal_files)"
count1="$(q "SELECT archived_count FROM pg_stat_archiver")"
failed1="$(q "SELECT failed_count FROM pg_stat_archiver")"
elapsed="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')"
load_s=$((minutes * 60))
raw_wal="$(lsn_diff "$lsn1" "$lsn0")"
segments=$((count1 - count0))
stored_wal=$((stored1 - stored0))
written_wal=$((aw1 - aw0))
archiver_cpu="$(awk -v a="$ac0" -v b="$ac1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')"
((files1 - files0 == segments)) || note "files in the store grew by $((files1 - files0)), pg_stat_archiver counted $segments"
note "steady load: $steady_tps TPS, raw WAL $(mb "$raw_wal") MB, $segments segments archived, $(mb "$stored_wal") MB stored, $(mb "$written_wal") MB written by the archiver"

note "logical snapshot of the same cluster"
logical_backup
snap1_id="$SNAP_ID" snap1_stored="$SNAP_STORED" snap1_wall="$SNAP_WALL" snap1_write="$SNAP_WRITE"
note "logical snapshot $snap1_id: $(mb "$snap1_stored") MB stored, ${snap1_wall} s"

# Per hour. The WAL figures are over the measured window (load + the final switch and its
# archiving), whose WAL is all archived by its end; the rate is over the load's length, the
# time over which that WAL was produced.
per_hour() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b * 3600 / s }'; }
raw_h="$(per_hour "$raw_wal" "$load_s")"
segs_h="$(awk -v n="$segments" -v s="$load_s" 'BEGIN { printf "%.1f", n * 3600 / s }')"
cp_h="$(awk -v n="$segs_h" -v z="$seg_size" 'BEGIN { printf "%.0f", n * z }')"
stored_h="$(per_hour "$stored_wal" "$load_s")"
written_h="$(per_hour "$written_wal" "$load_s")"
base_h="$(awk -v b="$base1_stored" 'BEGIN { printf "%.0f", b / 24 }')"
snap_write="${snap1_write:-$snap1_stored}"
x() { bench_div "$1" "$raw_h" '%.3f'; }
results="$out_dir/wal-results.md"
{
  echo "## WAL archiving: bytes written to disk per hour (pgbench scale $scale, -R $rate, $clients clients, $minutes min)"
  echo
  echo "Steady load: $steady_tps TPS achieved (rate limit schedule lag ${steady_lag:-?} ms average);"
  echo "raw WAL $(mb "$raw_wal") MB in $load_s s ($(awk -v b="$raw_wal" -v s="$load_s" 'BEGIN { printf "%.2f", b / s / 1e6 }') MB/s, $(bench_div "$raw_wal" $((hist1 - hist0)) '%.0f') bytes per transaction),"
  echo "$segments segments archived (archive failures: $((failed1 - failed0))), measured over ${elapsed} s between two WAL switches."
  echo "Archiver CPU: ${archiver_cpu} s for $segments segments ($(bench_div "$archiver_cpu" "$segments" '%.3f') s per segment)."
  echo
  echo "| mode | stored MB/hour | written to disk MB/hour | × raw WAL (written) | a power cut loses |"
  echo "|---|---|---|---|---|"
  printf '| raw WAL (pg_wal, in RAM; nothing on disk) | - | - | 1.000 (%s MB/hour) | everything since the last backup |\n' "$(mb "$raw_h")"
  printf '| plain `archive_command = cp` (%s segments/hour × %s MiB, for reference) | %s | %s | %s | ≤ archive_timeout (60 s) |\n' \
    "$segs_h" "$((seg_size / 1048576))" "$(mb "$cp_h")" "$(mb "$cp_h")" "$(x "$cp_h")"
  printf '| ramsafe WAL archiving (zstd + age per segment) | %s | %s | %s | ≤ archive_timeout (60 s) + archiving time |\n' \
    "$(mb "$stored_h")" "$(mb "$written_h")" "$(x "$written_h")"
  printf '| ramsafe WAL + one base backup a day (%s MB / 24) | %s | %s | %s | ≤ archive_timeout (60 s) + archiving time |\n' \
    "$(mb "$base1_stored")" "$(mb $((stored_h + base_h)))" "$(mb $((written_h + base_h)))" "$(x $((written_h + base_h)))"
  printf '| snapshot only, hourly (1 × %s MB) | %s | %s | %s | up to 60 min |\n' \
    "$(mb "$snap1_stored")" "$(mb "$snap1_stored")" "$(mb "$snap_write")" "$(x "$snap_write")"
  printf '| snapshot only, every 15 min (4 × %s MB) | %s | %s | %s | up to 15 min |\n' \
    "$(mb "$snap1_stored")" "$(mb $((snap1_stored * 4)))" "$(mb $((snap_write * 4)))" "$(x $((snap_write * 4)))"
  echo
  echo "Stored: apparent size of the store's wal/ growth (data + checksum files) or of the set."
  echo "Written: write_bytes of /proc/PID/io of the archiver process (WAL; in-process, it"
  echo "forks nothing) or of \`ramsafe backup\` and its children (snapshot). The base backup"
  echo "row adds its stored size. The data directory and pg_wal are on tmpfs (not disk)."
} >"$results"
cat "$results"

# ------------------------------------------------------------------ restore: base + 1 hour of WAL
if ((do_restore)); then
  note "restore: fresh base backup"
  base_backup
  base2_id="$BASE_ID" base2_stored="$BASE_STORED"
  base2_start="$(jq -r .physical.start_lsn "$store/main/$base2_id/manifest.json")"
  target_bytes="$raw_h" target_what="one hour at the measured rate"
  if [[ -n "$restore_wal_mb" ]]; then target_bytes=$((restore_wal_mb * 1000000)) target_what="--restore-wal-mb"; fi
  # Unthrottled pgbench touches each page many times per checkpoint cycle, so it writes far
  # fewer full-page images per transaction than the steady load; a CHECKPOINT every 3 s
  # keeps them coming (both phases' bytes per transaction are shown).
  gstart="$(q "SELECT pg_current_wal_lsn()")"
  ghist0="$(psql_as w bench -c "SELECT count(*) FROM pgbench_history")"
  note "restore: unthrottled pgbench until the WAL has advanced $(mb "$target_bytes") MB ($target_what)"
  "$PG_BINDIR/pgbench" -n -c "$clients" -j "$clients" -T 36000 bench >"$WORK/pgbench-gen.out" 2>"$WORK/pgbench-gen.err" &
  gen=$!
  ramsafe_on_exit 'if [[ -n "${gen:-}" ]]; then kill "$gen" 2>/dev/null; fi'
  g0="${EPOCHREALTIME//[.,]/}"
  # Polled once a second (not wait_for's 0.1 s: the two cores are busy with the load).
  for ((i = 0; ; i++)); do
    (($(lsn_diff "$(q "SELECT pg_current_wal_lsn()")" "$gstart") >= target_bytes)) && break
    kill -0 "$gen" 2>/dev/null || fail "pgbench (unthrottled) ended early" "$(tail -n 5 "$WORK/pgbench-gen.err")"
    ((i % 3 == 2)) && q "CHECKPOINT" >/dev/null
    ((i < 7200)) || fail "the WAL did not advance $target_bytes bytes in 7200 s"
    sleep 1
  done
  kill -TERM "$gen" 2>/dev/null || true # background jobs of a script ignore SIGINT
  wait "$gen" || true
  gen=""
  g1="${EPOCHREALTIME//[.,]/}"
  switch_and_archive
  g2="${EPOCHREALTIME//[.,]/}"
  gend="$(q "SELECT pg_current_wal_lsn()")"
  gen_bytes="$(lsn_diff "$gend" "$gstart")"
  note "generated $(mb "$gen_bytes") MB of WAL in $(awk -v a="$g0" -v b="$g1" 'BEGIN { printf "%.0f", (b - a) / 1e6 }') s; archived $(awk -v a="$g1" -v b="$g2" 'BEGIN { printf "%.0f", (b - a) / 1e6 }') s later"
  check_sql="SELECT (SELECT count(*) FROM pgbench_history) || ' ' || (SELECT sum(abalance) FROM pgbench_accounts)"
  expected="$(psql_as w bench -c "$check_sql")"
  ghist1="$(psql_as w bench -c "SELECT count(*) FROM pgbench_history")"
  note "restore: logical snapshot of the final state"
  logical_backup
  snap2_id="$SNAP_ID" snap2_stored="$SNAP_STORED" snap2_wall="$SNAP_WALL"
  wal_stored_total="$(wal_dir_bytes)"
  pg_stop_cluster w
  data="$(pg_datadir w)"

  # timed_restore ID: wipe, `ramsafe restore --backup-id ID`, start, wait until the server
  # accepts connections; sets R_TOTAL (s), R_EXTRACT (s until the staging directory has
  # recovery.signal: a physical base is extracted; empty for logical), R_JSON (the report)
  timed_restore() {
    local id="$1" r0 r1 poll
    pg_wipe_data w
    rm -f "$WORK/extracted"
    ( # stamp when the base is extracted (restore writes recovery.signal into its staging dir)
      for ((i = 0; i < 720000; i++)); do
        if [[ -e "$data/.ramsafe-restore/recovery.signal" ]]; then
          printf '%s\n' "${EPOCHREALTIME//[.,]/}" >"$WORK/extracted"
          exit 0
        fi
        [[ -e "$WORK/restore-done" ]] && exit 0
        sleep 0.02
      done
    ) &
    poll=$!
    rm -f "$WORK/restore-done"
    r0="${EPOCHREALTIME//[.,]/}"
    R_JSON="$(rs "$conf" restore --backup-id "$id" --json --no-progress 2>"$WORK/restore.err")" ||
      { touch "$WORK/restore-done"; fail "ramsafe restore --backup-id $id failed" "$(tail -n 20 "$WORK/restore.err")"; }
    pg_start_existing w
    r1="${EPOCHREALTIME//[.,]/}"
    touch "$WORK/restore-done"
    wait "$poll" || true
    R_TOTAL="$(awk -v a="$r0" -v b="$r1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')"
    R_EXTRACT=""
    if [[ -s "$WORK/extracted" ]]; then
      R_EXTRACT="$(awk -v a="$r0" -v b="$(cat "$WORK/extracted")" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')"
    fi
    local got
    got="$(psql_as w bench -c "$check_sql")"
    assert_eq "$expected" "$got" "pgbench_history rows and the balance sum after restoring $id"
    pg_stop_cluster w
  }

  note "restore: base $base2_id + WAL"
  timed_restore "$base2_id"
  phys_total="$R_TOTAL" phys_extract="$R_EXTRACT"
  phys_kind="$(jq -r .kind <<<"$R_JSON")"
  phys_lsn="$(jq -r .recovered_to_lsn <<<"$R_JSON")"
  phys_last="$(jq -r .wal_last_archived <<<"$R_JSON")"
  [[ "$phys_kind" == physical ]] || fail "restoring $base2_id did not restore a physical set" "$R_JSON"
  replayed=$(($(lsn_bytes "$phys_lsn") - $(lsn_bytes "$base2_start")))
  replay_s="$(awk -v t="$phys_total" -v e="${phys_extract:-0}" 'BEGIN { printf "%.2f", t - e }')"
  replay_segs="$(awk -v b="$replayed" -v z="$seg_size" 'BEGIN { printf "%.0f", b / z }')"
  note "restore: logical snapshot $snap2_id"
  timed_restore "$snap2_id"
  logi_total="$R_TOTAL"
  {
    echo
    echo "## Restore to a ready server: base + one hour of WAL against the logical snapshot of the same state"
    echo
    echo "WAL to replay ($target_what): $(mb "$target_bytes") MB; generated $(mb "$gen_bytes") MB"
    echo "($(bench_div "$gen_bytes" $((ghist1 - ghist0)) '%.0f') bytes per transaction; a CHECKPOINT every 3 s) with unthrottled pgbench in $(awk -v a="$g0" -v b="$g1" 'BEGIN { printf "%.0f", (b - a) / 1e6 }') s, all archived $(awk -v a="$g1" -v b="$g2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }') s after the load stopped; the store's"
    echo "wal/ then held $(mb "$wal_stored_total") MB. Base $base2_id: $(mb "$base2_stored") MB stored. Logical snapshot"
    echo "$snap2_id: $(mb "$snap2_stored") MB stored, taken in ${snap2_wall} s."
    echo
    echo "| restore | wall s to a ready server | of which: base extracted | replay + promote + stop + start | WAL replayed | replay rate |"
    echo "|---|---|---|---|---|---|"
    printf '| `ramsafe restore` base + WAL (to %s, last file %s) | %s | %s | %s | %s segments, %s MB | %s segments/s, %s MB/s |\n' \
      "$phys_lsn" "$phys_last" "$phys_total" "${phys_extract:--}" "$replay_s" "$replay_segs" "$(mb "$replayed")" \
      "$(bench_div "$replay_segs" "$replay_s" '%.1f')" "$(bench_div "$(mb "$replayed")" "$replay_s" '%.1f')"
    printf '| `ramsafe restore` logical snapshot of the same state | %s | - | - | - | - |\n' "$logi_total"
    echo
    echo "Wall s: from \`ramsafe restore --backup-id ID\` into the wiped data directory (tmpfs) until"
    echo "\`pg_ctl start\` has the server accepting connections (pg_isready). \"Base extracted\" is"
    echo "when recovery.signal appears in the staging directory; replay rate = WAL from the base's"
    echo "start LSN to the recovered LSN over the rest. Ratio, base + WAL / logical: $(bench_div "$phys_total" "$logi_total")."
    echo "Both restores were checked: pgbench_history rows and the sum of the balances equal the final state's."
  } >>"$results"
  tail -n +"$(($(grep -n '^## Restore' "$results" | cut -d: -f1) - 1))" "$results"
fi
printf '\nTotal benchmark time: %s s.\n' "$(((${EPOCHREALTIME//[.,]/} - started_us) / 1000000))" | tee -a "$results"

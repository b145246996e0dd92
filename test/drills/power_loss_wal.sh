#!/usr/bin/env bash
# Drill: power loss with WAL archiving (issue 7; docs/wal.md). One cluster whose data
# directory is its own tmpfs preloads ramsafe and archives WAL through it
# (archive_library = 'ramsafe', archive_timeout = S); `ramsafe base-backup` takes a
# physical base at the first cycle and every --base-every cycles after. Per cycle a single
# writer commits rows with a strictly increasing id, the time of the insert and a per-row
# checksum, and reports each commit (id and the clock after COMMIT returned) as a NOTICE;
# at a random moment 2-4 archive_timeouts into the cycle the postmaster and all its
# children are SIGKILLed and the tmpfs unmounted (the power goes), then remounted empty,
# `ramsafe restore` run and the server started. Checks:
#   - the restore used the newest physical base + WAL, and the server is a primary again;
#   - the restored table is exactly ids 1..M, no row's checksum is wrong;
#   - every row whose commit was reported more than archive_timeout + margin before the
#     kill is there (M >= that id), and nothing beyond what was committed (M <= last + 1);
#   - the data-loss window (kill time - the newest restored row's time) is measured;
#   - at the end, `ramsafe verify --all --deep` passes for the sets and the WAL archive.
# The restored cluster promotes to a new timeline and later cycles write on it: restores
# from an older base follow the timelines, restores from a newer base start on one.
#
# PostgreSQL 15's checkpointer, when it first sleeps while the startup process is still
# running, sleeps for checkpoint_timeout (5 min) without looking at archive_timeout; until
# something wakes it (a checkpoint request), no segment is switched by time after a start,
# and a crash then loses up to checkpoint_timeout of commits. ramsafe's worker wakes the
# checkpointer when it starts (extension/worker.cc), and the drill relies on that: without
# the wake-up it fails within a few cycles. --checkpoint-after-start adds a CHECKPOINT after
# each start as well, the workaround for servers without the worker (docs/wal.md).
#
#   bash test/drills/power_loss_wal.sh [--cycles N] [--archive-timeout S] [--margin S]
#                                      [--base-every K] [--checkpoint-after-start] [--seed X]
#     (as root; defaults: 3 cycles, archive_timeout 10 s, margin 5 s, a base every 2 cycles)
#
# Prints "ok - cycle i: ..." per cycle and, at the end (also after a failure), one line
#   drill power_loss_wal: cycles=N restores_ok=N rows_lost_beyond_recovery_point=0 faults_injected=N faults_detected=N loss_window_s=MIN/MEDIAN/MAX
# Needs the installed extension (cmake --install build), or RAMSAFE_TEST_LIBRARY.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"

cycles=3 timeout_s=10 margin_s=5 base_every=2 wake=0
seed="${RANDOM}${RANDOM}"
while (($#)); do
  case "$1" in
    --cycles) cycles="${2:-}"; shift 2 ;;
    --archive-timeout) timeout_s="${2:-}"; shift 2 ;;
    --margin) margin_s="${2:-}"; shift 2 ;;
    --base-every) base_every="${2:-}"; shift 2 ;;
    --checkpoint-after-start) wake=1; shift ;;
    --seed) seed="${2:-}"; shift 2 ;;
    -h | --help) sed -n '2,32p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "power_loss_wal.sh: unknown argument '$1' (use --cycles N, --archive-timeout S, --margin S, --base-every K, --checkpoint-after-start, --seed X)" >&2; exit 2 ;;
  esac
done
[[ "$cycles" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "power_loss_wal.sh: --cycles wants 1-9999, not '$cycles'" >&2; exit 2; }
[[ "$timeout_s" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "power_loss_wal.sh: --archive-timeout wants 1-9999 seconds, not '$timeout_s'" >&2; exit 2; }
[[ "$margin_s" =~ ^[0-9]{1,3}$ ]] || { echo "power_loss_wal.sh: --margin wants 0-999 seconds, not '$margin_s'" >&2; exit 2; }
[[ "$base_every" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "power_loss_wal.sh: --base-every wants 1-9999, not '$base_every'" >&2; exit 2; }
[[ "$seed" =~ ^[0-9]{1,10}$ ]] || { echo "power_loss_wal.sh: --seed wants a number, not '$seed'" >&2; exit 2; }
RANDOM=$((seed % 32768))

ramsafe_test_init power_loss_wal
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
ramsafe_test_library # sets lib

# Figures for the summary line, printed at exit whatever happened.
cycles_run=0 restores_ok=0 rows_lost=0 injected=0 detected=0 summary_done=0
windows=()
summary() {
  ((summary_done)) && return 0
  summary_done=1
  local stats=-
  if ((${#windows[@]})); then
    stats="$(printf '%s\n' "${windows[@]}" | sort -g | awk '{ v[NR] = $1 }
      END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.1f/%.1f/%.1f", v[1], m, v[NR] }')"
  fi
  printf 'drill power_loss_wal: cycles=%d restores_ok=%d rows_lost_beyond_recovery_point=%d faults_injected=%d faults_detected=%d loss_window_s=%s\n' \
    "$cycles_run" "$restores_ok" "$rows_lost" "$injected" "$detected" "$stats"
}
ramsafe_on_exit summary
note "power_loss_wal: $cycles cycles, archive_timeout $timeout_s s, margin $margin_s s, a base every $base_every cycles, seed $seed (rerun with --seed $seed)"

ramsafe_keys
pg_mkdir "$WORK/store"
c=w
data="$(pg_datadir "$c")"
pg_mkdir "$WORK/$c"
mount_tmpfs "$data" 512m
pg_init_cluster "$c"
ramsafe_wal_conf "$c" "archive_timeout = $timeout_s" "ramsafe.local_retention = ''"
pg_start_existing "$c"
conf="$(ramsafe_config "$c")"
q() { psql_as "$c" app -c "$1"; }
psql_as "$c" postgres -c "CREATE DATABASE app"
q "CREATE TABLE t (id bigint PRIMARY KEY, at timestamptz NOT NULL, p text NOT NULL, h text NOT NULL)"

# The checksum of a row: its id, payload and time (in microseconds, no text format involved).
ROW_SUM="md5(id::text || ':' || p || ':' || (extract(epoch FROM at) * 1000000)::bigint::text)"

# The writer: one DO block committing one row at a time (about 500 a second) from id
# $1 + 1 for at most 600 s; after each COMMIT a NOTICE with the id and the clock, which
# psql writes to its stderr as it arrives (the server flushes every NOTICE at once).
workload() {
  cat <<EOF
DO \$\$
DECLARE
  i bigint := $1;
  ts timestamptz;
  deadline timestamptz := clock_timestamp() + interval '600 seconds';
BEGIN
  WHILE clock_timestamp() < deadline LOOP
    i := i + 1;
    ts := clock_timestamp();
    INSERT INTO t (id, at, p, h)
      SELECT i, ts, x, md5(i::text || ':' || x || ':' || (extract(epoch FROM ts) * 1000000)::bigint::text)
      FROM (SELECT repeat(md5(i::text), 3) AS x) s;
    COMMIT;
    RAISE NOTICE 'committed % %', i, extract(epoch FROM clock_timestamp());
    IF i % 5 = 0 THEN PERFORM pg_sleep(0.01); END IF;
  END LOOP;
END \$\$
EOF
}

server_gone() {
  local p
  for p in "$@"; do
    [[ -e /proc/$p ]] && return 1
  done
  return 0
}
not_running() { ! kill -0 "$1" 2>/dev/null; }
committed_count() { grep -c '^NOTICE:  committed ' "$1" 2>/dev/null || true; }
commits_reported() { (($(committed_count "$1") >= $2)); }

base="" base_tl=""
for ((i = 1; i <= cycles; i++)); do
  cycles_run=$i
  tl="$(q "SELECT timeline_id FROM pg_control_checkpoint()")"
  if (((i - 1) % base_every == 0)); then
    out="$(rs "$conf" base-backup --json --no-progress 2>"$WORK/base-$i.err")" ||
      fail "cycle $i: base-backup failed" "$(cat "$WORK/base-$i.err")"
    base="$(jq -r .backup_id <<<"$out")"
    base_tl="$tl"
    note "cycle $i: base backup $base on timeline $tl ($(jq -r .start_wal_file <<<"$out") .. $(jq -r .stop_wal_file <<<"$out"))"
  fi

  start_id="$(q "SELECT coalesce(max(id), 0) FROM t")"
  notices="$WORK/notices-$i"
  q "$(workload "$start_id")" >"$WORK/writer-$i.out" 2>"$notices" &
  writer=$!
  wait_for "the writer's first commits" 60 commits_reported "$notices" 10
  # The kill moment: 2 to 4 archive_timeouts into the writes, at a random millisecond.
  run_ms=$((timeout_s * 2000 + (RANDOM * 32768 + RANDOM) % (timeout_s * 2000 + 1)))
  sleep "$((run_ms / 1000)).$(printf '%03d' $((run_ms % 1000)))" # picks the kill moment; not a synchronisation
  kill -0 "$writer" 2>/dev/null || fail "cycle $i: the writer stopped before the kill" "$(tail -n 5 "$notices")"
  note "cycle $i: before the kill: $(q "SELECT 'writing ' || pg_walfile_name(pg_current_wal_insert_lsn()) || ', archived ' ||
    archived_count || ' files, the last ' || coalesce(last_archived_wal, '-') || ' at ' || coalesce(last_archived_time::text, '-') ||
    ', ' || failed_count || ' failures' FROM pg_stat_archiver")"

  # ---- the power goes: SIGKILL the postmaster and each of its children (each is its own
  # session leader), in one kill(1) call; then lose the tmpfs.
  pm="$(head -n 1 "$data/postmaster.pid")"
  [[ "$pm" =~ ^[0-9]+$ ]] || fail "cycle $i: no postmaster pid in $data/postmaster.pid"
  mapfile -t kids < <(pgrep -P "$pm" || true)
  kill_time="${EPOCHREALTIME}"
  kill -KILL "${kids[@]}" "$pm" 2>/dev/null || true # a child may have exited since pgrep
  injected=$((injected + 1))
  wait_for "the killed server's processes to be gone" 30 server_gone "$pm" "${kids[@]}"
  wait_for "the writer to notice" 30 not_running "$writer"
  wait "$writer" && fail "cycle $i: the writer ended normally, so the kill came too late"
  umount "$data" || fail "cycle $i: could not unmount the data directory's tmpfs" "$(fuser -vm "$data" 2>&1)"
  mount_tmpfs "$data" 512m
  [[ -z "$(ls -A "$data")" ]] || fail "cycle $i: the remounted tmpfs is not empty"

  # What was committed, from the writer's NOTICEs: the last id, and the last id whose commit
  # was reported more than archive_timeout + margin before the kill (it must come back).
  read -r last_committed required < <(awk -v k="$kill_time" -v lim="$((timeout_s + margin_s))" -v s="$start_id" '
    $1 == "NOTICE:" && $2 == "committed" { last = $3; if ($4 < k - lim) req = $3 }
    END { printf "%d %d\n", (last == "" ? s : last), (req == "" ? s : req) }' "$notices")
  ((last_committed > start_id)) || fail "cycle $i: the writer reported no commit"

  # ---- restore and start.
  t0="$EPOCHREALTIME"
  out="$(rs "$conf" restore --no-progress 2>&1)" || fail "cycle $i: ramsafe restore failed" "$out"
  t1="$EPOCHREALTIME"
  assert_contains "$out" "restored base $base + WAL up to" "cycle $i: restore used the newest base + WAL"
  report="$data/ramsafe_restore_report.json"
  lsn="$(jq -r .recovered_to_lsn "$report")"
  detected=$((detected + 1))
  pg_start_existing "$c"
  [[ "$(q "SELECT pg_is_in_recovery()")" == f ]] || fail "cycle $i: the restored server is still in recovery"
  ((wake == 0)) || q "CHECKPOINT" # the workaround without the worker (see above)
  new_tl="$(q "SELECT timeline_id FROM pg_control_checkpoint()")"
  row="$(q "SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0),
                   count(*) FILTER (WHERE h IS DISTINCT FROM $ROW_SUM),
                   coalesce(extract(epoch FROM max(at)), 0) FROM t")"
  [[ "$row" =~ ^[0-9]+\|[0-9]+\|[0-9]+\|[0-9]+\|[0-9.]+$ ]] || fail "cycle $i: unexpected check result '$row'"
  IFS='|' read -r n lo m bad newest_at <<<"$row"
  ((bad == 0)) || fail "cycle $i: $bad restored rows have the wrong checksum"
  ((n == m && (n == 0 || lo == 1))) || fail "cycle $i: the restored ids are not 1..$m without gaps" "count=$n min=$lo max=$m"
  if ((m < required)); then
    rows_lost=$((rows_lost + required - m))
    fail "cycle $i: $((required - m)) rows committed more than $((timeout_s + margin_s)) s before the kill are missing" \
      "restored 1..$m; required $required; last committed $last_committed; recovered to $lsn" "$out"
  fi
  ((m <= last_committed + 1)) || fail "cycle $i: rows never committed were restored ($m > $last_committed + 1)"
  window="$(awk -v k="$kill_time" -v a="$newest_at" 'BEGIN { printf "%.2f", k - a }')"
  windows+=("$window")
  restores_ok=$((restores_ok + 1))
  pass "$(printf 'cycle %d: base %s (timeline %s) + WAL to timeline %s, %s; killed after %d commits, restored %d of them (required %d); data-loss window %s s; restore %.1f s' \
    "$i" "$base" "$base_tl" "$new_tl" "$lsn" "$((last_committed - start_id))" "$((m - start_id))" "$((required - start_id))" "$window" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")"
done

# The archive the cycles left (several timelines, bases on some of them) is whole:
# every file decrypts and matches its checksum, no segment is missing after a base.
out="$(rs "$conf" verify --all --deep --no-progress 2>&1)" || fail "verify --deep of the store after the cycles failed" "$out"
assert_contains "$out" "WAL archive ($WORK/store/main/wal): ok" "verify checked the WAL archive"
note "$(grep 'WAL archive' <<<"$out")"
summary

#!/usr/bin/env bash
# Drill: power loss. Per cycle, a fresh cluster whose data directory is its own tmpfs
# preloads the extension (no schedule, no retention); a single writer commits rows with a
# strictly increasing id whose content is md5(id); the drill takes 1-3 backups with
# ramsafe_backup_now(), recording for each the highest committed id just before the call
# (a) and just after it returned (b); at a random moment the whole server is SIGKILLed
# and the tmpfs unmounted (the power goes), then remounted empty, `ramsafe restore` run
# and the server started. The restored table must be exactly ids 1..M with the right
# content, M must lie in [a, b] of the last completed backup (nothing at or below its
# recovery point is lost), and the restored set must be that backup.
#
#   bash test/drills/power_loss.sh [--cycles N] [--seed S]     (as root; default 5 cycles)
#
# Prints "ok - cycle i: ..." per cycle and, at the end (also after a failure), one line
#   drill power_loss: cycles=N restores_ok=N rows_lost_beyond_recovery_point=0 faults_injected=N faults_detected=N
# Needs the installed extension (cmake --install build).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"

cycles=5
seed="${RANDOM}${RANDOM}"
while (($#)); do
  case "$1" in
    --cycles) cycles="${2:-}"; shift 2 ;;
    --seed) seed="${2:-}"; shift 2 ;;
    -h | --help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "power_loss.sh: unknown argument '$1' (use --cycles N, --seed S)" >&2; exit 2 ;;
  esac
done
[[ "$cycles" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "power_loss.sh: --cycles wants 1-9999, not '$cycles'" >&2; exit 2; }
[[ "$seed" =~ ^[0-9]{1,10}$ ]] || { echo "power_loss.sh: --seed wants a number, not '$seed'" >&2; exit 2; }
RANDOM=$((seed % 32768))

ramsafe_test_init power_loss
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
require_installed_extension

# Figures for the summary line, printed at exit whatever happened.
cycles_run=0 restores_ok=0 rows_lost=0 injected=0 detected=0 summary_done=0
summary() {
  ((summary_done)) && return 0
  summary_done=1
  printf 'drill power_loss: cycles=%d restores_ok=%d rows_lost_beyond_recovery_point=%d faults_injected=%d faults_detected=%d\n' \
    "$cycles_run" "$restores_ok" "$rows_lost" "$injected" "$detected"
}
ramsafe_on_exit summary
note "power_loss: $cycles cycles, seed $seed (rerun with --seed $seed)"

ramsafe_keys
pg_mkdir "$WORK/store"

# Conditions and queries, for the current cycle's cluster $c.
maxid() { psql_as "$c" app -c "SELECT coalesce(max(id), 0) FROM t"; }
rows_reach() { local m; m="$(maxid)" && ((m >= $1)); }
# server_gone PID...: none of them exists any more. A zombie still counts: PostgreSQL's lock file
# check (kill(pid, 0)) takes a dead postmaster not yet reaped by init for a live one.
server_gone() {
  local p
  for p in "$@"; do
    [[ -e /proc/$p ]] && return 1
  done
  return 0
}
not_running() { ! kill -0 "$1" 2>/dev/null; }

# The writer: one psql running a DO block that commits one row at a time (about 2000
# a second) for at most 120 s; the drill kills the server long before that.
WORKLOAD="DO \$\$
DECLARE
  i bigint := 0;
  deadline timestamptz := clock_timestamp() + interval '120 seconds';
BEGIN
  WHILE clock_timestamp() < deadline LOOP
    i := i + 1;
    INSERT INTO t VALUES (i, md5(i::text));
    COMMIT;
    IF i % 10 = 0 THEN PERFORM pg_sleep(0.004); END IF;
  END LOOP;
END \$\$"

for ((i = 1; i <= cycles; i++)); do
  cycles_run=$i
  c="pl$i"
  data="$WORK/$c/data"
  pg_mkdir "$WORK/$c"
  mount_tmpfs "$data" 256m
  pg_init_cluster "$c"
  pg_conf "$c" "shared_preload_libraries = 'ramsafe'" \
    "ramsafe.local_dir = '$WORK/store'" \
    "${RAMSAFE_KEY_SETTINGS[@]}" \
    "ramsafe.cluster_name = '$c'" \
    "ramsafe.schedule = ''" \
    "ramsafe.local_retention = ''"
  pg_start_existing "$c"
  psql_as "$c" postgres -c "CREATE EXTENSION ramsafe" -c "CREATE DATABASE app"
  psql_as "$c" app -c "CREATE TABLE t (id bigint PRIMARY KEY, h text NOT NULL)"

  # Random choices, made up front: rows before the first backup, how many backups, rows
  # between them, rows after the last one, and a fraction of a second on top.
  first=$((50 + RANDOM % 1500))
  nbackups=$((1 + RANDOM % 3))
  after=$((RANDOM % 2000))
  jitter="0.$(printf '%03d' $((RANDOM % 1000)))"

  psql_as "$c" app -c "$WORKLOAD" >"$WORK/$c/workload.out" 2>&1 &
  writer=$!
  wait_for "$first rows committed" 60 rows_reach "$first"

  last_id="" a=0 b=0
  for ((k = 1; k <= nbackups; k++)); do
    a="$(maxid)"
    last_id="$(psql_as "$c" postgres -c "SELECT backup_id FROM ramsafe_backup_now()")"
    b="$(maxid)"
    [[ "$last_id" =~ ^[0-9]{8}T[0-9]{6}Z ]] || fail "cycle $i: backup_now gave no backup id: '$last_id'"
    ((a <= b)) || fail "cycle $i: the committed id went down ($a -> $b)"
    ((k == nbackups)) || wait_for "more rows between backups" 60 rows_reach $((b + 1 + RANDOM % 500))
  done
  ((after == 0)) || wait_for "$after rows after the last backup" 60 rows_reach $((b + after))
  sleep "$jitter" # picks the kill moment; not a synchronisation
  kill -0 "$writer" 2>/dev/null || fail "cycle $i: the writer stopped before the kill" "$(cat "$WORK/$c/workload.out")"
  before_kill="$(maxid)"

  # ---- the power goes: SIGKILL the postmaster and its children, lose the tmpfs.
  # Every child of the postmaster is its own session leader (InitPostmasterChild calls
  # setsid), so a process-group kill would reach the postmaster alone and let the others
  # exit in an orderly way: kill each one, in one kill(1) call.
  pm="$(head -n 1 "$data/postmaster.pid")"
  [[ "$pm" =~ ^[0-9]+$ ]] || fail "cycle $i: no postmaster pid in $data/postmaster.pid"
  mapfile -t kids < <(pgrep -P "$pm" || true)
  kill -KILL "${kids[@]}" "$pm" 2>/dev/null || true  # a child may have exited since pgrep; gone() checks
  injected=$((injected + 1))
  wait_for "the killed server's processes to be gone" 30 server_gone "$pm" "${kids[@]}"
  wait_for "the writer to notice" 30 not_running "$writer"
  wait "$writer" && fail "cycle $i: the writer ended normally, so the kill came too late"
  umount "$data" || fail "cycle $i: could not unmount the data directory's tmpfs" "$(fuser -vm "$data" 2>&1)"
  mount_tmpfs "$data" 256m
  [[ -z "$(ls -A "$data")" ]] || fail "cycle $i: the remounted tmpfs is not empty"

  # ---- restore and start.
  conf="$(ramsafe_config "$c" "ramsafe.cluster_name = '$c'")"
  out="$(rs "$conf" restore 2>&1)" || fail "cycle $i: ramsafe restore failed" "$out"
  restored="$(sed -n 's/^restored backup \([^ ]*\) .*/\1/p' <<<"$out")"
  assert_eq "$last_id" "$restored" "cycle $i: restore chose the last completed backup ($out)"
  detected=$((detected + 1))
  pg_start_existing "$c"
  row="$(psql_as "$c" app -c \
    "SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0),
            count(*) FILTER (WHERE h IS DISTINCT FROM md5(id::text)),
            count(*) FILTER (WHERE id <= $a) FROM t")"
  [[ "$row" =~ ^[0-9]+\|[0-9]+\|[0-9]+\|[0-9]+\|[0-9]+$ ]] || fail "cycle $i: unexpected check result '$row'"
  IFS='|' read -r n lo m bad kept_le_a <<<"$row"
  lost=$((a - kept_le_a))
  ((lost > 0)) && rows_lost=$((rows_lost + lost))
  ((lost == 0)) || fail "cycle $i: $lost rows at or below the recovery point ($a) are missing" \
    "restored: count=$n min=$lo max=$m; backup $last_id: a=$a b=$b"
  ((bad == 0)) || fail "cycle $i: $bad restored rows have the wrong content"
  ((n == m && (n == 0 || lo == 1))) || fail "cycle $i: the restored ids are not 1..$m without gaps" \
    "count=$n min=$lo max=$m"
  ((a <= m && m <= b)) || fail "cycle $i: the restored state ($m rows) is not the backup's: expected $a <= M <= $b"
  restores_ok=$((restores_ok + 1))
  pass "cycle $i: backup $last_id (of $nbackups): M=$m in [a=$a, b=$b]; killed at $before_kill rows; lost after the backup: $((before_kill - m)) (the data-loss window); lost beyond the recovery point: 0"

  pg_stop_cluster "$c"
  # A process of the stopped server may still be exiting (seen under load): wait for it.
  wait_for "the tmpfs of $c to be unmounted (fuser: $(fuser -vm "$data" 2>&1 | tr '\n' ' '))" 30 umount "$data"
  rm -rf "${WORK:?}/store/$c"
done

summary

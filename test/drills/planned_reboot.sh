#!/usr/bin/env bash
# Drill: planned reboots (issue 15). One cluster whose data directory is its own tmpfs.
# Phase 1, without WAL archiving, --cycles cycles of writes, each ending in one of:
#   - a planned reboot: `pg_ctl stop -m fast`, then what the systemd drop-in runs after
#     the stop (`ramsafe snapshot`), the tmpfs unmounted and mounted again empty (the
#     reboot), `ramsafe restore --if-empty`, start. Checks: the restore used that offline
#     snapshot, without recovery, and every committed row is back (zero loss);
#   - every --crash-every-th cycle, a power cut (SIGKILL of the server, the tmpfs lost),
#     alternately after a `ramsafe backup` taken mid-cycle (more rows are written after it)
#     and with no backup since the last snapshot. Checks: the restore used the newest set
#     (never an older offline snapshot over a newer logical backup), and got back exactly
#     what that set holds: the loss is bounded by the last backup, as without snapshots.
# Phase 2, with WAL archived through ramsafe (archive_timeout S), --wal-cycles cycles of:
# stop, snapshot, start (the same data directory), a writer committing rows with their
# time for two archive_timeouts plus 1 to S seconds, a power cut, restore. Checks: the restore used
# the snapshot plus the WAL archived after it (recovery), the rows are exactly 1..M, and
# the newest restored row was committed at most S + margin before the cut.
#
#   bash test/drills/planned_reboot.sh [--cycles N] [--crash-every K] [--wal-cycles W]
#                                      [--archive-timeout S] [--margin S]
#     (as root; defaults: 6 cycles, a crash every 3rd, 2 WAL cycles, archive_timeout 5 s,
#      margin 5 s; --wal-cycles 0 skips phase 2, which needs the installed extension or
#      RAMSAFE_TEST_LIBRARY)
#
# Prints "ok - ..." per cycle and, at the end (also after a failure), one line
#   drill planned_reboot: cycles=N restores_ok=N rows_lost_beyond_recovery_point=0 faults_injected=N faults_detected=N planned_rows_lost=0 loss_window_s=MAX
# (faults: power cuts; detected: the restore after one chose the newest data).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"

cycles=6 crash_every=3 wal_cycles=2 timeout_s=5 margin_s=5
while (($#)); do
  case "$1" in
    --cycles) cycles="${2:-}"; shift 2 ;;
    --crash-every) crash_every="${2:-}"; shift 2 ;;
    --wal-cycles) wal_cycles="${2:-}"; shift 2 ;;
    --archive-timeout) timeout_s="${2:-}"; shift 2 ;;
    --margin) margin_s="${2:-}"; shift 2 ;;
    -h | --help) sed -n '2,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "planned_reboot.sh: unknown argument '$1' (use --cycles N, --crash-every K, --wal-cycles W, --archive-timeout S, --margin S)" >&2; exit 2 ;;
  esac
done
[[ "$cycles" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "planned_reboot.sh: --cycles wants 1-9999, not '$cycles'" >&2; exit 2; }
[[ "$crash_every" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "planned_reboot.sh: --crash-every wants 1-9999, not '$crash_every'" >&2; exit 2; }
[[ "$wal_cycles" =~ ^[0-9]{1,3}$ ]] || { echo "planned_reboot.sh: --wal-cycles wants 0-999, not '$wal_cycles'" >&2; exit 2; }
[[ "$timeout_s" =~ ^[1-9][0-9]{0,2}$ ]] || { echo "planned_reboot.sh: --archive-timeout wants 1-999 seconds, not '$timeout_s'" >&2; exit 2; }
[[ "$margin_s" =~ ^[0-9]{1,3}$ ]] || { echo "planned_reboot.sh: --margin wants 0-999 seconds, not '$margin_s'" >&2; exit 2; }

ramsafe_test_init planned_reboot
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

cycles_run=0 restores_ok=0 rows_lost=0 planned_lost=0 injected=0 detected=0 summary_done=0
worst_window=-
summary() {
  ((summary_done)) && return 0
  summary_done=1
  printf 'drill planned_reboot: cycles=%d restores_ok=%d rows_lost_beyond_recovery_point=%d faults_injected=%d faults_detected=%d planned_rows_lost=%d loss_window_s=%s\n' \
    "$cycles_run" "$restores_ok" "$rows_lost" "$injected" "$detected" "$planned_lost" "$worst_window"
}
ramsafe_on_exit summary
note "planned_reboot: $cycles cycles (a power cut every $crash_every), $wal_cycles WAL cycles (archive_timeout $timeout_s s, margin $margin_s s)"

ramsafe_keys
pg_mkdir "$WORK/store"
c=p
data="$(pg_datadir "$c")"
report="$data/ramsafe_restore_report.json"
pg_mkdir "$WORK/$c"
mount_tmpfs "$data" 256m
pg_init_cluster "$c"
pg_start_existing "$c"
conf="$(ramsafe_config "$c")"
q() { psql_as "$c" app -c "$1"; }
psql_as "$c" postgres -c "CREATE DATABASE app"
q "CREATE TABLE t (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(), h text NOT NULL)"

maxid() { q "SELECT coalesce(max(id), 0) FROM t"; }
write_rows() { # write_rows N: N more rows, each in its own statement's transaction
  local m
  m="$(maxid)"
  q "INSERT INTO t (id, h) SELECT g, md5(g::text) FROM generate_series($((m + 1)), $((m + $1))) g"
}
# check_rows M WHAT: the table is exactly ids 1..M with intact checksums.
check_rows() {
  local got
  got="$(q "SELECT count(*) || ' ' || coalesce(max(id), 0) || ' ' || count(*) FILTER (WHERE h <> md5(id::text)) FROM t")"
  [[ "$got" == "$1 $1 0" ]] || fail "$2: expected rows 1..$1 intact, got count/max/bad = $got"
}
server_gone() {
  local p
  for p in "$@"; do [[ -e /proc/$p ]] && return 1; done
  return 0
}
# The reboot: the tmpfs goes and comes back empty.
reboot_tmpfs() {
  umount "$data" || fail "could not unmount the data directory's tmpfs" "$(fuser -vm "$data" 2>&1)"
  mount_tmpfs "$data" 256m
  [[ -z "$(ls -A "$data")" ]] || fail "the remounted tmpfs is not empty"
}
power_cut() {
  local pm kids
  pm="$(head -n 1 "$data/postmaster.pid")"
  [[ "$pm" =~ ^[0-9]+$ ]] || fail "no postmaster pid in $data/postmaster.pid"
  mapfile -t kids < <(pgrep -P "$pm" || true)
  kill -KILL "${kids[@]}" "$pm" 2>/dev/null || true
  injected=$((injected + 1))
  wait_for "the killed server's processes to be gone" 30 server_gone "$pm" "${kids[@]}"
  reboot_tmpfs
}
# planned_stop: the systemd unit's stop: pg_ctl stop -m fast, then ExecStopPost's snapshot.
# Echoes the snapshot's id.
planned_stop() {
  local out
  pg_stop_cluster "$c" fast
  out="$(rs "$conf" snapshot --json --no-progress)" || fail "ramsafe snapshot after a clean stop failed" "$out"
  jq -r .backup_id <<<"$out"
}
# boot: ExecStartPre's restore, then the start.
boot() {
  local out
  out="$(rs "$conf" restore --if-empty --no-progress 2>&1)" || fail "ramsafe restore --if-empty failed" "$out"
  pg_start_existing "$c"
  restores_ok=$((restores_ok + 1))
}
field() { jq -r ".$1" "$report"; }

# -------------------------------------------------------------------- phase 1: no WAL
newest_id="" newest_rows=0 newest_kind=""
for ((i = 1; i <= cycles; i++)); do
  cycles_run=$((cycles_run + 1))
  write_rows 1000
  if ((i % crash_every == 0)); then
    flavour=$(((i / crash_every) % 2))
    if ((flavour == 1)); then
      a="$(maxid)"
      out="$(rs "$conf" backup --json --no-progress)" || fail "cycle $i: ramsafe backup failed" "$out"
      b="$(maxid)"
      newest_id="$(jq -r .backup_id <<<"$out")" newest_kind=logical newest_rows=""
      write_rows 500 # not in any backup: lost by the power cut, as without snapshots
    fi
    before="$(maxid)"
    power_cut
    boot
    [[ "$(field backup_id)" == "$newest_id" ]] ||
      fail "cycle $i: after the power cut the restore used $(field backup_id) ($(field kind)), not the newest set $newest_id ($newest_kind)" "$(field reason)"
    m="$(maxid)"
    if [[ -n "$newest_rows" ]]; then
      ((m == newest_rows)) || { rows_lost=$((rows_lost + newest_rows - m)); fail "cycle $i: the snapshot held $newest_rows rows, the restore has $m"; }
    else
      ((m >= a && m <= b)) || { rows_lost=$((rows_lost + 1)); fail "cycle $i: the backup was taken with between $a and $b rows; the restore has $m"; }
    fi
    check_rows "$m" "cycle $i"
    detected=$((detected + 1))
    newest_rows="$m"
    pass "cycle $i: power cut at $before rows; restored the newest set $newest_id ($newest_kind) with $m rows; lost $((before - m)) written after it; lost beyond it: 0"
  else
    m="$(maxid)"
    newest_id="$(planned_stop)" newest_kind=offline newest_rows="$m"
    reboot_tmpfs
    boot
    [[ "$(field backup_id)" == "$newest_id" && "$(field kind)" == offline ]] ||
      fail "cycle $i: the restore used $(field backup_id) ($(field kind)), not the snapshot $newest_id" "$(field reason)"
    [[ "$(field wal_replayed)" == false && ! -e "$data/recovery.signal" ]] || fail "cycle $i: the snapshot was restored with recovery"
    got="$(maxid)"
    ((got == m)) || { planned_lost=$((planned_lost + m - got)); rows_lost=$((rows_lost + m - got)); fail "cycle $i: $m rows committed before the stop, $got after the reboot"; }
    check_rows "$m" "cycle $i"
    pass "cycle $i: planned reboot: snapshot $newest_id restored without recovery in $(field seconds) s; all $m rows back"
  fi
done

# -------------------------------------------------------------------- phase 2: with WAL
((wal_cycles > 0)) || exit 0
ramsafe_test_library # sets lib
pg_stop_cluster "$c" fast
ramsafe_wal_conf "$c" "archive_timeout = $timeout_s"
pg_start_existing "$c"

# The writer: one DO block committing one row at a time (about 500 a second) for at most
# 120 s; the drill cuts the power long before that.
writer() {
  psql_as "$c" app -c "DO \$\$
DECLARE
  i bigint := $1;
  deadline timestamptz := clock_timestamp() + interval '120 seconds';
BEGIN
  WHILE clock_timestamp() < deadline LOOP
    i := i + 1;
    INSERT INTO t (id, h) VALUES (i, md5(i::text));
    COMMIT;
    IF i % 5 = 0 THEN PERFORM pg_sleep(0.01); END IF;
  END LOOP;
END \$\$" >"$WORK/writer.out" 2>&1
}
# written_for M0 S: the rows after id M0 span at least S seconds.
written_for() {
  local span
  span="$(q "SELECT coalesce(extract(epoch FROM max(at) - min(at)), 0)::int FROM t WHERE id > $1")"
  ((span >= $2))
}
not_running() { ! kill -0 "$1" 2>/dev/null; }

for ((k = 1; k <= wal_cycles; k++)); do
  cycles_run=$((cycles_run + 1))
  write_rows 1000
  snapshot_id="$(planned_stop)"
  pg_start_existing "$c"
  m0="$(maxid)"
  writer "$m0" &
  wpid=$!
  # The cut comes 2 archive_timeouts + 1-S seconds into the writes (a different moment of
  # the archive_timeout cycle each time), found by the rows' own times, not by a sleep.
  span=$((2 * timeout_s + 1 + RANDOM % timeout_s))
  wait_for "the writer to commit for $span s" $((4 * timeout_s + 60)) written_for "$m0" "$span"
  kill -0 "$wpid" 2>/dev/null || fail "WAL cycle $k: the writer stopped early" "$(cat "$WORK/writer.out")"
  before="$(maxid)"
  cut_at="$(date +%s.%N)"
  power_cut
  wait_for "the writer to notice" 30 not_running "$wpid"
  wait "$wpid" && fail "WAL cycle $k: the writer ended normally, so the cut came too late"
  boot
  [[ "$(field backup_id)" == "$snapshot_id" && "$(field kind)" == offline && "$(field wal_replayed)" == true ]] ||
    fail "WAL cycle $k: the restore used $(field backup_id) ($(field kind), WAL replayed: $(field wal_replayed)), not snapshot $snapshot_id + WAL" "$(field reason)"
  m="$(maxid)"
  ((m > m0)) || { rows_lost=$((rows_lost + 1)); fail "WAL cycle $k: nothing written after the snapshot came back ($m rows, $m0 at the snapshot)"; }
  check_rows "$m" "WAL cycle $k"
  newest_at="$(q "SELECT extract(epoch FROM max(at)) FROM t")"
  window="$(awk -v a="$cut_at" -v b="$newest_at" 'BEGIN { printf "%.1f", a - b }')"
  awk -v w="$window" -v lim="$((timeout_s + margin_s))" 'BEGIN { exit !(w <= lim) }' ||
    { rows_lost=$((rows_lost + 1)); fail "WAL cycle $k: the newest restored row was committed $window s before the power cut (archive_timeout $timeout_s s + margin $margin_s s)"; }
  [[ "$worst_window" == - ]] || window="$(awk -v a="$worst_window" -v b="$window" 'BEGIN { print (a > b) ? a : b }')"
  worst_window="$window"
  injected=$((injected)) detected=$((detected + 1))
  pass "WAL cycle $k: snapshot $snapshot_id + WAL up to $(field recovered_to_lsn): $m of $before rows; the newest restored row $window s before the power cut"
done

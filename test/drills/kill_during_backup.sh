#!/usr/bin/env bash
# Drill: SIGKILL at a random point of a backup. One cluster preloads the extension (no
# schedule, no retention, ramsafe.max_rate so that a backup of its ~12 MB database takes
# a few seconds); a first backup is taken. Per cycle the drill starts a backup with
# ramsafe_backup_now(false), waits until it has read a random share of the data, and
# SIGKILLs, in turn, the ramsafe worker, the worker's pg_dump child, or the whole server
# (the postmaster's process group). Then: the killed backup is not listed (not by
# `ramsafe list`, not by ramsafe_backups(), every row of which is usable), the earlier
# sets are all still there and `ramsafe verify --all` passes, the server is back (started
# again when it was killed), the next ramsafe_backup_now() publishes a set and removes any
# leftover .partial, and `ramsafe restore` of that newest set into a fresh data directory
# gives back exactly the data.
# Cycles 4 and 5 of every 5 kill during an upload to Drive (the emulator, enabled at the
# first such cycle; ramsafe.drive_retention = 'last=1', chunks slowed so an upload takes a
# few seconds): once the upload has sent a random share of the set, further uploads are
# refused (so the state the kill left can be inspected) and the worker, or the whole
# server, is SIGKILLed. Then: Drive does not list the set, `ramsafe verify --store drive
# --all` passes, and once Drive accepts again the worker finishes the upload with every
# file stored once, and `ramsafe restore --store drive` gives back exactly the data.
#
#   bash test/drills/kill_during_backup.sh [--cycles N] [--seed S]   (as root; default 5)
#
# Prints "ok - cycle i: ..." per cycle and, at the end (also after a failure), one line
#   drill kill_during_backup: cycles=N faults_injected=N faults_detected=N restores_ok=N
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
    -h | --help) sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "kill_during_backup.sh: unknown argument '$1' (use --cycles N, --seed S)" >&2; exit 2 ;;
  esac
done
[[ "$cycles" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "kill_during_backup.sh: --cycles wants 1-9999, not '$cycles'" >&2; exit 2; }
[[ "$seed" =~ ^[0-9]{1,10}$ ]] || { echo "kill_during_backup.sh: --seed wants a number, not '$seed'" >&2; exit 2; }
RANDOM=$((seed % 32768))

ramsafe_test_init kill_during_backup
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
require_installed_extension
# shellcheck source-path=SCRIPTDIR source=../lib/drive.sh
. "$HERE/../lib/drive.sh"

cycles_run=0 restores_ok=0 injected=0 detected=0 missed=0 summary_done=0
summary() {
  ((summary_done)) && return 0
  summary_done=1
  printf 'drill kill_during_backup: cycles=%d faults_injected=%d faults_detected=%d restores_ok=%d kills_too_late=%d\n' \
    "$cycles_run" "$injected" "$detected" "$restores_ok" "$missed"
}
ramsafe_on_exit summary
note "kill_during_backup: $cycles cycles, seed $seed (rerun with --seed $seed)"

ROWS="${ROWS:-300000}"
MAX_RATE="${MAX_RATE:-4}" # MB/s: ~12 MB of dump data -> about 3 s per backup

ramsafe_keys
pg_mkdir "$WORK/store"
store="$WORK/store/main"
pg_init_cluster k
pg_conf k "shared_preload_libraries = 'ramsafe'" \
  "ramsafe.local_dir = '$WORK/store'" \
  "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = ''" \
  "ramsafe.local_retention = ''" \
  "ramsafe.max_rate = $MAX_RATE"
pg_start_existing k
data="$(pg_datadir k)"
q() { psql_as k postgres -c "$1"; }
status() { q "SELECT $1 FROM ramsafe_status()"; }
q "CREATE EXTENSION ramsafe"
q "CREATE DATABASE app"
psql_as k app -c "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, $ROWS) g"
FINGERPRINT_SQL="SELECT count(*) || ' ' || md5(string_agg(h, ',' ORDER BY id)) FROM t"
fingerprint="$(psql_as k app -c "$FINGERPRINT_SQL")"

# Conditions for wait_for.
status_is() { [[ "$(status "$1" 2>/dev/null)" == t ]]; }
worker_up() { local p; p="$(status worker_pid 2>/dev/null)" && [[ "$p" =~ ^[0-9]+$ ]]; }
worker_replaced() { local p; p="$(status worker_pid 2>/dev/null)" && [[ "$p" =~ ^[0-9]+$ && "$p" != "$1" ]]; }
has_dump_child() { pgrep -P "$1" -x pg_dump >/dev/null; }
dump_or_done() { has_dump_child "$1" || status_is "NOT running"; }
# gone PID...: none of them exists any more. A zombie still counts: PostgreSQL's lock file
# check (kill(pid, 0)) takes a dead postmaster not yet reaped by init for a live one.
gone() {
  local p
  for p in "$@"; do
    [[ -e /proc/$p ]] && return 1
  done
  return 0
}
# Published sets (directory names), and .partial directories, of the store.
sets() { find "$store" -mindepth 1 -maxdepth 1 -type d -name '2*' ! -name '*.partial' -printf '%f\n' | sort; }
partials() { find "$store" -mindepth 1 -maxdepth 1 -name '*.partial' -printf '%f\n' | sort; }

first="$(q "SELECT backup_id FROM ramsafe_backup_now()")"
[[ -d "$store/$first" ]] || fail "the first backup $first is not in $store"
plain="$(q "SELECT plaintext_bytes FROM ramsafe_backups() WHERE backup_id = '$first' AND store = 'local'")"
((plain > 4000000)) || fail "the database is too small for the drill: $plain bytes of dump data"
pass "setup: $ROWS rows, first backup $first ($plain bytes of dump data, max_rate $MAX_RATE MB/s)"

conf="$(ramsafe_config k)"
copy_conf="$(ramsafe_config k "ramsafe.data_directory = '$WORK/copy/data'")"
pg_mkdir "$WORK/copy" "$WORK/copy/data"
victims=(worker pg_dump server upload:worker upload:server)

# crash_worker: SIGKILL the worker ($wpid); the postmaster restarts it (after a crash cycle).
crash_worker() {
  kill -KILL "$wpid"
  injected=$((injected + 1))
  wait_for "the postmaster to restart the worker" 60 worker_replaced "$wpid"
}
# crash_server: SIGKILL the postmaster and its children, then start the server again.
# The children are each their own session leader (setsid), so kill each of them with it,
# in one kill(1) call: a crash, not an orderly exit.
crash_server() {
  local pm kids
  pm="$(head -n 1 "$data/postmaster.pid")"
  [[ "$pm" =~ ^[0-9]+$ ]] || fail "cycle $i: no postmaster pid in $data/postmaster.pid"
  mapfile -t kids < <(pgrep -P "$pm" || true)
  [[ " ${kids[*]} " == *" $wpid "* ]] || fail "cycle $i: the worker $wpid is not a child of the postmaster $pm"
  kill -KILL "${kids[@]}" "$pm" 2>/dev/null || true # a child may have exited since pgrep; gone() checks
  injected=$((injected + 1))
  wait_for "the killed server's processes to be gone" 30 gone "$pm" "${kids[@]}"
  pg_start_existing k
  wait_for "the worker after the restart" 60 worker_up
}

# ------------------------------------------------------------------ kills during an upload
drive_on=0 chunk_kb=256
drive_conf="" drive_copy_conf=""
enable_drive_once() {
  ((drive_on)) && return 0
  drive_start
  drive_service_account sa
  drive_shared_drive sd "$DRIVE_DIR/sa.json" fileOrganizer # Content manager, as docs/drive.md says
  local line
  mapfile -t drive_lines < <(drive_settings "$DRIVE_DIR/sa.json" sd)
  for line in "${drive_lines[@]}" "ramsafe.drive_retention = 'last=1'"; do
    q "ALTER SYSTEM SET ${line%% =*} = ${line#* = }"
  done
  q "SELECT pg_reload_conf()" >/dev/null
  drive_conf="$(ramsafe_config k "${drive_lines[@]}")"
  drive_copy_conf="$(ramsafe_config k "ramsafe.data_directory = '$WORK/copy/data'" "${drive_lines[@]}")"
  local newest
  newest="$(sets | tail -n 1)"
  wait_for "the newest set $newest on Drive" 90 drive_lists "$newest"
  drive_on=1
}
drive_lists() { rs "$drive_conf" list --store drive 2>/dev/null | grep -q "$1"; }
# A reload with a changed setting makes the worker try its upload queue again at once.
retry_uploads() {
  chunk_kb=$((chunk_kb == 256 ? 512 : 256))
  q "ALTER SYSTEM SET ramsafe.drive_chunk_kb = $chunk_kb"
  q "SELECT pg_reload_conf()" >/dev/null
}

# upload_cycle I VICTIM: SIGKILL VICTIM (worker or server) during the upload of a new set.
upload_cycle() {
  local i="$1" victim="$2" id total threshold sent wpid dup
  enable_drive_once
  drive_admin POST /faults '{"rules": [{"match": {"kind": "upload_chunk"}, "action": "delay", "ms": 300}]}' >/dev/null
  wpid="$(status worker_pid)"
  id="$(q "SELECT backup_id FROM ramsafe_backup_now()")"
  wait_for "the upload of $id to start" 60 status_is "uploading_backup_id = '$id' AND upload_bytes_total > 0"
  total="$(status upload_bytes_total)"
  threshold=$((total * (10 + RANDOM % 61) / 100))
  wait_for "the upload to send $threshold of $total bytes" 60 \
    status_is "uploading_backup_id = '$id' AND upload_bytes_done > $threshold"
  sent="$(status upload_bytes_done)"
  # From here Drive refuses uploads, so what the kill left stays as it was.
  drive_admin POST /faults '{"rules": [{"match": {"kind": "upload_init"}, "action": "status", "status": 503},
    {"match": {"kind": "upload_chunk"}, "action": "status", "status": 503}]}' >/dev/null
  if [[ "$victim" == worker ]]; then crash_worker; else crash_server; fi
  local counted=1
  if drive_lists "$id"; then
    # On a loaded machine the upload can finish between the poll and the refusal.
    counted=0 injected=$((injected - 1)) missed=$((missed + 1))
    note "cycle $i: the upload of $id finished before Drive refused uploads; the kill is not counted"
  fi
  out="$(rs "$drive_conf" verify --store drive --all 2>&1)" || fail "cycle $i: verify of Drive failed after the kill" "$out"
  ((counted)) && detected=$((detected + 1))

  drive_admin DELETE /faults >/dev/null
  retry_uploads
  wait_for "the worker to finish the upload of $id" 120 drive_lists "$id"
  dup="$(drive_set_files "$id" | cut -f1 | sort | uniq -d)"
  assert_eq "" "$dup" "cycle $i: no file of $id is stored twice on Drive"
  assert_eq "$(($(json "d.files.length" <"$store/$id/manifest.json") + 2))" "$(drive_set_files "$id" | wc -l)" \
    "cycle $i: Drive holds each file of $id, its manifest and its signature"

  pg_wipe_data copy
  out="$(rs "$drive_copy_conf" restore --store drive 2>&1)" || fail "cycle $i: restore from Drive failed" "$out"
  assert_contains "$out" "restored backup $id " "cycle $i: restore from Drive chose the finished set"
  pg_start_existing copy
  assert_eq "$fingerprint" "$(psql_as copy app -c "$FINGERPRINT_SQL")" "cycle $i: the data restored from Drive"
  pg_stop_cluster copy
  restores_ok=$((restores_ok + 1))
  pass "cycle $i: SIGKILL of the $victim during the upload of $id ($sent of $total bytes sent): not listed, Drive verified; upload finished, every file once, restored from Drive"
}

for ((i = 1; i <= cycles; i++)); do
  cycles_run=$i
  victim="${victims[$(((i - 1) % ${#victims[@]}))]}"
  if [[ "$victim" == upload:* ]]; then
    upload_cycle "$i" "${victim#upload:}"
    continue
  fi
  mapfile -t before < <(sets)
  # A random point between 10% and 85% of the backup's reading.
  threshold=$((plain * (10 + RANDOM % 61) / 100))
  wpid="$(status worker_pid)"
  failed_before="$(status backups_failed)"

  outcome="$(q "SELECT outcome FROM ramsafe_backup_now(false)")"
  assert_eq requested "$outcome" "cycle $i: a backup was requested"
  wait_for "the backup to read $threshold bytes" 60 \
    status_is "running AND running_backup_id IS NOT NULL AND bytes_read > $threshold"
  running_id="$(status running_backup_id)"
  phase="$(status "phase || ' ' || coalesce(database, '-') || ' ' || bytes_read")"
  mapfile -t dumps < <(pgrep -P "$wpid" -x pg_dump || true)

  case "$victim" in
    worker) crash_worker ;;
    pg_dump)
      # On a loaded machine the last dump may be over by now: then there is nothing to kill,
      # the backup publishes, and the cycle is not counted (below).
      wait_for "the worker's pg_dump, or the backup's end" 60 dump_or_done "$wpid"
      dpid="$(pgrep -P "$wpid" -x pg_dump | head -n 1 || true)"
      [[ -z "$dpid" ]] || kill -KILL "$dpid" 2>/dev/null || true
      injected=$((injected + 1))
      wait_for "the backup to end" 60 status_is "NOT running"
      if [[ ! -d "$store/$running_id" ]]; then
        assert_eq t "$(status "backups_failed > $failed_before")" "cycle $i: the worker counts the backup as failed"
        assert_contains "$(status last_error)" "pg_dump" "cycle $i: the worker's last error names pg_dump"
        assert_contains "$(cat "$(pg_logfile k)")" "WARNING:  ramsafe: backup failed" "cycle $i: the log has the failure"
      fi
      assert_eq "$wpid" "$(status worker_pid)" "cycle $i: the worker survived its pg_dump's death"
      ;;
    server) crash_server ;;
  esac
  # Whoever was killed, the worker's pg_dump must not outlive the backup.
  wait_for "the killed backup's pg_dump to be gone" 30 gone "${dumps[@]}"
  wait_for "the worker to be idle" 60 status_is "NOT running"

  # The killed backup left nothing that is listed or used, and the earlier sets are intact.
  mapfile -t after < <(sets)
  counted=1
  if [[ -d "$store/$running_id" ]]; then
    # On a loaded machine the backup can be published between the poll and the kill.
    counted=0 injected=$((injected - 1)) missed=$((missed + 1))
    before+=("$running_id")
    note "cycle $i: backup $running_id was published before the SIGKILL landed; the kill is not counted"
  fi
  assert_eq "${before[*]}" "${after[*]}" "cycle $i: the published sets are the same as before the kill"
  ((counted)) && assert_not_contains "$(rs "$conf" list)" "$running_id" "cycle $i: ramsafe list does not show the killed backup"
  assert_eq "${#before[@]} 0 $((1 - counted))" "$(q "SELECT count(*) || ' ' || count(*) FILTER (WHERE NOT usable) || ' ' ||
      count(*) FILTER (WHERE backup_id = '$running_id') FROM ramsafe_backups() WHERE store = 'local'")" \
    "cycle $i: ramsafe_backups() lists every earlier local set, all usable, and not the killed one"
  out="$(rs "$conf" verify --all 2>&1)" || fail "cycle $i: ramsafe verify --all failed after the kill" "$out"
  leftover="$(partials | tr '\n' ' ')"
  ((counted)) && detected=$((detected + 1))

  # The next backup succeeds and clears any leftover .partial.
  row="$(q "SELECT backup_id || ' ' || outcome FROM ramsafe_backup_now()")"
  next="${row%% *}"
  assert_eq published "${row#* }" "cycle $i: the next backup is published ($row)"
  [[ -d "$store/$next" ]] || fail "cycle $i: the next backup $next is not in $store"
  assert_eq "" "$(partials)" "cycle $i: no .partial is left after the next backup"

  # The newest set restores into a fresh data directory with exactly the data.
  pg_wipe_data copy
  out="$(rs "$copy_conf" restore 2>&1)" || fail "cycle $i: restore of the newest set failed" "$out"
  assert_contains "$out" "restored backup $next " "cycle $i: restore chose the newest set"
  pg_start_existing copy
  assert_eq "$fingerprint" "$(psql_as copy app -c "$FINGERPRINT_SQL")" "cycle $i: the restored data"
  assert_eq t "$(psql_as copy postgres -c "SELECT count(*) = 1 FROM pg_extension WHERE extname = 'ramsafe'")" \
    "cycle $i: the restored cluster has the extension"
  pg_stop_cluster copy
  restores_ok=$((restores_ok + 1))
  pass "cycle $i: SIGKILL of the $victim during backup $running_id (at $phase): not listed, ${#before[@]} earlier sets verified${leftover:+, leftover ${leftover% } cleared}; next backup $next restored"
done

summary

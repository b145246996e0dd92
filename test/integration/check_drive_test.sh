#!/usr/bin/env bash
# `ramsafe check` and `ramsafe metrics` with a local store and Google Drive (the emulator):
#   - Drive holds everything: OK, drive lag 0
#   - a new local set not uploaded yet: the lag grows from its finish time, WARNING past
#     --warn-drive-lag; an upload brings it back to OK
#   - Drive answers every request with 503: a WARNING beside a good local store, CRITICAL
#     when Drive is the only store; either way within --timeout (Drive gets what is left)
#   - Drive that does not answer at all (a 30 s delay): WARNING at --timeout, not UNKNOWN
#   - metrics say which store answers; promtool accepts them
# No extension needed (the server is not asked). Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init check_drive
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/drive.sh
. "$HERE/../lib/drive.sh"

command -v promtool >/dev/null || fail "promtool not found: run scripts/setup --test (Debian's prometheus)"

check() {  # check CONF ARGS...: stdout in OUT, exit code in RC
  local conf="$1"
  shift
  RC=0
  OUT="$(rs "$conf" check --no-server "$@" 2>"$WORK/check.err")" || RC=$?
}
expect_state() {  # CODE STATE DESC
  if [[ "$RC" != "$1" || "$OUT" != "RAMSAFE $2 - "* ]]; then
    fail "$3: expected exit $1 and RAMSAFE $2" "exit $RC" "$OUT" "$(cat "$WORK/check.err")"
  fi
}
perf() {  # perf LABEL: the value (and UOM, thresholds) of one performance datum of OUT
  printf '%s\n' "$OUT" | head -n 1 | sed 's/.* | //' | tr ' ' '\n' | sed -n "s/^$1=//p"
}
metrics() {
  rs "$1" metrics --no-server "${@:2}" >"$WORK/metrics.prom" 2>"$WORK/metrics.err" ||
    fail "ramsafe metrics failed" "$(cat "$WORK/metrics.err")"
  local lint
  lint="$(promtool check metrics <"$WORK/metrics.prom" 2>&1)" || fail "promtool check metrics failed" "$lint"
  assert_eq "" "$lint" "promtool check metrics has no complaint"
}
metric() {
  NAME="$1" awk '$1 == ENVIRON["NAME"] { print $2; found = 1 } END { exit !found }' "$WORK/metrics.prom"
}

drive_start
drive_shared_drive backups-sd
drive_service_account sa
ramsafe_keys
pg_start_cluster x
mapfile -t drive_lines < <(drive_settings "$DRIVE_DIR/sa.json" backups-sd)
conf="$(ramsafe_config x "${drive_lines[@]}")"
drive_only="$(ramsafe_config x "${drive_lines[@]}" "ramsafe.local_dir = ''")"

rs "$conf" backup >/dev/null 2>&1 || fail "backup failed"
rs "$conf" upload --no-progress >/dev/null 2>&1 || fail "upload failed"
first="$(basename "$(newest_set "$WORK/store/main")")"
check "$conf"
expect_state 0 OK "Drive holds everything"
assert_contains "$OUT" "RAMSAFE OK - newest backup $first (logical)" "the newest backup"
assert_contains "$OUT" ", 2 stores" "both stores answered"
assert_contains "$OUT" "[OK] backup age: newest usable backup $first (logical, local, drive)" "both hold it"
assert_contains "$OUT" "[OK] drive lag: Drive holds every set and WAL file it should" "nothing to upload"
assert_eq "0s;10800;86400;0" "$(perf drive_lag)" "perfdata: no lag, default thresholds"
assert_eq "1;;;0" "$(perf drive_sets)" "perfdata: one set on Drive"
metrics "$conf"
assert_eq 1 "$(metric 'ramsafe_store_up{store="drive"}')" "metrics: Drive answers"
assert_eq 0 "$(metric ramsafe_drive_lag_seconds)" "metrics: no lag"
assert_eq 0 "$(metric ramsafe_drive_pending_sets)" "metrics: nothing pending"
pass "Drive holds every set: OK, lag 0"

# A set Drive lacks: the lag counts from its finish time.
rs "$conf" backup >/dev/null 2>&1 || fail "second backup failed"
second="$(basename "$(newest_set "$WORK/store/main")")"
check_is() { check "$conf" "${@:2}"; [[ "$RC" == "$1" ]]; }
wait_for "Drive's lag to pass 2 s" 30 check_is 1 --warn-drive-lag 2s --crit-drive-lag 1h
check "$conf" --warn-drive-lag 2s --crit-drive-lag 1h
expect_state 1 WARNING "a set Drive lacks"
assert_contains "$OUT" "RAMSAFE WARNING - drive lag: Drive lacks 1 set and 0 WAL files, the oldest finished" \
  "the summary says what Drive lacks"
[[ "$(perf drive_lag)" =~ ^[0-9]+s\;2\;3600\;0$ ]] || fail "perfdata drive_lag: $(perf drive_lag)"
assert_eq "1;;;0" "$(perf drive_pending)" "perfdata: one set pending"
metrics "$conf"
assert_eq 1 "$(metric ramsafe_drive_pending_sets)" "metrics: one set pending"
lag="$(metric ramsafe_drive_lag_seconds)"
awk -v l="$lag" 'BEGIN { exit !(l >= 2 && l < 600) }' || fail "metrics: drive lag $lag"
rs "$conf" upload --no-progress >/dev/null 2>&1 || fail "upload failed"
check "$conf" --warn-drive-lag 2s --crit-drive-lag 1h
expect_state 0 OK "uploaded"
pass "a set Drive lacks: the lag grows from its finish time, WARNING past --warn-drive-lag, OK once uploaded"

# Drive refuses everything (503, retried with backoff): cut at --timeout.
drive_admin POST /faults '{"rules": [{"match": {"tokenEndpoint": false}, "action": "status", "status": 503}]}' >/dev/null
start=$SECONDS
check "$conf" --timeout 5
expect_state 1 WARNING "Drive refusing beside a good local store"
assert_contains "$OUT" "[WARNING] store drive: cannot list drive folder backups-sd/main:" "names the store"
((SECONDS - start < 9)) || fail "check took $((SECONDS - start)) s with --timeout 5"
metrics "$conf" --timeout 5
assert_eq 0 "$(metric 'ramsafe_store_up{store="drive"}')" "metrics: Drive does not answer"
assert_eq 1 "$(metric 'ramsafe_store_up{store="local"}')" "metrics: the local store does"
check "$drive_only" --timeout 5
expect_state 2 CRITICAL "Drive refusing and no local store"
pass "Drive refusing: WARNING beside the local store, CRITICAL alone, within --timeout"

# Drive that does not answer at all: the listing is cancelled when the time is up.
drive_admin POST /faults '{"rules": [{"match": {"tokenEndpoint": false}, "action": "delay", "ms": 30000}]}' >/dev/null
start=$SECONDS
check "$conf" --timeout 4
expect_state 1 WARNING "Drive silent"
assert_contains "$OUT" "[WARNING] store drive: cannot list drive folder backups-sd/main: no answer in the time --timeout leaves" \
  "says Drive did not answer in time"
((SECONDS - start < 8)) || fail "check took $((SECONDS - start)) s with --timeout 4"
drive_admin POST /faults '{"rules": []}' >/dev/null
pass "Drive silent: a WARNING at --timeout, not a hung plugin"

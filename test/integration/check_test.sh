#!/usr/bin/env bash
# `ramsafe check` and `ramsafe metrics` against a real server with the extension, on a
# data directory on its own small tmpfs, and a real local store. Each state comes from a
# real condition:
#   - CRITICAL: no backup yet; a misspelt ramsafe.* name; a schedule the server rejects (and
#     it does); the tmpfs 95% full
#   - WARNING: an unusable set beside a good one; the newest backup older than --warn-age;
#     the tmpfs 85% full; the worker's last backup failed; ramsafe_status() missing in the
#     database asked
#   - UNKNOWN: a bad argument, --help, a configuration or store this user may not read, a
#     configuration that never finishes reading (a FIFO: the hard --timeout)
#   - OK: a fresh backup, with the server up and after it stopped
# The performance data and the metrics are parsed back; the metrics pass `promtool check
# metrics`. Needs the installed extension (cmake --install build) and promtool. Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init check
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

require_installed_extension
command -v promtool >/dev/null || fail "promtool not found: run scripts/setup --test (Debian's prometheus)"

# check CONF ARGS...: stdout of `ramsafe check` in OUT, its exit code in RC.
check() {
  local conf="$1"
  shift
  RC=0
  OUT="$(rs "$conf" check "$@" 2>"$WORK/check.err")" || RC=$?
}
expect_state() {  # CODE STATE DESC
  if [[ "$RC" != "$1" || "$OUT" != "RAMSAFE $2 - "* ]]; then
    fail "$3: expected exit $1 and RAMSAFE $2" "exit $RC" "$OUT" "$(cat "$WORK/check.err")"
  fi
}
# perf LABEL: the value of one performance datum of the first line of OUT, parsed as a
# monitoring system would ('label'=value[UOM];warn;crit;min;max).
perf() {
  printf '%s\n' "$OUT" | head -n 1 | node -e '
const line = require("fs").readFileSync(0, "utf8").trim();
const bar = line.indexOf(" | ");
if (bar < 0) process.exit(2);
const want = process.argv[1];
for (const item of line.slice(bar + 3).split(" ")) {
  const m = /^([^=\x27]+)=(-?[0-9.]+)([a-zA-Z%]*)((;[^;]*){0,4})$/.exec(item);
  if (!m) { console.error("malformed performance data: " + item); process.exit(3); }
  if (m[1] === want) { console.log(m[2] + m[3] + m[4]); process.exit(0); }
}
process.exit(1);' "$1"
}
# metric NAME [LABELS]: the value of one sample of $WORK/metrics.prom.
metric() {
  local name="$1"
  [[ -n "${2:-}" ]] && name+="{$2}"
  NAME="$name" awk '$1 == ENVIRON["NAME"] { print $2; found = 1 } END { exit !found }' "$WORK/metrics.prom"
}
metrics_lint() {
  rs "$1" metrics >"$WORK/metrics.prom" 2>"$WORK/metrics.err" || fail "ramsafe metrics failed" "$(cat "$WORK/metrics.err")"
  local lint
  lint="$(promtool check metrics <"$WORK/metrics.prom" 2>&1)" || fail "promtool check metrics failed" "$lint"
  assert_eq "" "$lint" "promtool check metrics has no complaint"
}

ramsafe_keys
pg_mkdir "$WORK/store"
mount_tmpfs "$WORK/a/data" 128m
pg_init_cluster a
pg_conf a "shared_preload_libraries = 'ramsafe'" \
  "ramsafe.local_dir = '$WORK/store'" \
  "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = ''" \
  "min_wal_size = 32MB" "max_wal_size = 48MB"
conf="$(ramsafe_config a)"
store="$WORK/store/main"

# ------------------------------------------------------------------ no backup, no server
check "$conf"
expect_state 2 CRITICAL "no backup yet"
assert_contains "$OUT" "backup age: no usable backup in local $store" "the summary says why"
assert_contains "$OUT" "[OK] server: postgres@$(pg_sockdir a):$(pg_port a)/postgres does not answer; judged from the stores alone" \
  "no server is no problem"
assert_eq "0;;;0" "$(perf local_sets)" "perfdata: no usable sets"
assert_eq "0;;0;0" "$(perf config_problems)" "perfdata: no configuration problem, critical above 0"
pass "no backup and no server: CRITICAL, judged from the store alone"

# ------------------------------------------------------------------ a fresh backup, server up
pg_start_existing a
psql_as a postgres -c "CREATE EXTENSION ramsafe"
rs "$conf" backup >/dev/null 2>"$WORK/backup.err" || fail "backup failed" "$(cat "$WORK/backup.err")"
first="$(basename "$(newest_set "$store")")"
check "$conf"
expect_state 0 OK "a fresh backup"
assert_contains "$OUT" "RAMSAFE OK - newest backup $first (logical)" "the summary names the newest backup"
assert_contains "$OUT" ", 1 store, server up |" "the summary says the server is up"
pid="$(psql_as a postgres -c "SELECT worker_pid FROM ramsafe_status()")"
assert_contains "$OUT" "[OK] server: postgres@$(pg_sockdir a):$(pg_port a)/postgres: worker pid $pid, schedule off" \
  "ramsafe_status() was read"
age="$(perf backup_age)"
[[ "$age" =~ ^([0-9]+)s\;5400\;10800\;0$ ]] || fail "perfdata backup_age: $age"
((BASH_REMATCH[1] < 120)) || fail "the backup is fresh: $age"
assert_eq "1;;;0" "$(perf local_sets)" "perfdata: one usable set"
[[ "$(perf ram_used)" =~ ^[0-9]+\.[0-9]%\;80\.0\;90\.0\;0\;100$ ]] || fail "perfdata ram_used: $(perf ram_used)"
[[ "$(perf local_free)" =~ ^[0-9]+B\;[0-9]+:\;[0-9]+:\;0\;[0-9]+$ ]] || fail "perfdata local_free: $(perf local_free)"
RC=0
json="$(rs "$conf" check --json)" || RC=$?
assert_eq 0 "$RC" "--json keeps the exit code"
assert_eq "OK $first true 1" "$(printf '%s' "$json" | node -e '
const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(d.state, d.facts.stores[0].newest.id, d.facts.server.status_available, d.facts.stores[0].usable_sets);')" \
  "--json: state, newest set, the server's status"
pass "a fresh backup with the server up: OK, ramsafe_status() read, perfdata parses back"

metrics_lint "$conf"
assert_eq 1 "$(metric ramsafe_server_up)" "metrics: server up"
assert_eq 1 "$(metric ramsafe_worker_up)" "metrics: worker up"
assert_eq 1 "$(metric ramsafe_store_usable_sets 'store="local"')" "metrics: one usable set"
finished="$(node -e 'console.log((Date.parse(JSON.parse(require("fs").readFileSync(process.argv[1])).finished_at) / 1000).toFixed(3))' \
  "$store/$first/manifest.json")"
assert_eq "$finished" "$(metric ramsafe_newest_backup_timestamp_seconds 'store="local",kind="logical"')" \
  "metrics: the newest set's finish time, from its manifest"
pass "metrics with the server up pass promtool and match the store"

# ------------------------------------------------------------------ WARNING
# An unusable set beside a good one.
rs "$conf" backup >/dev/null 2>"$WORK/backup.err" || fail "second backup failed" "$(cat "$WORK/backup.err")"
cp "$store/$first/manifest.json" "$WORK/manifest.saved"
printf 'not a manifest' >"$store/$first/manifest.json"
check "$conf"
expect_state 1 WARNING "an unusable set"
assert_contains "$OUT" "[WARNING] store local: local $store: 1 usable set; 1 unusable (the newest: $first:" "names the damaged set"
assert_eq "1;0;;0" "$(perf local_unusable)" "perfdata: one unusable set, warning above 0"
cp "$WORK/manifest.saved" "$store/$first/manifest.json"
pass "an unusable set beside a good one: WARNING"

# The newest backup older than --warn-age (but not --crit-age).
check_is() { check "$conf" "${@:2}"; [[ "$RC" == "$1" ]]; }
wait_for "the newest backup to pass 2 s" 20 check_is 1 --warn-age 2s --crit-age 1h
check "$conf" --warn-age 2s --crit-age 1h  # wait_for ran it in a subshell
expect_state 1 WARNING "age above --warn-age"
assert_contains "$OUT" "RAMSAFE WARNING - backup age: newest usable backup" "the summary names the age"
[[ "$(perf backup_age)" =~ ^[0-9]+s\;2\;3600\;0$ ]] || fail "perfdata backup_age with given thresholds: $(perf backup_age)"
check "$conf" --warn-age 1s --crit-age 2s
expect_state 2 CRITICAL "age above --crit-age"
pass "the newest backup older than --warn-age: WARNING; than --crit-age: CRITICAL"

# The data directory's tmpfs fills up (ramsafe.ram_warn_percent, 80, then 90).
fill_to() {  # PERCENT: a filler file brings the tmpfs to about that use
  local size used want
  read -r size used < <(df -B1 --output=size,used "$WORK/a/data" | tail -n 1)
  rm -f "$WORK/a/data/filler"
  used="$(df -B1 --output=used "$WORK/a/data" | tail -n 1)"
  want=$((size * $1 / 100 - used))
  fallocate -l "$want" "$WORK/a/data/filler"
}
fill_to 85
check "$conf"
expect_state 1 WARNING "the tmpfs 85% full"
assert_contains "$OUT" "[WARNING] RAM: the filesystem of $(pg_datadir a) is 8" "RAM names the directory"
fill_to 95
check "$conf"
expect_state 2 CRITICAL "the tmpfs 95% full"
[[ "$(perf ram_used)" =~ ^9[0-9]\.[0-9]%\;80\.0\;90\.0 ]] || fail "perfdata ram_used: $(perf ram_used)"
rm -f "$WORK/a/data/filler"
check "$conf"
expect_state 0 OK "filler removed"
pass "the data directory's tmpfs 85% full: WARNING; 95%: CRITICAL"

# The worker's last backup failed (it cannot read the recipients file).
chmod 000 "$WORK/keys/recipients.txt"
psql_as a postgres -c "SELECT ramsafe_backup_now()" >/dev/null 2>&1 && fail "the worker's backup should fail"
chmod 0600 "$WORK/keys/recipients.txt"
check "$conf"
expect_state 1 WARNING "the worker's last backup failed"
assert_contains "$OUT" "[WARNING] last backup: the worker's last backup failed" "says the worker failed"
psql_as a postgres -c "SELECT ramsafe_backup_now()" >/dev/null
check "$conf"
expect_state 0 OK "a later backup succeeded"
pass "the worker's last backup failed: WARNING, until one succeeds"

# ramsafe_status() does not exist in the database asked.
check "$conf" --dbname template1
expect_state 1 WARNING "no extension in template1"
assert_contains "$OUT" "cannot read ramsafe_status() on postgres@$(pg_sockdir a):$(pg_port a)/template1" "names the database"
assert_contains "$OUT" "CREATE EXTENSION ramsafe in that database" "says what to do"
pass "ramsafe_status() missing in the database asked: WARNING"

# ------------------------------------------------------------------ CRITICAL: configuration
typo="$(ramsafe_config a "ramsafe.compresion_level = 5")"
check "$typo"
expect_state 2 CRITICAL "a misspelt setting"
typo_line="$(grep -n "^ramsafe.compresion_level" "$typo" | cut -d: -f1)"
assert_contains "$OUT" "configuration: unrecognized setting ramsafe.compresion_level at $typo:$typo_line (did you mean ramsafe.compression_level?)" \
  "names the setting, the line and the likely intent"
assert_eq "1;;0;0" "$(perf config_problems)" "perfdata: one configuration problem"
metrics_lint "$typo"
assert_eq 1 "$(metric ramsafe_config_problems)" "metrics: one configuration problem"
pass "an unknown ramsafe.* name in the configuration: CRITICAL (restore only warns)"

bad_schedule="$(ramsafe_config a "ramsafe.schedule = '61 * * * *'")"
check "$bad_schedule"
expect_state 2 CRITICAL "a rejected schedule"
assert_contains "$OUT" "invalid value for ramsafe.schedule: \"61 * * * *\"" "names the schedule"
assert_contains "$OUT" "the server rejects it and runs another schedule" "says what the server does"
# And the server does reject it.
RC=0
err="$(psql_as a postgres -c "ALTER SYSTEM SET ramsafe.schedule = '61 * * * *'" 2>&1)" || RC=$?
assert_ne 0 "$RC" "the server rejects the schedule"
assert_contains "$err" "invalid value for ramsafe.schedule: \"61 * * * *\"" "the server rejects it with the same words"
metrics_lint "$bad_schedule"
assert_eq 1 "$(metric ramsafe_config_rejected_schedules)" "metrics: one rejected schedule"
pass "a schedule the server rejects: CRITICAL"

# ------------------------------------------------------------------ UNKNOWN
RC=0
OUT="$(rs "$conf" check --warn-age soon 2>/dev/null)" || RC=$?
expect_state 3 UNKNOWN "a bad argument"
assert_contains "$OUT" "invalid value for --warn-age: \"soon\"" "names the argument on stdout"
RC=0
OUT="$(rs "$conf" check --warn-age 2h --crit-age 1h 2>/dev/null)" || RC=$?
expect_state 3 UNKNOWN "warning above critical"
RC=0
rs "$conf" check --help >/dev/null || RC=$?
assert_eq 3 "$RC" "--help exits UNKNOWN, as the guidelines say"
RC=0
OUT="$(rs "$conf" check --version)" || RC=$?
assert_eq 3 "$RC" "--version exits UNKNOWN, as the guidelines say"
assert_contains "$OUT" "ramsafe " "--version names the version"

# A user that may not read the configuration, or the store.
pub="$(mktemp -d /dev/shm/ramsafe-check-pub-XXXX)"
ramsafe_on_exit "rm -rf '$pub'"
chmod 0755 "$pub"
install -m 0755 "$RAMSAFE_BIN" "$pub/ramsafe"
RC=0
OUT="$(runuser -u nobody -- "$pub/ramsafe" check --config "$conf" --no-server 2>/dev/null)" || RC=$?
expect_state 3 UNKNOWN "an unreadable configuration"
assert_contains "$OUT" "Permission denied (run check as the server's OS user)" "says why and what to do"
install -m 0644 "$conf" "$pub/readable.conf"
# The verify keys are public: readable, so that the store is what check cannot read.
install -m 0644 "$WORK/keys/verify_keys.txt" "$pub/verify_keys.txt"
echo "ramsafe.verify_keys_file = '$pub/verify_keys.txt'" >>"$pub/readable.conf"
RC=0
OUT="$(runuser -u nobody -- "$pub/ramsafe" check --config "$pub/readable.conf" --no-server 2>/dev/null)" || RC=$?
expect_state 3 UNKNOWN "an unreadable store"
assert_contains "$OUT" "[UNKNOWN] store local: cannot list local $store: cannot read $WORK/store: permission denied" "the store's line says why"
pass "a bad argument, --help, a configuration or store check may not read: UNKNOWN"

# A configuration that never finishes reading (a hung filesystem): the hard --timeout.
mkfifo "$WORK/hang.conf"
chown postgres:postgres "$WORK/hang.conf"
hang="$(ramsafe_config a "include '$WORK/hang.conf'")"
start=$SECONDS
check "$hang" --timeout 2
expect_state 3 UNKNOWN "a hung read"
assert_eq "RAMSAFE UNKNOWN - timed out after 2 s while reading the configuration" "$OUT" "says where it hung"
((SECONDS - start < 10)) || fail "--timeout 2 took $((SECONDS - start)) s"
RC=0
rs "$hang" metrics --timeout 2 >"$WORK/metrics.out" 2>"$WORK/metrics.err" || RC=$?
assert_eq 1 "$RC" "metrics: a hung read fails"
assert_eq "" "$(cat "$WORK/metrics.out")" "metrics: nothing half-written on stdout"
assert_eq "ramsafe metrics: timed out after 2 s while reading the configuration" "$(cat "$WORK/metrics.err")" \
  "metrics: says where it hung"
pass "a read that hangs: UNKNOWN at --timeout, saying where"

# ------------------------------------------------------------------ server down
pg_stop_cluster a
check "$conf"
expect_state 0 OK "server down, stores fine"
assert_contains "$OUT" ", 1 store, server down |" "the summary says the server is down"
assert_contains "$OUT" "does not answer; judged from the stores alone" "judged from the stores"
metrics_lint "$conf"
assert_eq 0 "$(metric ramsafe_server_up)" "metrics: server down"
assert_eq 3 "$(metric ramsafe_store_usable_sets 'store="local"')" "metrics: the store still answers"
metric ramsafe_worker_up >/dev/null && fail "metrics: no worker figure without a server"
pass "the server stopped: OK from the stores, metrics say server down"

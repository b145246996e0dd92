#!/usr/bin/env bash
# docs/monitoring.md works as written, taken from the document itself:
#   - the alert rules pass `promtool check rules`, and `promtool test rules` shows the main
#     alerts firing (and not before their time) on made-up series
#   - the postgres_exporter query file, run by Debian's prometheus-postgres-exporter against a
#     real server with the extension, exports ramsafe_status() as ramsafe_status_* metrics
#     with the values the server gives, and `promtool check metrics` accepts them
#   - the textfile writer script puts `ramsafe metrics` where Debian's prometheus-node-exporter
#     reads it, and node_exporter serves it without a scrape error
# Needs the installed extension (cmake --install build), promtool and both exporters
# (scripts/setup). Exporters listen on loopback only and are stopped at exit. Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init monitoring
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

require_installed_extension
for tool in promtool prometheus-postgres-exporter prometheus-node-exporter; do
  command -v "$tool" >/dev/null || fail "$tool not found: run scripts/setup --test"
done

# doc_block NAME: the fenced block after "<!-- test: NAME -->" in docs/monitoring.md.
doc_block() {
  NAME="$1" awk '$0 == "<!-- test: " ENVIRON["NAME"] " -->" { found = 1; next }
    found == 1 && /^```/ { found = 2; next }
    found == 2 && /^```/ { exit }
    found == 2 { print }' "$RAMSAFE_REPO_DIR/docs/monitoring.md"
}
mkdir -p "$WORK/prom"
doc_block rules.yaml >"$WORK/prom/rules.yaml"
doc_block queries.yaml >"$WORK/prom/queries.yaml"
doc_block textfile-writer >"$WORK/prom/writer.sh"
for f in rules.yaml queries.yaml writer.sh; do
  [[ -s "$WORK/prom/$f" ]] || fail "docs/monitoring.md has no block marked $f"
done

# ------------------------------------------------------------------ alert rules
out="$(promtool check rules "$WORK/prom/rules.yaml" 2>&1)" || fail "promtool check rules failed" "$out"
assert_contains "$out" "SUCCESS" "promtool accepts the rules"
cat >"$WORK/prom/tests.yaml" <<'EOF'
rule_files:
  - rules.yaml
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # The newest backup finished at 0 and none since; metrics written every minute until
      # 10 min, then no more; a configuration problem from 11 min; WAL waiting from 11 min.
      - series: 'ramsafe_newest_usable_backup_timestamp_seconds{instance="pi"}'
        values: '0x300'
      - series: 'ramsafe_collected_timestamp_seconds{instance="pi"}'
        values: '0+60x10 600x290'
      - series: 'ramsafe_config_problems{instance="pi"}'
        values: '0x10 1x290'
      - series: 'ramsafe_config_readable{instance="pi"}'
        values: '1x300'
      - series: 'ramsafe_status_wal_archive_lag_seconds{instance="pi"}'
        values: '0x10 600 1200 1800'
    alert_rule_test:
      - eval_time: 80m
        alertname: RamsafeBackupLate
      - eval_time: 100m
        alertname: RamsafeBackupLate
        exp_alerts:
          - exp_labels: {severity: warning, instance: pi}
            exp_annotations:
              summary: "The newest usable ramsafe backup on pi is 1h 40m 0s old"
      - eval_time: 170m
        alertname: RamsafeBackupTooOld
      - eval_time: 190m
        alertname: RamsafeBackupTooOld
        exp_alerts:
          - exp_labels: {severity: critical, instance: pi}
            exp_annotations:
              summary: "The newest usable ramsafe backup on pi is 3h 10m 0s old"
      - eval_time: 20m
        alertname: RamsafeMetricsStale
      - eval_time: 30m
        alertname: RamsafeMetricsStale
        exp_alerts:
          - exp_labels: {severity: warning, instance: pi}
            exp_annotations:
              summary: "ramsafe metrics on pi are 20m 0s old: is the ramsafe-metrics timer running?"
      - eval_time: 5m
        alertname: RamsafeConfigurationProblem
      - eval_time: 15m
        alertname: RamsafeConfigurationProblem
        exp_alerts:
          - exp_labels: {severity: critical, instance: pi}
            exp_annotations:
              summary: "ramsafe's configuration on pi has a problem: run ramsafe check"
      - eval_time: 11m
        alertname: RamsafeWalArchiveLag
      - eval_time: 12m
        alertname: RamsafeWalArchiveLag
        exp_alerts:
          - exp_labels: {severity: warning, instance: pi}
            exp_annotations:
              summary: "WAL on pi has waited 20m 0s to be archived"
EOF
out="$(cd "$WORK/prom" && promtool test rules tests.yaml 2>&1)" || fail "promtool test rules failed" "$out"
pass "the alert rules pass promtool check rules, and the main alerts fire on time in promtool test rules"

# ------------------------------------------------------------------ a server with the extension
ramsafe_keys
pg_mkdir "$WORK/store"
pg_init_cluster a
pg_conf a "shared_preload_libraries = 'ramsafe'" \
  "ramsafe.local_dir = '$WORK/store'" \
  "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = ''"
pg_start_existing a
q() { psql_as a postgres -c "$1"; }
q "CREATE EXTENSION ramsafe"
q "SELECT ramsafe_backup_now()" >/dev/null
conf="$(ramsafe_config a)"

# ------------------------------------------------------------------ postgres_exporter
# scrape PORT FILE: GET /metrics from a local exporter into FILE.
scrape() { curl -sS --max-time 10 "http://127.0.0.1:$1/metrics" >"$2"; }
has_line() { scrape "$1" "$WORK/scrape.txt" && grep -q "$2" "$WORK/scrape.txt"; }
pg_port_exp="$(_pick_port postgres_exporter)"
DATA_SOURCE_NAME="host=$(pg_sockdir a) port=$(pg_port a) user=postgres dbname=postgres sslmode=disable" \
  prometheus-postgres-exporter --extend.query-path="$WORK/prom/queries.yaml" \
  --web.listen-address="127.0.0.1:$pg_port_exp" --disable-default-metrics --disable-settings-metrics \
  --no-collector.database --no-collector.bgwriter 2>"$WORK/postgres_exporter.log" &
exporter_pid=$!
ramsafe_on_exit "kill $exporter_pid 2>/dev/null; wait $exporter_pid 2>/dev/null || true"
wait_for "postgres_exporter to serve ramsafe_status" 30 has_line "$pg_port_exp" '^ramsafe_status_worker_up'
exported() {  # exported NAME: the value of the one ramsafe_status_NAME sample
  awk -v n="ramsafe_status_$1" '$1 ~ "^" n "([{]|$)" { print $2; found = 1 } END { exit !found }' "$WORK/scrape.txt"
}
assert_eq 1 "$(exported worker_up)" "postgres_exporter: the worker is up"
assert_eq 0 "$(exported backup_running)" "postgres_exporter: no backup running"
want="$(q "SELECT extract(epoch FROM last_finished_at) FROM ramsafe_status()")"
got="$(exported last_backup_timestamp_seconds)"
awk -v a="$want" -v b="$got" 'BEGIN { d = a - b; exit !(d < 0.001 && d > -0.001) }' ||
  fail "postgres_exporter: last_backup_timestamp_seconds $got, the server says $want"
assert_eq 0 "$(exported backups_failed_total)" "postgres_exporter: no failed backup"
assert_eq 0 "$(exported wal_archive_lag_seconds)" "postgres_exporter: nothing waits to be archived"
assert_contains "$(grep '^# TYPE ramsafe_status_backups_failed_total' "$WORK/scrape.txt")" "counter" \
  "postgres_exporter: counters are counters"
assert_not_contains "$(cat "$WORK/postgres_exporter.log")" "level=error" "postgres_exporter logged no error"
grep -E '^(# (HELP|TYPE) )?ramsafe_status_' "$WORK/scrape.txt" >"$WORK/prom/ramsafe_status.prom"
out="$(promtool check metrics <"$WORK/prom/ramsafe_status.prom" 2>&1)" || fail "promtool check metrics (postgres_exporter) failed" "$out"
pass "postgres_exporter runs the documented query file: ramsafe_status() as metrics, values as the server says"

# ------------------------------------------------------------------ node_exporter textfile
textfile="$WORK/textfile"
mkdir -p "$textfile"
# The documented script, with this build's binary and the test's configuration.
sed -e "s|/usr/local/bin/ramsafe metrics|$RAMSAFE_TEST_BIN metrics --config $conf|" "$WORK/prom/writer.sh" >"$WORK/prom/writer.test.sh"
grep -q "$RAMSAFE_TEST_BIN metrics --config" "$WORK/prom/writer.test.sh" || fail "the writer script does not run ramsafe metrics"
sh "$WORK/prom/writer.test.sh" "$textfile" || fail "the documented textfile writer failed"
assert_eq "ramsafe.prom" "$(ls -A "$textfile")" "the writer leaves only ramsafe.prom"
assert_eq 644 "$(stat -c %a "$textfile/ramsafe.prom")" "node_exporter may read the file"
first_inode="$(stat -c %i "$textfile/ramsafe.prom")"
sh "$WORK/prom/writer.test.sh" "$textfile" || fail "the second run of the writer failed"
assert_ne "$first_inode" "$(stat -c %i "$textfile/ramsafe.prom")" "a new file replaces the old one by rename"
# A failing ramsafe leaves the old file alone.
sed -e "s|/usr/local/bin/ramsafe metrics|/bin/false|" "$WORK/prom/writer.sh" >"$WORK/prom/writer.fail.sh"
before="$(cat "$textfile/ramsafe.prom")"
sh "$WORK/prom/writer.fail.sh" "$textfile" 2>/dev/null && fail "the writer should fail when ramsafe does"
assert_eq "$before" "$(cat "$textfile/ramsafe.prom")" "a failed run keeps the old file"
assert_eq "ramsafe.prom" "$(ls -A "$textfile")" "a failed run leaves no temporary file"

node_port="$(_pick_port node_exporter)"
prometheus-node-exporter --collector.disable-defaults --collector.textfile \
  --collector.textfile.directory="$textfile" --web.listen-address="127.0.0.1:$node_port" \
  2>"$WORK/node_exporter.log" &
node_pid=$!
ramsafe_on_exit "kill $node_pid 2>/dev/null; wait $node_pid 2>/dev/null || true"
wait_for "node_exporter to serve the textfile" 30 has_line "$node_port" '^ramsafe_info'
assert_contains "$(cat "$WORK/scrape.txt")" "node_textfile_scrape_error 0" "node_exporter read the file without error"
assert_contains "$(grep '^ramsafe_store_usable_sets' "$WORK/scrape.txt")" 'store="local"} 1' \
  "node_exporter serves the store's sets"
assert_contains "$(grep '^ramsafe_server_up' "$WORK/scrape.txt")" "ramsafe_server_up 1" "and the server's state"
pass "the documented textfile writer replaces ramsafe.prom atomically, and node_exporter serves it"

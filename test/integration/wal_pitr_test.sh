#!/usr/bin/env bash
# Point-in-time restore is exact (issue 7; docs/wal.md "--target-time") on tmpfs: after a
# physical base, a writer commits 55 rows one transaction at a time, 50 ms apart, and
# reports for each the clock just before its INSERT and just after its COMMIT returned.
# For three target times, each halfway between one commit's return and the next row's
# INSERT, `ramsafe restore --target-time` must give exactly the rows committed up to that
# commit: the same count and the same checksum over every column as the original table
# had for them. (recovery_target_time compares commit record times, which lie between
# those two clocks, and includes a commit at exactly the target.)
# Needs the installed extension (cmake --install build), or RAMSAFE_TEST_LIBRARY. Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init wal_pitr
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

ramsafe_test_library # sets lib

ramsafe_keys
pg_mkdir "$WORK/store"
pg_init_cluster w
ramsafe_wal_conf w "archive_timeout = 0"
pg_start_existing w
conf="$(ramsafe_config w)"
q() { psql_as w postgres -c "$1"; }
archived_up_to() { [[ "$(q "SELECT coalesce(last_archived_wal, '') >= '$1' FROM pg_stat_archiver")" == t ]]; }
checksum_sql() { echo "SELECT count(*) || ' ' || coalesce(md5(string_agg(id || ':' || payload || ':' || extract(epoch FROM at), ',' ORDER BY id)), '-') FROM t WHERE id <= $1"; }

q "CREATE TABLE t (id int PRIMARY KEY, at timestamptz NOT NULL, payload text NOT NULL)"
base="$(rs "$conf" base-backup --json --no-progress | jq -r .backup_id)"
[[ "$base" =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || fail "base-backup gave no backup id: '$base'"

q "DO \$\$
DECLARE
  before timestamptz;
BEGIN
  FOR i IN 1..55 LOOP
    before := clock_timestamp();
    INSERT INTO t VALUES (i, before, md5(i::text));
    COMMIT;
    RAISE NOTICE 'commit % % %', i, extract(epoch FROM before), extract(epoch FROM clock_timestamp());
    PERFORM pg_sleep(0.05);
  END LOOP;
END \$\$" 2>"$WORK/commits"
assert_eq 55 "$(grep -c '^NOTICE:  commit ' "$WORK/commits")" "the writer reported every commit"

# Three commits to stop after, spread over the run.
ks=($((3 + RANDOM % 10)) $((20 + RANDOM % 10)) $((40 + RANDOM % 10)))
declare -A target expected
for k in "${ks[@]}"; do
  # Halfway between commit k's return and row k+1's INSERT, in milliseconds (the precision
  # --target-time is passed to PostgreSQL with).
  read -r after_k before_next < <(awk -v k="$k" '$3 == k { a = $5 } $3 == k + 1 { b = $4 } END { print a, b }' "$WORK/commits")
  ms="$(awk -v a="$after_k" -v b="$before_next" 'BEGIN { printf "%.0f", (a + b) / 2 * 1000 - 0.5 }')"
  awk -v a="$after_k" -v b="$before_next" -v m="$ms" 'BEGIN { exit !(a * 1000 < m && m < b * 1000 && b - a > 0.02) }' ||
    fail "no room for a target between commit $k ($after_k) and the next insert ($before_next)"
  target[$k]="$(date -u -d "@$((ms / 1000))" '+%Y-%m-%d %H:%M:%S').$(printf '%03d' $((ms % 1000)))+00"
  expected[$k]="$(q "$(checksum_sql "$k")")"
  assert_eq "$k" "${expected[$k]%% *}" "rows 1..$k are in the original table"
done
seg="$(q "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")"
q "SELECT pg_switch_wal()" >/dev/null
wait_for "segment $seg to be archived" 150 archived_up_to "$seg"
pg_wipe_data w

for k in "${ks[@]}"; do
  out="$(rs "$conf" restore --no-progress --target-time "${target[$k]}" 2>&1)" ||
    fail "restore --target-time '${target[$k]}' failed" "$out"
  assert_contains "$out" "restored base $base + WAL up to" "restore to ${target[$k]} used the base"
  # Not appended to the restored configuration: the check must not archive a new timeline,
  # which a later restore from the same base would follow (recovery_target_timeline = latest).
  pg_conf w "archive_mode = off"
  pg_start_existing w
  assert_eq "${expected[$k]}" "$(q "$(checksum_sql 100)")" "restored to ${target[$k]}: exactly rows 1..$k"
  note "target ${target[$k]}: rows 1..$k, recovered to $(jq -r .recovered_to_time "$(pg_datadir w)/ramsafe_restore_report.json")"
  pg_wipe_data w
done
pass "three --target-time restores between commits give exactly the rows committed by then (count and checksum)"

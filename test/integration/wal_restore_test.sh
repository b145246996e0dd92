#!/usr/bin/env bash
# Physical base backup + archived WAL restore (issue 7, slice 2; docs/wal.md) on tmpfs:
#   - `ramsafe base-backup` refuses while WAL is not archived through ramsafe, naming the
#     settings; with archiving on it publishes a "physical" set (list shows the kind,
#     verify checks it) once its last WAL segment is in the archive
#   - two batches of rows with commit timestamps, segments switched and archived, then a
#     writer running while the postmaster and all its children are SIGKILLed and the data
#     directory wiped: `ramsafe restore` picks base + WAL, the server starts, batches 1 and 2
#     are there exactly (count and checksum), the writer's rows are an unbroken prefix of
#     what it committed; the data-loss window is measured
#   - --target-time between the batches: exactly batch 1
#   - --target-time before any base backup: a clear error, exit 3
#   - the WAL archive emptied: restore falls back to the logical set, loudly
#   - a recovery_end_command in the base's postgresql.auto.conf does not run during the
#     restore (the private postmaster neutralises every command setting)
# Needs the installed extension (cmake --install build), or RAMSAFE_TEST_LIBRARY. Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init wal_restore
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

ramsafe_test_library  # sets lib

ramsafe_keys
pg_mkdir "$WORK/store"
pg_init_cluster w
pg_conf w "shared_preload_libraries = '$lib'" \
  "ramsafe.local_dir = '$WORK/store'" \
  "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = ''"
pg_start_existing w
conf="$(ramsafe_config w)"
data="$(pg_datadir w)"
q() { psql_as w postgres -c "$1"; }
archived_up_to() { [[ "$(q "SELECT coalesce(last_archived_wal, '') >= '$1' FROM pg_stat_archiver")" == t ]]; }

# ------------------------------------------------------------------ refused without archiving
assert_fails_with 2 rs "$conf" base-backup
assert_contains "$ASSERT_OUTPUT" "archive_mode = on, archive_library = 'ramsafe'" "the refusal names the settings"
assert_contains "$ASSERT_OUTPUT" "it has archive_mode = off" "the refusal shows the current value"
[[ -z "$(find "$WORK/store" -mindepth 2 -maxdepth 2 -name '2*')" ]] || fail "a set was written although refused"
pass "base-backup without WAL archiving through ramsafe is refused, naming the settings"

pg_stop_cluster w
pg_conf w "archive_mode = on" "archive_library = '$lib'" "archive_timeout = 5"
pg_start_existing w
q "CREATE TABLE t (id int PRIMARY KEY, batch int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(), payload text NOT NULL)"
rs "$conf" backup --no-progress >/dev/null || fail "logical backup failed"
logical_set="$(basename "$(newest_set "$WORK/store/main")")"

# ------------------------------------------------------------------ base backup
# A command in the base's own postgresql.auto.conf that would run as the restore's private
# postmaster ends recovery (issue 14, item 4: it runs none of them).
pg_mkdir "$WORK/markers"
q "ALTER SYSTEM SET recovery_end_command = 'touch $WORK/markers/recovery_end_command'"
t0="${EPOCHREALTIME/./}"
out="$(rs "$conf" base-backup --json)" || fail "base-backup failed" "$out"
t1="${EPOCHREALTIME/./}"
base_set="$(jq -r .backup_id <<<"$out")"
stop_wal="$(jq -r .stop_wal_file <<<"$out")"
setdir="$WORK/store/main/$base_set"
assert_file_exists "$setdir/base.tar.zst.age"
assert_eq physical "$(jq -r .kind "$setdir/manifest.json")" "the manifest says physical"
assert_eq "$(jq -r .start_lsn <<<"$out")" "$(jq -r .physical.start_lsn "$setdir/manifest.json")" "start LSN recorded"
assert_file_exists "$WORK/store/main/wal/00000001/$stop_wal.zst.age" "the base's last WAL segment is archived"
age -d -i "$WORK/keys/identity.txt" "$setdir/base.tar.zst.age" | zstd -d -q | tar -t >"$WORK/base.list" ||
  fail "age -d | zstd -d | tar -t of the base failed"
grep -qx 'PG_VERSION' "$WORK/base.list" || fail "the base tar lacks PG_VERSION" "$(head "$WORK/base.list")"
grep -qx 'backup_label' "$WORK/base.list" || fail "the base tar lacks backup_label"
rs "$conf" list | grep -Eq "^$base_set +physical " || fail "list does not show the kind" "$(rs "$conf" list)"
rs "$conf" verify "$base_set" >/dev/null || fail "verify of the physical set failed"
note "base backup: $(jq -r .plaintext_bytes <<<"$out") bytes tar, $(jq -r .stored_bytes <<<"$out") stored, $(((t1 - t0) / 1000)) ms"
pass "base-backup publishes a physical set after its last WAL segment is archived; list and verify handle it"

# ------------------------------------------------------------------ two batches + a writer, then SIGKILL
insert_batch() { # batch first last
  local i
  for ((i = $2; i <= $3; i++)); do
    printf "INSERT INTO t (id, batch, payload) VALUES (%d, %d, md5('%d'));\n" "$i" "$1" "$i"
  done | psql_as w postgres >/dev/null
}
insert_batch 1 1 200
sleep 1.1
target="$(q "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")"
sleep 1.1
insert_batch 2 201 400
checksum_sql="SELECT count(*) || ' ' || md5(string_agg(id || ':' || batch || ':' || payload || ':' || at, ',' ORDER BY id)) FROM t WHERE id <= 400"
expected="$(q "$checksum_sql")"
seg="$(q "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")"
q "SELECT pg_switch_wal()" >/dev/null
wait_for "segment $seg to be archived" 150 archived_up_to "$seg"

# The writer: one row per transaction, its committed ids in a file.
(
  for ((i = 401; i <= 1400; i++)); do
    psql_as w postgres -c "INSERT INTO t (id, batch, payload) VALUES ($i, 3, md5('$i'))" >/dev/null 2>&1 || exit 0
    printf '%d\n' "$i" >>"$WORK/committed"
    sleep 0.05
  done
) &
writer=$!
sleep 12 # more than two archive_timeout periods
pm="$(head -n 1 "$data/postmaster.pid")"
# pg_ctl starts the postmaster in its own session: its process group is it and its children.
assert_eq "$pm" "$(ps -o pgid= -p "$pm" | tr -d ' ')" "the postmaster leads its process group"
kill_time="$(date -u '+%s.%N')"
kill -KILL -- "-$pm"
wait "$writer" || true
wait_for "the postmaster to die" 10 test ! -d "/proc/$pm"
last_committed="$(tail -n 1 "$WORK/committed")"
pg_wipe_data w
note "killed the postmaster (group $pm) with the writer at id $last_committed"

# ------------------------------------------------------------------ restore base + WAL
t0="${EPOCHREALTIME/./}"
out="$(rs "$conf" restore --no-progress 2>&1)" || fail "restore failed" "$out"
t1="${EPOCHREALTIME/./}"
assert_contains "$out" "restored base $base_set + WAL up to" "restore says base + WAL"
report="$data/ramsafe_restore_report.json"
assert_eq physical "$(jq -r .kind "$report")" "the report says physical"
assert_file_not_exists "$data/recovery.signal"
assert_file_not_exists "$WORK/markers/recovery_end_command" "the base's recovery_end_command did not run"
pg_start_existing w
assert_eq f "$(q "SELECT pg_is_in_recovery()")" "the restored server is a primary"
assert_eq "$expected" "$(q "$checksum_sql")" "batches 1 and 2 are there exactly"
got="$(q "SELECT count(*) || ' ' || coalesce(min(id), 0) || ' ' || coalesce(max(id), 0) FROM t WHERE batch = 3")"
read -r n3 min3 max3 <<<"$got"
if ((n3 > 0)); then
  assert_eq 401 "$min3" "the writer's rows start at 401"
  assert_eq "$((max3 - 400))" "$n3" "the writer's rows are an unbroken run"
fi
((max3 <= last_committed)) || fail "rows the writer never committed were restored ($max3 > $last_committed)"
last_at="$(q "SELECT extract(epoch FROM max(at)) FROM t")"
window="$(awk -v k="$kill_time" -v a="$last_at" 'BEGIN { printf "%.1f", k - a }')"
q "SELECT count(*) FROM pg_class" >/dev/null
note "restore: $(((t1 - t0) / 1000)) ms; recovered to $(jq -r .recovered_to_time "$report") ($(jq -r .recovered_to_lsn "$report")); writer rows restored $n3 of $((last_committed - 400)); data-loss window ${window} s (archive_timeout 5 s)"
pass "SIGKILL + wiped data directory: restore replays base + WAL, batches exact, writer rows an unbroken prefix"

# ------------------------------------------------------------------ --target-time
assert_fails_with 2 rs "$conf" restore --force --target-time '2026-11-26 10:00:00'
assert_contains "$ASSERT_OUTPUT" "with a UTC offset" "a target time without an offset is refused"
pg_is_running w || fail "the server was touched by a refused restore"
pg_wipe_data w
assert_fails_with 3 rs "$conf" restore --target-time '2000-01-01 00:00:00+00'
assert_contains "$ASSERT_OUTPUT" "no physical base backup finished before 2000-01-01 00:00:00.000+00" "a clear error"
[[ -z "$(ls -A "$data")" ]] || fail "the data directory is not empty after a refused restore" "$(ls -A "$data")"
out="$(rs "$conf" restore --no-progress --target-time "$target" 2>&1)" || fail "restore --target-time failed" "$out"
assert_contains "$out" "restored base $base_set" "target-time restore uses the base"
pg_start_existing w
assert_eq "200 1 200" "$(q "SELECT count(*) || ' ' || min(id) || ' ' || max(id) FROM t")" "exactly batch 1"
assert_eq 0 "$(q "SELECT count(*) FROM t WHERE batch <> 1")" "nothing after the target"
pass "--target-time between the batches restores exactly batch 1; before any base: a clear error"

# ------------------------------------------------------------------ no WAL: logical fallback
pg_wipe_data w
mv "$WORK/store/main/wal" "$WORK/wal-aside"
out="$(rs "$conf" restore --no-progress 2>&1)" || fail "restore without WAL failed" "$out"
assert_contains "$out" "physical base backup $base_set cannot be used" "the skipped base is named"
assert_contains "$out" "is not in the WAL archive" "and why"
assert_contains "$out" "restored the older logical backup $logical_set" "the fallback is loud"
pg_start_existing w
assert_eq 0 "$(q "SELECT count(*) FROM t")" "the logical set's (empty) table"
mv "$WORK/wal-aside" "$WORK/store/main/wal"
pass "with the WAL archive empty, restore falls back to the logical set and says so"

#!/usr/bin/env bash
# Every fault the companion claims to handle, injected for real:
#   restore: the newest set bit-flipped, truncated, missing a file, missing or damaged
#            manifest -> the previous set is restored and the output names the bad set and
#            why; a leftover .partial is never listed or used; a wrong, missing or
#            world-readable identity -> a clear error and nothing written to the data
#            directory; the data directory's filesystem full -> failure, data dir left
#            empty; SIGTERM mid-restore -> private postmaster gone, next restore succeeds;
#            no backup at all -> --on-missing=fail (exit 3) or init.
#   backup:  pg_dump missing, pg_dump failing mid-stream, the store's filesystem full,
#            SIGTERM mid-backup -> failure with the cause, no complete-looking set, no
#            child process left behind.
# Run as root: bash test/integration/faults_test.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init faults
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

ramsafe_keys
pg_start_cluster f
psql_as f postgres -c "CREATE DATABASE app" -c "CREATE DATABASE shop"
psql_as f app -c "CREATE TABLE marker(n int); INSERT INTO marker VALUES (1);
                  CREATE TABLE filler AS SELECT g, md5(g::text) AS h FROM generate_series(1, 50000) g"
psql_as f shop -c "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g"
conf="$(ramsafe_config f)"
store="$WORK/store/main"
data="$(pg_datadir f)"

sets() { find "$store" -mindepth 1 -maxdepth 1 -type d -name '2*' ! -name '*.partial' | sort; }
marker() { psql_as f app -c "select n from marker"; }
# take_backup N: set the marker to N, back up, echo the new set's directory.
take_backup() {
  psql_as f app -c "UPDATE marker SET n = $1"
  rs "$conf" backup >/dev/null
  newest_set "$store"
}
data_is_empty() { [[ -z "$(ls -A "$data")" ]]; }
# restore_expect_fallback BAD_SET WHY: wipe, restore; it must skip BAD_SET saying WHY and
# restore the good set (marker 1).
restore_expect_fallback() {
  local bad_id why="$2" out
  bad_id="$(basename "$1")"
  pg_wipe_data f
  out="$(rs "$conf" restore 2>&1)" || fail "restore failed instead of falling back" "$out"
  assert_contains "$out" "$bad_id" "restore names the damaged set"
  assert_contains "$out" "$why" "restore says why $bad_id was not used"
  assert_contains "$out" "restored backup $good_id" "restore used the previous set"
  assert_contains "$(cat "$data/ramsafe_restore_report.json")" "$bad_id" "the report lists the failed attempt"
  pg_start_existing f
  assert_eq 1 "$(marker)" "the restored data is the previous set's"
}

good="$(take_backup 1)"
good_id="$(basename "$good")"
pass "good set $good_id taken"

# ------------------------------------------------------------------ damaged newest set
bad="$(take_backup 2)"
size="$(stat -c %s "$bad/db/app.dump.zst.age")"
byte="$(od -An -tu1 -j $((size / 2)) -N1 "$bad/db/app.dump.zst.age" | tr -d ' ')"
printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$bad/db/app.dump.zst.age" bs=1 seek=$((size / 2)) conv=notrunc status=none
assert_fails_with 5 rs "$conf" verify "$(basename "$bad")"
assert_contains "$ASSERT_OUTPUT" "DAMAGED" "verify reports the flipped bit"
restore_expect_fallback "$bad" "SHA-256"
rm -rf "$bad"
pass "a bit flip in the newest set: verify exit 5, restore falls back and says so"

bad="$(take_backup 3)"
truncate -s -100 "$bad/globals.sql.zst.age"
restore_expect_fallback "$bad" "globals.sql.zst.age"
rm -rf "$bad"
pass "a truncated file in the newest set: restore falls back"

bad="$(take_backup 4)"
rm "$bad/db/shop.dump.zst.age"
restore_expect_fallback "$bad" "db/shop.dump.zst.age"
rm -rf "$bad"
pass "a missing file in the newest set: restore falls back"

bad="$(take_backup 5)"
rm "$bad/manifest.json"
restore_expect_fallback "$bad" "no manifest.json"
rm -rf "$bad"
pass "a missing manifest: restore falls back"

bad="$(take_backup 6)"
sed -i 's/"database": "app"/"database": "ap"/' "$bad/manifest.json"
restore_expect_fallback "$bad" "manifest"
rm -rf "$bad"
pass "a manifest edited after publishing (self-checksum): restore falls back"

# ------------------------------------------------------------------ leftover .partial
psql_as f app -c "UPDATE marker SET n = 7"
cp -a "$good" "$store/29991231T235959Z.partial"
assert_not_contains "$(rs "$conf" list)" "29991231T235959Z" "list hides a .partial"
pg_wipe_data f
out="$(rs "$conf" restore 2>&1)"
assert_contains "$out" "restored backup $good_id" "restore ignores the .partial"
assert_not_contains "$out" "29991231T235959Z" "restore does not even mention the .partial"
pg_start_existing f
rs "$conf" backup >/dev/null
assert_file_not_exists "$store/29991231T235959Z.partial" "the next backup removes the leftover .partial"
rm -rf "$(newest_set "$store")"
pass "a leftover .partial is never listed or used, and the next backup removes it"

# ------------------------------------------------------------------ bad identities
pg_stop_cluster f
pg_wipe_data f
runuser -u postgres -- "$RAMSAFE_TEST_BIN" keygen -o "$WORK/keys/other.txt" >/dev/null 2>&1
assert_fails_with 1 rs "$conf" restore --identity "$WORK/keys/other.txt"
assert_contains "$ASSERT_OUTPUT" "identit" "a wrong identity is named as the cause"
assert_not_contains "$ASSERT_OUTPUT" "AGE-SECRET-KEY" "no secret in the output"
data_is_empty || fail "a wrong identity left files in the data directory" "$(ls -A "$data")"
assert_fails_with 2 rs "$conf" restore --identity "$WORK/keys/absent.txt"
assert_contains "$ASSERT_OUTPUT" "$WORK/keys/absent.txt" "a missing identity file is named"
chmod 0644 "$WORK/keys/other.txt"
assert_fails_with 2 rs "$conf" restore --identity "$WORK/keys/other.txt"
assert_contains "$ASSERT_OUTPUT" "$WORK/keys/other.txt" "a world-readable identity file is named"
data_is_empty || fail "a bad identity file left files in the data directory" "$(ls -A "$data")"
pass "wrong, missing or unprotected identity: clear error, data directory untouched"

# ------------------------------------------------------------------ data directory's filesystem full
small="$WORK/smallfs"
mount_tmpfs "$small" 24m
pg_mkdir "$small/data"
assert_fails_with 1 rs "$conf" restore -D "$small/data"
assert_contains "$ASSERT_OUTPUT" "No space left on device" "restore names the full filesystem"
[[ -z "$(ls -A "$small/data")" ]] || fail "a failed restore left files behind" "$(ls -A "$small/data")"
pass "restore into a full filesystem fails with the cause and leaves the data directory empty"

# ------------------------------------------------------------------ SIGTERM mid-restore
(rs_exec "$conf" restore >"$WORK/term.out" 2>&1) &
restore_pid=$!
wait_for "the restore's private postmaster" 30 test -f "$data/.ramsafe-restore/postmaster.pid"
kill -TERM "$restore_pid"
rc=0
wait "$restore_pid" || rc=$?
assert_eq 130 "$rc" "a terminated restore exits 130 ($(cat "$WORK/term.out"))"
if pgrep -f -- "-D $data/.ramsafe-restore" >/dev/null; then fail "the private postmaster outlived the restore"; fi
out="$(rs "$conf" restore 2>&1)" || fail "restore after an interrupted one failed" "$out"
assert_contains "$out" "restored backup $good_id" "the next restore starts again and succeeds"
pass "SIGTERM mid-restore: exit 130, private postmaster stopped, next restore succeeds"

# ------------------------------------------------------------------ no backup at all
empty_conf="$(ramsafe_config f "ramsafe.cluster_name = 'nothing_here'")"
pg_wipe_data f
assert_fails_with 3 rs "$empty_conf" restore
assert_contains "$ASSERT_OUTPUT" "no backup" "--on-missing=fail says there is no backup"
data_is_empty || fail "--on-missing=fail wrote to the data directory"
out="$(rs "$empty_conf" restore --on-missing init 2>&1)" || fail "--on-missing init failed" "$out"
assert_file_exists "$data/PG_VERSION" "--on-missing init runs initdb"
assert_contains "$(cat "$data/ramsafe_restore_report.json")" '"outcome": "initialized"' "report says initialized"
pass "no backup: --on-missing fail exits 3, init creates an empty cluster"

# Back to the real data for the backup faults.
pg_wipe_data f
rs "$conf" restore >/dev/null 2>&1
pg_start_existing f
conf="$(ramsafe_config f)"

# ------------------------------------------------------------------ backup faults
count_sets() { sets | wc -l; }
no_children() { ! pgrep -u postgres -x pg_dump >/dev/null && ! pgrep -u postgres -x pg_dumpall >/dev/null; }
before="$(count_sets)"

fake="$WORK/fakebin"
bindir_without_pg_dump "$fake"
missing_conf="$(ramsafe_config f "ramsafe.bindir = '$fake'")"
assert_fails_with 1 rs "$missing_conf" backup
assert_contains "$ASSERT_OUTPUT" "pg_dump" "a missing pg_dump is named"
assert_eq "$before" "$(count_sets)" "no set from a backup without pg_dump"
pass "pg_dump missing: backup fails and says so"

cat >"$fake/pg_dump" <<EOF
#!/bin/bash
# pg_dump that dies half-way through the app database.
if [[ "\$1" == --version ]]; then exec "$PG_BINDIR/pg_dump" --version; fi
if [[ "\$*" == *"dbname='app'"* ]]; then
  "$PG_BINDIR/pg_dump" "\$@" | head -c 300000
  echo "pg_dump: error: injected failure in the middle of app" >&2
  exit 1
fi
exec "$PG_BINDIR/pg_dump" "\$@"
EOF
chmod 0755 "$fake/pg_dump"
assert_fails_with 1 rs "$missing_conf" backup
assert_contains "$ASSERT_OUTPUT" "injected failure in the middle of app" "pg_dump's own error is shown"
assert_eq "$before" "$(count_sets)" "no set from a failed backup"
assert_eq "" "$(find "$store" -maxdepth 1 -name '*.partial')" "a failed backup removes its .partial"
wait_for "no pg_dump left" 10 no_children
pass "pg_dump failing mid-stream: backup fails with its message, nothing published"

full_store="$WORK/fullstore"
mount_tmpfs "$full_store" 1m
full_conf="$(ramsafe_config f "ramsafe.local_dir = '$full_store'")"
assert_fails_with 1 rs "$full_conf" backup
assert_contains "$ASSERT_OUTPUT" "No space left on device" "backup names the full store"
assert_eq "" "$(find "$full_store" -mindepth 2 -maxdepth 2 ! -name .lock)" "nothing but the lock file left in the full store"
wait_for "no pg_dump left" 10 no_children
pass "the store's filesystem full: backup fails with the cause, nothing left behind"

slow="$WORK/slowbin"
bindir_without_pg_dump "$slow"
cat >"$slow/pg_dump" <<EOF
#!/bin/bash
# pg_dump that stalls (a huge database, as far as ramsafe can tell) after a first chunk.
if [[ "\$1" == --version ]]; then exec "$PG_BINDIR/pg_dump" --version; fi
"$PG_BINDIR/pg_dump" "\$@" | head -c 1000
touch "$WORK/slow-started"
exec sleep 600
EOF
chmod 0755 "$slow/pg_dump"
slow_conf="$(ramsafe_config f "ramsafe.bindir = '$slow'")"
(rs_exec "$slow_conf" backup >"$WORK/slow.out" 2>&1) &
backup_pid=$!
wait_for "the backup to be under way" 30 test -f "$WORK/slow-started"
kill -TERM "$backup_pid"
rc=0
wait "$backup_pid" || rc=$?
assert_eq 130 "$rc" "a terminated backup exits 130"
wait_for "the stalled pg_dump to be killed" 10 bash -c "! pgrep -u postgres -f '^sleep 600$' >/dev/null"
assert_eq "$before" "$(count_sets)" "no set from a cancelled backup"
pass "SIGTERM mid-backup: exit 130, children killed, nothing published"

echo "faults: all passed"

#!/usr/bin/env bash
# Restore from Google Drive (the emulator) of a cluster with several databases, at the
# default number of jobs and at more jobs than databases: the parallel restore threads
# download at the same time, each over its own connection (issue 16, item 3: they shared
# one curl handle and the restore died with SIGSEGV inside libcurl).
#   - the local store is gone, `ramsafe restore` reads Drive alone: every database's
#     content is back, byte for byte (an md5 over every row of every table)
#   - again with downloads cut mid-body at random (each thread resumes with Range) and
#     with -j 4 for three databases
# test/drills/tsan_drive.sh runs this test with a ThreadSanitizer build (RAMSAFE_BIN).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init drive_restore
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/drive.sh
. "$HERE/../lib/drive.sh"

: "${ROWS:=60000}"
drive_start
drive_service_account sa
drive_shared_drive backups-sd "$DRIVE_DIR/sa.json" fileOrganizer
ramsafe_keys
pg_start_cluster x
dbs=(app shop forum)
for db in "${dbs[@]}"; do
  psql_as x postgres -c "CREATE DATABASE $db"
  psql_as x "$db" -c "CREATE TABLE t AS SELECT g, md5(g::text || '$db') AS h, repeat(md5((g*7)::text), 4) AS r
                      FROM generate_series(1, $ROWS) g"
done
content() { # one line per database: name and an md5 over its rows
  local db
  for db in "${dbs[@]}"; do
    printf '%s %s\n' "$db" "$(psql_as x "$db" -c "SELECT md5(string_agg(t::text, ',' ORDER BY g)) FROM t")"
  done
}
expected="$(content)"
mapfile -t sa_lines < <(drive_settings "$DRIVE_DIR/sa.json" backups-sd)
conf="$(ramsafe_config x "${sa_lines[@]}")"
rs "$conf" backup >/dev/null
id="$(basename "$(newest_set "$WORK/store/main")")"
rs "$conf" upload --no-progress >/dev/null
pg_stop_cluster x
pg_wipe_data x
rm -rf "$WORK/store/main"

# restore_once DESC ARGS...: restore from Drive into the wiped data directory and compare.
restore_once() {
  local desc="$1" rc=0 out start
  shift
  start="$SECONDS"
  out="$(rs "$conf" restore --no-progress "$@" 2>&1)" || rc=$?
  [[ "$rc" -eq 0 ]] || fail "$desc: restore exited $rc" "$out"
  assert_contains "$out" "restored backup $id" "$desc: the set from Drive"
  assert_contains "$out" "drive folder backups-sd/main" "$desc: read from Drive"
  pg_start_existing x
  assert_eq "$expected" "$(content)" "$desc: every database's rows are back"
  note "$desc: restore took $((SECONDS - start)) s"
  pg_wipe_data x
}

restore_once "default jobs (ramsafe.restore_jobs = 0: one per CPU, $(nproc) here)"
pass "restore of ${#dbs[@]} databases from Drive at the default jobs"

drive_admin POST /stats/reset >/dev/null
drive_admin POST /faults '{"seed": 5, "rules": [{"match": {"kind": "media"}, "action": "reset",
  "afterBytes": {"random": [2000, 300000]}, "probability": 0.5, "count": 6}]}' >/dev/null
restore_once "-j 4, downloads cut mid-body" -j 4
cut="$(drive_admin GET /stats | json 'd.faults.reset || 0')"
drive_admin DELETE /faults >/dev/null
[[ "$cut" -ge 2 ]] || fail "only $cut downloads were cut"
pass "restore of ${#dbs[@]} databases with -j 4 while $cut downloads were cut and resumed"

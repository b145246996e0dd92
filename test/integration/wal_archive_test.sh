#!/usr/bin/env bash
# WAL archiving (archive_library = 'ramsafe', docs/wal.md) against a real server on tmpfs:
#   - a switched segment is archived: the store holds <seg>.zst.age and <seg>.sha256, and
#     `age -d | zstd -d` of it is byte for byte the segment in pg_wal (and matches the
#     .sha256 with sha256sum -c)
#   - `ramsafe wal-fetch` reproduces it; not found -> exit 1, bad name -> 2, damaged -> 5
#   - archiving not configured (ramsafe.local_dir unset) -> a LOG line, nothing archived,
#     then archived after the setting comes back with a reload
#   - the store's WAL directory unwritable -> failed_count rises, a WARNING naming the
#     segment, no ERROR, the server keeps running; writable again -> the same segment is
#     archived, nothing lost
#   - a different file of the same name already stored -> refused, the stored file is not
#     replaced; PostgreSQL keeps retrying until it is removed
#   - the store full (ENOSPC on a 256 KiB tmpfs) -> WARNING naming the segment, no
#     temporary or partial file left; with room again the segment is archived intact
# Needs the installed extension (cmake --install build), or RAMSAFE_TEST_LIBRARY set to
# the absolute path of a built ramsafe.so to test that one without installing it. Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init wal_archive
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/forge.sh
. "$HERE/../lib/forge.sh"

ramsafe_test_library  # sets lib

ramsafe_keys
pg_mkdir "$WORK/store"
waldir="$WORK/store/main/wal/00000001"
pg_init_cluster w
ramsafe_wal_conf w "wal_keep_size = '1GB'" \
  "log_min_messages = debug1"
pg_start_existing w
log="$(pg_logfile w)"
q() { psql_as w postgres -c "$1"; }
archiver() { q "SELECT $1 FROM pg_stat_archiver"; }
archived_up_to() { [[ "$(archiver "coalesce(last_archived_wal, '') >= '$1'")" == t ]]; }
failed_more_than() { (("$(archiver failed_count)" > $1)); }
log_has() { grep -qF -- "$1" "$log"; }
# ERROR lines from ramsafe. With RAMSAFE_TEST_LIBRARY the scheduler worker runs the same
# file, registered by the path it was loaded from (no "must be loaded via
# shared_preload_libraries" from the installed ramsafe.so).
ramsafe_errors() { grep -F ' ERROR: ' "$log" | grep -F ramsafe || true; }
setting_is() { [[ "$(q "SHOW $1")" == "$2" ]]; }
conf="$(ramsafe_config w)"
pg_mkdir "$WORK/fetch"

# Writes some WAL, switches segments, prints the name of the segment that was switched away from.
new_segment() {
  q "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g" >/dev/null
  local seg
  seg="$(q "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")"
  q "SELECT pg_switch_wal()" >/dev/null
  printf '%s\n' "$seg"
}

# ------------------------------------------------------------------ archive + age/zstd
q "CREATE TABLE t (g int, h text)"
seg="$(new_segment)"
wait_for "segment $seg to be archived" 150 archived_up_to "$seg"
assert_file_exists "$waldir/$seg.zst.age"
assert_file_exists "$waldir/$seg.sha256"
cp "$(pg_datadir w)/pg_wal/$seg" "$WORK/orig-$seg"
age -d -i "$WORK/keys/identity.txt" "$waldir/$seg.zst.age" | zstd -d -q >"$WORK/plain-$seg" ||
  fail "age -d | zstd -d of the stored segment failed"
cmp "$WORK/orig-$seg" "$WORK/plain-$seg" || fail "the stored segment does not decrypt to the one in pg_wal"
(cd "$WORK" && cp "plain-$seg" "$seg" && sha256sum -c --quiet "$waldir/$seg.sha256") ||
  fail "sha256sum -c of $seg.sha256 does not match the decrypted segment"
assert_eq 16777216 "$(stat -c %s "$WORK/plain-$seg")" "a whole 16 MiB segment"
assert_eq 600 "$(stat -c %a "$waldir/$seg.zst.age")" "stored with mode 0600"
[[ -z "$(find "$waldir" -name '.*')" ]] || fail "temporary files left in $waldir" "$(ls -la "$waldir")"
assert_eq "" "$(ramsafe_errors)" "no ERROR from ramsafe"
pass "a switched segment is archived; age -d | zstd -d gives the segment in pg_wal byte for byte"

# ------------------------------------------------------------------ wal-fetch
rs "$conf" wal-fetch "$seg" "$WORK/fetch/RECOVERYXLOG" || fail "wal-fetch $seg failed"
cmp "$WORK/orig-$seg" "$WORK/fetch/RECOVERYXLOG" || fail "wal-fetch did not reproduce $seg"
assert_fails_with 1 rs "$conf" wal-fetch 0000000100000000000000FF "$WORK/fetch/missing"
assert_contains "$ASSERT_OUTPUT" "0000000100000000000000FF is not in the archive" "not found names the file"
assert_eq 1 "$(printf '%s\n' "$ASSERT_OUTPUT" | wc -l)" "not found is one line"
assert_file_not_exists "$WORK/fetch/missing"
assert_fails_with 1 rs "$conf" wal-fetch 00000002.history "$WORK/fetch/missing"
assert_fails_with 2 rs "$conf" wal-fetch ../etc "$WORK/fetch/x"
assert_contains "$ASSERT_OUTPUT" "is not a WAL file name" "a bad name is refused"
assert_fails_with 2 rs "$conf" wal-fetch "$seg"
cp -p "$waldir/$seg.zst.age" "$WORK/saved.zst.age"
size="$(stat -c %s "$waldir/$seg.zst.age")"
printf 'X' | dd of="$waldir/$seg.zst.age" bs=1 seek=$((size / 2)) conv=notrunc status=none
assert_fails_with 5 rs "$conf" wal-fetch "$seg" "$WORK/fetch/damaged"
assert_file_not_exists "$WORK/fetch/damaged"
cp -p "$WORK/saved.zst.age" "$waldir/$seg.zst.age"
pass "ramsafe wal-fetch reproduces the segment; not found exits 1, a bad name 2, damage 5"

# ------------------------------------------------------------------ not configured
q "ALTER SYSTEM SET ramsafe.local_dir = ''"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the reload" 10 setting_is ramsafe.local_dir ""
before="$(archiver archived_count)"
seg_nc="$(new_segment)"
wait_for "the not-configured LOG line" 30 log_has "ramsafe: WAL archiving is not configured: ramsafe.local_dir is not set"
assert_eq "$before" "$(archiver archived_count)" "nothing archived while not configured"
q "ALTER SYSTEM RESET ramsafe.local_dir"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "segment $seg_nc to be archived once configured again" 150 archived_up_to "$seg_nc"
assert_file_exists "$waldir/$seg_nc.zst.age"
pass "archiving without ramsafe.local_dir logs why and archives nothing; a reload fixes it"

# ------------------------------------------------------------------ unwritable store
failed="$(archiver failed_count)"
chmod 000 "$waldir"
seg2="$(new_segment)"
cp "$(pg_datadir w)/pg_wal/$seg2" "$WORK/orig-$seg2"
wait_for "failed_count to rise" 60 failed_more_than "$failed"
wait_for "the WARNING naming $seg2" 10 log_has "WARNING:  ramsafe: could not archive WAL file \"$seg2\""
q "SELECT 1" >/dev/null || fail "the server stopped answering"
pg_is_running w || fail "the server is not running"
assert_eq f "$(archiver "coalesce(last_archived_wal, '') >= '$seg2'")" "not archived while unwritable"
note "$(grep -F "could not archive WAL file \"$seg2\"" "$log" | head -n 1)"
chmod 700 "$waldir"
new_segment >/dev/null # wakes the archiver, which otherwise retries after a minute
wait_for "segment $seg2 to be archived after the store is writable again" 90 archived_up_to "$seg2"
rs "$conf" wal-fetch "$seg2" "$WORK/fetch/seg2" || fail "wal-fetch $seg2 failed"
cmp "$WORK/orig-$seg2" "$WORK/fetch/seg2" || fail "$seg2 archived after the fault differs from pg_wal's"
pass "an unwritable store: failed_count rises, WARNING names $seg2, server runs; then archived intact"

# ------------------------------------------------------------------ conflicting file
failed="$(archiver failed_count)"
# After a switch, one row moves the insert position into the next segment, which gets the
# planted file (the insert position: with synchronous_commit off the write one may lag).
q "INSERT INTO t VALUES (0, 'next segment')"
seg3="$(q "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")"
[[ ! -e "$waldir/$seg3.zst.age" ]] || fail "$seg3 is archived already; cannot plant a conflict"
# A genuine (signed) record of other content, as a second cluster sharing this store, its
# name and its key would leave. (An unsigned one is not ramsafe's: it is archived over.)
printf 'not this segment' >"$waldir/$seg3.zst.age"
printf '%064d  %s\n' 0 "$seg3" >"$waldir/$seg3.sha256"
chown postgres:postgres "$waldir/$seg3.zst.age" "$waldir/$seg3.sha256"
chmod 600 "$waldir/$seg3.zst.age" "$waldir/$seg3.sha256"
sign_wal_record "$waldir" "$seg3" "$WORK/keys/signing.key" main
cp -p "$waldir/$seg3.zst.age" "$WORK/conflict.zst.age"
new_segment >/dev/null
wait_for "failed_count to rise for the conflicting $seg3" 60 failed_more_than "$failed"
wait_for "the WARNING about different content" 10 log_has "WAL file $seg3 is already archived with different content"
cmp "$WORK/conflict.zst.age" "$waldir/$seg3.zst.age" || fail "the conflicting stored file was replaced"
assert_eq f "$(archiver "coalesce(last_archived_wal, '') >= '$seg3'")" "the conflicting segment is not counted as archived"
rm -f "$waldir/$seg3.zst.age" "$waldir/$seg3.sha256" "$waldir/$seg3.sig"
new_segment >/dev/null
wait_for "segment $seg3 to be archived once the conflict is removed" 90 archived_up_to "$seg3"
cp "$(pg_datadir w)/pg_wal/$seg3" "$WORK/orig-$seg3"
rs "$conf" wal-fetch "$seg3" "$WORK/fetch/seg3" || fail "wal-fetch $seg3 failed"
cmp "$WORK/orig-$seg3" "$WORK/fetch/seg3" || fail "$seg3 differs from pg_wal's"
pass "a different file of the same name is refused and left as it was; PostgreSQL retries"

# ------------------------------------------------------------------ full store
mount_tmpfs "$WORK/small" 256k
q "ALTER SYSTEM SET ramsafe.local_dir = '$WORK/small'"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the reload" 10 setting_is ramsafe.local_dir "$WORK/small"
failed="$(archiver failed_count)"
seg4="$(new_segment)"
cp "$(pg_datadir w)/pg_wal/$seg4" "$WORK/orig-$seg4"
wait_for "failed_count to rise with the store full" 60 failed_more_than "$failed"
wait_for "the WARNING naming $seg4" 10 log_has "WARNING:  ramsafe: could not archive WAL file \"$seg4\""
assert_contains "$(grep -F "could not archive WAL file \"$seg4\"" "$log" | head -n 1)" \
  "No space left on device" "the WARNING says the disk is full"
[[ -z "$(find "$WORK/small" -name '.*.tmp')" ]] || fail "temporary files left in the full store" "$(find "$WORK/small")"
[[ -z "$(find "$WORK/small" -name "$seg4.zst.age")" ]] || fail "a partial $seg4 was published in the full store"
q "SELECT 1" >/dev/null || fail "the server stopped answering"
q "ALTER SYSTEM RESET ramsafe.local_dir"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the reload" 10 setting_is ramsafe.local_dir "$WORK/store"
new_segment >/dev/null
wait_for "segment $seg4 to be archived once there is room" 90 archived_up_to "$seg4"
rs "$conf" wal-fetch "$seg4" "$WORK/fetch/seg4" || fail "wal-fetch $seg4 failed"
cmp "$WORK/orig-$seg4" "$WORK/fetch/seg4" || fail "$seg4 differs from pg_wal's"
pass "a full store: WARNING with ENOSPC naming $seg4, no temporary or partial file, server runs; then archived intact"

# ------------------------------------------------------------------ no crash, measurements
pg_is_running w || fail "the server is not running at the end"
assert_not_contains "$(cat "$log")" "terminated by signal" "no process crashed"
assert_eq "" "$(ramsafe_errors)" "no ERROR from ramsafe"
grep -F "ramsafe: archived WAL file" "$log" | sed 's/^.*ramsafe: //' | while read -r line; do note "$line"; done
pass "the server ran throughout; no ERROR and no crash from the archive module"

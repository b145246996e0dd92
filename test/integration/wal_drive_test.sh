#!/usr/bin/env bash
# WAL copies on Google Drive and WAL-aware retention (issue 7; docs/wal.md), with the
# server's worker against the Drive v3 emulator:
#   - every archived WAL file reaches Drive (same bytes as the local store, so the same
#     plaintext), oldest first, and the physical base set too; the lag is measured
#   - Drive refusing uploads (storage quota): WAL is archived and kept locally, the log
#     says how many files wait; once Drive accepts again every file is there, none lost
#   - wal-fetch takes Drive's copy when the local one is missing, and when it is damaged
#     (saying so); a name neither holds: exit 1
#   - retention with base backups' last=1: exactly the WAL before the kept base's start
#     goes, in both stores, one line per store; --dry-run deletes nothing
#   - SIGKILL, data directory wiped AND the local store gone: restore takes base + WAL from
#     Drive alone; every row is back
# Needs the installed extension (cmake --install build): the worker loads it. Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init wal_drive
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/drive.sh
. "$HERE/../lib/drive.sh"

require_installed_extension

drive_start
drive_service_account sa
drive_shared_drive sd "$DRIVE_DIR/sa.json" fileOrganizer # Content manager, as docs/drive.md says
ramsafe_keys
pg_mkdir "$WORK/store"
store="$WORK/store/main"
mapfile -t drive_lines < <(drive_settings "$DRIVE_DIR/sa.json" sd)
pg_init_cluster d
pg_conf d "shared_preload_libraries = 'ramsafe'" \
  "ramsafe.local_dir = '$WORK/store'" \
  "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = ''" \
  "ramsafe.local_retention = ''" "ramsafe.drive_retention = ''" \
  "ramsafe.local_base_retention = ''" "ramsafe.drive_base_retention = ''" \
  "archive_mode = on" "archive_library = 'ramsafe'" "archive_timeout = 5" \
  "${drive_lines[@]}"
pg_start_existing d
conf="$(ramsafe_config d "${drive_lines[@]}" "ramsafe.local_retention = 'last=1'" "ramsafe.drive_retention = 'last=1'" \
  "ramsafe.local_base_retention = 'last=1'" "ramsafe.drive_base_retention = 'last=1'")"
data="$(pg_datadir d)"
q() { psql_as d postgres -c "$1"; }
archived_up_to() { [[ "$(q "SELECT coalesce(last_archived_wal, '') >= '$1' FROM pg_stat_archiver")" == t ]]; }
switch_and_wait() {
  local seg
  seg="$(q "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")"
  q "SELECT pg_switch_wal()" >/dev/null
  wait_for "segment $seg to be archived" 150 archived_up_to "$seg"
}
insert_batch() { # batch first last
  q "INSERT INTO t SELECT g, $1, md5(g::text) FROM generate_series($2, $3) g" >/dev/null
}
local_wal() { find "$store/wal" -name '*.zst.age' ! -name '.*' -printf '%f\n' 2>/dev/null | sed 's/\.zst\.age$//' | sort; }
# name<TAB>md5 of every live WAL data file (or checksum file: part sha256) on the emulator
# (retention moves what it removes from the shared drive to the trash)
drive_wal_md5() {
  drive_admin GET /files | json "d.files.filter(f => f.appProperties && f.appProperties.ramsafe_wal_part === '${1:-data}' && !f.trashed)
    .map(f => f.appProperties.ramsafe_wal + '\t' + f.md5Checksum).sort().join('\n')"
}
drive_wal() { drive_wal_md5 | cut -f1; }
local_wal_md5() { # suffix
  local n
  while read -r n; do
    printf '%s\t%s\n' "$n" "$(md5sum <"$(find "$store/wal" -name "$n$1")" | cut -d' ' -f1)"
  done < <(local_wal)
}
missing_on_drive() { comm -23 <(local_wal) <(drive_wal); }
all_wal_on_drive() { [[ -z "$(missing_on_drive)" ]]; }
set_on_drive() { drive_set_files "$1" | grep -q '^manifest.json'; }
checksum_sql="SELECT count(*) || ' ' || md5(string_agg(id || ':' || batch || ':' || payload, ',' ORDER BY id)) FROM t"

q "CREATE TABLE t (id int PRIMARY KEY, batch int NOT NULL, payload text NOT NULL)"
base1="$(rs "$conf" base-backup --json --no-progress | jq -r .backup_id)" || fail "base-backup failed"
insert_batch 1 1 20000
switch_and_wait
archived_at="${EPOCHREALTIME/./}"
wait_for "every archived WAL file on Drive" 120 all_wal_on_drive
on_drive_at="${EPOCHREALTIME/./}"
wait_for "base $base1 on Drive" 120 set_on_drive "$base1"
[[ "$(local_wal | wc -l)" -ge 3 ]] || fail "too few WAL files archived" "$(local_wal)"
assert_eq "$(local_wal_md5 .zst.age)" "$(drive_wal_md5 data)" "Drive's WAL data files are the local bytes"
assert_eq "$(local_wal_md5 .sha256)" "$(drive_wal_md5 sha256)" "and so are their checksum files"
assert_contains "$(cat "$(pg_logfile d)")" "ramsafe: copied" "the worker logs its WAL copies"
note "$(local_wal | wc -l) WAL files on Drive; the last one $(((on_drive_at - archived_at) / 1000)) ms after it was archived"
pass "every archived WAL file reaches Drive with the same bytes, and the physical base too"

# ------------------------------------------------------------------ Drive refuses uploads
q "CREATE EXTENSION ramsafe"
drive_admin POST /faults '{"rules": [{"match": {"kind": ["upload_init", "upload_media", "upload_multipart"]}, "action": "status", "status": 403, "reason": "storageQuotaExceeded"}]}' >/dev/null
failed_before="$(q "SELECT failed_count FROM pg_stat_archiver")"
for b in 2 3 4; do
  insert_batch "$b" $((b * 100000)) $((b * 100000 + 5000))
  switch_and_wait
done
log_says_waiting() { grep -q "archived WAL files (.* bytes) wait for Drive, kept locally" "$(pg_logfile d)"; }
wait_for "the log to say WAL waits for Drive" 120 log_says_waiting
waiting="$(missing_on_drive | wc -l)"
((waiting >= 3)) || fail "only $waiting WAL files wait for Drive" "$(missing_on_drive)"
status_is() { [[ "$(q "SELECT $1 FROM ramsafe_status()")" == t ]]; }
wait_for "ramsafe_status() to count the WAL waiting for Drive" 60 \
  status_is "wal_drive_pending_files >= 3 AND wal_drive_pending_bytes > 0"
assert_eq "$failed_before" "$(q "SELECT failed_count FROM pg_stat_archiver")" "archiving itself never failed"
expected="$(q "$checksum_sql")"
drive_admin DELETE /faults >/dev/null
wait_for "the waiting WAL files to reach Drive" 240 all_wal_on_drive
assert_eq "$(local_wal_md5 .zst.age)" "$(drive_wal_md5 data)" "every WAL file is on Drive, the same bytes"
wait_for "ramsafe_status() to show no WAL waiting for Drive" 60 status_is "wal_drive_pending_files = 0"
pass "Drive refusing uploads: $waiting WAL files kept locally and reported, all on Drive once it accepts again"

# ------------------------------------------------------------------ wal-fetch from Drive
name="$(local_wal | grep -E '^[0-9A-F]{24}$' | sed -n 2p)"
file="$(find "$store/wal" -name "$name.zst.age")"
recorded="$(cut -d' ' -f1 "${file%.zst.age}.sha256")"
mv "$file" "$WORK/aside"
pg_mkdir "$WORK/fetch"
out="$(rs "$conf" wal-fetch "$name" "$WORK/fetch/a" 2>&1)" || fail "wal-fetch from Drive failed" "$out"
assert_eq "$recorded" "$(sha256sum <"$WORK/fetch/a" | cut -d' ' -f1)" "Drive's copy decrypts to the archived file"
cp "$WORK/aside" "$file"
chown postgres:postgres "$file"
size="$(stat -c %s "$file")"
printf '\xff\xff\xff\xff' | dd of="$file" bs=1 seek=$((size / 2)) conv=notrunc status=none
out="$(rs "$conf" wal-fetch "$name" "$WORK/fetch/b" 2>&1)" || fail "wal-fetch of a locally damaged file failed" "$out"
assert_contains "$out" "from drive folder sd/main instead" "wal-fetch says it used Drive's copy"
assert_eq "$recorded" "$(sha256sum <"$WORK/fetch/b" | cut -d' ' -f1)" "and the content is right"
mv "$WORK/aside" "$file"
assert_fails_with 1 rs "$conf" wal-fetch 0000000100000000000000FE "$WORK/fetch/c"
assert_file_not_exists "$WORK/fetch/c"
pass "wal-fetch takes Drive's copy when the local one is missing or damaged; neither holds it: exit 1"

# ------------------------------------------------------------------ retention
base2_json="$(rs "$conf" base-backup --json --no-progress)" || fail "second base-backup failed"
base2="$(jq -r .backup_id <<<"$base2_json")"
start2="$(jq -r .start_wal_file <<<"$base2_json")"
stop2="$(jq -r .stop_wal_file <<<"$base2_json")"
insert_batch 5 500000 510000
switch_and_wait
expected="$(q "$checksum_sql")"
wait_for "base $base2 on Drive" 120 set_on_drive "$base2"
wait_for "every WAL file on Drive" 120 all_wal_on_drive
before_local="$(local_wal)"
# .history files stay; everything else goes when its segment is before start2.
keep_expected="$(awk -v s="$start2" '/\.history$/ || substr($0, 9, 16) >= substr(s, 9, 16)' <<<"$before_local")"
delete_count=$(($(wc -l <<<"$before_local") - $(wc -l <<<"$keep_expected")))
((delete_count >= 3)) || fail "the test needs WAL to delete ($delete_count)"
out="$(rs "$conf" upload --no-progress)" || fail "ramsafe upload failed" "$out"
assert_contains "$out" "Drive holds every archived WAL file" "ramsafe upload finds nothing to send"
assert_eq 2 "$(q "SELECT count(*) FROM ramsafe_prune() WHERE backup_id = 'WAL' AND action IN ('keep', 'delete')")" \
  "ramsafe_prune() has one WAL row per store"
out="$(rs "$conf" prune --dry-run)" || fail "prune --dry-run failed" "$out"
assert_eq 2 "$(grep -c '^[a-z]* *WAL ' <<<"$out")" "one WAL line per store" "$out"
assert_contains "$out" "$delete_count WAL files" "dry run counts the WAL to delete"
assert_contains "$out" "the start of the oldest kept physical base $base2" "and names the base"
# Files archived meanwhile (autovacuum's WAL) are newer than all of these: compare these only.
still() { comm -12 <("$1") <(printf '%s\n' "$before_local"); }
assert_eq "$before_local" "$(still local_wal)" "--dry-run deletes no WAL"
out="$(rs "$conf" prune)" || fail "prune failed" "$out"
assert_contains "$out" "deleted $((2 * delete_count)) WAL files" "prune reports the deletions of both stores"
assert_eq "$keep_expected" "$(still local_wal)" "the local store kept exactly the WAL from $start2 on"
assert_eq "$keep_expected" "$(still drive_wal)" "Drive kept exactly the same"
for n in "$start2" "$stop2"; do
  grep -qx "$n" <<<"$keep_expected" || fail "the kept base's WAL file $n is not kept"
done
pass "retention deletes the $delete_count WAL files before base $base2 in both stores, keeps the rest"

# ------------------------------------------------------------------ restore from Drive alone
pm="$(head -n 1 "$data/postmaster.pid")"
kill -KILL -- "-$pm"
wait_for "the postmaster to die" 10 test ! -d "/proc/$pm"
pg_wipe_data d
mv "$store" "$WORK/store-gone"
t0="${EPOCHREALTIME/./}"
out="$(rs "$conf" restore --no-progress 2>&1)" || fail "restore from Drive alone failed" "$out"
t1="${EPOCHREALTIME/./}"
report="$data/ramsafe_restore_report.json"
note "restore from Drive alone: $(((t1 - t0) / 1000)) ms, base $base2 + WAL through $(jq -r .wal_last_archived "$report"), recovered to $(jq -r .recovered_to_lsn "$report")"
assert_contains "$out" "restored base $base2 + WAL up to" "restore used base + WAL"
assert_eq physical "$(jq -r .kind "$report")" "the report says physical"
assert_contains "$(jq -r .store "$report")" "drive" "from Drive"
pg_start_existing d
assert_eq "$expected" "$(q "$checksum_sql")" "every row is back"
pass "with the data directory and the local store gone, restore takes base + WAL from Drive"

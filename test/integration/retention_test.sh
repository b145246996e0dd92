#!/usr/bin/env bash
# Retention (ramsafe.local_retention, ramsafe.drive_retention) in the server's worker, in
# SQL (ramsafe_prune) and in the companion (ramsafe prune), with the Drive emulator:
#   - while Drive cannot be reached, no local set is deleted, whatever the policy
#   - once Drive works: the newest set goes to Drive, Drive keeps what its policy says,
#     and local sets Drive does not need go by the local policy; a set Drive still lacks
#     is kept ("not yet on Drive")
#   - every decision is shown with its rule; a dry run deletes nothing
#   - the companion prunes a local-only store by its policy
# Needs the installed extension (cmake --install build). Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init retention
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
require_installed_extension
# shellcheck source-path=SCRIPTDIR source=../lib/drive.sh
. "$HERE/../lib/drive.sh"

drive_start
drive_service_account sa
drive_shared_drive sd "$DRIVE_DIR/sa.json" fileOrganizer # Content manager, as docs/drive.md says
drive_service_account stranger --unregistered
ramsafe_keys
pg_mkdir "$WORK/store"
store="$WORK/store/main"
mapfile -t bad_drive < <(drive_settings "$DRIVE_DIR/stranger.json" sd)
pg_init_cluster x
pg_conf x "shared_preload_libraries = 'ramsafe'" \
  "ramsafe.local_dir = '$WORK/store'" \
  "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = ''" \
  "ramsafe.local_retention = 'last=2'" "ramsafe.drive_retention = 'last=1'" \
  "${bad_drive[@]}"
pg_start_existing x
q() { psql_as x postgres -c "$1"; }
status_is() { [[ "$(q "SELECT $1 FROM ramsafe_status()")" == t ]]; }
local_sets() { find "$store" -mindepth 1 -maxdepth 1 -type d -name '2*' ! -name '*.partial' -printf '%f\n' 2>/dev/null | sort; }
# (Live files: in the shared drive, what retention removes goes to the trash.)
drive_sets() { drive_admin GET /files | json "[...new Set(d.files.filter(f => f.appProperties && f.appProperties.ramsafe_path === 'manifest.json' && !f.trashed).map(f => f.appProperties.ramsafe_set))].sort().join('\n')"; }
q "CREATE EXTENSION ramsafe"
q "CREATE DATABASE app"
psql_as x app -c "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g"

# ------------------------------------------------------------ Drive unreachable: keep all
ids=()
for _ in 1 2 3 4; do ids+=("$(q "SELECT backup_id FROM ramsafe_backup_now()")"); done
wait_for "the worker to fail reaching Drive" 60 status_is "last_remote_error IS NOT NULL"
assert_eq 4 "$(local_sets | wc -l)" "no local set deleted while Drive cannot be reached"
assert_eq 4 "$(q "SELECT count(*) FROM ramsafe_prune(true) WHERE store = 'local' AND action = 'keep' AND reason LIKE '%Drive could not be listed%'")" \
  "ramsafe_prune(true) keeps every local set, saying why"
assert_eq 1 "$(q "SELECT count(*) FROM ramsafe_prune(true) WHERE store = 'drive' AND error LIKE '%refused the credentials%'")" \
  "and reports why Drive could not be listed"
conf="$(ramsafe_config x "ramsafe.local_retention = 'last=2'" "ramsafe.drive_retention = 'last=1'" "${bad_drive[@]}")"
out="$(rs "$conf" prune --dry-run 2>&1)"
assert_contains "$out" "would delete 0 sets (dry run)" "ramsafe prune --dry-run agrees"
pass "Drive unreachable: every local set kept, the reason shown"

# --------------------------------------------------- Drive works: both policies take effect
q "ALTER SYSTEM SET ramsafe.drive_credentials_file = '$DRIVE_DIR/sa.json'"
q "SELECT pg_reload_conf()" >/dev/null
settled() {
  local l d
  l="$(local_sets | tr '\n' ' ')"
  d="$(drive_sets)"
  echo "local: $l drive: $d"
  [[ "$l" == "${ids[2]} ${ids[3]} " && "$d" == "${ids[3]}" ]]
}
wait_for "local to keep the 2 newest and Drive the newest" 90 settled
assert_contains "$(cat "$(pg_logfile x)")" "ramsafe: retention deleted 2 backup sets: local ${ids[1]}, local ${ids[0]}" \
  "the log names what retention deleted"
rows="$(q "SELECT store || ' ' || backup_id || ' ' || action || ' ' || reason FROM ramsafe_prune(true)")"
assert_contains "$rows" "local ${ids[3]} keep last 1 of 2; newest complete set" "the newest local set: why kept"
assert_contains "$rows" "local ${ids[2]} keep last 2 of 2" "the second: why kept"
assert_contains "$rows" "drive ${ids[3]} keep last 1 of 1; newest complete set" "Drive's set: why kept"
pass "Drive reachable: newest set copied, Drive keeps last=1, local keeps last=2"

# A new backup while Drive is full: the set Drive lacks is kept locally until it is there.
drive_admin POST /faults '{"rules": [{"match": {"kind": "upload_init"}, "action": "status", "status": 403,
  "reason": "storageQuotaExceeded", "message": "The user'"'"'s Drive storage quota has been exceeded."}]}' >/dev/null
ids+=("$(q "SELECT backup_id FROM ramsafe_backup_now()")")
wait_for "the upload to fail" 60 status_is "uploads_failed >= 2 AND last_remote_error LIKE '%Drive has no space%'"
rows="$(q "SELECT backup_id || ' ' || action || ' ' || reason FROM ramsafe_prune(true) WHERE store = 'local'")"
assert_contains "$rows" "${ids[4]} keep last 1 of 2; newest complete set; not yet on Drive" "the new set is pending"
drive_admin DELETE /faults >/dev/null
q "ALTER SYSTEM SET ramsafe.drive_chunk_kb = 512"  # a reload retries the upload at once
q "SELECT pg_reload_conf()" >/dev/null
settled2() {
  local l d
  l="$(local_sets | tr '\n' ' ')"
  d="$(drive_sets)"
  echo "local: $l drive: $d"
  [[ "$d" == "${ids[4]}" && "$l" == "${ids[3]} ${ids[4]} " ]]
}
wait_for "the new set on Drive, the old one pruned there" 90 settled2
pass "a set Drive lacks stays local until it is there"

# ------------------------------------- an upload that never finished, its local set lost
# The manifest's upload is refused for good, then the local set is lost: Drive holds data
# files of a set that can never complete. Prune keeps them while recent (an uploader it
# cannot see might still be at work) and deletes them once old; complete sets are untouched.
mapfile -t good_drive < <(drive_settings "$DRIVE_DIR/sa.json" sd)
drive_conf="$(ramsafe_config x "ramsafe.local_retention = 'last=2'" "ramsafe.drive_retention = 'last=1'" "${good_drive[@]}")"
failed_before="$(q "SELECT uploads_failed FROM ramsafe_status()")"
data_files="$(json "d.files.length" <"$store/${ids[4]}/manifest.json")"  # every set has as many
drive_admin POST /faults '{"rules": [{"match": {"kind": "upload_init"}, "skip": '"$data_files"', "action": "status",
  "status": 403, "reason": "storageQuotaExceeded", "message": "The user'"'"'s Drive storage quota has been exceeded."}]}' >/dev/null
ids+=("$(q "SELECT backup_id FROM ramsafe_backup_now()")")
wait_for "the manifest's upload to be refused" 60 status_is "uploads_failed > $failed_before"
q "ALTER SYSTEM SET ramsafe.drive_credentials_file = ''"
q "SELECT pg_reload_conf()" >/dev/null
drive_admin DELETE /faults >/dev/null
assert_eq "$data_files" "$(drive_set_files "${ids[5]}" | wc -l)" "Drive holds the set's data files, no manifest"
rm -rf "${store:?}/${ids[5]}"
out="$(rs "$drive_conf" prune --dry-run)"
assert_contains "$out" "${ids[5]}" "the unfinished upload is listed"
assert_contains "$out" "unfinished upload ($data_files files, no manifest), last written 0 minutes ago; not queued, deleted once 24 hours old"   "and kept while recent, saying why"
assert_contains "$out" "would delete 0 sets (dry run)" "nothing to delete yet"
old_time="$(date -u -d '2 days ago' +%Y-%m-%dT%H:%M:%SZ)"
while IFS=$'\t' read -r _ file_id _; do
  drive_admin POST "/files/$file_id/times" "{\"modifiedTime\": \"$old_time\"}" >/dev/null
done < <(drive_set_files "${ids[5]}")
out="$(rs "$drive_conf" prune --dry-run)"
assert_contains "$out" "last written 2 days ago; abandoned: its local set is not queued for upload"   "once old it is abandoned"
assert_eq "$data_files" "$(drive_set_files "${ids[5]}" | wc -l)" "a dry run deletes nothing on Drive"
out="$(rs "$drive_conf" prune --store local)"
assert_eq "$data_files" "$(drive_set_files "${ids[5]}" | wc -l)" "prune --store local deletes nothing on Drive"
assert_not_contains "$out" "drive " "and shows no Drive entries"
out="$(rs "$drive_conf" prune)"
assert_contains "$out" "deleted 1 set" "prune deletes the abandoned upload"
assert_eq "" "$(drive_set_files "${ids[5]}")" "none of its files are left on Drive"
assert_eq "${ids[4]}" "$(drive_sets)" "Drive's complete set is untouched"
pass "an abandoned upload on Drive is deleted once old, kept while recent"

# -------------------------------------------------------------- the companion, local only
q "ALTER SYSTEM SET ramsafe.drive_credentials_file = ''"
q "SELECT pg_reload_conf()" >/dev/null
local_conf="$(ramsafe_config x "ramsafe.local_retention = 'last=1'")"
out="$(rs "$local_conf" prune --dry-run)"
assert_contains "$out" "${ids[3]}" "dry run lists the older set"
assert_contains "$out" "would delete 1 set (dry run)" "and would delete it"
assert_eq 2 "$(local_sets | wc -l)" "a dry run deletes nothing"
out="$(rs "$local_conf" prune)"
assert_contains "$out" "deleted 1 set" "prune deletes it"
assert_eq "${ids[4]}" "$(local_sets)" "only the newest set is left"
bad_conf="$(ramsafe_config x "ramsafe.local_retention = 'dayly=7'")"
assert_fails_with 2 rs "$bad_conf" prune
assert_contains "$ASSERT_OUTPUT" "unknown rule \"dayly\"" "a bad policy is named"
pass "ramsafe prune: dry run, delete, a bad policy refused"

#!/usr/bin/env bash
# The Drive store's traps (issue 16, items 2, 4 and 5), through the companion against the
# Drive v3 emulator, a service account with the Content manager role of a shared drive:
#   - the answer to the cluster folder's creation is lost (the emulator creates it and
#     drops the connection): the retry makes no second folder, and a restore with
#     --on-missing init and no local store restores the set from Drive
#   - two folders tagged for one cluster (the oldest empty, the sets in the other, as older
#     versions left them): readers see the sets, restore --on-missing init restores, and
#     the next upload moves everything into the oldest and trashes the other
#   - duplicate copies of a file in a complete set: verify keeps the copy that checks out
#     against the manifest (also when the oldest copy is the damaged one) and removes the
#     others, restore reads the good copy, upload removes them too; when no copy checks
#     out nothing is removed and verify reports the damage
#   - prune on the shared drive as Content manager moves sets to the trash (a Content
#     manager may not delete); as a Contributor it fails with a message naming the role;
#     with a user token in My Drive it deletes
#   - Drive answering incompleteSearch for listings of every drive: ramsafe searches the
#     shared drive alone and sees every set; a listing flagged incomplete is refused, and a
#     restore then initialises nothing
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init drive_store
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/drive.sh
. "$HERE/../lib/drive.sh"

drive_start
drive_service_account sa
drive_shared_drive sd "$DRIVE_DIR/sa.json" fileOrganizer
ramsafe_keys
pg_start_cluster x
psql_as x postgres -c "CREATE DATABASE app"
psql_as x app -c "CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 20000) g"
psql_as x app -c "CREATE TABLE marker (n int)"
psql_as x app -c "INSERT INTO marker VALUES (1)"
mapfile -t sa_lines < <(drive_settings "$DRIVE_DIR/sa.json" sd)
conf="$(ramsafe_config x "${sa_lines[@]}" "ramsafe.drive_retention = 'last=1'")"
store="$WORK/store/main"
out="" rc=0
run() { # run ARGS...: rs into $out and $rc, never failing the script
  rc=0
  out="$(rs "$conf" "$@" 2>&1)" || rc=$?
}
# Live (not trashed) folders tagged for cluster main, oldest first: "id createdTime" lines.
cluster_folders() {
  drive_admin GET /files | json "d.files.filter(f => f.appProperties && f.appProperties.ramsafe_cluster === 'main'
    && !f.trashed).sort((a, b) => a.createdTime < b.createdTime ? -1 : 1).map(f => f.id + ' ' + f.createdTime).join('\n')"
}
# Live copies of one file of a set: "id md5" lines, oldest first.
copies() {
  drive_admin GET /files | json "d.files.filter(f => f.appProperties && f.appProperties.ramsafe_set === '$1'
    && f.appProperties.ramsafe_path === '$2' && !f.trashed).sort((a, b) => a.createdTime < b.createdTime ? -1 : 1)
    .map(f => f.id + ' ' + f.md5Checksum).join('\n')"
}
trashed() { [[ "$(drive_admin GET "/files/$1" | json d.trashed)" == true ]]; }
# restore_from_drive DESC: wipe the data directory, hide the local store, restore with
# --on-missing init; the marker must come back (not an empty, initialised cluster).
restore_from_drive() {
  local desc="$1" want="$2"
  pg_stop_cluster x
  pg_wipe_data x
  mv "$store" "$WORK/store-aside"
  run restore --no-progress --on-missing init
  mv "$WORK/store-aside" "$store"
  [[ "$rc" -eq 0 ]] || fail "$desc: restore exited $rc" "$out"
  assert_not_contains "$out" "initializing an empty cluster" "$desc: no empty cluster"
  assert_contains "$out" "restored backup" "$desc: a set restored"
  pg_start_existing x
  assert_eq "$want" "$(psql_as x app -c 'SELECT max(n) FROM marker')" "$desc: the data is back"
}

# ------------------------------------------------- the cluster folder's answer is lost
drive_admin POST /faults '{"rules": [{"match": {"kind": "create"}, "action": "loseResponse", "count": 1}]}' >/dev/null
run backup
[[ "$rc" -eq 0 ]] || fail "backup" "$out"
id1="$(basename "$(newest_set "$store")")"
run upload --no-progress
[[ "$rc" -eq 0 ]] || fail "upload after a lost answer exited $rc" "$out"
assert_eq 1 "$(drive_admin GET /faults | json 'd.rules[0].fired')" "the folder's creation lost its answer"
drive_admin DELETE /faults >/dev/null
assert_eq 1 "$(cluster_folders | wc -l)" "one folder for the cluster after the retry"
restore_from_drive "lost answer" 1
pass "a lost answer to the folder's creation: one folder, and restore --on-missing init restores from Drive"

# ------------------------------------------------------- two folders for one cluster
first="$(cluster_folders | cut -d' ' -f1)"
second="$(drive_admin POST "/files/$first/duplicate" | json d.id)"
# The new, empty one becomes the oldest: readers that pick one folder pick the empty one.
drive_admin POST "/files/$second/times" '{"createdTime": "2020-01-01T00:00:00Z"}' >/dev/null
assert_eq 2 "$(cluster_folders | wc -l)" "two folders tagged for the cluster"
run list --store drive
assert_contains "$out" "$id1" "list reads every folder of the cluster"
restore_from_drive "split folders" 1
psql_as x app -c "INSERT INTO marker VALUES (2)"
run backup
id2="$(basename "$(newest_set "$store")")"
run upload --no-progress
[[ "$rc" -eq 0 ]] || fail "upload with two folders exited $rc" "$out"
assert_contains "$out" "found a second Drive folder for cluster main ($first)" "the fold is reported"
assert_eq "$second" "$(cluster_folders | cut -d' ' -f1)" "one folder left, the oldest"
trashed "$first" || fail "the emptied folder is not in the trash"
parents="$(drive_admin GET /files | json "[...new Set(d.files.filter(f => f.appProperties && f.appProperties.ramsafe_set
  && !f.trashed).map(f => f.parents[0]))].join(' ')")"
assert_eq "$second" "$parents" "every file of every set is in the remaining folder"
run list --store drive
assert_contains "$out" "$id2" "the new set is listed"
pass "two folders for one cluster: readers see both, restore works, upload folds them into the oldest"

# ----------------------------------------------------------------- duplicates in a set
app_path="$(cd "$store/$id2" && ls db/app.*)"
read -r orig orig_md5 < <(copies "$id2" "$app_path")
twin="$(drive_admin POST "/files/$orig/duplicate" | json d.id)"
bad="$(drive_admin POST "/files/$orig/duplicate" | json d.id)"
drive_admin POST "/files/$bad/corrupt" '{"offset": 3000}' >/dev/null
assert_eq 3 "$(copies "$id2" "$app_path" | wc -l)" "three copies planted"
run verify --store drive "$id2"
[[ "$rc" -eq 0 ]] || fail "verify with duplicates exited $rc" "$out"
assert_contains "$out" "DUPLICATES: 3 copies of $app_path: kept $orig" "verify names the kept copy"
assert_contains "$out" "$twin (identical to the kept copy)" "the identical copy goes"
assert_contains "$out" "$bad (its SHA-256 is not the manifest's)" "the damaged copy goes"
assert_eq "$orig $orig_md5" "$(copies "$id2" "$app_path")" "one copy left, the good one"
trashed "$twin" && trashed "$bad" || fail "the removed copies are not in the trash"
pass "verify: of three copies the one that checks out stays, the identical and the damaged go"

# The oldest copy is the damaged one: readers take the good copy, upload keeps it.
good="$(drive_admin POST "/files/$orig/duplicate" | json d.id)"
drive_admin POST "/files/$orig/corrupt" '{"offset": 100}' >/dev/null
run verify --store drive --json "$id2"
[[ "$rc" -eq 0 ]] || fail "verify json exited $rc" "$out"
assert_eq "$good" "$(json "d.sets[0].duplicates[0].kept" <<<"$out")" "the good, younger copy kept"
# and once more from upload, with a fresh pair
bad2="$(drive_admin POST "/files/$good/duplicate" | json d.id)"
drive_admin POST "/files/$good/times" '{"createdTime": "2020-01-01T00:00:00Z"}' >/dev/null
drive_admin POST "/files/$bad2/times" '{"createdTime": "2019-01-01T00:00:00Z"}' >/dev/null
drive_admin POST "/files/$bad2/corrupt" '{"offset": 7}' >/dev/null
restore_from_drive "duplicates, the oldest damaged" 2
run upload --no-progress
[[ "$rc" -eq 0 ]] || fail "upload exited $rc" "$out"
assert_contains "$out" "kept $good, removed $bad2" "upload removes the damaged copy"
assert_eq "$good" "$(copies "$id2" "$app_path" | cut -d' ' -f1)" "one copy left"
pass "the oldest copy damaged: restore reads the good one, verify and upload keep it and remove the other"

# No copy checks out: nothing is removed, the damage is reported.
other="$(drive_admin POST "/files/$good/duplicate" | json d.id)"
drive_admin POST "/files/$good/corrupt" '{"offset": 11}' >/dev/null
drive_admin POST "/files/$other/corrupt" '{"offset": 12}' >/dev/null
run verify --store drive "$id2"
assert_eq 5 "$rc" "verify exit code with no good copy"
assert_contains "$out" "no copy checks out against the manifest" "verify says why nothing was removed"
assert_eq 2 "$(copies "$id2" "$app_path" | wc -l)" "both damaged copies left in place"
pass "no copy checks out: both left in place, verify exits 5"

# ---------------------------------------------------------------------- shared drive roles
run backup
run upload --no-progress
run list --store drive
before="$(grep -c '^2' <<<"$out" || true)"
drive_set_files "$id1" | cut -f2 >"$WORK/id1-files"
run prune --store drive
[[ "$rc" -eq 0 ]] || fail "prune as Content manager exited $rc" "$out"
assert_contains "$out" "$id1" "prune names the older set"
while read -r fid; do trashed "$fid" || fail "file $fid of the pruned set is not in the trash"; done <"$WORK/id1-files"
run list --store drive
assert_not_contains "$out" "$id1" "the pruned set is not listed"
note "prune as Content manager: $before sets before, the older ones moved to the trash"
role() { drive_admin POST /drives/sd/members "{\"principal\": \"$(drive_principal "$DRIVE_DIR/sa.json")\", \"role\": \"$1\"}" >/dev/null; }
run backup
run upload --no-progress
role writer
run prune --store drive
assert_contains "$out" "Content manager role" "a Contributor is told which role prune needs"
role fileOrganizer
run prune --store drive
[[ "$rc" -eq 0 ]] || fail "prune as Content manager again exited $rc" "$out"
pass "prune on a shared drive as Content manager: sets go to the trash; as Contributor: the role is named"

drive_user_token pi
mapfile -t pi_lines < <(drive_settings "$DRIVE_DIR/pi.json")
pi_conf="$(ramsafe_config x "${pi_lines[@]}" "ramsafe.drive_retention = 'last=1'")"
rs "$pi_conf" upload --no-progress >/dev/null
psql_as x app -c "INSERT INTO marker VALUES (3)"
rs "$pi_conf" backup >/dev/null
rs "$pi_conf" upload --no-progress >/dev/null
older="$(drive_admin GET /files | json "d.files.filter(f => f.owner === 'pi@example.com' && f.appProperties
  && f.appProperties.ramsafe_set).map(f => f.id).join(' ')")"
rs "$pi_conf" prune --store drive >/dev/null
gone=0
for fid in $older; do
  drive_admin GET /files | json "d.files.some(f => f.id === '$fid')" | grep -q false && gone=$((gone + 1))
done
[[ "$gone" -gt 0 ]] || fail "prune in My Drive deleted nothing"
pass "prune in My Drive deletes for good ($gone files)"

# ------------------------------------------------------------------------- incompleteSearch
run list --store drive
newest="$(awk '$1 ~ /^2/ {print $1; exit}' <<<"$out")"
drive_admin POST /settings '{"incomplete_search": "allDrives"}' >/dev/null
run list --store drive
assert_contains "$out" "$newest" "a shared drive is searched alone: the listing is whole"
restore_from_drive "incompleteSearch for every drive" 2
drive_admin POST /settings '{"incomplete_search": "always"}' >/dev/null
run list --store drive
assert_eq 1 "$rc" "list exit code when Drive says the listing may be incomplete"
assert_contains "$out" "may be incomplete (incompleteSearch)" "the reason is given"
pg_stop_cluster x
pg_wipe_data x
mv "$store" "$WORK/store-aside"
run restore --no-progress --on-missing init
mv "$WORK/store-aside" "$store"
assert_eq 3 "$rc" "restore exit code when Drive's listing is incomplete"
assert_file_not_exists "$(pg_datadir x)/PG_VERSION"
drive_admin POST /settings '{"incomplete_search": null}' >/dev/null
pass "incompleteSearch: the shared drive's own listing is used; a listing flagged incomplete is refused, nothing initialised"

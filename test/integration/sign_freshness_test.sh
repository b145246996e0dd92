#!/usr/bin/env bash
# Freshness (issue 14, item 3; docs/security.md): every signed set has a per-cluster sequence
# number, this host remembers the highest it has seen (the state file beside the keys), and
#   - list and restore report a ROLLBACK when the newest trusted set is older than that (the
#     newest set deleted; an older copy of the store put back), restore also in its report;
#   - the next backup goes on above what was seen, so the report ends;
#   - a signed set dated in the future is UNTRUSTED, also on a new host without any state;
#   - the state file may not lie in the data directory.
# Run as root: bash test/integration/sign_freshness_test.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init sign_freshness
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/forge.sh
. "$HERE/../lib/forge.sh"

ramsafe_keys
pg_start_cluster src
psql_as src postgres -c "CREATE TABLE marker (v int)"
conf="$(ramsafe_config src "ramsafe.local_retention = ''")"
store="$WORK/store/main"
state="$WORK/keys/ramsafe-state.json"
ids=()
for i in 1 2 3; do
  psql_as src postgres -c "INSERT INTO marker VALUES ($i)"
  ((i == 1)) || sleep 1.1  # a new backup id (ids are seconds)
  rs "$conf" backup >/dev/null
  ids+=("$(basename "$(newest_set "$store")")")
  ((i == 1)) && cp -a "$store" "$WORK/store-after-first"
done
assert_eq "3" "$(jq '.clusters.main.sequence' "$state")" "the backups noted sequence 3 beside the keys"
assert_eq "${ids[2]}" "$(jq -r '.clusters.main.backup_id' "$state")" "with the newest set's id"
assert_not_contains "$(rs "$conf" list 2>&1)" "ROLLBACK" "no rollback while the store is whole"
pass "three signed sets, sequence 1 to 3, noted in the state file"

# The newest set deleted (by someone with access to the store).
rm -rf "${store:?}/${ids[2]}"
out="$(rs "$conf" list 2>&1)"
assert_contains "$out" "ROLLBACK: the newest trusted backup is ${ids[1]} (sequence 2" "list: ROLLBACK"
assert_contains "$out" "already seen backup ${ids[2]} (sequence 3" "naming what was seen"
pg_stop_cluster src
pg_wipe_data src
out="$(rs "$conf" restore --if-empty --no-progress 2>&1)" || fail "restore failed" "$out"
assert_contains "$out" "restored backup ${ids[1]} " "restore takes the newest set left"
assert_contains "$out" "ROLLBACK" "and says the store was rolled back"
report="$(pg_datadir src)/ramsafe_restore_report.json"
assert_contains "$(jq -r .rollback "$report")" "ROLLBACK" "the report has the rollback"
assert_eq "3" "$(jq .seen_sequence "$report")" "and the sequence seen before"
assert_eq "2" "$(jq .sequence "$report")" "and the restored set's"
pass "the newest set deleted: list and restore report a ROLLBACK"

# An older copy of the whole store put back.
rm -rf "$store"
cp -a "$WORK/store-after-first" "$store"
assert_contains "$(rs "$conf" list 2>&1)" "ROLLBACK: the newest trusted backup is ${ids[0]} (sequence 1" \
  "an older copy of the store: ROLLBACK"
pass "an older copy of the store put back: ROLLBACK"

# The next backup goes on above what this host has seen: the rollback report ends there.
pg_start_existing src
rs "$conf" backup >/dev/null
next="$(basename "$(newest_set "$store")")"
assert_eq "4" "$(jq -r ".[] | select(.backup_id == \"$next\") | .sequence" <<<"$(rs "$conf" list --json)")" \
  "the next set is numbered 4, not 2"
assert_not_contains "$(rs "$conf" list 2>&1)" "ROLLBACK" "no rollback once a newer set exists"
pass "the next backup continues above the highest sequence seen"

# A signed set dated in the future (a writer's clock gone wrong), also on a new host.
future=20991231T000000Z
cp -a "$store/$next" "$store/$future"
jq -S '.backup_id = "20991231T000000Z" | .finished_at = "2099-12-31T00:00:00.000Z"' \
  "$store/$next/manifest.json" >"$store/$future/manifest.json"
redate_manifest "$store/$future" 2099-12-31T00:00:00.000Z
forge_sign "$store/$future" "$WORK/keys/signing.key"
assert_contains "$(rs "$conf" list | grep "^$future")" "UNTRUSTED: it claims to have finished at 2099" \
  "a signed set from the future is UNTRUSTED"
new_host="$(ramsafe_config src "ramsafe.state_file = '$WORK/new-host/state.json'")"
pg_mkdir "$WORK/new-host"
out="$(rs "$new_host" list 2>&1)"
assert_contains "$(grep "^$future" <<<"$out")" "UNTRUSTED: it claims to have finished at 2099" \
  "a new host without state checks the time too"
assert_not_contains "$out" "ROLLBACK" "and cannot know of a rollback"
assert_eq "4" "$(jq '.clusters.main.sequence' "$WORK/new-host/state.json")" "it starts remembering"
pass "a signed set dated in the future is UNTRUSTED, with or without state"

inside="$(ramsafe_config src "ramsafe.state_file = '$(pg_datadir src)/ramsafe-state.json'")"
assert_fails_with 2 rs "$inside" list
assert_contains "$ASSERT_OUTPUT" "lies inside the data directory" "a state file in the data directory is refused"
pass "the state file may not lie in the data directory (exit 2)"

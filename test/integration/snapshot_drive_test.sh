#!/usr/bin/env bash
# An offline snapshot on Google Drive (the emulator; issue 15): Drive upload does not filter
# the kind out, and a restore from Drive alone brings the snapshot back by extraction.
#   - after a clean stop, `ramsafe snapshot`, then `ramsafe upload`: Drive holds the set's
#     data.tar.zst.age, manifest.json and manifest.json.sig
#   - the local store gone and the data directory wiped, `restore --store drive`: the
#     offline snapshot is restored (no recovery), every row back
# Run as root. Needs only the companion ($RAMSAFE_BIN) and node (the emulator).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init snapshot_drive
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/drive.sh
. "$HERE/../lib/drive.sh"

drive_start
drive_service_account sa
drive_shared_drive backups-sd "$DRIVE_DIR/sa.json" fileOrganizer
ramsafe_keys
pg_start_cluster x
data="$(pg_datadir x)"
psql_as x postgres -c "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g"
mapfile -t sa_lines < <(drive_settings "$DRIVE_DIR/sa.json" backups-sd)
conf="$(ramsafe_config x "${sa_lines[@]}")"
pg_stop_cluster x
out="$(rs "$conf" snapshot --json)" || fail "snapshot failed" "$out"
id="$(jq -r .backup_id <<<"$out")"
out="$(rs "$conf" upload --no-progress 2>&1)" || fail "upload failed" "$out"
files="$(drive_set_files "$id" | cut -f1 | sort | tr '\n' ' ')"
assert_eq "data.tar.zst.age manifest.json manifest.json.sig " "$files" "Drive holds the offline set"
out="$(rs "$conf" list --store drive)" || fail "list --store drive failed" "$out"
grep -qE "^$id +offline " <<<"$out" || fail "Drive's listing does not show $id as offline" "$out"
pass "ramsafe upload copies an offline snapshot to Drive"

rm -rf "$WORK/store/main"
pg_wipe_data x
out="$(rs "$conf" restore --store drive --if-empty 2>&1)" || fail "restore from Drive failed" "$out"
assert_contains "$out" "restored offline snapshot $id" "the offline snapshot is restored from Drive"
assert_eq false "$(jq -r .wal_replayed "$data/ramsafe_restore_report.json")" "without recovery"
pg_start_existing x
assert_eq 20000 "$(psql_as x postgres -c "SELECT count(*) FROM t")" "every row is back"
pass "restore --store drive of the offline snapshot: extraction, every row back"

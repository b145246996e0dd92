#!/usr/bin/env bash
# Offline snapshots (issue 15): `ramsafe snapshot` after a clean stop, and its refusals.
#   - a running server: exit 8, "a server is running", nothing written
#   - a crashed cluster (kill -9: pg_controldata says "in production"): exit 8, nothing written
#   - a data directory of another system identifier than the store's newest set: exit 1
#   - a full store disk (a small tmpfs): exit 1, nothing published, no .partial left
#   - in every case, and after a successful snapshot, the data directory is unchanged
#   - round trip: stop, snapshot, list/verify --deep, wipe, restore --if-empty (the offline
#     set is chosen, the report says so and why), start without recovery, every row back
#   - a logical backup taken after the server ran again supersedes it: restore takes the
#     newer set, and prune deletes the superseded snapshot
# Run as root. Needs only the companion ($RAMSAFE_BIN), not the installed extension.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init snapshot
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

# digest DIR: names, sizes, modes, times and contents of everything below DIR.
digest() {
  (cd "$1" && find . -printf '%p %s %m %T@ %y\n' | sort && find . -type f -print0 | sort -z | xargs -0 -r sha256sum) |
    sha256sum | cut -d' ' -f1
}
set_count() { find "$WORK/store/main" -mindepth 1 -maxdepth 1 -type d -name '2*' | wc -l; }
server_gone() {
  local p
  for p in "$@"; do [[ -e /proc/$p ]] && return 1; done
  return 0
}

ramsafe_keys
pg_start_cluster x
data="$(pg_datadir x)"
conf="$(ramsafe_config x)"
psql_as x postgres -c "CREATE TABLE t (id int PRIMARY KEY, v text)" \
  -c "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g"
rs "$conf" backup >/dev/null

# ------------------------------------------------------------------ a running server
before="$(set_count)"
assert_fails_with 8 rs "$conf" snapshot
assert_contains "$ASSERT_OUTPUT" "a server is running on $data" "names the running server"
assert_eq "$before" "$(set_count)" "nothing published"
pass "snapshot of a running server: exit 8, nothing written"

# ------------------------------------------------------------------ a crashed cluster
pm="$(head -n 1 "$data/postmaster.pid")"
mapfile -t kids < <(pgrep -P "$pm" || true)
kill -KILL "${kids[@]}" "$pm" 2>/dev/null || true
wait_for "the killed server's processes to be gone" 30 server_gone "$pm" "${kids[@]}"
state="$(LC_ALL=C "$PG_BINDIR/pg_controldata" -D "$data" | sed -n 's/^Database cluster state: *//p')"
assert_eq "in production" "$state" "kill -9 leaves the cluster in production"
sum="$(digest "$data")"
assert_fails_with 8 rs "$conf" snapshot
assert_contains "$ASSERT_OUTPUT" "was not shut down cleanly (pg_controldata: \"in production\")" \
  "says the cluster was not shut down cleanly"
assert_eq "$before" "$(set_count)" "nothing published"
assert_eq "$sum" "$(digest "$data")" "the data directory is untouched"
pass "snapshot of a crashed cluster: exit 8, nothing written, the data directory untouched"
pg_start_existing x # crash recovery
# Rows the logical backup lacks: only the snapshot can bring them back.
psql_as x postgres -c "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(5001, 8000) g"
pg_stop_cluster x

# ------------------------------------------------------------------ another system identifier
pg_init_cluster y
other="$(pg_datadir y)"
sum_y="$(digest "$other")"
assert_fails_with 1 rs "$conf" snapshot -D "$other"
assert_contains "$ASSERT_OUTPUT" "belongs to the cluster with system identifier" "names the mismatch"
assert_contains "$ASSERT_OUTPUT" "holds backups of system identifier" "and the store's"
assert_eq "$before" "$(set_count)" "nothing published"
assert_eq "$sum_y" "$(digest "$other")" "the other data directory is untouched"
pass "snapshot of another cluster's data directory into this store: exit 1"

# ------------------------------------------------------------------ a full store disk
sum="$(digest "$data")"
mount_tmpfs "$WORK/small" 512k
small="$(ramsafe_config x "ramsafe.local_dir = '$WORK/small'")"
assert_fails_with 1 rs "$small" snapshot
assert_contains "$ASSERT_OUTPUT" "No space left on device" "says the disk is full"
published="$(find "$WORK/small" -mindepth 2 -maxdepth 2 -name 'manifest.json*' | wc -l)"
assert_eq 0 "$published" "nothing published on the full disk"
partials="$(find "$WORK/small" -mindepth 2 -maxdepth 2 -name '*.partial' | wc -l)"
assert_eq 0 "$partials" "no partial set left behind"
assert_eq "$sum" "$(digest "$data")" "the data directory is untouched"
umount "$WORK/small" || fail "could not unmount $WORK/small"
pass "snapshot onto a full disk: exit 1, nothing published, the data directory untouched"

# ------------------------------------------------------------------ round trip
out="$(rs "$conf" snapshot --json)" || fail "snapshot failed" "$out"
assert_eq offline "$(jq -r .kind <<<"$out")" "kind offline"
id="$(jq -r .backup_id <<<"$out")"
sysid="$(LC_ALL=C "$PG_BINDIR/pg_controldata" -D "$data" | sed -n 's/^Database system identifier: *//p')"
checkpoint="$(LC_ALL=C "$PG_BINDIR/pg_controldata" -D "$data" | sed -n 's/^Latest checkpoint location: *//p')"
assert_eq "$sysid" "$(jq -r .system_identifier <<<"$out")" "records the system identifier"
assert_eq "$checkpoint" "$(jq -r .checkpoint_lsn <<<"$out")" "records the checkpoint"
assert_eq "$sum" "$(digest "$data")" "the data directory is untouched by a snapshot"
manifest="$WORK/store/main/$id/manifest.json"
assert_eq offline "$(jq -r .kind "$manifest")" "the manifest says offline"
assert_eq "shut down" "$(jq -r .offline.cluster_state "$manifest")" "and the state it was taken in"
assert_eq 15 "$(jq -r .offline.pg_major "$manifest")" "and the PostgreSQL major"
assert_file_exists "$manifest.sig"
# What the tar holds: no postmaster.pid, pg_stat_tmp empty, only the WAL a start reads.
files="$(runuser -u postgres -- "$RAMSAFE_TEST_BIN" decrypt --config "$conf" "$WORK/store/main/$id/data.tar.zst.age" | tar -t)"
assert_contains "$files" "global/pg_control" "the control file is in the copy"
assert_not_contains "$files" "postmaster.pid" "postmaster.pid is not"
assert_eq 1 "$(grep -c '^pg_stat_tmp' <<<"$files")" "pg_stat_tmp is there, empty"
redo="$(LC_ALL=C "$PG_BINDIR/pg_controldata" -D "$data" | sed -n "s/^Latest checkpoint's REDO WAL file: *//p")"
assert_eq "pg_wal/$redo" "$(grep -E '^pg_wal/[0-9A-F]{24}$' <<<"$files")" "pg_wal holds the checkpoint's segment only"
out="$(rs "$conf" list)" || fail "list failed" "$out"
grep -qE "^$id +offline " <<<"$out" || fail "list does not show $id as offline" "$out"
out="$(rs "$conf" verify --deep "$id" 2>&1)" || fail "verify --deep failed" "$out"
pass "snapshot after a clean stop: signed set of kind offline, listed, verified, the data directory untouched"

pg_wipe_data x
out="$(rs "$conf" restore --if-empty 2>&1)" || fail "restore failed" "$out"
assert_contains "$out" "restored offline snapshot $id" "the offline snapshot is restored"
assert_contains "$out" "no recovery needed" "without recovery"
report="$data/ramsafe_restore_report.json"
assert_eq offline "$(jq -r .kind "$report")" "the report names the kind"
assert_eq false "$(jq -r .wal_replayed "$report")" "no WAL replayed"
assert_contains "$(jq -r .reason "$report")" "no WAL was archived after its checkpoint" "the report says why"
assert_file_not_exists "$data/recovery.signal"
state="$(LC_ALL=C "$PG_BINDIR/pg_controldata" -D "$data" | sed -n 's/^Database cluster state: *//p')"
assert_eq "shut down" "$state" "the restored cluster is cleanly shut down"
: >"$(pg_logfile x)"
pg_start_existing x
assert_eq 8000 "$(psql_as x postgres -c "SELECT count(*) FROM t")" "every row is back"
assert_eq 0 "$(psql_as x postgres -c "SELECT count(*) FROM t WHERE v <> md5(id::text)")" "intact"
assert_not_contains "$(cat "$(pg_logfile x)")" "redo starts" "the server started without recovery"
assert_eq "$sysid" "$(psql_as x postgres -c "SELECT system_identifier FROM pg_control_system()")" \
  "the same cluster (system identifier)"
pass "restore of the offline snapshot: extraction, no recovery, all 8000 rows back"

# ------------------------------------------------------------------ superseded by newer data
psql_as x postgres -c "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(8001, 9000) g"
rs "$conf" backup >/dev/null
pg_stop_cluster x immediate
pg_wipe_data x
out="$(rs "$conf" restore --if-empty 2>&1)" || fail "restore failed" "$out"
assert_contains "$out" "restored backup" "the newer logical backup is restored, not the older snapshot"
assert_eq logical "$(jq -r .kind "$report")" "kind logical"
pg_start_existing x
assert_eq 9000 "$(psql_as x postgres -c "SELECT count(*) FROM t")" "every row of the newer backup"
out="$(rs "$conf" prune --dry-run 2>&1)" || fail "prune --dry-run failed" "$out"
assert_contains "$out" "offline snapshot: superseded by" "retention lets the superseded snapshot go"
pass "a newer logical backup supersedes the snapshot: restored instead, and the snapshot pruned"

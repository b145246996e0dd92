#!/usr/bin/env bash
# A damaged WAL file in the store (issue 7; docs/wal.md, docs/restore.md) on tmpfs:
#   - a physical base, then four batches of rows, each in its own archived WAL segment;
#     one byte flipped in the middle of the third batch's stored segment
#   - `ramsafe verify --deep` exits 5 and names exactly that file (text and --json); plain
#     `verify` cannot see a flip without the key and says it only checked checksum files
#   - `ramsafe restore` recovers to the last good point: exactly batches 1 and 2 (count and
#     checksum: not fewer, not more), says loudly which file is damaged and where replay
#     stopped, exits 7, and the report has complete = false, wal_damaged_file, wal_stopped_at
#   - a missing .sha256 and a missing segment after the base: plain `verify` flags both
# Needs the installed extension (cmake --install build), or RAMSAFE_TEST_LIBRARY. Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init wal_corruption
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

ramsafe_test_library # sets lib

ramsafe_keys
pg_mkdir "$WORK/store"
pg_init_cluster w
ramsafe_wal_conf w "archive_timeout = 0"
pg_start_existing w
conf="$(ramsafe_config w)"
data="$(pg_datadir w)"
wal="$WORK/store/main/wal"
q() { psql_as w postgres -c "$1"; }
archived_up_to() { [[ "$(q "SELECT coalesce(last_archived_wal, '') >= '$1' FROM pg_stat_archiver")" == t ]]; }

q "CREATE TABLE t (id int PRIMARY KEY, batch int NOT NULL, payload text NOT NULL)"
base="$(rs "$conf" base-backup --json --no-progress | jq -r .backup_id)"
[[ "$base" =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || fail "base-backup gave no backup id: '$base'"

# Four batches of 100 rows, each written into a segment of its own and archived.
checksum_sql() { echo "SELECT count(*) || ' ' || md5(string_agg(id || ':' || batch || ':' || payload, ',' ORDER BY id)) FROM t WHERE batch <= $1"; }
segs=()
for b in 1 2 3 4; do
  q "SELECT pg_switch_wal()" >/dev/null
  q "INSERT INTO t SELECT i, $b, md5(i::text) FROM generate_series($((b * 100 - 99)), $((b * 100))) i"
  segs[b]="$(q "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")"
  q "SELECT pg_switch_wal()" >/dev/null
  wait_for "segment ${segs[b]} to be archived" 150 archived_up_to "${segs[b]}"
done
expected="$(q "$(checksum_sql 2)")"
note "batches in ${segs[*]:1}"
if ((${#segs[@]} != 4)) || [[ ! "${segs[2]}" < "${segs[3]}" || ! "${segs[3]}" < "${segs[4]}" ]]; then
  fail "the batches did not land in four increasing segments: ${segs[*]:1}"
fi
pg_wipe_data w

# ------------------------------------------------------------------ damage one segment
bad="${segs[3]}"
stored="$wal/${bad:0:8}/$bad.zst.age"
assert_file_exists "$stored"
size="$(stat -c %s "$stored")"
printf '\xff\x00\xff' | dd of="$stored" bs=1 seek=$((size / 2)) conv=notrunc status=none
rs "$conf" verify --deep --no-progress >"$WORK/verify.out" 2>&1 && fail "verify --deep passed a damaged WAL file" "$(cat "$WORK/verify.out")"
assert_fails_with 5 rs "$conf" verify --deep --no-progress
note "verify --deep said: $ASSERT_OUTPUT"
assert_contains "$ASSERT_OUTPUT" "DAMAGED: WAL file $bad: $stored" "verify --deep names the damaged file"
assert_eq 1 "$(grep -c DAMAGED <<<"$ASSERT_OUTPUT")" "exactly one file is flagged ($ASSERT_OUTPUT)"
rs "$conf" verify --deep --json --no-progress >"$WORK/verify.json" || true
assert_eq "false 1 $bad" "$(jq -r '[.wal.ok, (.wal.damaged | length), .wal.damaged[0].name] | join(" ")' "$WORK/verify.json")" \
  "verify --json reports the damaged WAL file"
assert_eq true "$(jq -r '.sets[0].ok' "$WORK/verify.json")" "the sets are fine"
out="$(rs "$conf" verify --no-progress)" || fail "plain verify failed although every checksum file is there" "$out"
assert_contains "$out" "checksum files only; --deep decrypts" "plain verify says what it could not check"
pass "verify --deep flags exactly the damaged WAL segment $bad (exit 5, text and JSON)"

# ------------------------------------------------------------------ restore to the last good point
set +e
out="$(rs "$conf" restore --no-progress 2>&1)"
rc=$?
set -e
assert_eq 7 "$rc" "restore exits 7 (restored, incomplete) ($out)"
note "restore said: $out"
assert_contains "$out" "WAL file $bad is damaged: replay stopped at" "restore names the file and the stop point"
assert_contains "$out" "data after that was not recovered" "restore says what is lost"
assert_contains "$out" "RESTORE INCOMPLETE" "the last word is loud"
report="$data/ramsafe_restore_report.json"
assert_eq "restored false $bad" "$(jq -r '[.outcome, .complete, .wal_damaged_file] | join(" ")' "$report")" "the report"
stopped="$(jq -r .wal_stopped_at "$report")"
[[ "$stopped" =~ ^[0-9A-F]+/[0-9A-F]+$ ]] || fail "wal_stopped_at is not an LSN: '$stopped'"
assert_contains "$(jq -r .wal_damage "$report")" "$stored" "the report says what is wrong with which file"
# Not appended to the restored configuration: keep this check from archiving a new timeline.
pg_conf w "archive_mode = off"
pg_start_existing w
assert_eq "$expected" "$(q "$(checksum_sql 4)")" "exactly batches 1 and 2 are restored"
note "replay stopped at $stopped; restored $(q "SELECT count(*) FROM t") rows"
pg_stop_cluster w
pass "restore stops at the damaged segment, keeps batches 1 and 2 exactly, exits 7 and says where it stopped"

# ------------------------------------------------------------------ missing .sha256, missing segment
cp -a "$stored" "$WORK/bad.keep"
rm -f "$stored" "${stored%.zst.age}.sha256" # the damaged segment gone: a gap
sum4="$wal/${segs[4]:0:8}/${segs[4]}.sha256"
mv "$sum4" "$WORK/sum4.keep"
assert_fails_with 5 rs "$conf" verify --no-progress
assert_contains "$ASSERT_OUTPUT" "GAP: WAL segment $bad is missing: replay from base $base stops before it" "the gap is named"
assert_contains "$ASSERT_OUTPUT" "DAMAGED: WAL file ${segs[4]}: $sum4 is missing" "the missing checksum file is named"
rs "$conf" verify --json --no-progress >"$WORK/verify2.json" || true
assert_eq "$bad $bad $base" "$(jq -r '.wal.gaps[0] | [.first_missing, .last_missing, .after_base] | join(" ")' "$WORK/verify2.json")" \
  "verify --json reports the gap"
mv "$WORK/sum4.keep" "$sum4"
pass "plain verify flags a missing segment after the base and a missing .sha256"

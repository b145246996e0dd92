#!/usr/bin/env bash
# Corruption drill: bits flipped and files truncated at random positions in every kind of
# file of a backup set (manifest, its signature, globals, config, every database dump), in the
# local store and on Drive (the emulator). Each fault must be flagged by `ramsafe verify`
# (DAMAGED, or UNTRUSTED for the manifest and its signature, exit 5), and restore
# must fall back to the older good set, saying so (a sample of the faults, each store and
# each kind of damage, are restored for real).
#   test/drills/corruption.sh [--rounds N]   (default 1 round over every file; long: 5)
# Prints "drill corruption: cycles=... restores_ok=... faults_injected=... faults_detected=...".
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rounds=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds | --cycles) rounds="$2"; shift 2 ;;
    *) echo "usage: $0 [--rounds N]" >&2; exit 2 ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "corruption.sh: --rounds must be a positive integer, not '$rounds'" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init drill_corruption
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/drive.sh
. "$HERE/../lib/drive.sh"

drive_start
drive_service_account sa
drive_shared_drive sd "$DRIVE_DIR/sa.json" fileOrganizer # Content manager, as docs/drive.md says
ramsafe_keys
pg_start_cluster c
psql_as c postgres -c "CREATE DATABASE app"
psql_as c app -c "CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 20000) g"
psql_as c app -c "CREATE TABLE marker (n int); INSERT INTO marker VALUES (1)"
mapfile -t drive_lines < <(drive_settings "$DRIVE_DIR/sa.json" sd)
conf="$(ramsafe_config c "ramsafe.drive_retention = ''" "${drive_lines[@]}")"
store="$WORK/store/main"
rs "$conf" backup >/dev/null
good="$(basename "$(newest_set "$store")")"
psql_as c app -c "UPDATE marker SET n = 2"
rs "$conf" backup >/dev/null
bad="$(basename "$(newest_set "$store")")"
rs "$conf" upload --no-progress >/dev/null
mapfile -t files < <(cd "$store/$bad" && find . -type f -printf '%P\n' | sort)
cp -a "$store/$bad" "$WORK/pristine"

injected=0
detected=0
restores=0
restores_ok=0
RANDOM=$((rounds * 7919))

# damage FILE KIND: flip one bit at a random offset, or truncate at a random length.
damage_local() {
  local f="$1" kind="$2" size offset byte
  size="$(stat -c %s "$f")"
  offset=$((RANDOM * 32768 + RANDOM))
  offset=$((offset % size))
  if [[ "$kind" == flip ]]; then
    byte="$(od -An -tu1 -j "$offset" -N1 "$f" | tr -d ' ')"
    printf "$(printf '\\%03o' $((byte ^ (1 << (RANDOM % 8)))))" |
      dd of="$f" bs=1 seek="$offset" conv=notrunc status=none
  else
    truncate -s "$offset" "$f"
  fi
}

drive_file_id() { drive_set_files "$bad" | awk -F'\t' -v p="$1" '$1 == p {print $2}'; }
damage_drive() {
  local path="$1" kind="$2" id size offset
  id="$(drive_file_id "$path")"
  size="$(drive_set_files "$bad" | awk -F'\t' -v p="$path" '$1 == p {print $3}')"
  offset=$(((RANDOM * 32768 + RANDOM) % size))
  if [[ "$kind" == flip ]]; then
    drive_admin POST "/files/$id/corrupt" "{\"offset\": $offset, \"bit\": $((RANDOM % 8))}" >/dev/null
  else
    drive_admin POST "/files/$id/corrupt" "{\"truncate\": $offset}" >/dev/null
  fi
}
# Puts the damaged set back as it was: locally from the pristine copy; on Drive by
# deleting the set's files and uploading it again.
repair_local() { rm -rf "${store:?}/$bad" && cp -a "$WORK/pristine" "$store/$bad"; }
repair_drive() {
  local id
  for id in $(drive_set_files "$bad" | cut -f2); do drive_admin DELETE "/files/$id" >/dev/null; done
  rs "$conf" upload --no-progress "$bad" >/dev/null
}

# restore_falls_back STORE: restore from that store alone must skip $bad and use $good.
restore_falls_back() {
  local only="$1" c out
  # From the damaged store alone: with both, a damaged local set is simply read from
  # Drive instead (which restore does, and says), which is not the fallback tested here.
  if [[ "$only" == drive ]]; then
    c="$(ramsafe_config c "ramsafe.local_dir = ''" "${drive_lines[@]}")"
  else
    c="$(ramsafe_config c)"
  fi
  pg_wipe_data c
  restores=$((restores + 1))
  out="$(rs "$c" restore 2>&1)" || { note "restore failed: $out"; return 1; }
  [[ "$out" == *"$bad"* && "$out" == *"restored backup $good"* ]] || { note "no fallback: $out"; return 1; }
  pg_start_existing c
  [[ "$(psql_as c app -c 'SELECT n FROM marker')" == 1 ]] || return 1
  restores_ok=$((restores_ok + 1))
}

# With both stores, a damaged local copy is replaced by Drive's copy of the same set.
damage_local "$store/$bad/db/app.dump.zst.age" flip
pg_wipe_data c
out="$(rs "$conf" restore 2>&1)" || fail "restore failed" "$out"
assert_contains "$out" "restored backup $bad" "the newest set is still restored"
assert_contains "$out" "from drive folder sd/main" "from Drive's copy"
pg_start_existing c
assert_eq 2 "$(psql_as c app -c 'SELECT n FROM marker')" "with the newest data"
repair_local
pass "a damaged local set is restored from Drive's copy of the same set"

for ((round = 1; round <= rounds; round++)); do
  for where in local drive; do
    for kind in flip truncate; do
      restored_this=0
      for path in "${files[@]}"; do
        injected=$((injected + 1))
        if [[ "$where" == local ]]; then damage_local "$store/$bad/$path" "$kind"; else damage_drive "$path" "$kind"; fi
        rc=0
        out="$(rs "$conf" verify --store "$where" "$bad" 2>&1)" || rc=$?
        if [[ "$rc" -ne 0 && ( "$out" == *DAMAGED* || "$out" == *UNTRUSTED* ) ]]; then
          detected=$((detected + 1))
        else
          fail "verify missed a $kind in $where $path (exit $rc)" "$out"
        fi
        # One real restore per store and kind of damage (the rest are the same code path).
        if [[ "$restored_this" == 0 && "$path" == db/app* ]]; then
          restore_falls_back "$where" || fail "restore did not fall back from a $kind in $where $path"
          restored_this=1
        fi
        if [[ "$where" == local ]]; then repair_local; else repair_drive; fi
      done
      pass "round $round: a $kind in each of ${#files[@]} files in $where: all flagged by verify, restore fell back"
    done
  done
done

echo "drill corruption: cycles=$rounds restores_ok=$restores_ok/$restores faults_injected=$injected faults_detected=$detected"
[[ "$detected" -eq "$injected" && "$restores_ok" -eq "$restores" ]] || fail "corruption drill: undetected damage or failed restores"

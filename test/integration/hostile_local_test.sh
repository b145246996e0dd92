#!/usr/bin/env bash
# A local store written by someone else (issue 14, items 4-7): what a hostile store can put
# there must not crash, mislead or run anything. Against one real cluster and the companion:
# - a manifest nested 200,000 arrays deep: list and restore go on with the good set;
# - a backup_id with terminal escape sequences: no raw escape byte in any output;
# - sets that decrypt and check out (no signatures yet) but hold a psql meta-command in
#   their globals, or standby.signal and an undeclared file in their configuration
#   archive: refused, the real set restored, nothing run;
# - planted links at the restore report's and decrypt -o's temporary names, and at the
#   output itself: never written through;
# - a store that group or others can write: refused, naming it; root reads, never writes;
# - the companion is not dumpable while it holds an identity.
# Run as root: bash test/integration/hostile_local_test.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"

ramsafe_test_init hostile_local
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

ramsafe_keys
pg_start_cluster src
psql_as src postgres -c "CREATE ROLE alice LOGIN"
psql_as src postgres -c "CREATE DATABASE app OWNER alice"
psql_as src app -c "CREATE TABLE t AS SELECT g AS n FROM generate_series(1, 1000) g"
conf="$(ramsafe_config src)"
rs "$conf" backup >/dev/null
store="$WORK/store/main"
good="$(basename "$(newest_set "$store")")"
pass "a good set $good"

# ------------------------------------------------------------------ forged sets
recipient="$(grep -v '^#' "$WORK/keys/recipients.txt" | head -n 1)"
identity="$WORK/keys/identity.txt"

# A finish time N minutes from now: newer than the good set, and within the clock skew a
# reader allows (a set from further in the future is refused before anything else).
in_minutes() { date -u -d "+$1 minute" +%Y-%m-%dT%H:%M:%S.000Z; }
# forge ID FINISHED: a copy of the good set under ID, finished at FINISHED (a manifest that
# checks out: sizes, SHA-256 and its own checksum recomputed, as anyone with the public
# recipient can). The copy is in $WORK/forge/ID until publish_forged moves it. No forger
# can sign: the copy is made an unsigned set of the format before signing (format 1, no
# manifest.json.sig), which only `restore --allow-unsigned` takes, so that what follows
# tests the defences behind the signatures (docs/security.md), as for a trusted set.
forge() {
  local id="$1" finished="$2"
  rm -rf "$WORK/forge/$id"
  mkdir -p "$WORK/forge"
  cp -a "$store/$good" "$WORK/forge/$id"
  rm -f "$WORK/forge/$id/manifest.json.sig"
  jq --arg id "$id" --arg t "$finished" \
    '.backup_id = $id | .finished_at = $t | .format_version = 1 | del(.sequence)' \
    "$WORK/forge/$id/manifest.json" >"$WORK/forge/$id/m" && mv "$WORK/forge/$id/m" "$WORK/forge/$id/manifest.json"
}
# replace_file ID PATH PLAINTEXT_FILE: encrypts the plaintext as PATH of set ID, with the
# manifest's entry updated.
replace_file() {
  local dir="$WORK/forge/$1" path="$2" plain="$3"
  zstd -q -c "$plain" | age -r "$recipient" >"$dir/$path"
  local size sum plain_size
  size="$(stat -c %s "$dir/$path")"
  sum="$(sha256sum "$dir/$path" | cut -d' ' -f1)"
  plain_size="$(stat -c %s "$plain")"
  jq --arg p "$path" --argjson s "$size" --arg h "$sum" --argjson n "$plain_size" \
    '(.files[] | select(.path == $p)) |= (.stored_bytes = $s | .sha256 = $h | .plaintext_bytes = $n)' \
    "$dir/manifest.json" >"$dir/m" && mv "$dir/m" "$dir/manifest.json"
}
publish_forged() {
  local dir="$WORK/forge/$1" sum
  sum="$(jq -cS 'del(.manifest_sha256)' "$dir/manifest.json" | tr -d '\n' | sha256sum | cut -d' ' -f1)"
  jq -S --arg s "$sum" '.manifest_sha256 = $s' "$dir/manifest.json" >"$dir/m" && mv "$dir/m" "$dir/manifest.json"
  chown -R postgres:postgres "$dir"
  mv "$dir" "$store/$1"
}

# A psql meta-command after pg_dumpall's own \unrestrict (where psql runs it again).
marker="$WORK/pwned-by-globals"
forge 20990101T000000Z "$(in_minutes 3)"
age -d -i "$identity" "$store/$good/globals.sql.zst.age" | zstd -d -q >"$WORK/globals.sql"
assert_contains "$(cat "$WORK/globals.sql")" "CREATE ROLE alice" "globals decrypt"
printf '\\! touch %s\n' "$marker" >>"$WORK/globals.sql"
replace_file 20990101T000000Z globals.sql.zst.age "$WORK/globals.sql"
publish_forged 20990101T000000Z

# standby.signal in the configuration archive (a set that would start as a standby), and,
# in another set, a file the manifest does not declare.
mkdir -p "$WORK/conf"
age -d -i "$identity" "$store/$good/config.tar.zst.age" | zstd -d -q | tar -x -C "$WORK/conf"
forged_config() {
  local id="$1" finished="$2" extra="$3"
  forge "$id" "$finished"
  rm -rf "$WORK/conf2" && cp -a "$WORK/conf" "$WORK/conf2"
  echo "primary_conninfo = 'host=evil'" >"$WORK/conf2/$extra"
  (cd "$WORK/conf2" && tar --format=ustar -cf "$WORK/config.tar" -- *)
  replace_file "$id" config.tar.zst.age "$WORK/config.tar"
  publish_forged "$id"
}
forged_config 20980101T000000Z "$(in_minutes 2)" standby.signal
forged_config 20970601T000000Z "$(in_minutes 1)" evil.conf

# A manifest nested 200,000 arrays deep, and one whose backup_id is terminal escapes.
mkdir "$store/20970101T000000Z" "$store/20960101T000000Z"
deep_manifest >"$store/20970101T000000Z/manifest.json"
forge 20960101T000000Z "$(in_minutes 0)"
jq --arg id $'\e]0;owned\a\e[2J\e[31m20260101T000000Z' '.backup_id = $id' \
  "$WORK/forge/20960101T000000Z/manifest.json" >"$WORK/m"
mv "$WORK/m" "$WORK/forge/20960101T000000Z/manifest.json"
rm -rf "$store/20960101T000000Z"
publish_forged 20960101T000000Z
chown -R postgres:postgres "$store"
pass "forged sets in the store: meta-command globals, standby.signal, deep manifest, escapes"

# ------------------------------------------------------------------ list and verify
out="$(rs "$conf" list 2>&1)" || fail "list failed" "$out"
assert_contains "$out" "$good" "list shows the good set"
assert_contains "$out" "nested deeper than 64 levels" "list says why the deep manifest is unusable"
assert_contains "$out" 'manifest is for backup \x1b]0;owned\x07\x1b[2J' "list shows the escapes escaped"
[[ "$out" != *$'\e'* && "$out" != *$'\a'* ]] || fail "list printed a raw escape byte" "$(printf '%q' "$out")"
out="$(rs "$conf" list --json 2>&1)" || fail "list --json failed" "$out"
[[ "$out" != *$'\e'* ]] || fail "list --json printed a raw escape byte"
jq -e 'length == 6' <<<"$out" >/dev/null || fail "list --json lists six sets" "$out"
assert_fails_with 5 rs "$conf" verify --all
[[ "$ASSERT_OUTPUT" != *$'\e'* ]] || fail "verify printed a raw escape byte"
pass "list and verify survive a deep manifest and print no escape byte"

# ------------------------------------------------------------------ restore
# The report and decrypt -o go to a directory the postgres user writes; a file it may
# write stands for anything a planted link could point at.
out_dir="$WORK/out"
pg_mkdir "$out_dir"
victim="$out_dir/victim"
echo precious >"$victim"
chown postgres:postgres "$victim"
ln -s "$victim" "$out_dir/report.json.tmp"
pg_wipe_data src
# Each forged set on its own, as an unsigned set that --allow-unsigned lets through: the
# defences behind the signatures refuse it, and nothing is written.
refused() {
  local id="$1" why="$2" what="$3"
  assert_fails_with 1 rs "$conf" restore --allow-unsigned --backup-id "$id"
  assert_contains "$ASSERT_OUTPUT" "$why" "$what"
  [[ "$ASSERT_OUTPUT" != *$'\e'* ]] || fail "restore printed a raw escape byte" "$(printf '%q' "$ASSERT_OUTPUT")"
  assert_eq "" "$(find "$(pg_datadir src)" -mindepth 1 -maxdepth 1 ! -name '.ramsafe-restore' | head -3)" \
    "$what: nothing restored"
}
refused 20990101T000000Z "psql meta-command" "the meta-command set is refused"
refused 20980101T000000Z 'holds "standby.signal", which a restore never writes' "the standby.signal set is refused"
refused 20970601T000000Z 'holds "evil.conf", which its manifest does not declare' "the undeclared file's set is refused"
# Then the boot restore: the newest trusted set, past every forged one.
out="$(rs "$conf" restore --allow-unsigned --report "$out_dir/report.json" 2>&1)" || fail "restore failed" "$out"
assert_contains "$out" "restored backup $good" "the good set is restored"
[[ "$out" != *$'\e'* ]] || fail "restore printed a raw escape byte" "$(printf '%q' "$out")"
assert_file_not_exists "$marker" "the meta-command did not run"
data="$(pg_datadir src)"
assert_file_not_exists "$data/standby.signal" "no standby.signal in the restored cluster"
assert_file_not_exists "$data/evil.conf" "no undeclared file in the restored cluster"
assert_eq "precious" "$(cat "$victim")" "the restore report was not written through a planted link"
assert_contains "$(cat "$out_dir/report.json")" "\"backup_id\": \"$good\"" "the report is written"
[[ "$(cat "$out_dir/report.json")" != *$'\e'* ]] || fail "the report holds a raw escape byte"
pg_start_existing src
assert_eq "1000" "$(psql_as src app -c 'select count(*) from t')" "the data is back"
pass "restore refuses the forged sets, runs nothing and restores $good"

# ------------------------------------------------------------------ decrypt -o
ln -s "$victim" "$out_dir/out.sql"
ln -s "$victim" "$out_dir/.out.sql.tmp"
chown -h postgres:postgres "$out_dir/out.sql" "$out_dir/.out.sql.tmp"
assert_fails_with 2 rs "$conf" decrypt -o "$out_dir/out.sql" "$store/$good/globals.sql.zst.age"
assert_contains "$ASSERT_OUTPUT" "$out_dir/out.sql is a symbolic link" "decrypt -o refuses a link at FILE"
assert_eq "precious" "$(cat "$victim")" "decrypt -o did not write through the link"
rm "$out_dir/out.sql"
rs "$conf" decrypt -o "$out_dir/out.sql" "$store/$good/globals.sql.zst.age"
assert_eq "precious" "$(cat "$victim")" "decrypt -o did not write through the planted .tmp"
assert_contains "$(cat "$out_dir/out.sql")" "CREATE ROLE alice" "decrypt -o wrote the plaintext"
assert_eq "600" "$(stat -c %a "$out_dir/out.sql")" "decrypt -o makes a 0600 file"
pass "decrypt -o never writes through a planted link"

# ------------------------------------------------------------------ core dumps
fifo="$out_dir/input.fifo"
mkfifo "$fifo"
chown postgres:postgres "$fifo"
(rs_exec "$conf" decrypt -o "$out_dir/fifo.out" "$fifo") &
pid=$!
ramsafe_on_exit "kill $pid 2>/dev/null"
# Blocked opening the FIFO (after loading the identity): the kernel's wait for a writer.
wait_for "decrypt to wait on the FIFO" 10 bash -c "[[ \"\$(cat /proc/$pid/wchan)\" == wait_for_partner ]]"
assert_eq "0" "$(stat -c %u "/proc/$pid/environ")" "/proc/PID files of the companion belong to root"
runuser -u postgres -- cat "/proc/$pid/mem" 2>/dev/null && fail "the postgres user can read the companion's memory"
runuser -u postgres -- cat "/proc/$pid/environ" >/dev/null 2>&1 && fail "the postgres user can read the companion's environment"
echo "not an age file" >"$fifo"
wait "$pid" && fail "decrypt of garbage succeeded" || true
pass "the companion is not dumpable (PR_SET_DUMPABLE 0)"

# ------------------------------------------------------------------ owner and mode
chmod 0770 "$store"
assert_fails_with 1 rs "$conf" list
assert_contains "$ASSERT_OUTPUT" "the backup store $store has mode 0770" "list names the open store"
chmod 0700 "$store"
out="$("$RAMSAFE_TEST_BIN" list --config "$conf" 2>&1)" || fail "root cannot list" "$out"
assert_contains "$out" "$good" "root may list a store it does not own"
assert_fails_with 1 "$RAMSAFE_TEST_BIN" backup --config "$conf"
assert_contains "$ASSERT_OUTPUT" "is owned by uid $(id -u postgres) (postgres), not by the user running ramsafe" \
  "root may not write into a store it does not own"
assert_eq "" "$(find "$store" -user root)" "nothing in the store belongs to root"
pass "a store others can write is refused; root reads but never writes another user's store"

echo "hostile_local: all passed"

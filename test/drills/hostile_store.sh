#!/usr/bin/env bash
# Hostile-store drill (issue 14): every attack of the issue, made with standard tools only
# (the age CLI with the public recipient, zstd, tar, jq, curl, ln; never the identity or the
# signing key), against the local store and the Drive emulator at once:
#   1 forged sets (`\!`, COPY TO PROGRAM, archive_command, restore_command + recovery.signal,
#     a trust-all pg_hba.conf), unsigned and dated 2099, or signed by the forger's own key;
#   2 an older real set's manifest re-dated;  3 24 key-less manifests dated 2099;
#   4 a manifest nested 200,000 arrays deep, in the store while the server's worker runs;
#   5 links planted in the store: .lock, leftover .partial directories, a set that is a link,
#     the archive module's old temporary names, a set file linked to the Drive token;
#   6 a <token>.tmp of mode 0666 planted before drive-login;
#   7 an age header asking for scrypt work factor 22, a zstd bomb as a forged set's config;
#   8 a backup_id of terminal escape sequences.
# Asserts: the boot restore (`restore --if-empty`, no --allow-unsigned) brings back the real
# newest set, from the local store and from Drive alone, with every row; no forged command
# left its marker; the server never crash-restarted; a victim directory and file outside the
# store are unchanged; retention (the worker's and `prune`) deletes no trusted set; no output
# holds a raw ESC byte. Uses the build's ramsafe.so with RAMSAFE_TEST_LIBRARY, else the
# installed extension.
#   test/drills/hostile_store.sh
# Prints "drill hostile_store: attacks=8 stores=2 faults_injected=N faults_detected=N ...".
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init drill_hostile_store
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/drive.sh
. "$HERE/../lib/drive.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/forge.sh
. "$HERE/../lib/forge.sh"
ramsafe_test_library # sets lib

injected=0 detected=0 restores_ok=0 rows_lost=0
attack() { injected=$((injected + 1)); note "attack $*"; }
defended() { detected=$((detected + 1)); pass "$1"; }
# run CONF CMD ARGS...: rs, its output (both streams) in OUT and in $WORK/outputs.log.
run() {
  local rc=0
  OUT="$(rs "$@" 2>&1)" || rc=$?
  printf '%s\n' "$OUT" >>"$WORK/outputs.log"
  return "$rc"
}
q() {
  local out
  out="$(psql_as x postgres -c "$1")"
  printf '%s\n' "$out" >>"$WORK/outputs.log"
  printf '%s\n' "$out"
}
next_second() { [[ "$(date -u +%Y%m%dT%H%M%SZ)" > "$1" ]]; }
trusted_ids() { run "$@" --json && jq -r '.[] | select(.trust == "trusted") | .backup_id' <<<"$OUT" | sort; }

# ------------------------------------------------------------------ setup
ramsafe_keys
drive_start
drive_user_token owner
mapfile -t drive_lines < <(drive_settings "$DRIVE_DIR/owner.json")
# Victims outside the store, which the postgres user can write (as a planted link could).
pg_mkdir "$WORK/victim" "$WORK/victim/sub"
echo precious >"$WORK/victim/a" && echo precious >"$WORK/victim/sub/b" && echo precious >"$WORK/victim-file"
chown postgres:postgres "$WORK/victim/a" "$WORK/victim/sub/b" "$WORK/victim-file"
victim_sums() {
  (cd "$WORK/victim" && find . -printf '%p %y %s %m\n' | sort && find . -type f -exec sha256sum {} + | sort)
  sha256sum "$WORK/victim-file"
}
victims_before="$(victim_sums)"

pg_init_cluster x
ramsafe_wal_conf x "ramsafe.local_retention = 'last=10'"
pg_start_existing x
ramsafe_sql_functions x
q "CREATE TABLE marker (v int)" >/dev/null
conf="$(ramsafe_config x "ramsafe.local_retention = 'last=10'" "${drive_lines[@]}" "ramsafe.drive_retention = 'last=10'")"
store="$WORK/store/main"
q "INSERT INTO marker VALUES (1)" >/dev/null
run "$conf" backup || fail "backup failed" "$OUT"
r1="$(basename "$(newest_set "$store")")"
wait_for "a new backup id (ids are seconds)" 5 next_second "$r1"
q "INSERT INTO marker VALUES (2)" >/dev/null
run "$conf" backup || fail "backup failed" "$OUT"
r2="$(basename "$(newest_set "$store")")"
run "$conf" upload --no-progress || fail "upload failed" "$OUT"
folder="$(drive_cluster_folder main)"
pass "two real sets, $r1 and $r2, locally and on Drive"

# ------------------------------------------------------------------ the forger's sets
# Built once in $WORK/forged, then copied into the local store and uploaded to Drive.
forged="$WORK/forged"
pg_mkdir "$forged"
in_minutes() { date -u -d "+$1 minute" +%Y-%m-%dT%H:%M:%S.000Z; }
recipients="$WORK/keys/recipients.txt"
# 1: unsigned from 2099, and signed by a key of the forger's own, dated now.
forge_set "$forged" 20991231T000000Z 2099-12-31T00:00:00.000Z "$store/$r2" "$recipients"
runuser -u postgres -- "$RAMSAFE_TEST_BIN" keygen --signing-key "$WORK/attacker.key" >/dev/null 2>&1
signed_id="$(date -u -d '+1 minute' +%Y%m%dT%H%M%SZ)"
forge_set "$forged" "$signed_id" "$(in_minutes 0)" "$store/$r2" "$recipients" 2
forge_sign "$forged/$signed_id" "$WORK/attacker.key"
# 3: 24 key-less manifests from the future.
for h in $(seq -w 0 23); do
  forge_empty_set "$forged" "20990101T${h}0000Z" "2099-01-01T$h:00:00.000Z" "$store/$r2"
done
# 4: a manifest nested 200,000 arrays deep.
mkdir "$forged/20970101T000000Z"
deep_manifest >"$forged/20970101T000000Z/manifest.json"
# 7: globals behind an age header asking for scrypt work factor 22 (salt, wrapped key and
# MAC need no passphrase to write), and a config that is a zstd bomb (512 MiB of zeros).
forge_set "$forged" 20991101T000000Z 2099-11-01T00:00:00.000Z "$store/$r2" "$recipients"
b64() { head -c "$1" /dev/urandom | base64 -w0 | tr -d '='; }
{
  printf 'age-encryption.org/v1\n-> scrypt %s 22\n%s\n--- %s\n' "$(b64 16)" "$(b64 32)" "$(b64 32)"
  head -c 1024 /dev/urandom
} >"$forged/20991101T000000Z/globals.sql.zst.age"
head -c 512M /dev/zero | zstd -q -1 | age -R "$recipients" >"$forged/20991101T000000Z/config.tar.zst.age"
# 8: a backup_id of terminal escape sequences (title, clear screen, red).
forge_empty_set "$forged" 20960101T000000Z "$(in_minutes 0)" "$store/$r2"
jq --arg id $'\e]0;owned\a\e[2J\e[31m20260101T000000Z' '.backup_id = $id' \
  "$forged/20960101T000000Z/manifest.json" >"$WORK/m" && mv "$WORK/m" "$forged/20960101T000000Z/manifest.json"
_forge_checksum "$forged/20960101T000000Z/manifest.json"
chown -R postgres:postgres "$forged"
cp -a "$forged/." "$store/"
for dir in "$forged"/*/; do
  id="$(basename "$dir")"
  drive_put_set "$DRIVE_DIR/owner.json" "$folder" "${dir%/}" "$id"
done
# 2: the older real set re-dated, in both stores (Drive's manifest replaced by the copy).
redate_manifest "$store/$r1" "$(in_minutes 1)"
old_manifest="$(drive_set_files "$r1" | awk -F'\t' '$1 == "manifest.json" {print $2}')"
drive_admin DELETE "/files/$old_manifest" >/dev/null
drive_put "$DRIVE_DIR/owner.json" "$folder" "$r1/manifest.json" \
  "{\"ramsafe_set\":\"$r1\",\"ramsafe_path\":\"manifest.json\",\"ramsafe_role\":\"manifest\"}" "$store/$r1/manifest.json"
for store_kind in local drive; do
  for n in 1 2 3 4 7 8; do attack "$n in the $store_kind store"; done
done
pass "forged, re-dated, future, deep, scrypt/bomb and escape sets in both stores"

# What list says of each, per store: every forgery untrusted or unusable, with the reason.
for store_kind in local drive; do
  run "$conf" list --store "$store_kind" || fail "list --store $store_kind failed" "$OUT"
  list="$OUT"
  assert_eq "$r2" "$(sed -n 2p <<<"$list" | cut -d' ' -f1)" "$store_kind: the real set is the newest"
  assert_contains "$(grep '^20991231T000000Z' <<<"$list")" "UNTRUSTED" "$store_kind: the 2099 set is UNTRUSTED"
  assert_contains "$(grep "^$signed_id" <<<"$list")" "not in ramsafe.verify_keys_file" \
    "$store_kind: the set signed by the forger's key is UNTRUSTED"
  defended "attack 1 ($store_kind): forged sets are UNTRUSTED"
  assert_contains "$(grep "^$r1" <<<"$list")" "UNTRUSTED: BAD SIGNATURE" "$store_kind: the re-dated set is UNTRUSTED"
  defended "attack 2 ($store_kind): the re-dated set is UNTRUSTED"
  assert_eq 24 "$(grep '^20990101T' <<<"$list" | grep -c UNTRUSTED)" "$store_kind: the 24 future manifests are UNTRUSTED"
  assert_contains "$list" "nested deeper than 64 levels" "$store_kind: the deep manifest is unusable, saying why"
  defended "attack 4 ($store_kind): list goes on past the deep manifest"
  assert_contains "$(grep '^20991101T000000Z' <<<"$list")" "UNTRUSTED" "$store_kind: the scrypt/bomb set is UNTRUSTED"
  assert_contains "$list" 'manifest is for backup \x1b]0;owned\x07\x1b[2J' "$store_kind: the escapes are shown escaped"
  defended "attack 8 ($store_kind): the escapes are printed escaped"
  assert_fails_with 5 rs "$conf" verify --store "$store_kind" --deep 20991101T000000Z
  printf '%s\n' "$ASSERT_OUTPUT" >>"$WORK/outputs.log"
  assert_contains "$ASSERT_OUTPUT" "UNTRUSTED" "$store_kind: verify --deep reads nothing of the scrypt/bomb set"
  defended "attack 7 ($store_kind): the scrypt/bomb set is never decrypted"
done
# The cap itself, for whoever decrypts such a file with the passphrase.
printf 'correct horse battery staple\n' >"$WORK/keys/passphrase.txt"
chown postgres:postgres "$WORK/keys/passphrase.txt" && chmod 0600 "$WORK/keys/passphrase.txt"
pp_conf="$WORK/pp.conf"
grep -v '^ramsafe.recipients_file' "$conf" >"$pp_conf"
printf "ramsafe.passphrase_file = '%s'\n" "$WORK/keys/passphrase.txt" >>"$pp_conf"
chown postgres:postgres "$pp_conf"
assert_fails_with 1 rs "$pp_conf" decrypt "$store/20991101T000000Z/globals.sql.zst.age"
assert_contains "$ASSERT_OUTPUT" "scrypt work factor 22 is above the limit of 18" "decrypt refuses work factor 22 before scrypt runs"

# ------------------------------------------------------------------ 5: links in the store
attack "5 in the local store: links at .lock, in and as .partial leftovers, as a set, at WAL temporary names"
_as_postgres ln -sfn "$WORK/victim-file" "$store/.lock"
_as_postgres mkdir "$store/20200101T000000Z.partial"
_as_postgres ln -s "$WORK/victim" "$store/20200101T000000Z.partial/db"
_as_postgres ln -s "$WORK/victim-file" "$store/20200101T000000Z.partial/globals.sql.zst.age"
_as_postgres ln -s "$WORK/victim" "$store/20200102T000000Z.partial"
_as_postgres ln -s "$WORK/victim" "$store/20990601T000000Z"
# The archive module's temporary names before issue 14 (.<name>.tmp), for the next segment.
q "INSERT INTO marker VALUES (3)" >/dev/null
q "SELECT pg_switch_wal()" >/dev/null
archived() { [[ "$(psql_as x postgres -c "SELECT archived_count >= $1 FROM pg_stat_archiver")" == t ]]; }
wait_for "a first WAL segment archived" 60 archived 1
seg="$(q "SELECT pg_walfile_name(pg_current_wal_lsn())")"
count="$(q "SELECT archived_count FROM pg_stat_archiver")"
for name in "$seg.zst.age" "$seg.sha256" "$seg.sig"; do
  _as_postgres ln -s "$WORK/victim-file" "$store/wal/${seg:0:8}/.$name.tmp"
done
q "INSERT INTO marker VALUES (4)" >/dev/null
q "SELECT pg_switch_wal()" >/dev/null
wait_for "segment $seg archived past the planted links" 60 archived $((count + 1))
assert_file_exists "$store/wal/${seg:0:8}/$seg.zst.age" "$seg is in the archive"

# 4 with the server: the worker reads the store (deep manifest, escapes, forgeries) as it starts.
attack "4 with the server's worker running"
pg_stop_cluster x
pg_start_existing x
worker_up() { [[ -n "$(psql_as x postgres -c "SELECT worker_pid FROM ramsafe_status()")" ]]; }
wait_for "the worker to start" 30 worker_up
rc=0
out="$(psql_as x postgres -c "SELECT backup_id FROM ramsafe_backup_now()" 2>&1)" || rc=$?
printf '%s\n' "$out" >>"$WORK/outputs.log"
[[ "$rc" != 0 ]] || fail "a backup went ahead with .lock a link"
assert_contains "$out" "symbolic link" "the worker's backup refuses the linked .lock"
rm "$store/.lock"
q "INSERT INTO marker VALUES (5)" >/dev/null
expected_rows="$(q "SELECT count(*) FROM marker")"
# 3 against the worker: it applies retention (last=10) after this backup, 24 forged
# manifests from the future in the store.
trusted_before="$(trusted_ids "$conf" list --store local)"
r3="$(q "SELECT backup_id FROM ramsafe_backup_now()")"
[[ -n "$r3" && "$r3" != "$r2" ]] || fail "the worker's backup failed"
assert_file_not_exists "$store/20200101T000000Z.partial" "the leftover .partial was removed"
rows="$(q "SELECT backup_id || ' ' || trust || ' ' || coalesce(problem, '') FROM ramsafe_backups()")"
assert_contains "$rows" "nested deeper than 64 levels" "ramsafe_backups(): the deep manifest is unusable"
q "SELECT * FROM ramsafe_status()" >/dev/null
assert_eq 0 "$(grep -c 'terminated by signal' "$(pg_logfile x)" || true)" "no server process crashed"
defended "attack 4 (server): worker, ramsafe_backups() and ramsafe_status() survive the deep manifest"
assert_eq "$victims_before" "$(victim_sums)" "the victims are unchanged after backup, partial cleanup and archiving"
defended "attack 5 (local): no link in the store was followed"
trusted_after="$(trusted_ids "$conf" list --store local)"
assert_eq "" "$(comm -23 <(printf '%s\n' "$trusted_before") <(printf '%s\n' "$trusted_after"))" \
  "the worker's retention deleted no trusted set"

# ------------------------------------------------------------------ 3: prune, both stores
run "$conf" upload --no-progress || fail "upload failed" "$OUT"
for store_kind in local drive; do
  before="$(trusted_ids "$conf" list --store "$store_kind")"
  assert_contains "$before" "$r3" "$store_kind: $r3 is trusted"
  run "$conf" prune --store "$store_kind" || fail "prune --store $store_kind failed" "$OUT"
  assert_contains "$(grep 20990101T230000Z <<<"$OUT")" "UNTRUSTED" "$store_kind: prune says why it keeps the forged sets"
  after="$(trusted_ids "$conf" list --store "$store_kind")"
  assert_eq "$before" "$after" "$store_kind: prune deleted no trusted set"
  defended "attack 3 ($store_kind): retention counts no forged set and deletes no trusted one"
done

# ------------------------------------------------------------------ 5 and 6 with Drive
attack "5 against Drive: a set file linked to the Drive token, then upload"
run "$conf" backup || fail "backup failed" "$OUT"
r4="$(trusted_ids "$conf" list --store local | tail -n 1)" # newest_set would take a forged id
set_file=db/postgres.dump.zst.age
mv "$store/$r4/$set_file" "$WORK/set-file"
_as_postgres ln -s "$DRIVE_DIR/owner.json" "$store/$r4/$set_file"
if run "$conf" upload --no-progress; then fail "upload sent a set with a linked file" "$OUT"; fi
assert_contains "$OUT" "is a symbolic link" "upload refuses the linked set file"
assert_not_contains "$(drive_set_files "$r4")" "$set_file" "nothing was sent for the linked file"
defended "attack 5 (drive): the token stays off Drive"
rm "$store/$r4/$set_file" && mv "$WORK/set-file" "$store/$r4/$set_file"
# r4 stays local only: the restore from Drive alone must then bring back $r3.

attack "6 against Drive: a <token>.tmp of mode 0666 planted before drive-login"
pg_mkdir "$WORK/tokens"
chmod 0755 "$WORK/tokens"
install -o postgres -g postgres -m 0666 /dev/null "$WORK/tokens/pi.json.tmp"
drive_device_login "$(ramsafe_config x "ramsafe.drive_ca_file = '$DRIVE_CA'" "ramsafe.drive_oauth_url = '$DRIVE_URL'")" \
  "$WORK/tokens/pi.json"
cat "$WORK/tokens/pi.json.log" >>"$WORK/outputs.log"
assert_eq 600 "$(stat -c %a "$WORK/tokens/pi.json")" "the token file is mode 0600"
assert_eq 0 "$(stat -c %s "$WORK/tokens/pi.json.tmp")" "the planted .tmp received nothing"
defended "attack 6: the token is not world-readable"

# ------------------------------------------------------------------ the boot restores
# restored ID ROWS: the cluster restored from ID, with every row, and nothing forged in it.
restored() {
  local want="$1" data
  data="$(pg_datadir x)"
  assert_contains "$OUT" "restored backup $want " "the boot restore brings back the real newest set $want"
  assert_eq "" "$(pwned_markers)" "no forged command ran during the restore"
  assert_file_not_exists "$data/recovery.signal" "no forged recovery.signal"
  assert_not_contains "$(cat "$data/pg_hba.conf" "$data/postgresql.auto.conf")" "pwned" "no forged configuration"
  pg_start_existing x
  local n
  n="$(q "SELECT count(*) FROM marker WHERE v <= 5")"
  rows_lost=$((rows_lost + $2 - n))
  assert_eq "$2" "$n" "every row of $want is back"
  assert_eq "" "$(q "SELECT rolname FROM pg_roles WHERE rolname = 'pwned'")" "no forged superuser"
  restores_ok=$((restores_ok + 1))
}
pg_stop_cluster x
pg_wipe_data x
run "$conf" restore --if-empty --no-progress || fail "the boot restore failed" "$OUT"
restored "$r4" "$expected_rows"
# From Drive alone (a new machine; the local store gone).
pg_stop_cluster x
pg_wipe_data x
mv "$store" "$WORK/store-away"
run "$conf" restore --if-empty --no-progress || fail "the boot restore from Drive failed" "$OUT"
restored "$r3" "$expected_rows"
pass "the boot restores bring back $r4 locally and $r3 from Drive alone, with every row"

# ------------------------------------------------------------------ the end state
pg_stop_cluster x
assert_eq "" "$(pwned_markers)" "no marker of any forged command"
assert_eq 0 "$(grep -c 'terminated by signal' "$(pg_logfile x)" || true)" "the server never crash-restarted"
assert_eq "$victims_before" "$(victim_sums)" "nothing outside the store changed"
cat "$(pg_logfile x)" >>"$WORK/outputs.log"
assert_eq 0 "$(grep -c $'\e' "$WORK/outputs.log" || true)" "no output holds a raw ESC byte"
pass "no marker, no crash, victims unchanged, no raw escape byte"

echo "drill hostile_store: attacks=8 stores=2 faults_injected=$injected faults_detected=$detected restores_ok=$restores_ok rows_lost_beyond_recovery_point=$rows_lost"

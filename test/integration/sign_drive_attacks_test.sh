#!/usr/bin/env bash
# Issue 14, attacks 1-3 through Google Drive (the emulator), where ramsafe reads other code
# than for the local store (core/drive/drive_store.cc). The attacker holds a token with write
# access to the backup folder and the public recipient, and uploads with curl
# (test/lib/drive.sh drive_put; the files from test/lib/forge.sh):
#   1. forged sets (unsigned and dated 2099; signed by the forger's own key) and a forged WAL
#      file: listed UNTRUSTED, verify exits 5, wal-fetch exits 5, restore from Drive alone
#      brings back the real newest set, and a forged local set is never uploaded;
#   2. an old set's manifest replaced by a re-dated one: UNTRUSTED;
#   3. 24 key-less manifests with future dates: prune --store drive keeps the real newest set
#      and deletes none of them.
# Run as root: bash test/integration/sign_drive_attacks_test.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init sign_drive_attacks
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/drive.sh
. "$HERE/../lib/drive.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/forge.sh
. "$HERE/../lib/forge.sh"

ramsafe_keys
drive_start
drive_user_token owner
mapfile -t drive_lines < <(drive_settings "$DRIVE_DIR/owner.json")
pg_start_cluster src
psql_as src postgres -c "CREATE TABLE marker (v text)" -c "INSERT INTO marker VALUES ('first')"
conf="$(ramsafe_config src "ramsafe.local_retention = ''" "ramsafe.drive_retention = ''" "${drive_lines[@]}")"
store="$WORK/store/main"
rs "$conf" backup >/dev/null
r1="$(basename "$(newest_set "$store")")"
psql_as src postgres -c "INSERT INTO marker VALUES ('second')"
sleep 1.1  # a new backup id (ids are seconds)
rs "$conf" backup >/dev/null
r2="$(basename "$(newest_set "$store")")"
rs "$conf" upload --no-progress >/dev/null
folder="$(drive_cluster_folder main)"
[[ -n "$folder" ]] || fail "no cluster folder on Drive"
assert_contains "$(drive_set_files "$r2")" "manifest.json.sig" "the signature goes to Drive with the set"
pass "two real backups on Drive, $r1 and $r2"

# ------------------------------------------------------------------ attack 1: forged sets
forged="$WORK/forged"
pg_mkdir "$forged"
forge_set "$forged" 20991231T000000Z 2099-12-31T00:00:00.000Z "$store/$r2" "$WORK/keys/recipients.txt"
drive_put_set "$DRIVE_DIR/owner.json" "$folder" "$forged/20991231T000000Z" 20991231T000000Z
runuser -u postgres -- "$RAMSAFE_TEST_BIN" keygen --signing-key "$WORK/attacker.key" >/dev/null 2>&1
now_id="$(date -u -d '+1 minute' +%Y%m%dT%H%M%SZ)"
forge_set "$forged" "$now_id" "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$store/$r2" "$WORK/keys/recipients.txt" 2
forge_sign "$forged/$now_id" "$WORK/attacker.key"
drive_put_set "$DRIVE_DIR/owner.json" "$folder" "$forged/$now_id" "$now_id"

list="$(rs "$conf" list --store drive 2>&1)"
assert_eq "$r2" "$(sed -n 2p <<<"$list" | cut -d' ' -f1)" "Drive: the real set is the newest"
assert_contains "$(grep "^20991231T000000Z" <<<"$list")" "UNTRUSTED" "Drive: the 2099 set is UNTRUSTED"
assert_contains "$(grep "^$now_id" <<<"$list")" "UNTRUSTED: signed by ed25519:" \
  "Drive: the set signed by the forger's key is UNTRUSTED"
assert_fails_with 5 rs "$conf" verify --store drive "$now_id"
assert_contains "$ASSERT_OUTPUT" "UNTRUSTED" "verify --store drive: UNTRUSTED, exit 5"

# A forged WAL file: a segment encrypted to the recipient, its sha256sum line, no signature.
seg=000000010000000000000042
head -c 65536 /dev/urandom >"$WORK/forged-seg"
zstd -q <"$WORK/forged-seg" | age -R "$WORK/keys/recipients.txt" >"$WORK/forged-seg.zst.age"
printf '%s  %s\n' "$(sha256sum <"$WORK/forged-seg" | cut -d' ' -f1)" "$seg" >"$WORK/forged-seg.sha256"
# The cluster's WAL folder (ramsafe creates it with its first WAL upload; the attacker can too).
wal_folder="$(drive_put_folder "$DRIVE_DIR/owner.json" "$folder" wal '{"ramsafe_wal_folder":"main"}')"
for part in sha256 data; do
  file="$WORK/forged-seg.sha256"
  [[ "$part" == data ]] && file="$WORK/forged-seg.zst.age"
  drive_put "$DRIVE_DIR/owner.json" "$wal_folder" "wal/00000001/$seg.$part" \
    "{\"ramsafe_wal\":\"$seg\",\"ramsafe_wal_part\":\"$part\"}" "$file"
done
pg_mkdir "$WORK/fetch"
assert_fails_with 5 rs "$conf" wal-fetch "$seg" "$WORK/fetch/$seg"
assert_contains "$ASSERT_OUTPUT" "UNTRUSTED WAL file $seg" "wal-fetch from Drive: UNTRUSTED, exit 5"
assert_file_not_exists "$WORK/fetch/$seg" "nothing was written for PostgreSQL to replay"

# A forged set in the local store is never uploaded.
forge_set "$store" 20991230T000000Z 2099-12-30T00:00:00.000Z "$store/$r2" "$WORK/keys/recipients.txt"
rs "$conf" upload --no-progress >/dev/null
assert_eq "" "$(drive_set_files 20991230T000000Z)" "upload sends no untrusted set"
rm -rf "${store:?}/20991230T000000Z"

# Drive alone (a new machine): the real newest set comes back, nothing forged runs.
pg_stop_cluster src
pg_wipe_data src
mv "$store" "$WORK/store-away"
out="$(rs "$conf" restore --if-empty --no-progress 2>&1)" || fail "restore from Drive failed" "$out"
assert_contains "$out" "restored backup $r2 " "restore from Drive brings back the real set"
assert_contains "$out" "UNTRUSTED" "and says why it skipped the forged ones"
assert_eq "" "$(pwned_markers)" "no forged command ran"
assert_not_contains "$(cat "$(pg_datadir src)/pg_hba.conf")" "0.0.0.0/0 trust" "no forged pg_hba.conf"
pg_start_existing src
assert_eq "first,second" "$(psql_as src postgres -c "SELECT string_agg(v, ',' ORDER BY v) FROM marker")" \
  "the real data is back"
assert_eq "" "$(pwned_markers)" "the started server ran no forged command"
mv "$WORK/store-away" "$store"
pass "attack 1 through Drive: forged sets and WAL are UNTRUSTED; restore from Drive brings back $r2"

# ------------------------------------------------------------------ attack 2: re-dated
old_manifest="$(drive_set_files "$r1" | awk -F'\t' '$1 == "manifest.json" {print $2}')"
mkdir -p "$WORK/redated"
drive_admin GET "/files/$old_manifest/content" >"$WORK/redated/manifest.json"
redate_manifest "$WORK/redated" "$(date -u -d "+1 minute" +%Y-%m-%dT%H:%M:%S.000Z)"
drive_admin DELETE "/files/$old_manifest" >/dev/null
drive_put "$DRIVE_DIR/owner.json" "$folder" "$r1/manifest.json" \
  "{\"ramsafe_set\":\"$r1\",\"ramsafe_path\":\"manifest.json\",\"ramsafe_role\":\"manifest\"}" \
  "$WORK/redated/manifest.json"
list="$(rs "$conf" list --store drive 2>&1)"
assert_eq "$r2" "$(sed -n 2p <<<"$list" | cut -d' ' -f1)" "Drive: the re-dated set is not the newest"
assert_contains "$(grep "^$r1" <<<"$list")" "UNTRUSTED: BAD SIGNATURE" "Drive: the re-dated set is UNTRUSTED"
pass "attack 2 through Drive: a re-dated manifest is UNTRUSTED"

# ------------------------------------------------------------------ attack 3: future dates
for h in $(seq -w 0 23); do
  forge_empty_set "$forged" "20990101T${h}0000Z" "2099-01-01T$h:00:00.000Z" "$store/$r2"
  drive_put "$DRIVE_DIR/owner.json" "$folder" "20990101T${h}0000Z/manifest.json" \
    "{\"ramsafe_set\":\"20990101T${h}0000Z\",\"ramsafe_path\":\"manifest.json\",\"ramsafe_role\":\"manifest\"}" \
    "$forged/20990101T${h}0000Z/manifest.json"
done
prune_conf="$(ramsafe_config src "ramsafe.local_retention = ''" "${drive_lines[@]}" \
  "ramsafe.drive_retention = 'last=1'")"
out="$(rs "$prune_conf" prune --store drive 2>&1)"
assert_contains "$(grep "$r2" <<<"$out")" "keep" "prune --store drive keeps the newest real set"
assert_contains "$(grep "$r2" <<<"$out")" "newest complete set" "it is the newest for retention"
assert_contains "$(grep 20990101T230000Z <<<"$out")" "UNTRUSTED" "prune says why it keeps them"
assert_ne "" "$(drive_set_files "$r2")" "the real set is still on Drive"
assert_ne "" "$(drive_set_files 20990101T000000Z)" "no untrusted set was deleted"
pass "attack 3 through Drive: 24 future key-less manifests neither count for retention nor get deleted"

#!/usr/bin/env bash
# Issue 14, attacks 1-3 against the local store, as someone with write access to it and the
# public recipient only would make them (test/lib/forge.sh: age, zstd, tar, jq, openssl):
#   1. forged sets (globals with `\!` and a new superuser, a trust-all pg_hba.conf and an
#      archive_command in postgresql.auto.conf), unsigned and dated 2099, or signed by the
#      forger's own key: listed UNTRUSTED, verify exits 5, restore (also --allow-unsigned)
#      brings back the real newest set, no forged command runs;
#   2. an old set re-dated (its self-checksum recomputed), with recipients and with a
#      passphrase: UNTRUSTED, restore brings back the real newest data;
#   3. 24 key-less manifests with future dates: prune deletes no real set it should keep,
#      and none of them.
# The same through Google Drive is sign_drive_attacks_test.sh; against the worker's retention
# sign_worker_test.sh. Run as root: bash test/integration/sign_attacks_test.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init sign_attacks
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/forge.sh
. "$HERE/../lib/forge.sh"

ramsafe_keys
pg_start_cluster src
psql_as src postgres -c "CREATE TABLE marker (v text)" -c "INSERT INTO marker VALUES ('first')"
conf="$(ramsafe_config src "ramsafe.local_retention = ''")"
store="$WORK/store/main"
rs "$conf" backup >/dev/null
r1="$(basename "$(newest_set "$store")")"
psql_as src postgres -c "INSERT INTO marker VALUES ('second')"
sleep 1.1  # a new backup id (ids are seconds)
rs "$conf" backup >/dev/null
r2="$(basename "$(newest_set "$store")")"
[[ "$r1" != "$r2" ]] || fail "two backups got one id"
pass "two real backups, $r1 and $r2"

# Restores into the wiped data directory and checks what came back and that no forged
# command ran or was planted.
restore_and_check() {
  local want="$1" rows="$2" cfg="$3"
  shift 3
  pg_wipe_data src
  local out
  out="$(rs "$cfg" restore --if-empty --no-progress "$@" 2>&1)" || fail "restore $* failed" "$out"
  assert_contains "$out" "restored backup $want " "restore $* brings back the real set $want"
  assert_eq "" "$(pwned_markers)" "no forged command ran during the restore"
  local data
  data="$(pg_datadir src)"
  assert_not_contains "$(cat "$data/pg_hba.conf")" "0.0.0.0/0 trust" "no forged pg_hba.conf"
  assert_not_contains "$(cat "$data/postgresql.auto.conf")" "pwned" "no forged archive_command"
  pg_start_existing src
  assert_eq "$rows" "$(psql_as src postgres -c "SELECT string_agg(v, ',' ORDER BY v) FROM marker")" \
    "the real data is back"
  assert_eq "" "$(psql_as src postgres -c "SELECT rolname FROM pg_roles WHERE rolname = 'pwned'")" \
    "no forged superuser"
  assert_eq "" "$(pwned_markers)" "the started server ran no forged command"
  RESTORE_OUT="$out"
}

# ------------------------------------------------------------------ attack 1: forged sets
forged_future=20991231T000000Z
forge_set "$store" "$forged_future" 2099-12-31T00:00:00.000Z "$store/$r2" "$WORK/keys/recipients.txt"
# Signed with a key of the forger's own, dated now (not in the future: only the key is wrong).
runuser -u postgres -- "$RAMSAFE_TEST_BIN" keygen --signing-key "$WORK/attacker.key" >/dev/null 2>&1
now_id="$(date -u -d '+1 minute' +%Y%m%dT%H%M%SZ)"
now_at="$(date -u +%Y-%m-%dT%H:%M:%S.000Z)"
forge_set "$store" "$now_id" "$now_at" "$store/$r2" "$WORK/keys/recipients.txt" 2
forge_sign "$store/$now_id" "$WORK/attacker.key"
# Unsigned and dated now: would --allow-unsigned take it over the real set?
unsigned_id="$(date -u -d '+2 minutes' +%Y%m%dT%H%M%SZ)"
forge_set "$store" "$unsigned_id" "$now_at" "$store/$r2" "$WORK/keys/recipients.txt"

list="$(rs "$conf" list 2>&1)"
assert_eq "$r2" "$(sed -n 2p <<<"$list" | cut -d' ' -f1)" "list: the real set is the newest" 
assert_contains "$list" "$forged_future" "list shows the forged set"
assert_contains "$(grep "^$forged_future" <<<"$list")" "UNTRUSTED" "list: the 2099 set is UNTRUSTED"
assert_contains "$(grep "^$now_id" <<<"$list")" "UNTRUSTED: signed by ed25519:" \
  "list: the set signed by the forger's key is UNTRUSTED"
assert_contains "$(grep "^$now_id" <<<"$list")" "not in ramsafe.verify_keys_file" "and says why"
assert_contains "$(grep "^$unsigned_id" <<<"$list")" "UNTRUSTED (claims $now_at)" \
  "list: the unsigned set is UNTRUSTED, with what it claims"
json="$(rs "$conf" list --json)"
assert_eq "untrusted" "$(jq -r ".[] | select(.backup_id == \"$now_id\") | .trust" <<<"$json")" \
  "list --json: trust"
assert_eq "trusted" "$(jq -r ".[] | select(.backup_id == \"$r2\") | .trust" <<<"$json")" \
  "list --json: the real set is trusted"
assert_fails_with 5 rs "$conf" verify "$forged_future"
assert_contains "$ASSERT_OUTPUT" "$forged_future (local $store): UNTRUSTED: " "verify ID: UNTRUSTED, exit 5"
assert_fails_with 5 rs "$conf" verify --all --deep --no-progress
assert_contains "$ASSERT_OUTPUT" "$r2 (local $store): ok" "verify --all checks the real sets"
assert_contains "$(rs "$conf" verify)" "$r2 (local $store): ok" "verify checks the newest trusted set"
assert_eq "" "$(pwned_markers)" "nothing ran while listing and verifying"
pass "attack 1: forged sets are UNTRUSTED in list and verify (exit 5)"

restore_and_check "$r2" "first,second" "$conf"
assert_contains "$RESTORE_OUT" "backup $forged_future in local $store is UNTRUSTED" \
  "restore says loudly why it skipped the forged set"
restore_and_check "$r2" "first,second" "$conf" --allow-unsigned
pg_wipe_data src
assert_fails_with 3 rs "$conf" restore --if-empty --backup-id "$forged_future" --allow-unsigned
assert_contains "$ASSERT_OUTPUT" "UNTRUSTED" "--allow-unsigned never takes a set from the future"
pass "attack 1: restore (also --allow-unsigned) brings back the real newest set; nothing forged ran"

# ------------------------------------------------------------------ attack 2: re-dated
rm -rf "${store:?}/$forged_future" "${store:?}/$now_id" "${store:?}/$unsigned_id"
redate_manifest "$store/$r1" "$(date -u -d "+1 minute" +%Y-%m-%dT%H:%M:%S.000Z)"
list="$(rs "$conf" list 2>&1)"
assert_eq "$r2" "$(sed -n 2p <<<"$list" | cut -d' ' -f1)" "list: the re-dated set is not the newest"
assert_contains "$(grep "^$r1" <<<"$list")" "UNTRUSTED: BAD SIGNATURE" "list: the re-dated set is UNTRUSTED"
restore_and_check "$r2" "first,second" "$conf"
pass "attack 2: a re-dated manifest is UNTRUSTED; restore brings back the newest data"

# With a passphrase instead of recipients (nobody needs a key to re-date then).
printf 'correct horse battery staple\n' >"$WORK/keys/passphrase.txt"
chown postgres:postgres "$WORK/keys/passphrase.txt"
chmod 0600 "$WORK/keys/passphrase.txt"
pp_conf="$WORK/pp.conf"
grep -v '^ramsafe.recipients_file' "$conf" >"$pp_conf"
printf "ramsafe.passphrase_file = '%s'\nramsafe.cluster_name = 'pp'\n" "$WORK/keys/passphrase.txt" >>"$pp_conf"
chown postgres:postgres "$pp_conf"
rs "$pp_conf" backup >/dev/null
p1="$(basename "$(newest_set "$WORK/store/pp")")"
psql_as src postgres -c "INSERT INTO marker VALUES ('third')"
sleep 1.1
rs "$pp_conf" backup >/dev/null
p2="$(basename "$(newest_set "$WORK/store/pp")")"
redate_manifest "$WORK/store/pp/$p1" "$(date -u -d "+1 minute" +%Y-%m-%dT%H:%M:%S.000Z)"
assert_contains "$(rs "$pp_conf" list | grep "^$p1")" "UNTRUSTED: BAD SIGNATURE" \
  "passphrase mode: the re-dated set is UNTRUSTED"
pg_stop_cluster src
restore_and_check "$p2" "first,second,third" "$pp_conf"
pass "attack 2 with a passphrase: the re-dated set is UNTRUSTED; restore brings back $p2"

# ------------------------------------------------------------------ attack 3: future dates
rs "$conf" backup >/dev/null
r3="$(basename "$(newest_set "$store")")"
for h in $(seq -w 0 23); do
  forge_empty_set "$store" "20990101T${h}0000Z" "2099-01-01T$h:00:00.000Z" "$store/$r2"
done
prune_conf="$(ramsafe_config src "ramsafe.local_retention = 'last=1'")"
out="$(rs "$prune_conf" prune 2>&1)"
assert_file_exists "$store/$r3" "prune kept the newest real set"
assert_contains "$(grep "$r3" <<<"$out")" "newest complete set" "it is the newest for retention"
assert_eq 24 "$(find "$store" -maxdepth 1 -name '20990101T*' | wc -l)" "prune deletes no untrusted set"
assert_contains "$(grep 20990101T230000Z <<<"$out")" "UNTRUSTED" "prune says why it keeps them"
assert_file_not_exists "$store/$r2" "the older real set goes by the policy (last=1)"
assert_file_exists "$store/$r1" "the re-dated (untrusted) set is left for inspection"
pass "attack 3: 24 future key-less manifests neither count for retention nor get deleted"

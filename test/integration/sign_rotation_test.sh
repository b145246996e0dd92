#!/usr/bin/env bash
# Key rotation (docs/security.md, "Rotating keys"), end to end with the companion:
#   1. a set signed by key A;
#   2. key B made with `ramsafe keygen --signing-key`, its verify key added, the signing key
#      switched: the next set is signed by B and its sequence number goes on;
#   3. A's signing key retired (deleted): A's sets stay trusted while A's verify key is
#      listed, and restore takes B's;
#   4. A's verify key removed: A's sets become UNTRUSTED (verify exits 5, restore refuses
#      them), and trusted again when it is put back;
#   5. a signing key whose verify key is not listed: backup refuses (exit 2).
# Run as root: bash test/integration/sign_rotation_test.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init sign_rotation
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

ramsafe_keys
pg_start_cluster src
psql_as src postgres -c "CREATE TABLE marker (v text)" -c "INSERT INTO marker VALUES ('a')"
conf="$(ramsafe_config src "ramsafe.local_retention = ''")"
store="$WORK/store/main"
verify_keys="$WORK/keys/verify_keys.txt"
key_a="$(grep -o 'ed25519:[0-9a-f]*' "$verify_keys" | head -n 1)"
rs "$conf" backup >/dev/null
a1="$(basename "$(newest_set "$store")")"
assert_eq "$key_a" "$(jq -r ".[] | select(.backup_id == \"$a1\") | .signed_by" <<<"$(rs "$conf" list --json)")" \
  "the first set is signed by key A"

# 2. Key B: its verify key first (on every machine that reads the store), then the switch.
runuser -u postgres -- "$RAMSAFE_TEST_BIN" keygen --signing-key "$WORK/keys/signing-b.key" \
  >>"$verify_keys" 2>"$WORK/keygen-b.log"
key_b="$(grep -o 'ed25519:[0-9a-f]*' "$verify_keys" | tail -n 1)"
assert_ne "$key_a" "$key_b" "a new key"
assert_contains "$(cat "$WORK/keygen-b.log")" "add it to ramsafe.verify_keys_file" "keygen says what to do"
printf "ramsafe.signing_key_file = '%s'\n" "$WORK/keys/signing-b.key" >>"$conf"
psql_as src postgres -c "INSERT INTO marker VALUES ('b')"
sleep 1.1  # a new backup id (ids are seconds)
rs "$conf" backup >/dev/null
b1="$(basename "$(newest_set "$store")")"
json="$(rs "$conf" list --json)"
assert_eq "$key_b" "$(jq -r ".[] | select(.backup_id == \"$b1\") | .signed_by" <<<"$json")" "the next set is signed by B"
assert_eq "2" "$(jq -r ".[] | select(.backup_id == \"$b1\") | .sequence" <<<"$json")" "its sequence goes on"
assert_eq "trusted trusted" "$(jq -r '[.[].trust] | join(" ")' <<<"$json")" "both keys' sets are trusted"
pass "rotation: A's set and B's set are both trusted, numbered 1 and 2"

# 3. A's signing key retired: its verify key stays listed.
rm "$WORK/keys/signing.key"
rs "$conf" verify --all >/dev/null
pg_stop_cluster src
pg_wipe_data src
out="$(rs "$conf" restore --if-empty --no-progress 2>&1)" || fail "restore failed" "$out"
assert_contains "$out" "restored backup $b1 " "restore takes the newest set, signed by B"
pg_start_existing src
assert_eq "a,b" "$(psql_as src postgres -c "SELECT string_agg(v, ',' ORDER BY v) FROM marker")" "its data is back"
pass "A's signing key retired: A's set stays trusted while A's verify key is listed"

# 4. A's verify key removed, then put back.
cp "$verify_keys" "$WORK/verify_keys.both"
grep -v "$key_a" "$WORK/verify_keys.both" >"$verify_keys"
list="$(rs "$conf" list)"
assert_contains "$(grep "^$a1" <<<"$list")" "UNTRUSTED: signed by $key_a, which is not in ramsafe.verify_keys_file" \
  "without A's verify key, A's set is UNTRUSTED"
assert_fails_with 5 rs "$conf" verify --all
pg_stop_cluster src
pg_wipe_data src
assert_fails_with 3 rs "$conf" restore --if-empty --backup-id "$a1" --no-progress
cp "$WORK/verify_keys.both" "$verify_keys"
assert_not_contains "$(rs "$conf" list)" "UNTRUSTED" "with A's verify key back, A's set is trusted again"
pass "A's verify key removed: A's sets are UNTRUSTED until it is listed again"

# 5. A signing key nobody trusts: no set.
runuser -u postgres -- "$RAMSAFE_TEST_BIN" keygen --signing-key "$WORK/keys/signing-c.key" >/dev/null 2>&1
printf "ramsafe.signing_key_file = '%s'\n" "$WORK/keys/signing-c.key" >>"$conf"
assert_fails_with 2 rs "$conf" backup
assert_contains "$ASSERT_OUTPUT" "is not in ramsafe.verify_keys_file" "backup refuses to sign with an unlisted key"
assert_eq "2" "$(find "$store" -mindepth 1 -maxdepth 1 -name '2*' | wc -l)" "and writes nothing"
pass "a signing key whose verify key is not listed: backup refuses (exit 2)"

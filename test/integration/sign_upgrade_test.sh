#!/usr/bin/env bash
# The upgrade to signed backups (issue 14) against a store written by the release before it
# (test/fixtures/unsigned_store: a logical set and four archived WAL files, unsigned):
#   - list and verify report the old sets and WAL files as UNTRUSTED (unsigned), verify exits 5;
#   - restore without --allow-unsigned restores nothing and initialises nothing, even with
#     --on-missing init (sets exist), and says how to go on; with --allow-unsigned it restores
#     the old set, loudly; wal-fetch takes an old WAL file only with --allow-unsigned;
#   - after the upgrade steps (keys, a first signed backup), the new set is trusted and
#     restored without any flag, and prune never deletes the old unsigned set.
# Run as root: bash test/integration/sign_upgrade_test.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init sign_upgrade
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

fixture="$RAMSAFE_REPO_DIR/test/fixtures/unsigned_store"
old_id="$(basename "$(find "$fixture/main" -mindepth 1 -maxdepth 1 -type d -name '2*')")"
pg_mkdir "$WORK/store" "$WORK/old-keys"
cp -r "$fixture/main" "$WORK/store/"
install -m 0600 -o postgres -g postgres "$fixture/identity.txt" "$WORK/old-keys/identity.txt"
chown -R postgres:postgres "$WORK/store"

# The host after the package upgrade, before its keys exist: the old identity only.
pg_init_cluster src
conf="$WORK/upgrade.conf"
cat >"$conf" <<EOF
ramsafe.local_dir = '$WORK/store'
ramsafe.recipients_file = '$fixture/recipients.txt'
ramsafe.identity_file = '$WORK/old-keys/identity.txt'
ramsafe.data_directory = '$(pg_datadir src)'
ramsafe.host = '$(pg_sockdir src)'
ramsafe.port = $(pg_port src)
ramsafe.user = 'postgres'
EOF
chown postgres:postgres "$conf"
pg_wipe_data src

list="$(rs "$conf" list)"
assert_contains "$(grep "^$old_id" <<<"$list")" "UNTRUSTED (claims" "list: the old set is UNTRUSTED"
assert_contains "$(grep "^$old_id" <<<"$list")" "unsigned: written before ramsafe signed its backups" \
  "list: and unsigned"
assert_fails_with 5 rs "$conf" verify
assert_contains "$ASSERT_OUTPUT" "$old_id (local $WORK/store/main): UNTRUSTED: unsigned" "verify: UNTRUSTED, exit 5"
assert_contains "$ASSERT_OUTPUT" "UNTRUSTED WAL file 00000001000000000000000B" "verify: the old WAL too"
pass "list and verify report the old release's set and WAL as UNTRUSTED (unsigned)"

assert_fails_with 3 rs "$conf" restore --if-empty --on-missing init --no-progress
assert_contains "$ASSERT_OUTPUT" "no trusted backup found" "restore: no trusted backup"
assert_contains "$ASSERT_OUTPUT" "--allow-unsigned" "restore says how to go on"
assert_eq "" "$(ls -A "$(pg_datadir src)")" "nothing restored, no empty cluster initialised"
pass "restore without --allow-unsigned restores and initialises nothing (exit 3), even with --on-missing init"

pg_mkdir "$WORK/wal"
seg=00000001000000000000000B
assert_fails_with 5 rs "$conf" wal-fetch "$seg" "$WORK/wal/$seg"
assert_contains "$ASSERT_OUTPUT" "UNTRUSTED WAL file $seg" "wal-fetch: an old WAL file is UNTRUSTED (exit 5)"
rs "$conf" wal-fetch --allow-unsigned "$seg" "$WORK/wal/$seg"
assert_eq "$(cut -d' ' -f1 "$fixture/main/wal/00000001/$seg.sha256")" \
  "$(sha256sum <"$WORK/wal/$seg" | cut -d' ' -f1)" "wal-fetch --allow-unsigned fetches it"
pass "wal-fetch takes an old WAL file only with --allow-unsigned"

out="$(rs "$conf" restore --if-empty --allow-unsigned --no-progress 2>&1)" || fail "restore --allow-unsigned failed" "$out"
assert_contains "$out" "RESTORING UNSIGNED BACKUP $old_id" "restore --allow-unsigned says loudly what it does"
assert_contains "$out" "RESTORED AN UNSIGNED BACKUP $old_id" "and says it again at the end"
assert_eq '"unsigned"' "$(jq .trust "$(pg_datadir src)/ramsafe_restore_report.json")" "the report says unsigned"
pg_start_existing src
assert_eq "3" "$(psql_as src fixture -c "SELECT count(*) FROM marker")" "the old data is back"
assert_eq "fixture_reader" "$(psql_as src postgres -c "SELECT rolname FROM pg_roles WHERE rolname = 'fixture_reader'")" \
  "with its roles"
pass "restore --allow-unsigned brings back the old release's set"

# The upgrade steps (docs/security.md, "Upgrading"): a signing key and its verify key beside
# the age keys the host already has, the two settings, a signed backup.
runuser -u postgres -- "$RAMSAFE_TEST_BIN" keygen --signing-key "$WORK/old-keys/signing.key" \
  >"$WORK/old-keys/verify_keys.txt" 2>/dev/null
printf "ramsafe.signing_key_file = '%s'\nramsafe.verify_keys_file = '%s'\n" \
  "$WORK/old-keys/signing.key" "$WORK/old-keys/verify_keys.txt" >>"$conf"
psql_as src fixture -c "INSERT INTO marker VALUES (4, 'signed')"
rs "$conf" backup >/dev/null
new_id="$(basename "$(newest_set "$WORK/store/main")")"
[[ "$new_id" != "$old_id" ]] || fail "no new set"
list="$(rs "$conf" list)"
assert_eq "$new_id" "$(sed -n 2p <<<"$list" | cut -d' ' -f1)" "the signed set is the newest"
assert_contains "$(grep "^$old_id" <<<"$list")" "UNTRUSTED" "the old one stays UNTRUSTED"
out="$(rs "$conf" prune 2>&1)"
assert_contains "$(grep "$old_id" <<<"$out")" "keep" "prune keeps the old unsigned set"
assert_file_exists "$WORK/store/main/$old_id/manifest.json" "and it is still there"
pg_stop_cluster src
pg_wipe_data src
out="$(rs "$conf" restore --if-empty --no-progress 2>&1)" || fail "restore failed" "$out"
assert_contains "$out" "restored backup $new_id " "restore takes the signed set without a flag"
pg_start_existing src
assert_eq "4" "$(psql_as src fixture -c "SELECT count(*) FROM marker")" "with the newest data"
pass "after the upgrade steps: the signed set is trusted and restored; the old one is kept, untrusted"

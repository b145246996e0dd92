#!/usr/bin/env bash
# Signing in the server (issue 14): the worker and the archive module sign, and the SQL
# surface shows trust.
#   - ramsafe_status() names the signing key; the worker's sets and the archived WAL carry
#     signatures;
#   - attack 3 against the worker's retention: 24 key-less manifests dated 2099 in the store;
#     the retention after each backup keeps the real sets its policy keeps and deletes none
#     of the forged ones; ramsafe_backups(), ramsafe_verify() and ramsafe_status() show them
#     UNTRUSTED;
#   - without a signing key the worker refuses to back up, loudly (a WARNING at reload,
#     ramsafe_status().signing_problem, an ERROR for ramsafe_backup_now()), and the archive
#     module keeps the WAL (it fails, PostgreSQL retries).
# Needs the installed extension (cmake --install build), or RAMSAFE_TEST_LIBRARY. Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init sign_worker
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/forge.sh
. "$HERE/../lib/forge.sh"

ramsafe_test_library
ramsafe_keys
pg_mkdir "$WORK/store"
store="$WORK/store/main"
pg_init_cluster x
ramsafe_wal_conf x "archive_timeout = 0" "ramsafe.local_retention = 'last=2'"
pg_start_existing x
q() { psql_as x postgres -c "$1"; }
status() { q "SELECT $1 FROM ramsafe_status()"; }
status_is() { [[ "$(status "$1")" == t ]]; }
q "CREATE EXTENSION ramsafe"
key_id="$(grep -o 'ed25519:[0-9a-f]*' "$WORK/keys/verify_keys.txt" | head -n 1)"
assert_eq "$key_id" "$(status signing_key)" "ramsafe_status() names the signing key"
assert_eq "" "$(status signing_problem)" "and no problem"

b1="$(q "SELECT backup_id FROM ramsafe_backup_now()")"
assert_file_exists "$store/$b1/manifest.json.sig" "the worker's set is signed"
q "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g"
seg="$(q "SELECT pg_walfile_name(pg_current_wal_lsn())")"
q "SELECT pg_switch_wal()" >/dev/null
wait_for "WAL $seg archived" 30 test -e "$store/wal/00000001/$seg.zst.age"
assert_file_exists "$store/wal/00000001/$seg.sig" "the archived WAL file is signed"
assert_eq "trusted" "$(q "SELECT trust FROM ramsafe_backups() WHERE backup_id = '$b1'")" \
  "ramsafe_backups(): trusted"
assert_eq "$key_id 1" "$(q "SELECT signed_by || ' ' || sequence FROM ramsafe_backups() WHERE backup_id = '$b1'")" \
  "ramsafe_backups(): signer and sequence"
pass "the worker's sets and the archived WAL are signed; status and backups show the key"

# Attack 3 against the worker's retention.
for h in $(seq -w 0 23); do
  forge_empty_set "$store" "20990101T${h}0000Z" "2099-01-01T$h:00:00.000Z" "$store/$b1"
done
b2="$(q "SELECT backup_id FROM ramsafe_backup_now()")"
b3="$(q "SELECT backup_id FROM ramsafe_backup_now()")"
# The worker applies retention right after answering ramsafe_backup_now().
wait_for "the worker's retention after $b3" 30 bash -c "grep -q 'retention deleted 1 backup sets: local $b1' '$(pg_logfile x)'"
assert_file_exists "$store/$b3" "the worker's retention keeps the newest real set"
assert_file_exists "$store/$b2" "and the one before (last=2)"
assert_file_not_exists "$store/$b1" "and deletes the one its policy does not keep"
assert_eq 24 "$(find "$store" -maxdepth 1 -name '20990101T*' | wc -l)" "no forged set deleted"
assert_eq "24" "$(q "SELECT count(*) FROM ramsafe_backups() WHERE NOT usable AND trust = 'untrusted' AND problem LIKE 'UNTRUSTED: %'")" \
  "ramsafe_backups(): every forged set UNTRUSTED, with the reason"
assert_eq "24" "$(status untrusted_sets)" "ramsafe_status(): 24 untrusted sets"
assert_eq "f" "$(q "SELECT ok FROM ramsafe_verify('20990101T000000Z')")" "ramsafe_verify(): not ok"
assert_contains "$(q "SELECT problem FROM ramsafe_verify('20990101T000000Z')")" "UNTRUSTED" "because UNTRUSTED"
assert_eq "$b3" "$(q "SELECT DISTINCT backup FROM ramsafe_verify()")" \
  "ramsafe_verify() without an id checks the newest trusted set"
pass "attack 3 against the worker: its retention counts and deletes only trusted sets"

# Without a signing key: refused, loudly.
q "ALTER SYSTEM SET ramsafe.signing_key_file = ''"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the worker to notice" 10 status_is "signing_problem IS NOT NULL"
assert_contains "$(status signing_problem)" "no signing key configured" "ramsafe_status() says why"
assert_eq "" "$(status signing_key)" "and names no key"
assert_contains "$(cat "$(pg_logfile x)")" "WARNING:  ramsafe: backups are REFUSED until they can be signed" \
  "a WARNING in the log at the reload"
assert_fails_with 1 q "SELECT * FROM ramsafe_backup_now()"
assert_contains "$ASSERT_OUTPUT" "no signing key configured" "ramsafe_backup_now() fails with the reason"
q "ALTER SYSTEM RESET ramsafe.signing_key_file"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the worker to sign again" 10 status_is "signing_problem IS NULL"
pass "without a signing key: backups are refused, loudly"

# A signing key file others may read is refused like an identity (and read for every WAL file
# by the archive module): the WAL stays in pg_wal until it is fixed.
chmod 0644 "$WORK/keys/signing.key"
assert_fails_with 1 q "SELECT * FROM ramsafe_backup_now()"
assert_contains "$ASSERT_OUTPUT" "has mode 0644" "ramsafe_backup_now() fails naming the mode"
# (the worker checks its key again right after answering)
wait_for "ramsafe_status() to say why" 10 status_is "signing_problem LIKE '%has mode 0644%'"
failures="$(status archive_failures)"
q "INSERT INTO t SELECT generate_series(1, 1000)"
seg2="$(q "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")"
q "SELECT pg_switch_wal()" >/dev/null
wait_for "an archiving failure" 30 status_is "archive_failures > $failures"
assert_contains "$(status last_archive_error)" "has mode 0644" "the archive module says why"
assert_file_not_exists "$store/wal/00000001/$seg2.zst.age" "nothing unsigned was archived"
chmod 0600 "$WORK/keys/signing.key"
q "SELECT pg_switch_wal()" >/dev/null  # the archiver retries at the next switch
wait_for "WAL $seg2 archived after all" 90 test -e "$store/wal/00000001/$seg2.sig"
q "SELECT backup_id FROM ramsafe_backup_now()" >/dev/null
wait_for "the worker to sign again" 10 status_is "signing_problem IS NULL"
pass "a signing key with mode 0644: backups and WAL refused, then signed once it is 0600"

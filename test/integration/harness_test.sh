#!/usr/bin/env bash
# Tests the integration-test harness itself (test/lib/common.sh, test/fixtures/*.sh):
#  - the assertion and wait helpers, and the exit cleanup (servers stopped, tmpfs unmounted,
#    work dir removed or kept with KEEP_TEST_DIR=1);
#  - the fixture and the fingerprint, against a baseline that is known to be faithful:
#    `pg_dumpall --clean --if-exists | psql` into a fresh cluster must fingerprint equal to
#    its source, and a one-row change, a role change or a plain pg_dumpall (which drops the
#    postgres database's own comment and settings) must not.
# Run as root from anywhere: bash test/integration/harness_test.sh   (ROWS=N to resize)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../fixtures/cluster_fixture.sh
. "$HERE/../fixtures/cluster_fixture.sh"
# shellcheck source-path=SCRIPTDIR source=../fixtures/fingerprint.sh
. "$HERE/../fixtures/fingerprint.sh"

ROWS="${ROWS:-20000}"
ramsafe_test_init harness
passed=0
ok() { pass "$1"; passed=$((passed + 1)); }
# pid_alive PID: the process exists and is not a zombie (an exited postmaster can stay a
# zombie for a moment until init reaps it; it holds no resources then).
pid_alive() { [[ -r "/proc/$1/stat" && "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]; }

# ------------------------------------------------------------------ assertion helpers
assert_eq "a b" "a b" "assert_eq on equal strings"
assert_contains "hello world" "o w" "assert_contains"
assert_not_contains "hello world" "xyz" "assert_not_contains"
assert_fails_with 3 bash -c 'echo out; echo err >&2; exit 3'
assert_contains "$ASSERT_OUTPUT" "err" "assert_fails_with keeps the command's output"
assert_fails_with 1 assert_eq x y "deliberately unequal"
assert_contains "$ASSERT_OUTPUT" "not ok - deliberately unequal" "a failed assertion says not ok"
assert_fails_with 1 fail "deliberate failure"
ok "assertion helpers pass and fail as documented"

# wait_for: succeeds once the condition holds (here on the 3rd poll), and times out with
# the documented message otherwise.
counter="$WORK/counter"
echo 0 >"$counter"
third_poll() {
  local n
  n=$(($(cat "$counter") + 1))
  echo "$n" >"$counter"
  ((n >= 3))
}
wait_for "the third poll" 10 third_poll
assert_eq 3 "$(cat "$counter")" "wait_for polls until the condition holds"
t0="${EPOCHREALTIME//[.,]/}"
assert_fails_with 1 wait_for "a condition that never holds" 0.5 false
t1="${EPOCHREALTIME//[.,]/}"
assert_contains "$ASSERT_OUTPUT" "timed out after 0.5s waiting for a condition that never holds" "wait_for timeout message"
(((t1 - t0) < 5000000)) || fail "wait_for with a 0.5 s timeout took $(((t1 - t0) / 1000)) ms"
ok "wait_for polls until success and times out with a message"

# ------------------------------------------------------------------ cleanup at exit
# A child test that mounts a tmpfs, starts a cluster and then fails must leave nothing behind.
child_script="$WORK/child.sh"
cat >"$child_script" <<EOF
set -euo pipefail
. "$HERE/../lib/common.sh"
ramsafe_test_init harness-child
mount_tmpfs "\$WORK/small" 16m
pg_init_cluster c
pg_conf c "shared_buffers = 16MB"
pg_start_existing c
printf '%s\n%s\n%s\n' "\$WORK" "\$(head -n 1 "\$(pg_datadir c)/postmaster.pid")" "\$WORK/small" >"$WORK/child.out"
[[ "\$(psql_as c postgres -c 'show shared_buffers')" == 16MB ]] || fail "pg_conf not applied"
mountpoint -q "\$WORK/small" || fail "tmpfs not mounted"
fail "child fails on purpose"
EOF
assert_fails_with 1 bash "$child_script"
assert_contains "$ASSERT_OUTPUT" "not ok - child fails on purpose" "child reports its failure"
assert_contains "$ASSERT_OUTPUT" "last lines of the server log of cluster c" "a failed test shows server logs"
mapfile -t child <"$WORK/child.out"
assert_file_not_exists "${child[0]}" "the child's work dir is removed"
if pid_alive "${child[1]}"; then fail "the child's postmaster (pid ${child[1]}) is still running"; fi
if grep -qF " ${child[2]} " /proc/mounts; then fail "the child's tmpfs is still mounted"; fi
ok "exit cleanup stops servers, unmounts tmpfs and removes the work dir"

KEEP_TEST_DIR=1 assert_fails_with 1 bash "$child_script"
mapfile -t child <"$WORK/child.out"
assert_file_exists "${child[0]}/c/data/PG_VERSION" "KEEP_TEST_DIR=1 keeps the work dir"
if pid_alive "${child[1]}"; then fail "postmaster ${child[1]} still running with KEEP_TEST_DIR=1"; fi
if grep -qF " ${child[2]} " /proc/mounts; then fail "tmpfs still mounted with KEEP_TEST_DIR=1"; fi
rm -rf --one-file-system "${child[0]}"
ok "KEEP_TEST_DIR=1 keeps the work dir but still stops servers and unmounts"

# ------------------------------------------------------------------ clusters and fixture
pg_start_cluster src
assert_eq "" "$(psql_as src postgres -c "show listen_addresses")" "no TCP listener"
assert_eq "$(pg_port src)" "$(psql_as src postgres -c "show port")" "pg_port matches the server"
assert_contains "$(pg_env src)" "PGHOST=$(pg_sockdir src) PGPORT=$(pg_port src) PGUSER=postgres" "pg_env"
assert_eq "C.UTF-8|UTF8" "$(psql_as src postgres -c "select current_setting('lc_collate') || '|' || current_setting('server_encoding')")" "default initdb locale and encoding"
assert_eq "postgres 700" "$(stat -c '%U %a' "$(pg_sockdir src)")" "socket dir is private to postgres"
ok "pg_start_cluster: private unix socket, C.UTF-8, UTF8"

t0="${EPOCHREALTIME//[.,]/}"
load_cluster_fixture src "$ROWS"
t1="${EPOCHREALTIME//[.,]/}"
ok "fixture loaded with ROWS=$ROWS in $(((t1 - t0) / 1000)) ms"

cluster_fingerprint src "$WORK/fp/src"
content="$(cat "$WORK/fp/src.content")"
for line in \
  $'database\tlegacy\tLATIN1\tC\tC\t' \
  $'table\tpublic.big\tp\t'"$ROWS"$'\t' \
  $'table\tpublic.session_cache\tu\t500\t' \
  $'matview\tpublic.sensor_totals\tnot populated' \
  $'table\tpublic.sensor_daily\tp\t' \
  $'table\tpublic.measurements_other\tp\t' \
  $'sequence\tpublic.ticket_seq\t4243\tf' \
  $'sequence\tcrm.invoice_no\t1337\tt' \
  $'large_object\t424242\tapp_owner\tapp_owner=rw/app_owner,readers=r/app_owner\tfixture large object\t105000\t' \
  $'large_objects\t3' \
  $'table\tpublic.template_marker\tp\t1\t' \
  $'maintenance database (commented by the fixture)\t*:idle_in_transaction_session_timeout=10min'; do
  assert_contains "$content" "$line" "fingerprint content has: $line"
done
assert_eq 4 "$(psql_as src legacy -c "select octet_length(name) from kunden where id = 1")" "'café' is 4 bytes in LATIN1"
schema="$(cat "$WORK/fp/src.schema")"
assert_contains "$schema" "CREATE ROLE alice;" "schema has roles"
assert_contains "$schema" "PASSWORD 'SCRAM-SHA-256\$4096:" "schema has SCRAM verifiers"
assert_contains "$schema" "GRANT writers TO alice WITH ADMIN OPTION GRANTED BY postgres;" "schema has memberships"
assert_contains "$schema" "CREATE DATABASE legacy WITH TEMPLATE = template0 ENCODING = 'LATIN1'" "schema has the LATIN1 database"
assert_contains "$schema" "CREATE POLICY notes_readers ON crm.notes" "schema has RLS policies"
assert_not_contains "$schema" $'\n\\restrict ' "schema has no random \\restrict keys"
ok "fingerprint describes databases, tables, sequences, large objects and schema"

cluster_fingerprint src "$WORK/fp/src-again"
compare_fingerprints "$WORK/fp/src" "$WORK/fp/src-again"
ok "fingerprinting the same cluster twice gives the same result"

# ------------------------------------------------------------------ baseline copy
# (PGOPTIONS: the fixture's read-only database would make psql's \connect to it read-only.)
copy_cluster() { # copy_cluster FROM TO [pg_dumpall args...]: dump | psql into a fresh cluster
  local from="$1" to="$2"
  shift 2
  pg_start_cluster "$to"
  # shellcheck disable=SC2046
  env $(pg_env "$from") "$PG_BINDIR/pg_dumpall" "$@" |
    env $(pg_env "$to") PGOPTIONS="-c default_transaction_read_only=off" \
      "$PG_BINDIR/psql" -X -q -d postgres >/dev/null 2>"$WORK/$to.restore.err"
}
copy_cluster src copy --clean --if-exists
# The only errors a faithful dump | psql may show: the bootstrap superuser already exists.
errors="$(grep 'ERROR:' "$WORK/copy.restore.err" | sed 's/^psql:[^ ]* //' | sort -u)"
assert_eq $'ERROR:  current user cannot be dropped\nERROR:  role "postgres" already exists' "$errors" \
  "pg_dumpall | psql errors only on the bootstrap superuser"
cluster_fingerprint copy "$WORK/fp/copy"
compare_fingerprints "$WORK/fp/src" "$WORK/fp/copy"
ok "pg_dumpall --clean | psql copy has the same fingerprint as its source"

# ------------------------------------------------------------------ the comparison catches changes
psql_as copy app -c "UPDATE public.big SET label = label || 'x' WHERE id = 1234"
cluster_fingerprint copy "$WORK/fp/copy-row"
assert_fails_with 1 compare_fingerprints "$WORK/fp/src" "$WORK/fp/copy-row"
assert_contains "$ASSERT_OUTPUT" "not ok - cluster contents differ" "a changed row is a content difference"
assert_contains "$ASSERT_OUTPUT" $'+table\tpublic.big\tp\t'"$ROWS" "the diff names the changed table"
ok "one changed row makes the fingerprints differ"

psql_as copy app -c "UPDATE public.big SET label = left(label, -1) WHERE id = 1234"
cluster_fingerprint copy "$WORK/fp/copy-reverted"
compare_fingerprints "$WORK/fp/src" "$WORK/fp/copy-reverted"
ok "reverting the row makes them equal again"

psql_as copy postgres -c "ALTER ROLE alice CONNECTION LIMIT 4"
cluster_fingerprint copy "$WORK/fp/copy-role"
assert_fails_with 1 compare_fingerprints "$WORK/fp/src" "$WORK/fp/copy-role"
assert_contains "$ASSERT_OUTPUT" "not ok - cluster schemas differ" "a role change is a schema difference"
assert_contains "$ASSERT_OUTPUT" "+ALTER ROLE alice WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 4" "the diff shows the role"
ok "a changed role attribute makes the fingerprints differ"

# Plain pg_dumpall (no --clean) restores no database-level properties of postgres/template1.
copy_cluster src plain
cluster_fingerprint plain "$WORK/fp/plain"
assert_fails_with 1 compare_fingerprints "$WORK/fp/src" "$WORK/fp/plain"
assert_contains "$ASSERT_OUTPUT" $'+database\tpostgres\t' "the diff shows the postgres database"
ok "a restore that loses the postgres database's comment and settings is caught"

# ------------------------------------------------------------------ wipe, then start a data dir copied in
# (as a restore into an emptied tmpfs data dir would): it must come up as its own cluster,
# on its own socket and port, although its postgresql.conf names the other cluster's.
pg_wipe_data plain
assert_eq "" "$(ls -A "$(pg_datadir plain)")" "pg_wipe_data leaves the data dir empty"
assert_eq "postgres 700" "$(stat -c '%U %a' "$(pg_datadir plain)")" "pg_wipe_data leaves it postgres-owned, 0700"
if pg_is_running plain; then fail "pg_wipe_data stops the cluster"; fi
psql_as copy postgres -c "ALTER ROLE alice CONNECTION LIMIT 3"
pg_stop_cluster copy
cp -a "$(pg_datadir copy)/." "$(pg_datadir plain)/"
pg_start_existing plain
assert_eq "$(pg_sockdir plain)" "$(psql_as plain postgres -c "show unix_socket_directories")" "copied data dir uses its own socket dir"
cluster_fingerprint plain "$WORK/fp/plain-copied"
compare_fingerprints "$WORK/fp/src" "$WORK/fp/plain-copied"
ok "pg_wipe_data + pg_start_existing run a copied-in data dir as its own cluster"

echo "$passed passed, 0 failed"

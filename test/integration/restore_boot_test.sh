#!/usr/bin/env bash
# The boot path fails only for what it needs (issue 16, item 6): `ramsafe restore
# --if-empty` runs in ExecStartPre on every start of the server, so a plain restart must
# not fail for a problem of the shared configuration file that a restore does not need.
#   - --if-empty on a data directory that holds a cluster exits 0 before anything else is
#     read: with a misspelt ramsafe.* name, a bad ramsafe.schedule, an unusable identity
#     file, even without a configuration file; what a restore would fail on is warned about
#   - a directory holding an unfinished restore is not "full": it is restored again
#   - a restore into the empty directory goes on with an unknown ramsafe.* name or a bad
#     value of a setting it does not read, saying so; a bad value it reads is still exit 2
#   - wal-fetch (restore_command) reads the file the same way; `ramsafe list` stays strict
# Run as root. Needs only the companion ($RAMSAFE_BIN), not the installed extension.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init restore_boot
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

ramsafe_keys
pg_start_cluster x
data="$(pg_datadir x)"
psql_as x postgres -c "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g"
good="$(ramsafe_config x)"
rs "$good" backup >/dev/null
# The shared file of the issue: a misspelt setting, and a schedule the server would refuse.
typo="$(ramsafe_config x "ramsafe.compresion_level = 9" "ramsafe.schedule = '61 * * * *'")"

# ------------------------------------------------------------------ a restart: data present
assert_fails_with 0 rs "$typo" restore --if-empty
assert_contains "$ASSERT_OUTPUT" "$data is not empty; leaving it alone (--if-empty)" "says it left the data alone"
assert_contains "$ASSERT_OUTPUT" "unrecognized setting ramsafe.compresion_level" \
  "and still names the misspelt setting"
assert_contains "$ASSERT_OUTPUT" "WARNING" "as a warning"
pg_is_running x || fail "the server stopped"
pass "restore --if-empty with data present: exit 0 despite a misspelt setting in the file"

no_key="$(ramsafe_config x "ramsafe.identity_file = '$WORK/keys/absent.txt'")"
assert_fails_with 0 rs "$no_key" restore --if-empty
assert_contains "$ASSERT_OUTPUT" \
  "a restore into the empty data directory (after a reboot) would fail: ramsafe.identity_file = '$WORK/keys/absent.txt'" \
  "the missing key is warned about: the next reboot would need it"
assert_fails_with 0 rs "$WORK/no-such.conf" restore --if-empty -D "$data"
assert_contains "$ASSERT_OUTPUT" "leaving it alone" "no configuration file at all, -D given: still 0"
assert_contains "$ASSERT_OUTPUT" "would fail: could not open configuration file" "and the missing file is warned about"
report="$WORK/skip-report.json"
touch "$report" && chown postgres:postgres "$report"
out="$(rs "$typo" restore --if-empty --json --report "$report" 2>/dev/null)" || fail "--json skip failed" "$out"
assert_eq skipped "$(jq -r .outcome <<<"$out")" "--json prints the skipped report"
assert_eq skipped "$(jq -r .outcome "$report")" "--report gets it too"
assert_fails_with 2 rs "$typo" restore --if-empty --force
pass "restore --if-empty with data present: exit 0 without a key or a file, warning what a reboot would fail on"

# --------------------------------------------- an unfinished restore is not a full directory
pg_stop_cluster x
mkdir "$data/.ramsafe-restore" && echo junk >"$data/.ramsafe-restore/half"
chown -R postgres:postgres "$data/.ramsafe-restore"
out="$(rs "$typo" restore --if-empty 2>&1)" || fail "restore over an unfinished restore failed" "$out"
assert_contains "$out" "found an unfinished restore" "the half-restored directory is redone"
assert_contains "$out" "restored backup" "and restored"
pass "restore --if-empty does not skip a directory holding an unfinished restore"

# ------------------------------------------------------------------ a reboot: empty directory
pg_wipe_data x
out="$(rs "$typo" restore --if-empty 2>&1)" || fail "restore with a misspelt setting failed" "$out"
assert_contains "$out" "restored backup" "the restore went on"
typo_line="$(grep -n "^ramsafe.compresion_level" "$typo" | cut -d: -f1)"
assert_contains "$out" "WARNING: unrecognized setting ramsafe.compresion_level at $typo:$typo_line (did you mean ramsafe.compression_level?); ignored, as the server ignores it" \
  "the misspelt name is a warning"
assert_contains "$out" "invalid value for ramsafe.schedule: \"61 * * * *\" (minute 61 is out of range 0-59); ignored: a restore does not need it" \
  "so is a bad value of a setting restore does not read"
pg_start_existing x
assert_eq 1000 "$(psql_as x postgres -c "SELECT count(*) FROM t")" "the data is back"
pass "restore into the empty directory: an unknown name and an unused bad value only warn"

pg_stop_cluster x
pg_wipe_data x
bad_dir="$(ramsafe_config x "ramsafe.compresion_level = 9" "ramsafe.local_dir = 'relative/dir'")"
assert_fails_with 2 rs "$bad_dir" restore --if-empty
assert_contains "$ASSERT_OUTPUT" "invalid value for ramsafe.local_dir: \"relative/dir\"" "a bad value restore needs is an error"
assert_eq "" "$(ls -A "$data")" "nothing was written"
pass "a bad value of a setting restore reads is still exit 2"

# ------------------------------------------------------------------ wal-fetch, list
assert_fails_with 1 rs "$typo" wal-fetch 0000000100000000000000FE "$WORK/fetched"
assert_contains "$ASSERT_OUTPUT" "ramsafe.compresion_level" "wal-fetch warns about the name"
assert_fails_with 2 rs "$typo" list
assert_contains "$ASSERT_OUTPUT" "unrecognized setting ramsafe.compresion_level" "list is strict"
pass "wal-fetch reads the file as restore does; list still refuses it"

#!/usr/bin/env bash
# The systemd drop-in for Debian's postgresql@.service (dist/systemd, issue 15 item 3):
#   - `cmake --install --component hooks` (into a DESTDIR) puts the drop-in under
#     /etc/systemd/system/postgresql@.service.d/ and its two hooks next to ramsafe
#   - `systemd-analyze verify` of postgresql@15-main.service (Debian's unit from
#     postgresql-common + the drop-in) reports nothing; a broken copy is reported
#   - ExecStopPost (ramsafe-stop-snapshot) takes no snapshot after a crash: not when
#     systemd says the service failed, and not when the control file says the cluster was
#     not shut down (ramsafe snapshot's exit 8), and exits 0 in both; after a clean stop
#     it publishes an offline set; a bad configuration fails the hook
#   - both hooks do nothing and exit 0 for a cluster without its configuration file
#     (/etc/ramsafe/%i.conf): the drop-in applies to every postgresql@ cluster of the host
#   - a planned reboot through the drop-in's own commands (clean stop, ExecStopPost, tmpfs
#     emptied, ExecStartPre, start) brings back every committed row
# Run as root. Needs the companion ($RAMSAFE_BIN) and its build directory, not the
# installed extension.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init systemd_dropin
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

debian_unit=/lib/systemd/system/postgresql@.service
[[ -f "$debian_unit" ]] || fail "no $debian_unit: install postgresql-common (scripts/setup)"
command -v systemd-analyze >/dev/null || fail "no systemd-analyze (package systemd)"

# ------------------------------------------------------------------ installed where systemd looks
build_dir="$(cd "$(dirname "$RAMSAFE_BIN")" && pwd)"
root="$WORK/root"
mkdir -p "$root"
out="$(DESTDIR="$root" cmake --install "$build_dir" --component hooks 2>&1)" ||
  fail "cmake --install --component hooks failed" "$out"
dropin="$root/etc/systemd/system/postgresql@.service.d/ramsafe.conf"
assert_file_exists "$dropin" "the drop-in is installed as /etc/systemd/system/postgresql@.service.d/ramsafe.conf"
# value KEY: the value of KEY= in the drop-in (the last one)
value() { sed -n "s/^$1=//p" "$dropin" | tail -n 1; }
hook="$(value ExecStopPost)"
[[ "$hook" == /*/bin/ramsafe-stop-snapshot ]] || fail "ExecStopPost names ramsafe-stop-snapshot by its absolute path" "$hook"
prefix="${hook%/bin/ramsafe-stop-snapshot}"
[[ -x "$root$hook" ]] || fail "ExecStopPost's $hook is installed and executable" "$(find "$root" -type f)"
[[ -x "$root$prefix/bin/ramsafe-entrypoint" ]] || fail "ramsafe-entrypoint is installed next to it"
start_pre="$(value ExecStartPre)"
assert_eq "$prefix/bin/ramsafe-start-restore" "$start_pre" "ExecStartPre is the boot restore's hook"
[[ -x "$root$start_pre" ]] || fail "ExecStartPre's $start_pre is installed and executable"
# One configuration file per cluster, and only a cluster that has one is ramsafe's: the
# drop-in applies to every postgresql@ unit of the host.
assert_contains "$(value Environment)" "RAMSAFE_CONFIG=/etc/ramsafe/%i.conf" "each cluster's own configuration file (%i: 15-main)"
assert_contains "$(value RequiresMountsFor)" "/var/backups/ramsafe" "RequiresMountsFor names the store"
[[ "$(value TimeoutStopSec)" =~ ^[0-9]+min$ ]] || fail "TimeoutStopSec is set in minutes" "$(value TimeoutStopSec)"
pass "cmake --install puts the drop-in under /etc/systemd/system and the hooks in $prefix/bin"

# ------------------------------------------------------------------ systemd-analyze verify
# verify checks that every command exists: point the copy at the DESTDIR's programs.
# verify_units DROPIN: systemd-analyze verify of Debian's unit with DROPIN; output in VERIFY_OUT
verify_units() {
  rm -rf "$WORK/units"
  mkdir -p "$WORK/units/postgresql@.service.d"
  sed "s|$prefix/bin/|$root$prefix/bin/|g" "$1" >"$WORK/units/postgresql@.service.d/ramsafe.conf"
  VERIFY_RC=0
  # The trailing colon: after our directory, systemd's usual unit paths (Debian's unit).
  VERIFY_OUT="$(SYSTEMD_UNIT_PATH="$WORK/units:" systemd-analyze verify postgresql@15-main.service 2>&1)" || VERIFY_RC=$?
}
verify_units "$dropin"
assert_eq 0 "$VERIFY_RC" "systemd-analyze verify exit code (output: $VERIFY_OUT)"
assert_eq "" "$VERIFY_OUT" "systemd-analyze verify says nothing about postgresql@15-main.service + the drop-in"
sed -e 's/^TimeoutStopSec=.*/TimeoutStopSec=a while/' \
  -e 's|^ExecStopPost=.*|ExecStopPost=/nonexistent/ramsafe-stop-snapshot|' "$dropin" >"$WORK/broken.conf"
verify_units "$WORK/broken.conf"
assert_contains "$VERIFY_OUT" "Failed to parse" "verify reports a bad TimeoutStopSec"
assert_contains "$VERIFY_OUT" "/nonexistent/ramsafe-stop-snapshot is not executable" "verify reports a missing ExecStopPost command"
pass "systemd-analyze verify: Debian's postgresql@15-main.service with the drop-in is clean; a broken drop-in is reported"

# ------------------------------------------------------------------ the hooks against a real cluster
ramsafe_keys
pg_start_cluster a
conf="$(ramsafe_config a)"
store="$WORK/store/main"
sets() { find "$store" -mindepth 1 -maxdepth 1 -type d -name '2*' ! -name '*.partial' 2>/dev/null | wc -l; }
# run_hook VAR=VALUE...: ExecStopPost as systemd runs it: as root, with the drop-in's
# Environment= (RAMSAFE_CONFIG overridden, as a drop-in of the user's would) and systemd's
# variables. Output and exit code in ASSERT_OUTPUT and HOOK_RC.
run_hook() {
  HOOK_RC=0
  ASSERT_OUTPUT="$(cd / && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin RAMSAFE_USER=postgres \
    RAMSAFE_CONFIG="$conf" RAMSAFE_BIN="$RAMSAFE_TEST_BIN" "$@" "$root$hook" 2>&1)" || HOOK_RC=$?
}
# run_start_hook: ExecStartPre the same way.
run_start_hook() {
  HOOK_RC=0
  ASSERT_OUTPUT="$(cd / && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin RAMSAFE_USER=postgres \
    RAMSAFE_CONFIG="$conf" RAMSAFE_BIN="$RAMSAFE_TEST_BIN" "$root$start_pre" 2>&1)" || HOOK_RC=$?
}
psql_as a postgres -c "CREATE TABLE t (id int PRIMARY KEY, note text)" \
  -c "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g"

# A crash: the postmaster killed. systemd says so, and the control file says so too.
pid="$(head -n 1 "$(pg_datadir a)/postmaster.pid")"
kill -KILL "$pid"
wait_for "the killed postmaster to be gone" 30 bash -c "! kill -0 $pid 2>/dev/null"
_pg_stop_hard "$(pg_datadir a)"
run_hook SERVICE_RESULT=signal EXIT_CODE=killed EXIT_STATUS=KILL
assert_eq 0 "$HOOK_RC" "ExecStopPost after a crash exits 0 (output: $ASSERT_OUTPUT)"
assert_contains "$ASSERT_OUTPUT" "no offline snapshot: the service ended with result 'signal'" "and says why"
assert_eq 0 "$(sets)" "no set published after the crash"
# systemd thought all was well, but the control file says "in production": refused, exit 0.
run_hook SERVICE_RESULT=success EXIT_CODE=exited EXIT_STATUS=0
assert_eq 0 "$HOOK_RC" "ExecStopPost exits 0 when ramsafe snapshot refuses (output: $ASSERT_OUTPUT)"
assert_contains "$ASSERT_OUTPUT" "ramsafe snapshot refused" "and logs the refusal"
assert_eq 0 "$(sets)" "no set published from a crashed cluster"
pass "after a crash: no offline snapshot (SERVICE_RESULT, then the control file), ExecStopPost exits 0"

# A clean stop that systemd reports as failed (the main process exited 1): no snapshot.
pg_start_existing a
psql_as a postgres -c "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1001, 3000) g"
fingerprint() { psql_as a postgres -c "SELECT count(*) || ':' || md5(string_agg(id || note, ',' ORDER BY id)) FROM t"; }
before="$(fingerprint)"
pg_stop_cluster a fast
run_hook SERVICE_RESULT=success EXIT_CODE=exited EXIT_STATUS=1
assert_eq 0 "$HOOK_RC" "ExecStopPost exit code when the main process exited 1"
assert_contains "$ASSERT_OUTPUT" "EXIT_CODE=exited EXIT_STATUS=1" "names the exit status"
assert_eq 0 "$(sets)" "no set when the server's main process failed"
# No configuration file (a cluster ramsafe does not keep): nothing, exit 0, at stop and at
# start (a start must not fail for a cluster that was never ramsafe's).
saved_conf="$conf"
conf="$WORK/absent.conf"
run_hook SERVICE_RESULT=success EXIT_CODE=exited EXIT_STATUS=0
assert_eq 0 "$HOOK_RC" "ExecStopPost without a configuration file exits 0"
assert_contains "$ASSERT_OUTPUT" "$WORK/absent.conf does not exist" "and says so"
assert_eq 0 "$(sets)" "no set without a configuration file"
run_start_hook
assert_eq 0 "$HOOK_RC" "ExecStartPre without a configuration file exits 0 (output: $ASSERT_OUTPUT)"
assert_contains "$ASSERT_OUTPUT" "no boot restore: $WORK/absent.conf does not exist" "and says so"
# A bad configuration after a clean stop fails the hook (the unit shows it).
conf="$(ramsafe_config a "ramsafe.compression_level = 99")"
run_hook SERVICE_RESULT=success EXIT_CODE=exited EXIT_STATUS=0
assert_eq 2 "$HOOK_RC" "ExecStopPost passes on ramsafe snapshot's exit 2 for a bad setting (output: $ASSERT_OUTPUT)"
assert_contains "$ASSERT_OUTPUT" "FAILED" "and says the snapshot failed"
conf="$saved_conf"
pass "ExecStopPost: no snapshot when the main process failed or nothing is configured (exit 0); a bad configuration fails it"

# ------------------------------------------------------------------ a planned reboot through the drop-in
rows="${before%%:*}" # the crash above may have lost rows 1-1000 (synchronous_commit = off)
((rows >= 2000)) || fail "at least the 2000 rows committed after the crash" "$before"
run_hook SERVICE_RESULT=success EXIT_CODE=exited EXIT_STATUS=0
assert_eq 0 "$HOOK_RC" "ExecStopPost after a clean stop (output: $ASSERT_OUTPUT)"
assert_contains "$ASSERT_OUTPUT" "offline snapshot taken" "says the snapshot was taken"
assert_eq 1 "$(sets)" "one set published"
grep -q '"offline"' "$(newest_set "$store")/manifest.json" || fail "the set is of kind offline" "$(head -c 600 "$(newest_set "$store")/manifest.json")"
pass "ExecStopPost after a clean stop publishes an offline set"

# The reboot: the tmpfs is empty; ExecStartPre as systemd runs it, then start.
pg_wipe_data a
run_start_hook
assert_eq 0 "$HOOK_RC" "ExecStartPre after the reboot (output: $ASSERT_OUTPUT)"
[[ -f "$(pg_datadir a)/PG_VERSION" ]] || fail "ExecStartPre restored the data directory" "$ASSERT_OUTPUT"
# A restart without a reboot: the data directory is not empty and is left alone.
run_start_hook
assert_eq 0 "$HOOK_RC" "ExecStartPre with a non-empty data directory (output: $ASSERT_OUTPUT)"
pg_start_existing a
after="$(fingerprint)"
assert_eq "$before" "$after" "every committed row is back after the planned reboot"
pg_stop_cluster a fast
pass "planned reboot through the drop-in's ExecStopPost and ExecStartPre: all $rows rows back"

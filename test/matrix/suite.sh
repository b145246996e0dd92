#!/usr/bin/env bash
# The CI matrix on one PostgreSQL major other than the host's, inside its Debian root
# (run it as `scripts/pgenv MAJOR test`; .ci/run does, for 17 and 18):
#   build        ramsafe against the root's PostgreSQL (its pg_config), warnings as errors,
#                -O2 without debug information, in build-pgMAJOR/
#   install      the companion and the extension into the root (its own PostgreSQL: no lock)
#   unit         the unit tests (ctest -L unit; the node and lint tests stay on the host)
#   regress      pg_regress of the extension's SQL surface (ctest regress_sql)
#   server       the integration tests that exercise a server: roundtrip, extension, WAL
#                archive, base backup + WAL restore, WAL point-in-time, faults, and the
#                power-loss drill (5 cycles); the roundtrip with ROWS (default 200,000)
# Each step prints one line (ok/FAIL and seconds) and a row in build-pgMAJOR/matrix.tsv
# (step, result, seconds, detail); a failed step shows its log's tail. Exit status 1 if any
# step failed. Options through the environment: CTEST_ARGS (extra ctest arguments for the
# unit, regress and server steps, e.g. "-R roundtrip").
set -uo pipefail
# The whole script is one compound command ending in exit: bash reads it before running
# it, so editing this file during a run cannot change what the run does.
{
cd "$(dirname "$0")/../.."
major="${RAMSAFE_PGENV_MAJOR:-}"
[[ "$major" =~ ^[0-9]+$ ]] || { echo "suite.sh: run it as scripts/pgenv MAJOR test" >&2; exit 2; }
pg_config="/usr/lib/postgresql/$major/bin/pg_config"
build="build-pg$major"
results="$build/matrix.tsv"
server_tests='^(integration_(roundtrip|extension|wal_archive|wal_restore|wal_pitr|faults)_test|drill_power_loss)$'
# The roundtrip's big table: the host's suite checks a million rows; here the point is the
# major, not the scale.
export ROWS="${ROWS:-200000}"

mkdir -p "$build"
: >"$results"
failed=0

# step NAME COMMAND...: runs COMMAND with its output in $build/matrix-NAME.log.
step() {
  local name="$1" started=$SECONDS rc=0 detail=""
  shift
  "$@" >"$build/matrix-$name.log" 2>&1 || rc=$?
  local seconds=$((SECONDS - started))
  # ctest's summary ("100% tests passed, 0 tests failed out of 7") says what ran.
  detail="$(grep -Eo '[0-9]+ tests failed out of [0-9]+' "$build/matrix-$name.log" | tail -n 1)"
  if ((rc == 0)); then
    printf 'ok   - PostgreSQL %s %-8s %4d s  %s\n' "$major" "$name" "$seconds" "$detail"
    printf '%s\tpass\t%s\t%s\n' "$name" "$seconds" "$detail" >>"$results"
  else
    failed=1
    printf 'FAIL - PostgreSQL %s %-8s %4d s  %s (exit %s)\n' "$major" "$name" "$seconds" "$detail" "$rc"
    printf '%s\tFAIL\t%s\t%s\n' "$name" "$seconds" "$detail" >>"$results"
    grep -E 'warning:|error:|Failed|not ok|\*\*\*' "$build/matrix-$name.log" | head -n 40 | sed 's/^/#   /'
    tail -n 30 "$build/matrix-$name.log" | sed 's/^/#   /'
  fi
  return "$rc"
}

# A build that warns fails (-Werror); the log keeps the compiler's words. -O2 as the host's
# RelWithDebInfo build, without its debug information, which only costs time here.
step build env BUILD_DIR="$build" CMAKE_BUILD_TYPE=Release scripts/build -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DPG_CONFIG="$pg_config" -DRAMSAFE_TEST_TOOLS=OFF -DRAMSAFE_WERROR=ON ||
  { echo "PostgreSQL $major: the build failed; nothing else runs" >&2; exit 1; }
step install cmake --install "$build" || exit 1
# shellcheck disable=SC2086 # CTEST_ARGS is a list of arguments
step unit ctest --test-dir "$build" -L unit -j "$(nproc)" --output-on-failure --timeout 600 ${CTEST_ARGS:-}
# shellcheck disable=SC2086
step regress ctest --test-dir "$build" -R '^regress_sql$' --output-on-failure ${CTEST_ARGS:-}
# shellcheck disable=SC2086
step server ctest --test-dir "$build" -R "$server_tests" -j 2 --output-on-failure --timeout 900 \
  ${CTEST_ARGS:-}
exit "$failed"
}

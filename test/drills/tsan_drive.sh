#!/usr/bin/env bash
# The Drive code under ThreadSanitizer (issue 16, item 3: parallel restore threads shared
# one curl handle). Configures its own build with -DRAMSAFE_TSAN=ON (GCC's TSan, Debian's
# libtsan2), builds ramsafe_unit_tests and the companion, then runs
#   - the Drive unit tests (DriveStoreTest: eight threads reading one set from the Drive
#     emulator at once, with downloads cut and tokens expired; BackoffTest, DriveAuth*),
#   - test/integration/drive_restore_test.sh with the TSan companion (RAMSAFE_BIN): a
#     restore of three databases from Drive at the default jobs and at -j 4.
# Any report stops the program (halt_on_error) and fails the drill. Needs root (the
# integration test starts PostgreSQL), node and the emulator's npm peers. The build lives
# in $RAMSAFE_TSAN_BUILD_DIR (default: build-tsan/ in the repository); the logs are kept
# there (tsan_build.log, tsan_unit.log, tsan_restore.log, tsan/ for the reports).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
build="${RAMSAFE_TSAN_BUILD_DIR:-$repo/build-tsan}"
mkdir -p "$build"
build_log="$build/tsan_build.log"
unit_log="$build/tsan_unit.log"
restore_log="$build/tsan_restore.log"
reports_dir="$build/tsan"

# -O1 -g1: TSan's own advice is -O1 or higher; line tables are enough for its stacks.
if ! { cmake -S "$repo" -B "$build" -DRAMSAFE_TSAN=ON -DCMAKE_BUILD_TYPE=Debug \
         -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" &&
       cmake --build "$build" --target ramsafe_unit_tests ramsafe -j "${RAMSAFE_TSAN_JOBS:-2}"; } \
     >"$build_log" 2>&1; then
  tail -n 40 "$build_log" >&2
  echo "tsan_drive: the build failed (log: $build_log)" >&2
  exit 1
fi

rm -rf "$reports_dir"
mkdir -p "$reports_dir"
chmod 1777 "$reports_dir"  # the companion runs as postgres in the integration test
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:log_path=$reports_dir/report"
start=$SECONDS
rc=0
"$build/ramsafe_unit_tests" --gtest_filter='DriveStoreTest.*:BackoffTest.*:DriveAuth*' \
  --gtest_brief=1 </dev/null >"$unit_log" 2>&1 || rc=$?
restore_rc=0
RAMSAFE_BIN="$build/ramsafe" bash "$repo/test/integration/drive_restore_test.sh" \
  </dev/null >"$restore_log" 2>&1 || restore_rc=$?
elapsed=$((SECONDS - start))

reports="$(cat "$reports_dir"/report* 2>/dev/null | grep -c 'WARNING: ThreadSanitizer' || true)"
passed="$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\..*/\1/p' "$unit_log" | tail -n 1)"
failed="$(sed -n 's/^\[  FAILED  \] \([0-9]*\) tests\{0,1\}, listed below.*/\1/p' "$unit_log" | tail -n 1)"
skipped="$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) tests\{0,1\}.*/\1/p' "$unit_log" | tail -n 1)"
restore="ok"
[ "$restore_rc" -eq 0 ] || restore="FAILED (exit $restore_rc)"
echo "tsan_drive: ${passed:-0} tests passed, ${failed:-0} failed, $reports sanitizer reports," \
     "${skipped:-0} skipped; drive_restore_test $restore; ${elapsed}s (logs: $build)"
if [ "$rc" -ne 0 ] || [ "$restore_rc" -ne 0 ] || [ "$reports" -ne 0 ] || [ -z "$passed" ] ||
   [ "${skipped:-0}" -ne 0 ]; then
  cat "$reports_dir"/report* 2>/dev/null | head -n 80 >&2 || true
  grep -n -E '^\[  FAILED  \]|^not ok' "$unit_log" "$restore_log" | head -n 20 >&2 || true
  tail -n 30 "$restore_log" >&2
  exit 1
fi

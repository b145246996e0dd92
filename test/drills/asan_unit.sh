#!/usr/bin/env bash
# Runs the unit tests under AddressSanitizer (with leak detection) and
# UndefinedBehaviorSanitizer: configures its own build with -DRAMSAFE_SANITIZE=ON, builds
# only ramsafe_unit_tests and runs it, without the AgeCctv tests (they need the CCTV
# vectors; the age_cctv_conformance test runs them). Exits non-zero on any failed test or
# sanitizer report. The build lives in $RAMSAFE_ASAN_BUILD_DIR (default: build-asan/ in the
# repository); the test output is kept in its asan_unit.log.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
build="${RAMSAFE_ASAN_BUILD_DIR:-$repo/build-asan}"
mkdir -p "$build"
build_log="$build/asan_build.log"
log="$build/asan_unit.log"

# -O0 -g1 (line tables for the stacks): the build takes a fraction of -O1 -g's time on two
# cores, and the tests still run in well under a minute.
if ! { cmake -S "$repo" -B "$build" -DRAMSAFE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
         -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" &&
       cmake --build "$build" --target ramsafe_unit_tests -j "${RAMSAFE_ASAN_JOBS:-2}"; } \
     >"$build_log" 2>&1; then
  tail -n 40 "$build_log" >&2
  echo "asan_unit: the build failed (log: $build_log)" >&2
  exit 1
fi

export ASAN_OPTIONS="detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
start=$SECONDS
rc=0
"$build/ramsafe_unit_tests" --gtest_filter='-AgeCctv.*' --gtest_brief=1 </dev/null >"$log" 2>&1 ||
  rc=$?
elapsed=$((SECONDS - start))

reports="$(grep -c -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" || true)"
passed="$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\..*/\1/p' "$log" | tail -n 1)"
failed="$(sed -n 's/^\[  FAILED  \] \([0-9]*\) tests\{0,1\}, listed below.*/\1/p' "$log" | tail -n 1)"
echo "asan_unit: ${passed:-0} tests passed, ${failed:-0} failed, $reports sanitizer reports," \
     "exit $rc, ${elapsed}s (log: $log)"
if [ "$rc" -ne 0 ] || [ "$reports" -ne 0 ] || [ -z "$passed" ]; then
  grep -n -E '^\[  FAILED  \]|ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY:' \
    "$log" | head -n 40 >&2 || true
  tail -n 60 "$log" >&2
  exit 1
fi

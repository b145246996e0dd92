#!/usr/bin/env bash
# scripts/demo, the README's first command, end to end (issue 15 item 4) with this build's
# companion and the installed extension, in private directories (RAMSAFE_DEMO_NO_INSTALL=1:
# no setup, build or install): the worker's scheduled backup, a planned reboot that brings
# every row back through an offline snapshot, and a power cut that goes back to the last
# scheduled backup, losing exactly the rows written after it. Takes one to two minutes:
# the demo waits for two per-minute scheduled backups.
# Run as root, after `cmake --install build` (under the install lock, docs/testing.md).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init demo
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
require_installed_extension

port="$(_pick_port demo)"
rc=0
out="$(RAMSAFE_DEMO_NO_INSTALL=1 RAMSAFE_BIN="$RAMSAFE_TEST_BIN" RAMSAFE_DEMO_DIR="$WORK/demo" \
  RAMSAFE_DEMO_RAM="$WORK/ram" RAMSAFE_DEMO_PORT="$port" timeout 600 "$RAMSAFE_REPO_DIR/scripts/demo" 2>&1)" || rc=$?
assert_eq 0 "$rc" "scripts/demo exit code (last lines: $(printf '%s\n' "$out" | tail -n 15))"
assert_contains "$out" "Planned reboot: every row back (203000 notes)" "the planned reboot brings back every row"
assert_contains "$out" "offline snapshot taken in" "through an offline snapshot"
assert_contains "$out" "lost 1234 rows, the ones written after it" "the power cut loses only the rows written after the last backup"
# the demo's own before/after comparison of the planned reboot
cmp -s "$WORK/demo/before-reboot.txt" "$WORK/demo/after-reboot.txt" ||
  fail "the fingerprints before and after the planned reboot differ"
mountpoint -q "$WORK/ram" && fail "the demo left its tmpfs mounted"
[[ -f "$WORK/ram/pgdata/postmaster.pid" ]] && fail "the demo left a server running"
# the story's figures, for the log
printf '%s\n' "$out" | grep -E 'snapshot taken in|restore \+ start|Planned reboot:|Power cut:' | sed 's/\x1b\[[0-9;]*m//g; s/^/# /' >&2
pass "scripts/demo: scheduled backup, planned reboot without loss, power cut back to the last backup"

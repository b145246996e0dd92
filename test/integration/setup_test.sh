#!/usr/bin/env bash
# scripts/setup installs packages and disturbs nothing: run against a Debian whose "15/main"
# cluster is online, it never stops, restarts or reloads a cluster or a service that was
# there before; without --test it installs only what building and installing ramsafe needs,
# with --test also the tests' packages and npm peers; a second run installs nothing.
# The package tools are stand-ins on PATH (a test cannot install and remove Debian
# packages): dpkg-query answers from a list, apt-get adds to it, and every call of
# apt-get, npm, systemctl, service, pg_ctlcluster, pg_ctl, pg_lsclusters, invoke-rc.d and
# kill is logged. Run as root: bash test/integration/setup_test.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"

ramsafe_test_init setup

# A copy of the scripts and the npm lock: setup works in the tree it is in.
repo="$WORK/repo"
mkdir -p "$repo/scripts" "$repo/test"
cp "$RAMSAFE_REPO_DIR/scripts/setup" "$repo/scripts/"
cp "$RAMSAFE_REPO_DIR/test/package.json" "$RAMSAFE_REPO_DIR/test/package-lock.json" "$repo/test/"

stubs="$WORK/stubs"
mkdir -p "$stubs"
calls="$WORK/calls"
installed="$WORK/installed"
: >"$calls"
: >"$installed"
stub() { # stub NAME BODY: a program NAME on $stubs that logs its call, then runs BODY
  printf '#!/bin/bash\necho "%s $*" >>"%s"\n%s\n' "$1" "$calls" "$2" >"$stubs/$1"
  chmod +x "$stubs/$1"
}
stub dpkg-query "pkg=\"\${!#}\"; grep -qx \"\$pkg\" '$installed' && printf 'install ok installed' || exit 1"
stub apt-get "[ \"\$1\" = install ] || exit 0; for a; do case \"\$a\" in -*|install) ;; *) echo \"\$a\" >>'$installed' ;; esac; done"
stub npm 'mkdir -p node_modules && touch node_modules/.package-lock.json'
stub pg_lsclusters 'echo "15  main    5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log"'
for tool in systemctl service pg_ctlcluster pg_ctl invoke-rc.d kill; do stub "$tool" 'exit 0'; done

run_setup() { # run_setup ARGS...: scripts/setup with the stand-ins first on PATH
  PATH="$stubs:$PATH" bash "$repo/scripts/setup" "$@" >"$WORK/setup.out" 2>&1 ||
    fail "scripts/setup $* failed" "$(cat "$WORK/setup.out")"
}
# disturbed: the calls that could stop, restart or reload anything (the disabling of a
# service setup itself has just installed is allowed: it was not running before).
disturbed() {
  grep -E '^(service|pg_ctlcluster|pg_ctl|invoke-rc.d|kill) |^systemctl (stop|restart|reload|try-restart|kill|isolate)' "$calls" |
    grep -v '^systemctl disable --now prometheus' || true
}
installed_now() { sort "$installed"; }
has() { grep -qx "$1" "$installed"; }

# ------------------------------------------------------------------ install deps only
run_setup
assert_eq "" "$(disturbed)" "scripts/setup stops, restarts or reloads nothing"
for p in build-essential cmake pkg-config libssl-dev libzstd-dev libcurl4-openssl-dev nlohmann-json3-dev \
  libcctz-dev libpq-dev postgresql-server-dev-15 postgresql-15 postgresql-client-15; do
  has "$p" || fail "scripts/setup installs $p (building or running ramsafe needs it)" "$(installed_now)"
done
for p in libgtest-dev googletest clang-format clang-tidy clang age prometheus jq; do
  has "$p" && fail "scripts/setup without --test installs the test package $p" "$(installed_now)"
done
grep -q '^npm ' "$calls" && fail "scripts/setup without --test runs npm" "$(cat "$calls")"
[[ ! -e "$repo/test/node_modules" ]] || fail "scripts/setup without --test installs npm test peers"
pass "scripts/setup: the build and install packages only ($(wc -l <"$installed")), no cluster or service touched"

# ------------------------------------------------------------------ --test
: >"$calls"
run_setup --test
assert_eq "" "$(disturbed)" "scripts/setup --test stops, restarts or reloads nothing"
for p in libgtest-dev googletest clang-format clang-tidy clang libclang-rt-14-dev age zstd jq \
  prometheus prometheus-postgres-exporter prometheus-node-exporter; do
  has "$p" || fail "scripts/setup --test installs $p" "$(installed_now)"
done
grep -q '^npm ci ' "$calls" || fail "scripts/setup --test installs the pinned npm test peers (npm ci)" "$(cat "$calls")"
cmp -s "$repo/test/package-lock.json" "$repo/test/node_modules/.ramsafe-lock-copy" ||
  fail "scripts/setup --test records the lock file it installed"
if [[ -d /run/systemd/system ]]; then
  for s in prometheus prometheus-postgres-exporter prometheus-node-exporter; do
    grep -qx "systemctl disable --now $s" "$calls" ||
      fail "scripts/setup --test disables the service of $s, which it has just installed" "$(cat "$calls")"
  done
fi
pass "scripts/setup --test: the test packages and npm peers too, no cluster or service touched"

# ------------------------------------------------------------------ again: nothing to do
: >"$calls"
run_setup --test
grep -Eq '^(apt-get|npm|systemctl) ' "$calls" && fail "a second scripts/setup --test does something" "$(cat "$calls")"
assert_eq "" "$(cat "$WORK/setup.out")" "a second scripts/setup --test prints nothing"
pass "scripts/setup --test again: nothing installed, nothing printed"

# ------------------------------------------------------------------ a service there before
# prometheus was installed before this run: its service is the user's, left running.
grep -vx 'clang-tidy' "$installed" >"$installed.new" && mv "$installed.new" "$installed"
: >"$calls"
run_setup --test
grep -q '^apt-get install .*clang-tidy' "$calls" || fail "scripts/setup --test installs the missing clang-tidy" "$(cat "$calls")"
grep -q '^systemctl ' "$calls" && fail "scripts/setup touches a service it did not just install" "$(cat "$calls")"
pass "scripts/setup --test with one package missing: installs it, leaves the services there before alone"

rc=0
PATH="$stubs:$PATH" bash "$repo/scripts/setup" --tests >"$WORK/setup.out" 2>&1 || rc=$?
assert_eq 2 "$rc" "scripts/setup rejects an unknown argument"
assert_contains "$(cat "$WORK/setup.out")" "--tests" "the message names the argument"
pass "scripts/setup --tests: exit 2, naming the argument"

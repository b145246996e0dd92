#!/usr/bin/env bash
# Proves that readme_test.sh fails when the README is broken: it runs the test against
# copies of README.md, each with one mistake a README edit could make, and expects each run
# to fail with its own message. Not a ctest test (about 80 s; run it after changing
# readme_test.sh or the README's "Using it"; arguments: only these mutations). Run as root,
# under the install lock, e.g.
#   flock /tmp/ramsafe-pg-install.lock sh -c 'cmake --install build >/dev/null && bash test/integration/readme_mutations.sh'
# shellcheck disable=SC2016 # the mutations are the README's literal text, $VARS and all
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
: "${RAMSAFE_BIN:=$REPO/build/ramsafe}"
export RAMSAFE_BIN
scratch="$(mktemp -d /tmp/readme-mutations-XXXX)"
trap 'rm -rf "$scratch"' EXIT

failures=0
only=("$@") # names of the mutations to run; all without arguments
# mutate NAME FROM TO EXPECTED: README.md with the first FROM replaced by TO must make the
# test fail, printing EXPECTED in its "not ok" line.
mutate() {
  local name="$1" from="$2" to="$3" expected="$4" copy="$scratch/$1.md" out rc=0 verdict
  if ((${#only[@]})) && [[ " ${only[*]} " != *" $name "* ]]; then return; fi
  FROM="$from" TO="$to" python3 -c '
import os, sys
s = open(sys.argv[1]).read()
if os.environ["FROM"] not in s:
    sys.exit("no " + repr(os.environ["FROM"]) + " in the README")
open(sys.argv[2], "w").write(s.replace(os.environ["FROM"], os.environ["TO"], 1))
' "$REPO/README.md" "$copy" || { printf 'not ok - %s: the README changed, update this mutation\n' "$name"; failures=$((failures + 1)); return; }
  out="$(RAMSAFE_README="$copy" bash "$HERE/readme_test.sh" 2>&1)" || rc=$?
  verdict="$(grep -a -m 1 '^not ok' <<<"$out" || true)"
  if [[ "$rc" != 0 && "$verdict" == *"$expected"* ]]; then
    printf 'ok - %s: %s\n' "$name" "$verdict"
  else
    printf 'not ok - %s: exit %s, expected a failure naming: %s\n%s\n' "$name" "$rc" "$expected" \
      "$(tail -n 15 <<<"$out" | sed 's/^/#   /')"
    failures=$((failures + 1))
  fi
}

mutate command_typo 'pg_ctlcluster "$PG" "$CLUSTER" start' 'pg_ctlcluster "$PG" "$CLUSTER" strat' \
  ': pg_ctlcluster "$PG" "$CLUSTER" strat'
mutate option_typo 'ramsafe restore --if-empty' 'ramsafe restore --if-emtpy' 'ramsafe restore --if-emtpy'
mutate setting_typo "ramsafe.local_dir = '\$STORE'" "ramsafe.local_dirr = '\$STORE'" 'ramsafe_backup_now()'
mutate no_port_setting 'ramsafe.port = $PORT
' '' ': runuser -u postgres -- ramsafe backup'
mutate no_restore 'runuser -u postgres -- ramsafe restore --if-empty
' '' ': pg_ctlcluster "$PG" "$CLUSTER" start'
mutate store_owned_by_root 'install -d -o postgres -g postgres -m 0700 "$STORE"' \
  'install -d -m 0700 "$STORE"' 'ramsafe_backup_now()'
mutate no_unmount 'umount "$RAM"  ' '# "$RAM"  ' 'one tmpfs at $RAM at the end'
mutate archive_library_typo "archive_library = 'ramsafe'
archive_timeout" "archive_library = 'ramsafe_archive'
archive_timeout" \
  'ramsafe_base_backup_now()'
mutate variable_typo '--datadir "$RAM/$PG/$CLUSTER"' '--datadir "$RAM/$PG/$CLUSTR"' 'CLUSTR: unbound variable'
mutate wrong_data "'lives in RAM, kept on disk'" "'lives in RAM'" 'the row written before the wipe is back'
mutate hardcoded_path 'install -d -o root -g root -m 0755 "$ETC"' \
  'install -d -o root -g root -m 0755 /etc/ramsafe' 'write $ETC, not /etc/ramsafe'
mutate untested_variable 'RAM_SIZE=1G ' 'LOGS=/var/log/pgram
RAM_SIZE=1G ' 'README variable LOGS=/var/log/pgram has no test value'
mutate unrun_block '```bash
runuser -u postgres -- createdb -p "$PORT" app_copy' '```sh
runuser -u postgres -- createdb -p "$PORT" app_copy' 'commands must be in ```bash blocks'

# A command that never ends: the run is stopped at its bound, and everything is cleaned up.
RAMSAFE_README_TIMEOUT=20 mutate hang 'runuser -u postgres -- ramsafe list
' 'runuser -u postgres -- ramsafe list
sleep 600
' 'timed out after 20 s, in: + sleep 600'

if ((failures)); then
  printf '%s mutation(s) of the README went unnoticed or failed for another reason\n' "$failures"
  exit 1
fi
printf 'every broken README made readme_test.sh fail\n'

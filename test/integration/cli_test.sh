#!/usr/bin/env bash
# The companion's own surface, as an operator meets it: `ramsafe --version` is the
# extension's version (extension/ramsafe.control); every command's --help (and
# `ramsafe --help`) fits 80 columns, says what the command is in one whole sentence, and is
# the same as `ramsafe help COMMAND`; `ramsafe decrypt FILE | head` ends as any filter does
# (SIGPIPE, status 141, nothing on stderr); `ramsafe backup` run as root says to run it as
# the database's OS user, with a command line that works.
# Run as root: bash test/integration/cli_test.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"

ramsafe_test_init cli
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
bin="$RAMSAFE_TEST_BIN"

# ------------------------------------------------------------------ --version
control_version="$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$RAMSAFE_REPO_DIR/extension/ramsafe.control")"
[[ -n "$control_version" ]] || fail "no default_version in extension/ramsafe.control"
assert_eq "ramsafe $control_version" "$("$bin" --version)" \
  "ramsafe --version is the extension's default_version"
pass "ramsafe --version: ramsafe $control_version, the extension's version"

# ------------------------------------------------------------------ --help
# check_help_text WHAT TEXT: every line fits 80 columns, no tabs, no trailing blanks.
check_help_text() {
  local what="$1" text="$2" n=0 line
  while IFS= read -r line; do
    n=$((n + 1))
    ((${#line} <= 80)) || fail "$what: line $n is ${#line} columns wide (at most 80)" "$line"
    [[ "$line" != *$'\t'* ]] || fail "$what: line $n has a tab" "$line"
    [[ "$line" != *" " ]] || fail "$what: line $n ends with a blank" "$line"
  done <<<"$text"
}

main_help="$("$bin" --help)"
check_help_text "ramsafe --help" "$main_help"
# The command list: "  NAME         Summary." rows, a summary continued on lines indented
# under it; every summary a whole sentence.
commands=()
declare -A summary=()
in_list=0
while IFS= read -r line; do
  if [[ "$line" == "Commands:" ]]; then in_list=1; continue; fi
  ((in_list)) || continue
  [[ -n "$line" ]] || break
  if [[ "$line" =~ ^\ \ ([a-z-]+)\ +(.*)$ ]]; then
    commands+=("${BASH_REMATCH[1]}")
    summary[${BASH_REMATCH[1]}]="${BASH_REMATCH[2]}"
  elif [[ "$line" =~ ^\ {15}(.*)$ && "${#commands[@]}" -gt 0 ]]; then
    summary[${commands[-1]}]+=" ${BASH_REMATCH[1]}"
  else
    fail "ramsafe --help: a line of the command list is not a command or its summary" "$line"
  fi
done <<<"$main_help"
((${#commands[@]} >= 13)) || fail "ramsafe --help lists ${#commands[@]} commands" "$main_help"
for c in "${commands[@]}"; do
  [[ "${summary[$c]}" == *. ]] || fail "ramsafe --help: the summary of $c is cut short" "${summary[$c]}"
done
pass "ramsafe --help fits 80 columns and lists ${#commands[@]} commands, each with a whole sentence"

for c in "${commands[@]}"; do
  rc=0
  text="$("$bin" "$c" --help)" || rc=$?
  expected_rc=0
  [[ "$c" == check ]] && expected_rc=3 # a monitoring plugin: --help is UNKNOWN
  assert_eq "$expected_rc" "$rc" "ramsafe $c --help exits $expected_rc"
  check_help_text "ramsafe $c --help" "$text"
  assert_eq "Usage: ramsafe $c" "$(head -n 1 <<<"$text" | cut -d' ' -f1-3)" "ramsafe $c --help starts with its usage"
  # The summary stands alone after the usage line, as in the command list.
  first_paragraph="$(awk 'NR > 2 && /^$/ { exit } NR > 2' <<<"$text" | tr '\n' ' ')"
  assert_eq "${summary[$c]} " "$first_paragraph" "ramsafe $c --help opens with the summary of ramsafe --help"
  assert_contains "$text" $'\nOptions:\n' "ramsafe $c --help lists its options"
  assert_contains "$text" "$(printf '%-30s%s' '  -h, --help' 'show this help')" "ramsafe $c --help shows -h"
  # Option rows: the name in the first 30 columns and the help from column 31 on, or the
  # name alone when it is too wide, the help then below it; the help continued in column 31.
  while IFS= read -r line; do
    [[ "$line" =~ ^\ {30}[^\ ] ]] && continue
    [[ "$line" =~ ^\ \ (-[a-zA-Z],\ |\ {4})--[a-z-]+ ]] || fail "ramsafe $c --help: not an option row" "$line"
    [[ "$line" =~ ^\ \ (-[a-zA-Z],\ |\ {4})--[a-z-]+(\ [^\ ]+)?$ ]] && continue
    [[ "${line:28:2}" == "  " && "${line:30:1}" != " " ]] ||
      fail "ramsafe $c --help: an option's help does not start in column 31" "$line"
  done < <(sed -n '/^Options:$/,$p' <<<"$text" | tail -n +2)
  assert_eq "$text" "$("$bin" help "$c")" "ramsafe help $c is ramsafe $c --help"
done
pass "every command's --help (${#commands[@]}) fits 80 columns: summary, filled paragraphs, options in their columns"

# ------------------------------------------------------------------ decrypt | head
command -v age >/dev/null || fail "age not found: run scripts/setup --test"
ramsafe_keys
recipient="$(grep -v '^#' "$WORK/keys/recipients.txt")"
head -c 4000000 /dev/urandom >"$WORK/plain"
age -r "$recipient" -o "$WORK/plain.age" "$WORK/plain"
chown postgres:postgres "$WORK/plain" "$WORK/plain.age"
# 4 MB through a pipe whose reader leaves after 10 bytes: the writer gets EPIPE. (setpriv
# execs ramsafe in place; runuser would print the signal's name itself.)
as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups --)
set +e
"${as_postgres[@]}" "$bin" decrypt -i "$WORK/keys/identity.txt" "$WORK/plain.age" 2>"$WORK/decrypt.err" |
  head -c 10 >"$WORK/head.out"
statuses=("${PIPESTATUS[@]}")
set -e
assert_eq 141 "${statuses[0]}" "ramsafe decrypt | head: ended by SIGPIPE like any filter (status 141)"
assert_eq 0 "${statuses[1]}" "head succeeded"
assert_eq "" "$(cat "$WORK/decrypt.err")" "ramsafe decrypt | head prints nothing on stderr"
assert_eq 10 "$(stat -c %s "$WORK/head.out")" "head got its 10 bytes"
assert_eq "$(head -c 10 "$WORK/plain")" "$(cat "$WORK/head.out")" "the bytes head got are the plaintext's"
# The whole stream still comes out when the reader reads it all.
"${as_postgres[@]}" "$bin" decrypt -i "$WORK/keys/identity.txt" "$WORK/plain.age" | cmp -s - "$WORK/plain" ||
  fail "ramsafe decrypt to a pipe read to the end gives the plaintext"
pass "ramsafe decrypt | head: status 141 (SIGPIPE), nothing on stderr; read to the end, the plaintext"

# ------------------------------------------------------------------ backup as root
pg_start_cluster src
conf="$(ramsafe_config src)"
sed -i '/^ramsafe.user = /d' "$conf" # unset, as by default: the OS user's name
rc=0
out="$("$bin" backup --config "$conf" 2>&1)" || rc=$?
assert_eq 1 "$rc" "ramsafe backup as root fails (status 1)"
assert_contains "$out" 'role "root" does not exist' "the server's reason is shown"
hint="$(grep 'runuser -u postgres -- ' <<<"$out" || true)"
[[ -n "$hint" ]] || fail "ramsafe backup as root says to run it as the database's OS user" "$out"
assert_contains "$hint" "run it as the database's OS user" "the hint says why"
command_line="runuser${hint#*: runuser}"
assert_eq "runuser -u postgres -- $bin backup --config $conf" "$command_line" \
  "the hint gives the same command line under runuser"
out="$(eval "$command_line" 2>&1)" || fail "the hinted command line backs up" "$out"
assert_contains "$out" "complete" "the hinted command line backs up"
assert_file_exists "$(newest_set "$WORK/store/main")/manifest.json" "the hinted backup published a set"
pass "ramsafe backup as root: the server's refusal plus a runuser command line that works"

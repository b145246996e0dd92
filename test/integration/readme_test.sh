#!/usr/bin/env bash
# README "Using it" works as written (issue 16, item 12): every ```bash block of the
# README's "Using it" section runs, in order, as root, in one bash with `set -euo pipefail`,
# as a user would paste them on a fresh Debian machine (the way pgBackRest builds its user
# guide by executing it). Then the test checks what the README promises: the row written
# before the "reboot" (stop, unmount, new empty tmpfs, restore, start) is back, restored
# from a trusted set, WAL archiving as the README adds it archives WAL and took a base
# backup, and the standard-tools restore of one database file worked.
#
# What the test changes, and nothing else:
#   - the values of the variables of the section's first ```bash block (which must hold
#     nothing but NAME=value lines): PG (the major of $PG_BINDIR), CLUSTER (a new name),
#     PORT (a free, claimed one), RAM, RAM_SIZE, STORE, KEYS, ETC (under its scratch dir
#     $WORK). Every variable the block defines must have a test value here or be derived
#     from one ($ in its value), and the README's own values of RAM, STORE, KEYS, ETC and
#     PORT must not appear in the later blocks, so the commands cannot reach the machine's
#     real /etc/ramsafe, /var/backups or /var/lib/postgresql;
#   - the environment: PATH starts with this build's ramsafe; PG_CLUSTER_CONF_ROOT (a
#     documented postgresql-common variable) puts the Debian cluster's configuration under
#     $WORK instead of /etc/postgresql, so pg_lsclusters elsewhere never sees it;
#     _SYSTEMCTL_SKIP_REDIRECT=1 keeps pg_ctlcluster away from systemd on a machine that
#     runs it.
# The blocks run from a directory only root can enter (as /root would be). The cluster uses
# Debian's defaults otherwise: its socket in /var/run/postgresql (on a port nobody else
# has), its log in /var/log/postgresql/postgresql-PG-CLUSTER.log (removed at exit). It never
# touches another cluster: it starts and stops only its own, by name.
#
# RAMSAFE_README=FILE runs another copy of the README (to check that a broken one fails);
# RAMSAFE_README_TIMEOUT=S bounds the blocks' run (default 420 s).
# Run as root; loads the installed extension (cmake --install build, under the lock).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init readme
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
require_installed_extension

readme="${RAMSAFE_README:-$RAMSAFE_REPO_DIR/README.md}"
[[ -f "$readme" ]] || fail "no README at $readme"
for tool in pg_createcluster pg_ctlcluster age zstd; do
  command -v "$tool" >/dev/null || fail "the README uses $tool, which is not installed"
done

# ------------------------------------------------------------------- the section's blocks
# blocks/N.sh: the N-th ```bash block of "## Using it" (until the next "## " heading);
# blocks/N.line: its first line's number in the README.
mkdir -p "$WORK/blocks"
awk -v dir="$WORK/blocks" '
  in_block { if ($0 ~ /^```[ \t]*$/) { in_block = 0; close(file) } else print > file; next }
  in_other { if ($0 ~ /^```[ \t]*$/) in_other = 0; next }
  /^## / { in_section = ($0 == "## Using it"); next }
  !in_section { next }
  /^```bash[ \t]*$/ { n++; in_block = 1; file = dir "/" n ".sh"; printf "" > file
                      print NR + 1 > (dir "/" n ".line"); close(dir "/" n ".line"); next }
  /^```(sh|shell|console|zsh)[ \t]*$/ { print "a block the test would not run, at line " NR > (dir "/errors") }
  /^```/ { in_other = 1 }
  END { if (in_block || in_other) print "an unterminated code block" > (dir "/errors") }
' "$readme"
[[ ! -s "$WORK/blocks/errors" ]] || fail "README \"Using it\": commands must be in \`\`\`bash blocks (the test runs those)" "$(cat "$WORK/blocks/errors")"
nblocks="$(find "$WORK/blocks" -name '*.sh' | wc -l)"
((nblocks >= 5)) || fail "README \"Using it\" has $nblocks \`\`\`bash blocks; expected the variables and the walk-through"

# ------------------------------------------------------------ the test's values for them
pg_major="$("$PG_BINDIR/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/')"
[[ "$pg_major" =~ ^[0-9]+$ ]] || fail "could not tell the major version of $PG_BINDIR/postgres"
cluster="readme$$"
port="$(_pick_port readme)"
declare -A value=(
  [PG]="$pg_major"
  [CLUSTER]="$cluster"
  [PORT]="$port"
  [RAM]="$WORK/ram"
  [RAM_SIZE]="256m"
  [STORE]="$WORK/store"
  [KEYS]="$WORK/keys"
  [ETC]="$WORK/etc"
)
# The README's own values of these must not appear in the commands the test runs.
guarded=(RAM STORE KEYS ETC PORT)
declare -A readme_value=()
vars="$WORK/vars.sh"
: >"$vars"
while IFS= read -r line; do
  if [[ "$line" =~ ^[[:space:]]*(#.*)?$ ]]; then
    printf '%s\n' "$line" >>"$vars"
    continue
  fi
  [[ "$line" =~ ^(export[[:space:]]+)?([A-Z_][A-Z0-9_]*)=([^[:space:]#]*)[[:space:]]*(#.*)?$ ]] ||
    fail "README \"Using it\", first bash block: only NAME=value lines may be there, not: $line"
  name="${BASH_REMATCH[2]}"
  readme_value[$name]="${BASH_REMATCH[3]}"
  if [[ -n "${value[$name]+set}" ]]; then
    printf '%s%s=%q\n' "${BASH_REMATCH[1]}" "$name" "${value[$name]}" >>"$vars"
  elif [[ "${BASH_REMATCH[3]}" == *'$'* ]]; then
    printf '%s\n' "$line" >>"$vars" # derived from the test's values
  else
    fail "README variable $name=${BASH_REMATCH[3]} has no test value in $(basename "$0")"
  fi
done <"$WORK/blocks/1.sh"
for name in "${!value[@]}"; do
  [[ -n "${readme_value[$name]+set}" ]] ||
    fail "README \"Using it\" no longer defines $name in its first bash block; the test sets it"
done
for ((i = 2; i <= nblocks; i++)); do
  for name in "${guarded[@]}"; do
    if grep -qF -- "${readme_value[$name]}" "$WORK/blocks/$i.sh"; then
      fail "README \"Using it\", block at line $(cat "$WORK/blocks/$i.line"): write \$$name, not ${readme_value[$name]}" \
        "(the test would run it on this machine's real ${readme_value[$name]})"
    fi
  done
done

# ------------------------------------------------------------------------ one bash, in order
# readme_line[N]: the README line that line N of the script comes from (0: the test's own).
script="$WORK/readme-run.sh"
script_text=()
readme_line=(0)
emit() { # README_LINE TEXT
  script_text+=("$2")
  readme_line+=("$1")
}
emit_block() { # FILE FIRST_README_LINE
  local l n="$2"
  while IFS= read -r l; do
    emit "$n" "$l"
    n=$((n + 1))
  done <"$1"
}
# shellcheck disable=SC2016 # $LINENO and $BASH_COMMAND expand in the generated script
{
  emit 0 'set -euo pipefail'
  emit 0 'trap '\''printf "README-FAILED %s %s\n" "$LINENO" "$BASH_COMMAND" >&2'\'' ERR'
  emit 0 'set -x'
  emit_block "$vars" "$(cat "$WORK/blocks/1.line")"
  for ((i = 2; i <= nblocks; i++)); do
    emit 0 "set +x; printf '\\n### README line %s\\n' $(cat "$WORK/blocks/$i.line"); set -x"
    emit_block "$WORK/blocks/$i.sh" "$(cat "$WORK/blocks/$i.line")"
  done
}
printf '%s\n' "${script_text[@]}" >"$script"

ram="${value[RAM]}"
data="$ram/$pg_major/$cluster"
pg_log="/var/log/postgresql/postgresql-$pg_major-$cluster.log"
confroot="$WORK/pgconf"
mkdir -p "$confroot" "$WORK/root"
chmod 0755 "$confroot"
chmod 0700 "$WORK/root"
printf '%s\n' "$ram" >>"$WORK/.ramsafe/mounts" # unmounted at exit if the README mounted it
[[ -e "$pg_log" ]] && fail "$pg_log exists already"
readme_cleanup() {
  if [[ -f "$data/postmaster.pid" ]]; then
    PG_CLUSTER_CONF_ROOT="$confroot" _SYSTEMCTL_SKIP_REDIRECT=1 \
      timeout 60 pg_ctlcluster "$pg_major" "$cluster" stop -m fast >/dev/null 2>&1
    _pg_stop_hard "$data"
  fi
  # A README that mounts without unmounting stacks tmpfs mounts: take them all down.
  local i
  for ((i = 0; i < 5; i++)); do
    mountpoint -q "$ram" || break
    umount "$ram" 2>/dev/null || umount -l "$ram"
  done
  if [[ -n "${KEEP_TEST_DIR:-}" && -f "$pg_log" ]]; then cp "$pg_log" "$WORK/server.log"; fi
  rm -f "$pg_log" "/var/run/postgresql/$pg_major-$cluster.pid"
  local lock="/var/run/postgresql/.s.PGSQL.$port.lock" pid
  if [[ -f "$lock" ]]; then
    pid="$(head -n 1 "$lock")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$lock" "/var/run/postgresql/.s.PGSQL.$port"
    fi
  fi
}
ramsafe_on_exit readme_cleanup

note "running the $((nblocks - 1)) command blocks of README \"Using it\" (cluster $pg_major/$cluster, port $port)"
limit="${RAMSAFE_README_TIMEOUT:-420}" # seconds for every block together
rc=0
(cd "$WORK/root" && PATH="$WORK/bin:$PATH" PG_CLUSTER_CONF_ROOT="$confroot" _SYSTEMCTL_SKIP_REDIRECT=1 \
  timeout -k 10 "$limit" bash "$script") >"$WORK/readme.log" 2>&1 || rc=$?
if [[ "$rc" != 0 ]]; then
  failed="$(grep -a '^README-FAILED ' "$WORK/readme.log" | tail -n 1 || true)"
  if ((rc == 124 || rc == 137)); then
    failed="timed out after $limit s, in: $(grep -a '^+' "$WORK/readme.log" | tail -n 1 || true)"
  elif [[ "$failed" =~ ^README-FAILED\ ([0-9]+)\ (.*)$ ]]; then
    failed="README line ${readme_line[${BASH_REMATCH[1]}]:-?}: ${BASH_REMATCH[2]}"
  else
    # set -u ends the shell without the ERR trap: its last words say what was wrong.
    failed="$(grep -av '^+' "$WORK/readme.log" | tail -n 1 || true)"
    if [[ "$failed" =~ ^.*readme-run\.sh:\ line\ ([0-9]+):\ (.*)$ ]]; then
      failed="README line ${readme_line[${BASH_REMATCH[1]}]:-?}: ${BASH_REMATCH[2]}"
    fi
  fi
  fail "README \"Using it\" does not run as written: ${failed:-exit $rc}" \
    "--- last lines of its output:" "$(tail -n 40 "$WORK/readme.log")" \
    "--- server log:" "$(tail -n 20 "$pg_log" 2>/dev/null)"
fi
pass "every command of README \"Using it\" ran ($((nblocks - 1)) blocks, $(wc -l <"$script") lines)"

# -------------------------------------------------------------- what the README promised
as_pg_psql() {
  timeout 60 runuser -u postgres -- "$PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 -qAt -h /var/run/postgresql -p "$port" "$@"
}
mountpoint -q "$ram" || fail "the README's tmpfs is not mounted at the end"
assert_eq 1 "$(awk -v m="$ram" '$5 == m' /proc/self/mountinfo | wc -l)" \
  "one tmpfs at \$RAM at the end (the old one was unmounted, not hidden under the new one)"
assert_eq "$ram" "$(df --output=target "$data" | tail -n 1)" "the data directory is on the tmpfs"
assert_eq tmpfs "$(stat -f -c %T "$data")" "the data directory's filesystem is a tmpfs"
assert_eq "lives in RAM, kept on disk" "$(as_pg_psql -d app -c 'SELECT body FROM notes WHERE id = 1')" \
  "the row written before the wipe is back"
report="$data/ramsafe_restore_report.json"
assert_eq restored "$(jq -r .outcome "$report")" "ramsafe restore restored a set"
assert_eq trusted "$(jq -r .trust "$report")" "from a trusted, signed set"
sets="$(timeout 60 runuser -u postgres -- "$RAMSAFE_TEST_BIN" list --json --config "${value[ETC]}/ramsafe.conf")" ||
  fail "ramsafe list failed after the restore" "$sets"
newest_before="$(jq -r --arg t "$(jq -r .started_at "$report")" \
  '[.[] | select(.usable and .finished_at < $t)] | max_by(.finished_at) | .backup_id' <<<"$sets")"
assert_eq "$newest_before" "$(jq -r .backup_id "$report")" "the newest set of the store was restored"
pass "after the wipe of the tmpfs, ramsafe restore brought the cluster back with its data"

assert_eq "lives in RAM, kept on disk" "$(as_pg_psql -d app_copy -c 'SELECT body FROM notes WHERE id = 1')" \
  "age | zstd | pg_restore of one database file"
pass "one database file of a set restores with age, zstd and pg_restore alone"

assert_eq "1" "$(as_pg_psql -d postgres -c "SELECT count(*) FROM pg_extension WHERE extname = 'ramsafe'")" \
  "the extension exists after the restore"
status_id="$(as_pg_psql -d postgres -c 'SELECT last_backup_id FROM ramsafe_status()')"
[[ -n "$status_id" ]] || fail "ramsafe_status() shows no last backup after the restart"
pass "the worker runs in the restored cluster and knows the last backup ($status_id)"

assert_eq "t|t" "$(as_pg_psql -d postgres -c 'SELECT archiving, last_base_backup_id IS NOT NULL FROM ramsafe_status()')" \
  "WAL archiving on and a base backup taken, as the README's WAL block says"
wal_archived() { [[ -n "$(as_pg_psql -d postgres -c 'SELECT last_archived_wal FROM ramsafe_status()')" ]]; }
wait_for "a WAL file archived through ramsafe" 150 wal_archived
pass "WAL archiving as the README adds it: archiving, a base backup, WAL in the store"

keys="${value[KEYS]}"
for f in identity.txt signing.key; do
  assert_eq "postgres 600" "$(stat -c '%U %a' "$keys/$f")" "$f: owner and mode as ramsafe checks them"
done
assert_eq "postgres 700" "$(stat -c '%U %a' "${value[STORE]}")" "the store: postgres, 0700"
assert_eq "root 755" "$(stat -c '%U %a' "${value[ETC]}")" "the configuration directory: root, 0755"
assert_eq "root 644" "$(stat -c '%U %a' "${value[ETC]}/ramsafe.conf")" "the configuration file: root, 0644"
pass "keys, store and configuration have the owners and modes the README gives them"

# shellcheck shell=bash
# ramsafe integration-test library. Source it from a test script that runs as root:
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
#   ramsafe_test_init mytest
#   pg_start_cluster a
#   psql_as a postgres -c 'select 1'
#
# Layout of a test's private work dir ($WORK, on tmpfs, removed at exit unless KEEP_TEST_DIR=1):
#   $WORK/NAME/data   data directory of cluster NAME (postgres, 0700)
#   $WORK/NAME/sock   its unix socket directory (postgres, 0700; root reaches it anyway)
#   $WORK/NAME/log    its server log (pg_ctl -l, logging_collector=off)
#   $WORK/NAME/port   the port number it was given
#   $WORK/.ramsafe/   bookkeeping: clusters started, tmpfs mounted, ports claimed
#
# Servers only listen on their private unix socket (listen_addresses=''); set PG_LISTEN=127.0.0.1
# before pg_init_cluster/pg_start_cluster for a cluster that also needs TCP on loopback.
# Assertions are silent on success; `pass MSG` prints "ok - MSG". Any failure prints
# "not ok - ..." and details to stderr and exits 1; the EXIT trap then stops every server
# the test started (server log tails are shown when the test failed).
#
# Caveat: a failing assertion inside $(...) only ends that subshell; assert at top level.
#
# Functions:
#   ramsafe_test_init NAME         private $WORK + EXIT trap (must come first)
#   ramsafe_on_exit CMD...         extra cleanup at exit (do not install your own EXIT trap)
#   pg_init_cluster NAME [initdb args]   initdb + harness config, not started
#   pg_conf NAME LINE...           append lines to the cluster's postgresql.conf
#   pg_start_cluster NAME [initdb args]  pg_init_cluster + pg_start_existing
#   pg_start_existing NAME         start $WORK/NAME/data (port/socket forced on the command line)
#   pg_stop_cluster NAME [MODE]    pg_ctl stop (fast by default); no-op if not running
#   pg_is_running NAME             status check
#   pg_wipe_data NAME              stop, then empty the data dir (postgres, 0700)
#   pg_datadir / pg_sockdir / pg_logfile / pg_port / pg_env NAME
#   psql_as NAME DB [psql args]    psql -X -v ON_ERROR_STOP=1 -qAt as postgres over the socket
#                                  (a later -U in the args connects as another role)
#   pg_mkdir DIR...                directories owned by postgres, 0700
#   PG_BINDIR, PG_MAJOR            the PostgreSQL the tests run (see below), and its major
#   mount_tmpfs DIR SIZE           tmpfs owned by postgres, unmounted at exit
#   wait_for DESC TIMEOUT CMD...   poll CMD every 0.1 s until it succeeds or TIMEOUT s pass
#   assert_eq / assert_ne / assert_contains / assert_not_contains / assert_file_exists /
#   assert_file_not_exists / assert_fails_with CODE CMD... (output in ASSERT_OUTPUT)
#   pass MSG ("ok - MSG"), fail MSG [DETAIL...] ("not ok - MSG", exit 1), note MSG ("# MSG")

if [[ -n "${RAMSAFE_COMMON_SH_LOADED:-}" ]]; then
  return 0
fi
RAMSAFE_COMMON_SH_LOADED=1

# PostgreSQL's programs: PG_BINDIR (ctest sets it to the PostgreSQL the build is for), else
# PG_CONFIG's bin directory, else the newest /usr/lib/postgresql/<major>/bin (in a
# scripts/pgenv root, its own PostgreSQL; on the host, 15).
_ramsafe_default_bindir() {
  local dir
  if [[ -n "${PG_CONFIG:-}" ]] && dir="$("$PG_CONFIG" --bindir 2>/dev/null)" && [[ -x "$dir/postgres" ]]; then
    printf '%s\n' "$dir"
    return
  fi
  dir="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null |
    sort -t / -k 5,5n | tail -n 1)"
  printf '%s\n' "${dir:+${dir%/postgres}}"
}
: "${PG_BINDIR:=$(_ramsafe_default_bindir)}"
: "${PG_BINDIR:=/usr/lib/postgresql/15/bin}"
export PG_BINDIR
# The major of those programs, e.g. 17, for tests whose expectations differ by major.
PG_MAJOR="$(basename "$(dirname "$PG_BINDIR")")"
[[ "$PG_MAJOR" =~ ^[0-9]+$ ]] || PG_MAJOR="$("$PG_BINDIR/postgres" --version 2>/dev/null | sed -E 's/.* ([0-9]+)[.0-9a-z]*.*/\1/')"
export PG_MAJOR
RAMSAFE_TEST_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RAMSAFE_REPO_DIR="$(cd "$RAMSAFE_TEST_LIB_DIR/../.." && pwd)"
export RAMSAFE_REPO_DIR # the repository root, for tests that need built binaries
# Port range for test clusters. Ports matter only for TCP and for the socket file name.
: "${RAMSAFE_TEST_PORT_BASE:=21000}"
: "${RAMSAFE_TEST_PORT_SPAN:=8000}"
RAMSAFE_PORT_CLAIMS=/dev/shm/ramsafe-test-ports
RAMSAFE_CLEANUP_HOOKS=()

# ---------------------------------------------------------------------------------------
# Reporting and assertions
# ---------------------------------------------------------------------------------------

# fail MESSAGE [DETAIL...]: print "not ok - MESSAGE" (+ details) to stderr and exit 1.
fail() {
  local msg="$1"
  shift || true
  RAMSAFE_FAIL_REPORTED=1
  {
    printf 'not ok - %s\n' "$msg"
    local d
    for d in "$@"; do
      printf '%s\n' "$d" | sed 's/^/#   /'
    done
  } >&2
  exit 1
}

# pass MESSAGE: print "ok - MESSAGE".
pass() {
  printf 'ok - %s\n' "$1"
}

# note MESSAGE: a TAP-style comment on stderr (for progress that is not a result).
note() {
  printf '# %s\n' "$*" >&2
}

# assert_eq EXPECTED ACTUAL MESSAGE
assert_eq() {
  if [[ "$1" != "$2" ]]; then
    fail "$3" "expected: $1" "actual:   $2"
  fi
}

# assert_ne UNEXPECTED ACTUAL MESSAGE
assert_ne() {
  if [[ "$1" == "$2" ]]; then
    fail "$3" "expected anything but: $1"
  fi
}

# assert_contains HAYSTACK NEEDLE MESSAGE (fixed-string match)
assert_contains() {
  if [[ "$1" != *"$2"* ]]; then
    fail "$3" "expected to find: $2" "in: $(printf '%s' "$1" | head -c 2000)"
  fi
}

# assert_not_contains HAYSTACK NEEDLE MESSAGE (fixed-string match)
assert_not_contains() {
  if [[ "$1" == *"$2"* ]]; then
    fail "$3" "did not expect to find: $2" "in: $(printf '%s' "$1" | head -c 2000)"
  fi
}

# assert_file_exists PATH [MESSAGE]
assert_file_exists() {
  if [[ ! -e "$1" ]]; then
    fail "${2:-file exists: $1}" "missing: $1"
  fi
}

# assert_file_not_exists PATH [MESSAGE]
assert_file_not_exists() {
  if [[ -e "$1" || -L "$1" ]]; then
    fail "${2:-file does not exist: $1}" "present: $1"
  fi
}

# assert_fails_with CODE COMMAND...: run COMMAND (with errexit off) and assert its exit code.
# Its combined stdout+stderr is left in ASSERT_OUTPUT for further assertions.
ASSERT_OUTPUT=""
assert_fails_with() {
  local want="$1" rc=0
  shift
  ASSERT_OUTPUT="$("$@" 2>&1)" || rc=$?
  if [[ "$rc" != "$want" ]]; then
    fail "exit code $want from: $*" "actual exit code: $rc" \
      "output (last 40 lines):" "$(printf '%s\n' "$ASSERT_OUTPUT" | tail -n 40)"
  fi
}

# ---------------------------------------------------------------------------------------
# Waiting on conditions
# ---------------------------------------------------------------------------------------

# wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND...: poll COMMAND every 0.1 s until it
# succeeds; on timeout print "timed out after Ns waiting for DESCRIPTION" (plus the
# command's last output) and fail. COMMAND's output is captured, not shown.
wait_for() {
  local desc="$1" timeout="$2"
  shift 2
  local start_us now_us deadline_us tries=0 max_tries out=""
  [[ "$timeout" =~ ^[0-9]+([.][0-9]+)?$ ]] || fail "wait_for: bad timeout '$timeout'"
  local timeout_us
  timeout_us="$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 1000000 }')"
  start_us="${EPOCHREALTIME//[.,]/}"
  deadline_us=$((start_us + timeout_us))
  max_tries=$((timeout_us / 50000 + 20)) # hard bound even if the clock misbehaves
  while :; do
    if out="$("$@" 2>&1)"; then
      return 0
    fi
    tries=$((tries + 1))
    now_us="${EPOCHREALTIME//[.,]/}"
    if (( now_us >= deadline_us || tries >= max_tries )); then
      fail "timed out after ${timeout}s waiting for $desc" "last output of: $*" \
        "$(printf '%s\n' "$out" | tail -n 20)"
    fi
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------------------
# Test setup and teardown
# ---------------------------------------------------------------------------------------

# ramsafe_on_exit COMMAND...: run COMMAND (as one eval'd string of its args) at exit,
# before servers are stopped. Use this instead of installing another EXIT trap.
ramsafe_on_exit() {
  RAMSAFE_CLEANUP_HOOKS+=("$*")
}

# ramsafe_test_init NAME: create $WORK (/dev/shm/ramsafe-test-NAME-XXXX, owned by
# postgres, 0700), export WORK and RAMSAFE_TEST_NAME, and install the EXIT trap.
ramsafe_test_init() {
  local name="$1"
  [[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || fail "ramsafe_test_init: bad test name '$name'"
  [[ "$(id -u)" == 0 ]] || fail "ramsafe tests must run as root (servers run as the postgres user)"
  id -u postgres >/dev/null 2>&1 || fail "ramsafe_test_init: no 'postgres' OS user"
  [[ -x "$PG_BINDIR/postgres" ]] || fail "ramsafe_test_init: no PostgreSQL binaries in $PG_BINDIR"
  export RAMSAFE_TEST_NAME="$name"
  WORK="$(mktemp -d "/dev/shm/ramsafe-test-$name-XXXX")"
  export WORK
  mkdir -p "$WORK/.ramsafe"
  : >"$WORK/.ramsafe/clusters"
  : >"$WORK/.ramsafe/mounts"
  : >"$WORK/.ramsafe/ports"
  chown postgres:postgres "$WORK"
  chmod 0700 "$WORK"
  RAMSAFE_MAIN_PID=$BASHPID
  RAMSAFE_FAILED_COMMAND=""
  # Remember what failed at top level, so an unexpected exit under set -e is reported.
  trap 'RAMSAFE_FAILED_COMMAND="${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR
  trap '_ramsafe_exit_trap' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# pg_mkdir DIR...: create directories owned by postgres with mode 0700.
pg_mkdir() {
  mkdir -p "$@"
  chown postgres:postgres "$@"
  chmod 0700 "$@"
}

_ramsafe_exit_trap() {
  local rc=$?
  # Subshells inherit the trap; only the test's own shell cleans up.
  [[ "$BASHPID" == "${RAMSAFE_MAIN_PID:-}" ]] || return "$rc"
  set +e
  trap - EXIT INT TERM ERR
  if [[ "$rc" != 0 && -z "${RAMSAFE_FAIL_REPORTED:-}" ]]; then
    printf 'not ok - %s: unexpected exit status %s%s\n' "${RAMSAFE_TEST_NAME:-test}" "$rc" \
      "${RAMSAFE_FAILED_COMMAND:+ after: $RAMSAFE_FAILED_COMMAND}" >&2
  fi
  _ramsafe_cleanup "$rc"
  exit "$rc"
}

_ramsafe_cleanup() {
  local rc="$1" hook name pidf dir
  [[ -n "${WORK:-}" && -d "$WORK/.ramsafe" ]] || return 0
  for hook in "${RAMSAFE_CLEANUP_HOOKS[@]}"; do
    eval "$hook" || true
  done
  if [[ "$rc" != 0 ]]; then
    while read -r name; do
      [[ -n "$name" && -s "$WORK/$name/log" ]] || continue
      {
        printf '# --- last lines of the server log of cluster %s ---\n' "$name"
        tail -n 25 "$WORK/$name/log" | sed 's/^/# /'
      } >&2
    done <"$WORK/.ramsafe/clusters"
  fi
  # Stop every cluster the test started, then any other postmaster whose data dir lies
  # under $WORK (e.g. one a program under test started itself).
  while read -r name; do
    [[ -n "$name" ]] && _pg_stop_hard "$WORK/$name/data"
  done <"$WORK/.ramsafe/clusters"
  while IFS= read -r -d '' pidf; do
    _pg_stop_hard "$(dirname "$pidf")"
  done < <(find "$WORK" -xdev -name postmaster.pid -print0 2>/dev/null; \
           while read -r dir; do [[ -n "$dir" ]] && find "$dir" -name postmaster.pid -print0 2>/dev/null; done <"$WORK/.ramsafe/mounts")
  # Unmount in reverse order of mounting.
  if [[ -s "$WORK/.ramsafe/mounts" ]]; then
    while read -r dir; do
      [[ -n "$dir" ]] || continue
      if mountpoint -q "$dir"; then
        umount "$dir" 2>/dev/null || umount -l "$dir" || printf '# could not unmount %s\n' "$dir" >&2
      fi
    done < <(tac "$WORK/.ramsafe/mounts")
  fi
  _ramsafe_release_ports
  if [[ "${KEEP_TEST_DIR:-0}" == 1 ]]; then
    printf '# KEEP_TEST_DIR=1: kept %s\n' "$WORK" >&2
  else
    rm -rf --one-file-system "$WORK"
  fi
}

# _pg_stop_hard DATADIR: stop a postmaster now (immediate), and kill it (and its process
# group) if it is still there. Waits, bounded, until the processes are gone.
_pg_stop_hard() {
  local data="$1" pid i
  [[ -f "$data/postmaster.pid" ]] || return 0
  pid="$(head -n 1 "$data/postmaster.pid" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  _pid_is_postmaster_of "$pid" "$data" || return 0
  _as_postgres "$PG_BINDIR/pg_ctl" stop -D "$data" -m immediate -w -t 20 >/dev/null 2>&1
  for ((i = 0; i < 100; i++)); do
    _pid_is_postmaster_of "$pid" "$data" || return 0
    if ((i == 20)); then
      # pg_ctl starts the postmaster in its own session: take the whole group down.
      if [[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" == "$pid" ]]; then
        kill -KILL -- "-$pid" 2>/dev/null
      else
        kill -KILL "$pid" 2>/dev/null
      fi
    fi
    sleep 0.1
  done
  printf '# postmaster %s of %s would not die\n' "$pid" "$data" >&2
}

# _pid_is_postmaster_of PID DATADIR: is PID alive, a postgres process, and using DATADIR?
_pid_is_postmaster_of() {
  local pid="$1" data="$2" cwd
  [[ -d "/proc/$pid" ]] || return 1
  grep -q 'postgres' "/proc/$pid/comm" 2>/dev/null || grep -qa 'postgres' "/proc/$pid/cmdline" 2>/dev/null || return 1
  # A zombie has no cwd; treat it as gone.
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
  cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null)" || return 0
  [[ "$cwd" == "$(readlink -f "$data")" ]]
}

# _as_postgres CMD...: run CMD as the postgres OS user from a directory it can read.
_as_postgres() {
  (cd / && runuser -u postgres -- "$@")
}

# mount_tmpfs DIR SIZE: mount a tmpfs of SIZE (e.g. 64m) on DIR (created if needed),
# owned by postgres with mode 0700; unmounted at exit.
mount_tmpfs() {
  local dir="$1" size="$2" uid gid
  uid="$(id -u postgres)"
  gid="$(id -g postgres)"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  mount -t tmpfs -o "size=$size,mode=0700,uid=$uid,gid=$gid" tmpfs "$dir" ||
    fail "mount_tmpfs: could not mount a tmpfs of $size on $dir"
  printf '%s\n' "$dir" >>"$WORK/.ramsafe/mounts"
}

# ---------------------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------------------

_port_is_listening() {
  local hex f
  hex="$(printf '%04X' "$1")"
  for f in /proc/net/tcp /proc/net/tcp6; do
    [[ -r "$f" ]] || continue
    # local_address is field 2 ("ADDR:PORT"), state is field 4 (0A = LISTEN).
    if awk -v p="$hex" 'NR > 1 { split($2, a, ":"); if (a[2] == p && $4 == "0A") found = 1 } END { exit !found }' "$f"; then
      return 0
    fi
  done
  return 1
}

# Claim a port across concurrently running tests: mkdir is atomic; a claim whose owning
# work dir is gone is stale and taken over.
_claim_port() {
  local port="$1" claim="$RAMSAFE_PORT_CLAIMS/$1" owner
  mkdir -p "$RAMSAFE_PORT_CLAIMS" 2>/dev/null
  if ! mkdir "$claim" 2>/dev/null; then
    owner="$(cat "$claim/owner" 2>/dev/null)"
    if [[ -n "$owner" && -d "$owner" ]] || [[ -z "$owner" && -n "$(find "$claim" -maxdepth 0 -mmin -1 2>/dev/null)" ]]; then
      return 1
    fi
    rm -rf "$claim"
    mkdir "$claim" 2>/dev/null || return 1
  fi
  printf '%s\n' "$WORK" >"$claim/owner"
  printf '%s\n' "$port" >>"$WORK/.ramsafe/ports"
}

_ramsafe_release_ports() {
  local port
  [[ -f "$WORK/.ramsafe/ports" ]] || return 0
  while read -r port; do
    [[ -n "$port" ]] || continue
    if [[ "$(cat "$RAMSAFE_PORT_CLAIMS/$port/owner" 2>/dev/null)" == "$WORK" ]]; then
      rm -rf "${RAMSAFE_PORT_CLAIMS:?}/$port"
    fi
  done <"$WORK/.ramsafe/ports"
}

# _pick_port NAME: deterministic start (hash of test name and cluster name), then the
# first port that no one listens on and no other test has claimed.
_pick_port() {
  local name="$1" h port i
  h="$(printf '%s/%s' "$RAMSAFE_TEST_NAME" "$name" | cksum | cut -d' ' -f1)"
  for ((i = 0; i < 500; i++)); do
    port=$((RAMSAFE_TEST_PORT_BASE + (h + i) % RAMSAFE_TEST_PORT_SPAN))
    _port_is_listening "$port" && continue
    _claim_port "$port" || continue
    printf '%s\n' "$port"
    return 0
  done
  fail "no free port for cluster $name"
}

# ---------------------------------------------------------------------------------------
# Clusters
# ---------------------------------------------------------------------------------------

_check_cluster_name() {
  [[ "$1" =~ ^[A-Za-z0-9_.-]+$ ]] || fail "bad cluster name '$1'"
  [[ -n "${WORK:-}" ]] || fail "call ramsafe_test_init first"
}

pg_datadir() { printf '%s\n' "$WORK/$1/data"; }   # pg_datadir NAME: the data directory
pg_sockdir() { printf '%s\n' "$WORK/$1/sock"; }   # pg_sockdir NAME: the unix socket directory
pg_logfile() { printf '%s\n' "$WORK/$1/log"; }    # pg_logfile NAME: the server log file
pg_port() {                                       # pg_port NAME: the cluster's port
  [[ -f "$WORK/$1/port" ]] || fail "pg_port: no cluster named $1"
  cat "$WORK/$1/port"
}

# pg_env NAME: echo "PGHOST=... PGPORT=... PGUSER=postgres" for the cluster, for
# `env $(pg_env a) pg_dump ...` or `export $(pg_env a)`.
pg_env() {
  printf 'PGHOST=%s PGPORT=%s PGUSER=postgres\n' "$(pg_sockdir "$1")" "$(pg_port "$1")"
}

# pg_init_cluster NAME [initdb args...]: initdb into $WORK/NAME/data and write the test
# configuration, without starting. Defaults: -A trust -E UTF8 --locale=C.UTF-8, each
# unless the args give their own.
pg_init_cluster() {
  local name="$1"
  shift
  _check_cluster_name "$name"
  [[ ! -e "$WORK/$name/data/PG_VERSION" ]] || fail "pg_init_cluster: cluster $name already exists"
  local args=("$@") a has_auth=0 has_enc=0 has_locale=0
  for a in "${args[@]}"; do
    case "$a" in
      -A | -A* | --auth | --auth=* | --auth-local* | --auth-host*) has_auth=1 ;;
      -E | -E* | --encoding | --encoding=*) has_enc=1 ;;
      --locale | --locale=* | --no-locale | --lc-* | --locale-provider*) has_locale=1 ;;
    esac
  done
  ((has_auth)) || args+=(-A trust)
  ((has_enc)) || args+=(-E UTF8)
  ((has_locale)) || args+=(--locale=C.UTF-8)
  pg_mkdir "$WORK/$name" "$WORK/$name/data" "$WORK/$name/sock"
  _pick_port "$name" >"$WORK/$name/port.tmp"
  mv "$WORK/$name/port.tmp" "$WORK/$name/port"
  printf '%s\n' "${PG_LISTEN:-}" >"$WORK/$name/listen"
  local out
  if ! out="$(_as_postgres "$PG_BINDIR/initdb" -D "$WORK/$name/data" -U postgres "${args[@]}" 2>&1)"; then
    fail "initdb of cluster $name failed" "$out"
  fi
  cat >>"$WORK/$name/data/postgresql.conf" <<EOF

# --- ramsafe test harness ---
listen_addresses = '${PG_LISTEN:-}'
port = $(pg_port "$name")
unix_socket_directories = '$WORK/$name/sock'
unix_socket_permissions = 0700
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
max_connections = 40
shared_buffers = 64MB
EOF
}

# pg_conf NAME LINE...: append configuration lines to the cluster's postgresql.conf
# (takes effect at the next start or reload).
pg_conf() {
  local name="$1"
  shift
  printf '%s\n' "$@" >>"$WORK/$name/data/postgresql.conf"
}

# pg_start_cluster NAME [initdb args...]: pg_init_cluster, then start it.
pg_start_cluster() {
  pg_init_cluster "$@"
  pg_start_existing "$1"
}

# pg_start_existing NAME: start the data dir $WORK/NAME/data (e.g. after a restore into
# it). Port, socket dir and listen addresses are forced on the command line, so a data
# dir restored from another cluster still starts as this one.
pg_start_existing() {
  local name="$1" data listen out
  _check_cluster_name "$name"
  data="$(pg_datadir "$name")"
  [[ -f "$data/PG_VERSION" ]] || fail "pg_start_existing: $data is not a data directory"
  if [[ ! -f "$WORK/$name/port" ]]; then
    # A data dir created outside pg_init_cluster: give it the usual surroundings.
    pg_mkdir "$WORK/$name/sock"
    _pick_port "$name" >"$WORK/$name/port"
  fi
  listen="$(cat "$WORK/$name/listen" 2>/dev/null || true)"
  grep -qxF "$name" "$WORK/.ramsafe/clusters" || printf '%s\n' "$name" >>"$WORK/.ramsafe/clusters"
  touch "$WORK/$name/log"
  chown postgres:postgres "$WORK/$name/log"
  if ! out="$(_as_postgres "$PG_BINDIR/pg_ctl" start -D "$data" -l "$WORK/$name/log" -w -t 60 \
    -o "-c port=$(pg_port "$name") -c unix_socket_directories=$WORK/$name/sock -c listen_addresses='$listen'" 2>&1)"; then
    fail "could not start cluster $name" "$out" "server log:" "$(tail -n 30 "$WORK/$name/log")"
  fi
  wait_for "cluster $name to accept connections" 30 \
    "$PG_BINDIR/pg_isready" -q -h "$WORK/$name/sock" -p "$(pg_port "$name")" -U postgres -d postgres
}

# pg_is_running NAME: succeeds if the cluster's postmaster is running.
pg_is_running() {
  _as_postgres "$PG_BINDIR/pg_ctl" status -D "$(pg_datadir "$1")" >/dev/null 2>&1
}

# pg_stop_cluster NAME [MODE]: stop the cluster (MODE fast|smart|immediate, default fast).
pg_stop_cluster() {
  local name="$1" mode="${2:-fast}" out
  pg_is_running "$name" || return 0
  if ! out="$(_as_postgres "$PG_BINDIR/pg_ctl" stop -D "$(pg_datadir "$name")" -m "$mode" -w -t 60 2>&1)"; then
    fail "could not stop cluster $name ($mode)" "$out"
  fi
}

# pg_wipe_data NAME: stop the cluster if running, then empty its data dir, leaving it
# empty, owned by postgres, mode 0700 (as a fresh tmpfs would be after a reboot).
pg_wipe_data() {
  local name="$1" data
  data="$(pg_datadir "$1")"
  if [[ -f "$data/postmaster.pid" ]]; then
    pg_stop_cluster "$name" immediate
    _pg_stop_hard "$data"
  fi
  mkdir -p "$data"
  find "$data" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} +
  chown postgres:postgres "$data"
  chmod 0700 "$data"
}

# psql_as NAME DB [psql args...]: psql as root over the cluster's socket as user postgres,
# with -X -v ON_ERROR_STOP=1 -qAt.
psql_as() {
  local name="$1" db="$2"
  shift 2
  "$PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 -qAt -h "$(pg_sockdir "$name")" -p "$(pg_port "$name")" \
    -U postgres -d "$db" "$@"
}

#!/usr/bin/env bash
# ramsafe-entrypoint, the container entrypoint (dist/container, issue 15 item 3), run as a
# process the way a container runtime runs it (as root, PGDATA set, the server command as
# arguments), with a real PostgreSQL 15 server on a tmpfs:
#   - SIGTERM: the server stops with a fast shutdown, an offline set is published, the
#     entrypoint exits with the server's status (0)
#   - the server killed (kill -9): the entrypoint exits with the server's status (137)
#     and takes no snapshot
#   - the tmpfs emptied, the entrypoint again: it restores the offline set before the
#     server starts; every row committed before the SIGTERM is back
# Run as root. Needs the companion ($RAMSAFE_BIN) and its build directory.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init entrypoint
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

build_dir="$(cd "$(dirname "$RAMSAFE_BIN")" && pwd)"
root="$WORK/root"
mkdir -p "$root"
out="$(DESTDIR="$root" cmake --install "$build_dir" --component hooks 2>&1)" ||
  fail "cmake --install --component hooks failed" "$out"
entry="$(find "$root" -path '*/bin/ramsafe-entrypoint' -type f | head -n 1)"
[[ -x "$entry" ]] || fail "ramsafe-entrypoint is installed" "$(find "$root" -type f)"

assert_fails_with 2 env -i PATH=/usr/bin:/bin "$entry" postgres
assert_contains "$ASSERT_OUTPUT" "PGDATA is not set" "no PGDATA: exit 2, saying so"
assert_fails_with 0 "$entry" --help
assert_contains "$ASSERT_OUTPUT" "Usage: ramsafe-entrypoint" "--help"

ramsafe_keys
mount_tmpfs "$WORK/a/data" 256m # the data directory is a tmpfs of its own, as in a container
pg_init_cluster a
printf 'a\n' >>"$WORK/.ramsafe/clusters" # stopped at exit if a test step fails
data="$(pg_datadir a)"
conf="$(ramsafe_config a)"
store="$WORK/store/main"
sets() { find "$store" -mindepth 1 -maxdepth 1 -type d -name '2*' ! -name '*.partial' 2>/dev/null | wc -l; }
fingerprint() { psql_as a postgres -c "SELECT count(*) || ':' || md5(string_agg(id || note, ',' ORDER BY id)) FROM t"; }

# start_entrypoint [COMMAND...]: the entrypoint in the background, as root with a clean
# environment, wrapping COMMAND (default: the server on $data); EP_CONF overrides the
# configuration file, EP_PATH_PREFIX goes before PATH. Its pid in EP_PID; its exit code
# lands in $WORK/ep.rc, its output in $WORK/ep.log.
start_entrypoint() {
  local config="${EP_CONF:-$conf}" path="${EP_PATH_PREFIX:-}/usr/sbin:/usr/bin:/sbin:/bin"
  local -a command=("$@")
  ((${#command[@]})) || command=("$PG_BINDIR/postgres" -D "$data")
  rm -f "$WORK/ep.rc" "$WORK/ep.pid"
  (
    env -i PATH="$path" PGDATA="$data" RAMSAFE_CONFIG="$config" \
      RAMSAFE_BIN="$RAMSAFE_TEST_BIN" "$entry" "${command[@]}" >"$WORK/ep.log" 2>&1 &
    echo $! >"$WORK/ep.pid"
    rc=0
    wait $! || rc=$?
    echo "$rc" >"$WORK/ep.rc.tmp"
    mv "$WORK/ep.rc.tmp" "$WORK/ep.rc"
  ) &
  wait_for "the entrypoint's pid" 10 test -s "$WORK/ep.pid"
  EP_PID="$(cat "$WORK/ep.pid")"
}
wait_ready() {
  wait_for "the server under the entrypoint to accept connections" 120 \
    "$PG_BINDIR/pg_isready" -q -h "$(pg_sockdir a)" -p "$(pg_port a)" -U postgres -d postgres
}
# wait_exit: wait (bounded) until the entrypoint exits; its exit code in EP_RC
wait_exit() {
  wait_for "the entrypoint to exit" 120 test -s "$WORK/ep.rc"
  EP_RC="$(cat "$WORK/ep.rc")"
}

# ------------------------------------------------------------------ SIGTERM: stop, snapshot, exit 0
start_entrypoint
wait_ready
psql_as a postgres -c "CREATE TABLE t (id int PRIMARY KEY, note text)" \
  -c "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 5000) g"
before="$(fingerprint)"
server_pid="$(head -n 1 "$data/postmaster.pid")"
assert_eq "$EP_PID" "$(ps -o ppid= -p "$server_pid" | tr -d ' ')" "the server is the entrypoint's child"
assert_eq postgres "$(ps -o user= -p "$EP_PID" | tr -d ' ')" "the entrypoint stepped down to postgres"
kill -TERM "$EP_PID"
wait_exit
assert_eq 0 "$EP_RC" "exit code after SIGTERM: the server's (log: $(tail -n 5 "$WORK/ep.log"))"
assert_contains "$(cat "$WORK/ep.log")" "offline snapshot taken" "the entrypoint says it took the snapshot"
assert_contains "$("$PG_BINDIR/pg_controldata" "$data")" "Database cluster state:               shut down" \
  "the server was shut down cleanly"
assert_eq 1 "$(sets)" "one set published"
grep -q '"offline"' "$(newest_set "$store")/manifest.json" || fail "the set is of kind offline"
first_snapshot="$(basename "$(newest_set "$store")")"
pass "SIGTERM: fast shutdown, an offline set published, exit 0 (the server's status)"

# ------------------------------------------------------------------ a crash: the server's status, no snapshot
start_entrypoint
wait_ready
assert_contains "$(cat "$WORK/ep.log")" "is not empty; leaving it alone" "a start with data in place restores nothing"
psql_as a postgres -c "INSERT INTO t SELECT g, 'lost ' || g FROM generate_series(5001, 6000) g"
server_pid="$(head -n 1 "$data/postmaster.pid")"
kill -KILL "$server_pid"
wait_exit
assert_eq 137 "$EP_RC" "exit code after the server was killed: the server's (128 + 9)"
assert_contains "$(cat "$WORK/ep.log")" "the server exited with status 137: no offline snapshot" "and says why there is no snapshot"
assert_eq 1 "$(sets)" "no set published after the crash"
pass "server killed: exit 137 (the server's status), no snapshot"

# ------------------------------------------------------------------ the tmpfs emptied: restore, then start
pg_wipe_data a
start_entrypoint
wait_ready
assert_contains "$(cat "$WORK/ep.log")" "restored" "the entrypoint restored before the server started"
assert_eq "$before" "$(fingerprint)" "every row committed before the SIGTERM is back"
kill -TERM "$EP_PID"
wait_exit
assert_eq 0 "$EP_RC" "exit code after the second SIGTERM"
# The new snapshot supersedes the first, which `ramsafe snapshot` then removes (retention).
second_snapshot="$(basename "$(newest_set "$store")")"
[[ "$second_snapshot" != "$first_snapshot" ]] || fail "a second offline set after the second SIGTERM" "newest is still $first_snapshot"
grep -q '"offline"' "$store/$second_snapshot/manifest.json" || fail "the second set is of kind offline"
assert_eq 1 "$(sets)" "the superseded first snapshot removed"
pass "emptied data directory: the entrypoint restores the offline set; all 5000 rows back"


# ------------------------------------------------------------------ with the image's entrypoint
# A stand-in for the official image's docker-entrypoint.sh (not on this machine): it
# initializes an empty data directory, then execs the server, as the real one does.
pg_mkdir "$WORK/image"
cat >"$WORK/image/docker-entrypoint.sh" <<STANDIN
#!/bin/sh
[ -s "\$PGDATA/PG_VERSION" ] || { "$PG_BINDIR/initdb" -D "\$PGDATA" -U postgres -A trust >/dev/null &&
  cat "$WORK/a/harness.conf" >>"\$PGDATA/postgresql.conf"; echo "stand-in: initialized"; } || exit 1
exec "\$@"
STANDIN
chmod 0755 "$WORK/image/docker-entrypoint.sh"
sed -n '/^# --- ramsafe test harness ---/,$p' "$data/postgresql.conf" >"$WORK/a/harness.conf" 2>/dev/null ||
  fail "could not keep the harness configuration"
chown -R postgres:postgres "$WORK/image" "$WORK/a/harness.conf"
# run_image_entrypoint CONF: the entrypoint with the stand-in, in the foreground (bounded); EP_RC
run_image_entrypoint() {
  EP_RC=0
  (cd / && env -i PATH="$WORK/image:/usr/sbin:/usr/bin:/sbin:/bin" PGDATA="$data" RAMSAFE_CONFIG="$1" \
    RAMSAFE_BIN="$RAMSAFE_TEST_BIN" timeout 60 "$entry" docker-entrypoint.sh "$PG_BINDIR/postgres" -D "$data" \
    >"$WORK/ep.log" 2>&1) || EP_RC=$?
}
# Sets in the store, none trusted (this host's verify keys changed): exit 3, nothing initialized.
pg_wipe_data a
pg_mkdir "$WORK/otherkeys"
runuser -u postgres -- "$RAMSAFE_TEST_BIN" keygen --dir "$WORK/otherkeys" >/dev/null 2>&1
untrusting="$(ramsafe_config a "ramsafe.verify_keys_file = '$WORK/otherkeys/verify_keys.txt'")"
run_image_entrypoint "$untrusting"
assert_eq 3 "$EP_RC" "exit code with only untrusted sets (log: $(tail -n 5 "$WORK/ep.log"))"
assert_contains "$(cat "$WORK/ep.log")" "none could be restored" "says why it does not initialize"
assert_eq 0 "$(find "$data" -mindepth 1 | wc -l)" "the data directory stays empty"
pass "with docker-entrypoint.sh: sets that none restores are never initialized over (exit 3)"
# An empty store: a first start, the image's entrypoint initializes the cluster.
pg_mkdir "$WORK/emptystore"
first="$(ramsafe_config a "ramsafe.local_dir = '$WORK/emptystore'")"
EP_CONF="$first" EP_PATH_PREFIX="$WORK/image:" start_entrypoint docker-entrypoint.sh "$PG_BINDIR/postgres" -D "$data"
wait_ready
assert_contains "$(cat "$WORK/ep.log")" "no backup yet: docker-entrypoint.sh initializes" "a first start is left to the image"
assert_contains "$(cat "$WORK/ep.log")" "stand-in: initialized" "and the image's entrypoint initialized it"
kill -TERM "$EP_PID"
wait_exit
assert_eq 0 "$EP_RC" "exit code after SIGTERM on the first start"
assert_eq 1 "$(find "$WORK/emptystore/main" -mindepth 1 -maxdepth 1 -type d -name '2*' ! -name '*.partial' | wc -l)" \
  "the first stop leaves an offline set"
pass "with docker-entrypoint.sh and an empty store: the image initializes, the stop snapshots"

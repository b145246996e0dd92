# shellcheck shell=bash
# Helpers for tests that drive the `ramsafe` companion against test clusters.
# Source after common.sh. The binary is $RAMSAFE_BIN (default: build/ramsafe).
#
#   ramsafe_keys                 every key in $WORK/keys (`ramsafe keygen --dir`): age identity
#                                + recipients, Ed25519 signing key + verify keys (postgres);
#                                sets RAMSAFE_KEY_SETTINGS, the lines naming them, for a
#                                server's configuration: "${RAMSAFE_KEY_SETTINGS[@]}"
#   ramsafe_config NAME [LINE..] write a new $WORK/NAME-*.conf for cluster NAME: local store in
#                                $WORK/store, the keys above, the cluster's socket and port,
#                                plus extra lines; echoes the path
#   rs CONF CMD ARGS...          run `ramsafe CMD --config CONF ARGS...` as postgres
#   newest_set STORE_CLUSTER_DIR the newest published set's directory
#   bindir_without_pg_dump DIR   DIR (postgres, 0700) with every program of $PG_BINDIR but
#                                pg_dump, for a test to put its own (failing, stalling) one
#   rs_exec CONF CMD ARGS...     as rs, exec'd in place (use in a background subshell to signal it)
#   require_installed_extension  fail unless the installed ramsafe.so is this build's
#   ramsafe_sql_functions NAME   the extension's SQL functions in cluster NAME's postgres
#                                database: CREATE EXTENSION for the installed one, or, with
#                                RAMSAFE_TEST_LIBRARY ($lib a path), the extension's script
#                                with its functions bound to that library
#   deep_manifest                a hostile manifest.json on stdout: the keys a reader looks
#                                at first, then arrays nested 200,000 deep (issue 14)

: "${RAMSAFE_BIN:=$RAMSAFE_REPO_DIR/build/ramsafe}"
[[ -x "$RAMSAFE_BIN" ]] || fail "ramsafe binary not found at $RAMSAFE_BIN (build first, or set RAMSAFE_BIN)"
# The postgres user must be able to run it: copy it where it can.
RAMSAFE_TEST_BIN="$WORK/bin/ramsafe"
mkdir -p "$WORK/bin"
install -m 0755 "$RAMSAFE_BIN" "$RAMSAFE_TEST_BIN"
chown -R postgres:postgres "$WORK/bin"

# The settings naming the keys of ramsafe_keys, one array element per line.
RAMSAFE_KEY_SETTINGS=()

ramsafe_keys() {
  pg_mkdir "$WORK/keys"
  runuser -u postgres -- "$RAMSAFE_TEST_BIN" keygen --dir "$WORK/keys" >"$WORK/keys/settings.conf" 2>"$WORK/keys/keygen.log" ||
    fail "ramsafe keygen --dir failed" "$(cat "$WORK/keys/keygen.log")"
  # The identity is the restore side's: the server never needs it.
  mapfile -t RAMSAFE_KEY_SETTINGS < <(grep -v '^ramsafe.identity_file' "$WORK/keys/settings.conf")
}

ramsafe_config() {
  local name="$1"
  shift
  local conf
  conf="$(mktemp "$WORK/$name-XXXX.conf")"
  cat >"$conf" <<EOF
# test configuration for cluster $name
ramsafe.local_dir = '$WORK/store'
$(cat "$WORK/keys/settings.conf")
ramsafe.host = '$(pg_sockdir "$name")'
ramsafe.port = $(pg_port "$name")
ramsafe.user = 'postgres'
ramsafe.data_directory = '$(pg_datadir "$name")'
EOF
  local line
  for line in "$@"; do printf '%s\n' "$line" >>"$conf"; done
  chown postgres:postgres "$conf"
  [[ -d "$WORK/store" ]] || pg_mkdir "$WORK/store"
  printf '%s\n' "$conf"
}

rs() {
  local conf="$1"
  shift
  local cmd="$1"
  shift
  runuser -u postgres -- "$RAMSAFE_TEST_BIN" "$cmd" --config "$conf" "$@"
}

bindir_without_pg_dump() {
  local dir="$1" p
  pg_mkdir "$dir"
  for p in "$PG_BINDIR"/*; do [[ "${p##*/}" == pg_dump ]] || ln -s "$p" "$dir/${p##*/}"; done
}

newest_set() {
  find "$1" -mindepth 1 -maxdepth 1 -type d -name '2*' ! -name '*.partial' | sort | tail -n 1
}

# rs_exec CONF CMD ARGS...: like rs, but the ramsafe process replaces this one (setpriv
# execs instead of forking like runuser), so `rs_exec ... &` gives ramsafe's own pid in $!
# for tests that signal it.
rs_exec() {
  local conf="$1" cmd="$2"
  shift 2
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$RAMSAFE_TEST_BIN" "$cmd" --config "$conf" "$@"
}

# ramsafe_test_library: sets lib to what shared_preload_libraries and archive_library
# should name: "ramsafe" (the installed extension, checked), or, with RAMSAFE_TEST_LIBRARY
# set to the absolute path of a built ramsafe.so, a copy of it the postgres user can read
# (both settings must name the same file, so the archiver finds the preloaded library).
# shellcheck disable=SC2034 # lib is the result
ramsafe_test_library() {
  if [[ -n "${RAMSAFE_TEST_LIBRARY:-}" ]]; then
    [[ "$RAMSAFE_TEST_LIBRARY" == /* && -f "$RAMSAFE_TEST_LIBRARY" ]] ||
      fail "RAMSAFE_TEST_LIBRARY must be the absolute path of a ramsafe.so"
    install -m 0755 -o postgres -g postgres "$RAMSAFE_TEST_LIBRARY" "$WORK/bin/ramsafe.so"
    lib="$WORK/bin/ramsafe.so"
    note "testing $RAMSAFE_TEST_LIBRARY (not the installed extension)"
  else
    require_installed_extension
    lib=ramsafe
  fi
}

# ramsafe_wal_conf NAME [SETTING...]: configures cluster NAME to archive WAL through
# ramsafe ($lib from ramsafe_test_library) into $WORK/store, encrypted to and signed with the
# test keys, with no scheduled logical backups; further settings are appended.
ramsafe_wal_conf() {
  local name="$1"
  shift
  pg_conf "$name" "shared_preload_libraries = '$lib'" \
    "archive_mode = on" \
    "archive_library = '$lib'" \
    "ramsafe.local_dir = '$WORK/store'" \
    "${RAMSAFE_KEY_SETTINGS[@]}" \
    "ramsafe.schedule = ''" \
    "$@"
}

ramsafe_sql_functions() {
  if [[ "$lib" != /* ]]; then
    psql_as "$1" postgres -c "CREATE EXTENSION ramsafe"
    return
  fi
  local version
  version="$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$RAMSAFE_REPO_DIR/extension/ramsafe.control")"
  sed -e '/^\\echo /d' -e "s|MODULE_PATHNAME|$lib|" "$RAMSAFE_REPO_DIR/extension/ramsafe--$version.sql" |
    psql_as "$1" postgres >/dev/null
}

require_installed_extension() {
  local installed built
  installed="$("$PG_BINDIR/pg_config" --pkglibdir 2>/dev/null || echo "/usr/lib/postgresql/$PG_MAJOR/lib")/ramsafe.so"
  built="$(dirname "$RAMSAFE_BIN")/ramsafe.so"
  [[ -f "$installed" ]] || fail "the extension is not installed ($installed): run cmake --install build --component extension"
  if [[ -f "$built" ]] && ! cmp -s "$built" "$installed"; then
    fail "the installed $installed is not this build's (scripts/install installs another): run cmake --install build --component extension"
  fi
}

deep_manifest() {
  printf '{"format": "ramsafe-backup", "manifest_sha256": "x", "x": '
  head -c 200000 /dev/zero | tr '\0' '['
  head -c 200000 /dev/zero | tr '\0' ']'
  printf '}\n'
}

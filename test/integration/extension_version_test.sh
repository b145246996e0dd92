#!/usr/bin/env bash
# One version, as the installed pieces report it: `ramsafe --version`, the installed
# control file's default_version, `SELECT extversion` after CREATE EXTENSION, and the
# ramsafe_version the library writes into a set's manifest (ramsafe_backup_now()) are the
# same, and the companion writes the same into its own sets.
# Needs the installed extension (cmake --install build). Run as root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init extension_version
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"

require_installed_extension

companion="$("$RAMSAFE_TEST_BIN" --version)"
[[ "$companion" =~ ^ramsafe\ ([0-9]+\.[0-9]+\.[0-9]+)$ ]] || fail "ramsafe --version: ramsafe X.Y.Z" "$companion"
version="${BASH_REMATCH[1]}"
control="$("$PG_BINDIR/pg_config" --sharedir)/extension/ramsafe.control"
assert_eq "default_version = '$version'" "$(grep '^default_version' "$control")" \
  "the installed $control has the companion's version"

ramsafe_keys
pg_mkdir "$WORK/store"
pg_init_cluster x
pg_conf x "shared_preload_libraries = 'ramsafe'" \
  "ramsafe.local_dir = '$WORK/store'" \
  "${RAMSAFE_KEY_SETTINGS[@]}" \
  "ramsafe.schedule = ''"
pg_start_existing x
psql_as x postgres -c "CREATE EXTENSION ramsafe"
assert_eq "$version" "$(psql_as x postgres -c "SELECT extversion FROM pg_extension WHERE extname = 'ramsafe'")" \
  "SELECT extversion is ramsafe --version"
pass "ramsafe --version, the installed control file and SELECT extversion: $version"

id="$(psql_as x postgres -c "SELECT backup_id FROM ramsafe_backup_now()")"
manifest="$WORK/store/main/$id/manifest.json"
assert_file_exists "$manifest" "ramsafe_backup_now() published $id"
assert_eq "$version" "$(jq -r .ramsafe_version "$manifest")" "the library writes its version into the manifest"
conf="$(ramsafe_config x)"
rs "$conf" backup >/dev/null
assert_eq "$version" "$(jq -r .ramsafe_version "$(newest_set "$WORK/store/main")/manifest.json")" \
  "the companion writes the same version into its manifest"
pass "the library (a set from ramsafe_backup_now()) and the companion (ramsafe backup) record $version"

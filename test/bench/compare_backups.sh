#!/usr/bin/env bash
# Backs up one small cluster with two ramsafe binaries and compares what they wrote: the
# plaintext of every file, the list of files and the manifests (without ids, times, hashes
# and stored sizes). For refactors that must not change the output. As root:
#   test/bench/compare_backups.sh OLD_RAMSAFE NEW_RAMSAFE
# age output is randomized, so stored bytes differ by design; pg_dump and pg_dumpall write
# a random \restrict key, so those lines are left out, and the compressed sizes vary by a
# few bytes from run to run with it (the plaintext sizes must match).
set -euo pipefail
[[ $# == 2 && -x "$1" && -x "$2" ]] || { echo "usage: $0 OLD_RAMSAFE NEW_RAMSAFE" >&2; exit 2; }
[[ "$(id -u)" == 0 ]] || { echo "$0: run as root (the cluster runs as postgres)" >&2; exit 2; }
"$(dirname "$0")/../../scripts/setup" --bench >/dev/null  # jq
bindir="$(pg_config --bindir)"
work="$(mktemp -d /dev/shm/ramsafe-compare-XXXX)"
chown postgres "$work"
install -m 0755 "$1" "$work/old_ramsafe"
install -m 0755 "$2" "$work/new_ramsafe"
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
  as_pg "$bindir/pg_ctl" -D "$work/data" stop -m immediate >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
as_pg "$bindir/initdb" -D "$work/data" -U postgres --no-sync >/dev/null 2>&1
as_pg "$bindir/pg_ctl" -D "$work/data" -o "-k $work -c listen_addresses=''" -l "$work/log" -w start >/dev/null
as_pg psql -X -h "$work" -d postgres -qc "CREATE DATABASE app"
as_pg psql -X -h "$work" -d postgres -qc "CREATE ROLE alice LOGIN"
as_pg psql -X -h "$work" -d app -qc "CREATE TABLE t (id int PRIMARY KEY, s text);
  INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g"
as_pg age-keygen -o "$work/id.txt" 2>/dev/null
as_pg sh -c "age-keygen -y '$work/id.txt' > '$work/recipients.txt'"
for v in old new; do
  as_pg mkdir "$work/$v"
  printf "ramsafe.local_dir = '%s'\nramsafe.recipients_file = '%s'\nramsafe.identity_file = '%s'\nramsafe.host = '%s'\n" \
    "$work/$v" "$work/recipients.txt" "$work/id.txt" "$work" >"$work/$v.conf"
  # A release that signs its sets (issue 14) needs a signing key and its verify key.
  if "$work/${v}_ramsafe" keygen --help 2>&1 | grep -q -- --signing-key; then
    as_pg "$work/${v}_ramsafe" keygen --signing-key "$work/$v.key" >"$work/$v.verify" 2>/dev/null
    printf "ramsafe.signing_key_file = '%s'\nramsafe.verify_keys_file = '%s'\n" "$work/$v.key" \
      "$work/$v.verify" >>"$work/$v.conf"
  fi
  chmod 0644 "$work/$v.conf"
  as_pg "$work/${v}_ramsafe" backup --config "$work/$v.conf" >/dev/null 2>&1
done
unrestrict() { sed '/^\\\(un\)\?restrict /d'; }
for v in old new; do
  set_dir="$(ls -d "$work/$v"/main/2*)"
  decrypt() { as_pg "$work/${v}_ramsafe" decrypt --config "$work/$v.conf" "$set_dir/$1"; }
  decrypt globals.sql.zst.age | unrestrict >"$work/$v.globals.sql"
  decrypt config.tar.zst.age >"$work/$v.config.tar"
  for f in "$set_dir"/db/*.age; do
    name="$(basename "$f" .dump.zst.age)"
    decrypt "db/$name.dump.zst.age" >"$work/$v.$name.dump"
    "$bindir/pg_restore" -f - "$work/$v.$name.dump" | unrestrict >"$work/$v.db-$name.sql"
  done
  (cd "$set_dir" && find . -type f | sort) >"$work/$v.files"
  jq -S 'del(.backup_id, .started_at, .finished_at, .manifest_sha256, .sequence)
         | .files |= map(del(.sha256, .stored_bytes))' \
    "$set_dir/manifest.json" >"$work/$v.manifest"
done
status=0
for f in globals.sql config.tar files manifest $(cd "$work" && ls old.db-*.sql | sed 's/^old\.//'); do
  if cmp -s "$work/old.$f" "$work/new.$f"; then
    echo "identical: $f"
  else
    echo "DIFFERENT: $f"
    diff "$work/old.$f" "$work/new.$f" | head -5 || true
    status=1
  fi
done
exit "$status"

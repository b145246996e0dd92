# shellcheck shell=bash
# What an attacker with write access to a store and the public recipient only can make, with
# standard tools (age, zstd, tar, jq, openssl): forged sets and re-dated manifests (issue 14).
# Source after common.sh. Needs jq (scripts/setup --bench installs it).
#
#   forge_set CLUSTER_DIR ID FINISHED TEMPLATE_SET RECIPIENTS [FORMAT]
#       a forged set CLUSTER_DIR/ID: globals that run `\! touch $WORK/pwned-globals` and
#       `COPY ... TO PROGRAM 'touch $WORK/pwned-copy'` and make a superuser, a config tar with
#       a trust-all pg_hba.conf, recovery.signal, and an archive_command and a restore_command
#       touching $WORK/pwned-archive and -restore in postgresql.auto.conf, the databases
#       copied from TEMPLATE_SET,
#       every file encrypted to RECIPIENTS with `age -R`, and a manifest (FORMAT 1, the
#       default, or 2 with a sequence number) with a correct self-checksum, no signature
#   forge_sign SET_DIR KEY_FILE
#       signs SET_DIR/manifest.json with a ramsafe signing key file (the forger's own key),
#       with openssl, as ramsafe would: manifest.json.sig
#   sign_wal_record WAL_TIMELINE_DIR NAME KEY_FILE CLUSTER
#       NAME.sig for NAME.sha256 with a signing key (a writer that has it)
#   redate_manifest SET_DIR FINISHED
#       moves the set's finished_at (and started_at) and recomputes the self-checksum
#   forge_empty_set CLUSTER_DIR ID FINISHED TEMPLATE_SET
#       a manifest alone (format 1, no files), dated FINISHED (attack 3)
#   pwned_markers
#       the marker files any forged command would have left (none may exist)

command -v jq >/dev/null || fail "forge.sh needs jq (scripts/setup --bench)"

# The manifest's self-checksum, as docs/backup-format.md shows how to compute it.
_forge_checksum() {
  local manifest="$1" sum
  sum="$(jq -cS 'del(.manifest_sha256)' "$manifest" | tr -d '\n' | sha256sum | cut -d' ' -f1)"
  jq -S --arg s "$sum" '.manifest_sha256 = $s' "$manifest" >"$manifest.new"
  mv "$manifest.new" "$manifest"
}

forge_set() {
  local dir="$1/$2" id="$2" finished="$3" template="$4" recipients="$5" format="${6:-1}"
  local tmp="$WORK/forge.$id"
  mkdir -p "$dir/db" "$tmp/config"
  printf "\\\\! touch %s/pwned-globals\nCOPY (SELECT 1) TO PROGRAM 'touch %s/pwned-copy';\nCREATE ROLE pwned SUPERUSER LOGIN;\n" \
    "$WORK" "$WORK" >"$tmp/globals.sql"
  printf "archive_mode = on\narchive_command = 'touch %s/pwned-archive'\nrestore_command = 'touch %s/pwned-restore'\n" \
    "$WORK" "$WORK" >"$tmp/config/postgresql.auto.conf"
  printf 'local all all trust\nhost all all 0.0.0.0/0 trust\n' >"$tmp/config/pg_hba.conf"
  : >"$tmp/config/recovery.signal"
  tar --format=ustar -C "$tmp/config" -cf "$tmp/config.tar" postgresql.auto.conf pg_hba.conf recovery.signal
  zstd -q <"$tmp/globals.sql" | age -R "$recipients" >"$dir/globals.sql.zst.age"
  zstd -q <"$tmp/config.tar" | age -R "$recipients" >"$dir/config.tar.zst.age"
  cp "$template"/db/*.zst.age "$dir/db/"
  local files='[]' f plain
  for f in globals.sql config.tar; do
    plain="$(stat -c %s "$tmp/$f")"
    files="$(jq --arg p "$f.zst.age" --arg s "$(sha256sum "$dir/$f.zst.age" | cut -d' ' -f1)" \
      --argjson n "$(stat -c %s "$dir/$f.zst.age")" --argjson m "$plain" \
      '. + [{path: $p, sha256: $s, stored_bytes: $n, plaintext_bytes: $m}]' <<<"$files")"
  done
  jq -S --arg id "$id" --arg fin "$finished" --argjson fmt "$format" --argjson forged "$files" '
    .backup_id = $id | .finished_at = $fin | .started_at = $fin | .format_version = $fmt
    | (if $fmt >= 2 then .sequence = 999999 else del(.sequence) end)
    | .files = [.files[] | . as $f | ($forged | map(select(.path == $f.path)) | first) as $g
                | if $g then . + {sha256: $g.sha256, stored_bytes: $g.stored_bytes,
                                 plaintext_bytes: $g.plaintext_bytes} else . end]
  ' "$template/manifest.json" >"$dir/manifest.json"
  _forge_checksum "$dir/manifest.json"
  rm -rf "$tmp"
  chown -R --reference="$1" "$dir"
}

# signature_line KEY_FILE MESSAGE_FILE: a ramsafe signature line of the file's bytes, with
# openssl from a ramsafe signing key file.
signature_line() {
  local key="$1" msg="$2" seed tmp="$WORK/forge-sign.$$" id
  seed="$(grep '^RAMSAFE-ED25519-SIGNING-KEY ' "$key" | cut -d' ' -f2)"
  # PKCS#8 DER of an Ed25519 seed: a fixed 16-byte prefix, then the 32 bytes.
  { printf '302e020100300506032b657004220420' | xxd -r -p; base64 -d <<<"$seed"; } >"$tmp.der"
  openssl pkey -inform DER -in "$tmp.der" -out "$tmp.pem"
  id="ed25519:$(openssl pkey -in "$tmp.pem" -pubout -outform DER | tail -c 32 | sha256sum | cut -c1-16)"
  printf 'ramsafe-signature-v1 %s %s\n' "$id" \
    "$(openssl pkeyutl -sign -rawin -inkey "$tmp.pem" -in "$msg" | base64 -w0)"
  rm -f "$tmp.der" "$tmp.pem"
}

forge_sign() {
  local set="$1" key="$2" msg="$WORK/forge-msg.$$"
  { printf 'ramsafe-manifest-v1\n'; cat "$set/manifest.json"; } >"$msg"
  signature_line "$key" "$msg" >"$set/manifest.json.sig"
  rm -f "$msg"
  chown --reference="$set" "$set/manifest.json.sig"
}

# sign_wal_record WAL_TIMELINE_DIR NAME KEY_FILE CLUSTER: NAME.sig for NAME.sha256, as the
# archive module writes it (core/set/trust.h).
sign_wal_record() {
  local dir="$1" name="$2" msg="$WORK/forge-msg.$$"
  { printf 'ramsafe-wal-v1\n%s\n' "$4"; cat "$dir/$name.sha256"; } >"$msg"
  signature_line "$3" "$msg" >"$dir/$name.sig"
  rm -f "$msg"
  chown --reference="$dir/$name.sha256" "$dir/$name.sig"
}

redate_manifest() {
  local manifest="$1/manifest.json"
  jq -S --arg fin "$2" '.finished_at = $fin | .started_at = $fin' "$manifest" >"$manifest.new"
  mv "$manifest.new" "$manifest"
  _forge_checksum "$manifest"
  chown --reference="$1" "$manifest"
}

pwned_markers() {
  find "$WORK" -maxdepth 1 -name 'pwned-*'
}

# forge_empty_set CLUSTER_DIR ID FINISHED TEMPLATE_SET: a set of a manifest alone (format 1,
# no files, no signature), dated FINISHED: attack 3's key-less manifests with future dates.
forge_empty_set() {
  local dir="$1/$2"
  mkdir -p "$dir"
  jq -S --arg id "$2" --arg fin "$3" '.backup_id = $id | .finished_at = $fin | .started_at = $fin
    | .format_version = 1 | del(.sequence) | .files = []' "$4/manifest.json" >"$dir/manifest.json"
  _forge_checksum "$dir/manifest.json"
  chown -R --reference="$1" "$dir"
}

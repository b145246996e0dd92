#!/usr/bin/env bash
# A Drive folder written by someone else, and the files around Drive on the host (issue 14,
# items 5 and 6), against the Drive emulator:
# - a manifest.json nested 200,000 arrays deep, and one whose backup_id is terminal escape
#   sequences, planted in the cluster's folder: list goes on and prints no escape byte, a
#   boot restore from Drive alone restores the real set;
# - a local set file swapped for a link to the Drive token: upload refuses it and sends
#   nothing of the token;
# - a pre-created <token>.tmp of mode 0666 before drive-login: the token file is 0600 and
#   the planted file receives nothing.
# Run as root: bash test/integration/hostile_drive_test.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init hostile_drive
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/drive.sh
. "$HERE/../lib/drive.sh"

drive_start
drive_user_token alice
ramsafe_keys
pg_start_cluster x
psql_as x postgres -c "CREATE DATABASE app"
psql_as x app -c "CREATE TABLE t AS SELECT g FROM generate_series(1, 500) g"
mapfile -t lines < <(drive_settings "$DRIVE_DIR/alice.json")
conf="$(ramsafe_config x "${lines[@]}")"
rs "$conf" backup >/dev/null
good="$(basename "$(newest_set "$WORK/store/main")")"
rs "$conf" upload --no-progress >/dev/null
pass "a good set $good on Drive"

# drive_plant SET_ID PATH FILE: FILE uploaded as alice into the cluster's folder, tagged as
# PATH of set SET_ID, as anyone who can write the folder could.
drive_plant() {
  local folder
  folder="$(drive_admin GET /files | json "d.files.find(f => f.appProperties && f.appProperties.ramsafe_cluster === 'main').id")"
  NODE_EXTRA_CA_CERTS="$DRIVE_CA" node -e '
const fs = require("fs");
const [url, cred, folder, id, path, file] = process.argv.slice(1);
const c = JSON.parse(fs.readFileSync(cred, "utf8"));
(async () => {
  const t = await fetch(url + "/token", {method: "POST", body: new URLSearchParams({
    grant_type: "refresh_token", client_id: c.client_id, client_secret: c.client_secret,
    refresh_token: c.refresh_token})});
  const token = (await t.json()).access_token;
  const meta = {name: id + "/" + path, parents: [folder],
                appProperties: {ramsafe_set: id, ramsafe_path: path, ramsafe_role: "manifest"}};
  const b = "plant" + Date.now();
  const body = Buffer.concat([
    Buffer.from(`--${b}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(meta)}\r\n--${b}\r\nContent-Type: application/octet-stream\r\n\r\n`),
    fs.readFileSync(file), Buffer.from(`\r\n--${b}--\r\n`)]);
  const r = await fetch(url + "/upload/drive/v3/files?uploadType=multipart",
    {method: "POST", body, headers: {Authorization: "Bearer " + token,
                                     "Content-Type": "multipart/related; boundary=" + b}});
  if (!r.ok) { console.error(r.status, await r.text()); process.exit(1); }
})();' "$DRIVE_URL" "$DRIVE_DIR/alice.json" "$folder" "$1" "$2" "$3" || fail "planting $1/$2 on Drive failed"
}

deep_manifest >"$WORK/deep.json"
drive_plant 20970101T000000Z manifest.json "$WORK/deep.json"
jq --arg id $'\e]0;owned\a\e[2J20260101T000000Z' '.backup_id = $id | .format_version = 1 | del(.sequence)' \
  "$WORK/store/main/$good/manifest.json" >"$WORK/escapes.json"
sum="$(jq -cS 'del(.manifest_sha256)' "$WORK/escapes.json" | tr -d '\n' | sha256sum | cut -d' ' -f1)"
jq -S --arg s "$sum" '.manifest_sha256 = $s' "$WORK/escapes.json" >"$WORK/escapes2.json"
drive_plant 20960101T000000Z manifest.json "$WORK/escapes2.json"
pass "a deep manifest and one with terminal escapes planted in the Drive folder"

out="$(rs "$conf" list --store drive 2>&1)" || fail "list --store drive failed" "$out"
assert_contains "$out" "$good" "list shows the good set"
assert_contains "$out" "nested deeper than 64 levels" "list says why the deep manifest is unusable"
assert_contains "$out" 'manifest is for backup \x1b]0;owned\x07\x1b[2J' "the escapes are shown escaped"
[[ "$out" != *$'\e'* && "$out" != *$'\a'* ]] || fail "list printed a raw escape byte" "$(printf '%q' "$out")"
out="$(rs "$conf" list --store drive --json 2>&1)" || fail "list --json failed" "$out"
[[ "$out" != *$'\e'* ]] || fail "list --json printed a raw escape byte"

pg_stop_cluster x
pg_wipe_data x
rm -rf "$WORK/store/main"
out="$(rs "$conf" restore --no-progress 2>&1)" || fail "restore from Drive failed" "$out"
assert_contains "$out" "restored backup $good" "the good set is restored from Drive alone"
[[ "$out" != *$'\e'* ]] || fail "restore printed a raw escape byte"
pg_start_existing x
assert_eq 500 "$(psql_as x app -c 'SELECT count(*) FROM t')" "the data is back"
pass "list and a boot restore from Drive go on past the planted manifests"

# ------------------------------------------------------------------ upload never follows
rs "$conf" backup >/dev/null
second="$(basename "$(newest_set "$WORK/store/main")")"
file="$WORK/store/main/$second/db/app.dump.zst.age"
rm "$file"
ln -s "$DRIVE_DIR/alice.json" "$file"
chown -h postgres:postgres "$file"
assert_fails_with 1 rs "$conf" upload --no-progress
assert_contains "$ASSERT_OUTPUT" "is a symbolic link" "upload refuses the linked set file"
token_md5="$(md5sum "$DRIVE_DIR/alice.json" | cut -d' ' -f1)"
drive_admin GET /files | json "d.files.map(f => f.md5Checksum || '').join('\n')" >"$WORK/md5s"
grep -qx "$token_md5" "$WORK/md5s" && fail "the token file was uploaded to Drive"
assert_not_contains "$(drive_set_files "$second")" "db/app" "nothing was sent for the linked file"
pass "upload refuses a set file that is a link (the token stays off Drive)"

# ------------------------------------------------------------------ drive-login's token file
pg_mkdir "$WORK/tokens"
chmod 0755 "$WORK/tokens"
: >"$WORK/tokens/pi.json.tmp"
chown postgres:postgres "$WORK/tokens/pi.json.tmp"
chmod 0666 "$WORK/tokens/pi.json.tmp"
login_conf="$(ramsafe_config x "ramsafe.drive_ca_file = '$DRIVE_CA'" "ramsafe.drive_oauth_url = '$DRIVE_URL'")"
drive_device_login "$login_conf" "$WORK/tokens/pi.json"
assert_eq 600 "$(stat -c %a "$WORK/tokens/pi.json")" "the token file is mode 0600"
assert_eq 0 "$(stat -c %s "$WORK/tokens/pi.json.tmp")" "the planted .tmp received nothing"
pass "a pre-created world-writable <token>.tmp does not make the token world-readable"

echo "hostile_drive: all passed"

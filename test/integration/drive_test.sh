#!/usr/bin/env bash
# The Google Drive store through the companion, against the Drive v3 emulator (TLS, own CA):
#   - a real set uploaded, listed, verified (also deep, through Drive downloads), and
#     byte-identical on Drive
#   - connections cut at random offsets during uploads: every upload completes, at most one
#     chunk is sent again per interruption, Drive never holds two copies of a file; an
#     upload killed half-way is finished by the next one
#   - 30% of requests failing (429, 503, resets): the upload still completes
#   - boot restore from Drive alone (local store and data directory wiped); a corrupted
#     newest remote set falls back to the previous one, saying so
#   - bad credentials file, bad key, revoked refresh token, quota errors: one clear
#     message each; no secret or token in any output or log
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init drive
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/drive.sh
. "$HERE/../lib/drive.sh"

chunk=262144
drive_start
drive_service_account sa
drive_shared_drive backups-sd "$DRIVE_DIR/sa.json" fileOrganizer # Content manager, as docs/drive.md says
ramsafe_keys
pg_start_cluster x
psql_as x postgres -c "CREATE DATABASE app"
psql_as x app -c "CREATE TABLE t AS SELECT g, md5(g::text) AS h, repeat(md5((g*7)::text), 3) AS r FROM generate_series(1, 150000) g"
psql_as x app -c "CREATE TABLE s AS SELECT g FROM generate_series(1, 10) g"
checksum() { psql_as x app -c "SELECT md5(string_agg(t::text, ',' ORDER BY g)) FROM t"; }
mapfile -t sa_lines < <(drive_settings "$DRIVE_DIR/sa.json" backups-sd)
conf="$(ramsafe_config x "${sa_lines[@]}")"
all_output=""
run() { # run CMD ARGS...: rs, keeping the output for the leak check at the end
  local out rc=0
  out="$(rs "$conf" "$@" 2>&1)" || rc=$?
  all_output+="$out"$'\n'
  printf '%s\n' "$out"
  return "$rc"
}

# --------------------------------------------------------------------- upload, list, verify
run backup >/dev/null
id1="$(basename "$(newest_set "$WORK/store/main")")"
out="$(run upload)"
assert_contains "$out" "uploaded $id1 to drive folder backups-sd/main" "upload names the set and the store"
assert_contains "$(run list --store drive)" "$id1" "list --store drive shows the set"
assert_contains "$(run list)" "drive folder backups-sd/main" "list shows both stores"
out="$(run verify --store drive --deep "$id1")"
assert_contains "$out" "$id1 (drive folder backups-sd/main): ok" "deep verify through Drive downloads"
while IFS=$'\t' read -r path fid size; do
  cmp -s <(drive_admin GET "/files/$fid/content") "$WORK/store/main/$id1/$path" ||
    fail "Drive's copy of $path differs from the local file"
done < <(drive_set_files "$id1")
files_local="$(cd "$WORK/store/main/$id1" && find . -type f | wc -l)"
assert_eq "$files_local" "$(drive_set_files "$id1" | wc -l)" "every file of the set is on Drive, once"
pass "a real set uploaded, listed, verified deep and byte-identical on Drive"
assert_contains "$(run upload)" "Drive holds every local backup" "a second upload sends nothing"

# --------------------------------------------------------------- cut connections, resumes
psql_as x app -c "INSERT INTO s VALUES (11)"
run backup >/dev/null
id2="$(basename "$(newest_set "$WORK/store/main")")"
drive_admin POST /stats/reset >/dev/null
drive_admin POST /faults '{"seed": 7, "rules": [{"match": {"kind": "upload_chunk"}, "action": "reset",
  "afterBytes": {"random": [1, 262000]}, "probability": 0.35, "count": 8}]}' >/dev/null
run upload --no-progress >/dev/null
stats="$(drive_admin GET /stats)"
resets="$(json 'd.faults.reset || 0' <<<"$stats")"
[[ "$resets" -ge 3 ]] || fail "the fault plan cut too few connections ($resets)"
json "d.files.map(f => f.name + ' ' + f.interruptions + ' ' + f.resentBytes).join('\n')" <<<"$stats" >"$WORK/per-file"
while read -r name interruptions resent; do
  [[ "$resent" -le $((interruptions * chunk)) ]] ||
    fail "$name: $resent bytes sent again after $interruptions interruptions (more than one chunk each)"
done <"$WORK/per-file"
assert_eq "$(drive_set_files "$id2" | wc -l)" "$(cd "$WORK/store/main/$id2" && find . -type f | wc -l)" "no file twice"
assert_contains "$(run verify --store drive "$id2")" "): ok" "the set survived $resets cut connections"
resent="$(json 'd.files.reduce((a, f) => a + f.resentBytes, 0)' <<<"$stats")"
pass "$resets connections cut mid-chunk: upload complete, $resent bytes re-sent in all (at most one 256 KiB chunk per cut)"
drive_admin DELETE /faults >/dev/null

# An upload killed half-way (SIGTERM once a few chunks are in), then finished by the next.
psql_as x app -c "INSERT INTO s VALUES (12)"
run backup >/dev/null
id3="$(basename "$(newest_set "$WORK/store/main")")"
drive_admin POST /stats/reset >/dev/null
drive_admin POST /faults '{"rules": [{"match": {"kind": "upload_chunk"}, "action": "delay", "ms": 150}]}' >/dev/null
(rs_exec "$conf" upload --no-progress >"$WORK/killed.out" 2>&1) &
uploader=$!
chunks_in() { [[ "$(drive_admin GET /stats | json 'd.requests.upload_chunk || 0')" -ge 4 ]]; }
wait_for "a few chunks of the upload" 60 chunks_in
kill -TERM "$uploader"
rc=0
wait "$uploader" || rc=$?
assert_eq 130 "$rc" "a cancelled upload exits 130"
drive_admin DELETE /faults >/dev/null
assert_not_contains "$(run list --store drive)" "$id3" "a half-uploaded set is not listed"
run upload --no-progress >/dev/null
assert_eq "$(drive_set_files "$id3" | wc -l)" "$(cd "$WORK/store/main/$id3" && find . -type f | wc -l)" \
  "the next upload finishes the set, with no file twice"
pass "an interrupted upload is finished by the next one"

# ----------------------------------------------------------------- 30% of requests failing
psql_as x app -c "INSERT INTO s VALUES (13)"
run backup >/dev/null
id4="$(basename "$(newest_set "$WORK/store/main")")"
drive_admin POST /stats/reset >/dev/null
drive_fail_30_percent 11
start_s="$SECONDS"
timeout 300 bash -c "$(declare -f rs); RAMSAFE_TEST_BIN='$RAMSAFE_TEST_BIN'; rs '$conf' upload --no-progress" >/dev/null 2>&1 ||
  fail "the upload did not complete within 300 s with 30% of requests failing"
stats="$(drive_admin GET /stats)"
total="$(json 'Object.values(d.requests).reduce((a, b) => a + b, 0)' <<<"$stats")"
faults="$(json 'Object.values(d.faults).reduce((a, b) => a + b, 0)' <<<"$stats")"
drive_admin DELETE /faults >/dev/null
assert_contains "$(run verify --store drive "$id4")" "): ok" "the set is complete on Drive"
pass "30% failing requests ($faults of $total): upload complete in $((SECONDS - start_s)) s"

# ------------------------------------------------------------ boot restore from Drive alone
expected="$(checksum)"
pg_stop_cluster x
pg_wipe_data x
rm -rf "$WORK/store/main"
# Downloads cut mid-body resume with Range.
drive_admin POST /stats/reset >/dev/null
drive_admin POST /faults '{"seed": 3, "rules": [{"match": {"kind": "media"}, "action": "reset",
  "afterBytes": {"random": [1000, 400000]}, "probability": 0.5, "count": 4}]}' >/dev/null
out="$(run restore --no-progress)"
assert_contains "$out" "restored backup $id4" "restore took the newest set from Drive"
cut="$(drive_admin GET /stats | json 'd.faults.reset || 0')"
[[ "$cut" -ge 1 ]] || fail "no download was cut"
drive_admin DELETE /faults >/dev/null
pg_start_existing x
assert_eq "$expected" "$(checksum)" "the data is back, from Drive alone"
assert_eq 13 "$(psql_as x app -c 'SELECT max(g) FROM s')" "up to the last backup"
pass "boot restore from Drive alone, $cut downloads cut and resumed"

# Corrupt the newest remote set's database file: restore falls back to the previous one.
db_file_id="$(drive_set_files "$id4" | awk -F'\t' '$1 ~ /^db\/app/ {print $2}')"
drive_admin POST "/files/$db_file_id/corrupt" '{"offset": 5000}' >/dev/null
out="$(run verify --store drive "$id4" 2>&1)" && fail "verify missed the corrupted file on Drive"
assert_contains "$out" "DAMAGED" "verify flags the corrupted file on Drive"
pg_stop_cluster x
pg_wipe_data x
out="$(run restore --no-progress 2>&1)"
assert_contains "$out" "RESTORE OF BACKUP $id4 FAILED" "the damaged set is reported"
assert_contains "$out" "falling back to the next older backup $id3" "and the fallback named"
pg_start_existing x
assert_eq 12 "$(psql_as x app -c 'SELECT max(g) FROM s')" "the previous set restored"
pass "a corrupted newest remote set falls back to the previous one"

# ------------------------------------------------------------------- tokens, TLS, login
drive_admin POST /expire-tokens >/dev/null
assert_contains "$(run list --store drive)" "$id4" "after the tokens expired early: a 401, a fresh token, success"
grep -v '^ramsafe.drive_ca_file' "$conf" >"$WORK/no-ca.conf"
chown postgres:postgres "$WORK/no-ca.conf"
start_s="$SECONDS"
rc=0
out="$(rs "$WORK/no-ca.conf" list --store drive 2>&1)" || rc=$?
assert_eq 1 "$rc" "a server certificate from an unknown CA: exit code"
assert_contains "$out" "does not verify against the trusted CA bundle" "a certificate that does not verify is refused"
[[ $((SECONDS - start_s)) -lt 10 ]] || fail "an untrusted certificate was retried for $((SECONDS - start_s)) s"
pass "tokens refreshed after a 401; TLS verification on and not retried"

login_conf="$(ramsafe_config x "ramsafe.drive_ca_file = '$DRIVE_CA'" "ramsafe.drive_oauth_url = '$DRIVE_URL'")"
drive_device_login "$login_conf" "$WORK/pi.json"
assert_contains "$(cat "$WORK/pi.json.log")" "https://www.google.com/device" "it shows the verification URL"
assert_eq 600 "$(stat -c %a "$WORK/pi.json")" "the token file is mode 0600"
all_output+="$(cat "$WORK/pi.json.log")"$'\n'
mapfile -t lines < <(drive_settings "$WORK/pi.json")
pi_conf="$(ramsafe_config x "${lines[@]}")"
run backup >/dev/null
out="$(rs "$pi_conf" upload --no-progress 2>&1)" || fail "upload with the drive-login token failed" "$out"
assert_contains "$out" "to drive My Drive/main" "the user's token uploads to their My Drive"
pass "drive-login: device flow, token file 0600, uploads with it"

# ------------------------------------------------------------------------ bad credentials
run backup >/dev/null  # a local set for the uploads below to fail on
expect_failure() { # expect_failure CODE CONF TEXT DESC ARGS...
  local code="$1" c="$2" text="$3" desc="$4" rc=0 out
  shift 4
  out="$(rs "$c" "$@" 2>&1)" || rc=$?
  all_output+="$out"$'\n'
  assert_eq "$code" "$rc" "$desc: exit code"
  assert_contains "$out" "$text" "$desc"
  note "$desc: $out"
  [[ "$out" != *"terminate called"* && "$out" != *"Segmentation"* ]] || fail "$desc: crashed"
}
printf 'not json' >"$DRIVE_DIR/garbage.json"
chown postgres:postgres "$DRIVE_DIR/garbage.json"
chmod 0600 "$DRIVE_DIR/garbage.json"
mapfile -t lines < <(drive_settings "$DRIVE_DIR/garbage.json" backups-sd)
expect_failure 2 "$(ramsafe_config x "${lines[@]}")" \
  "ramsafe.drive_credentials_file: $DRIVE_DIR/garbage.json: not a JSON object" "a credentials file that is not JSON" list --store drive

cp -p "$DRIVE_DIR/sa.json" "$DRIVE_DIR/open.json"
chmod 0644 "$DRIVE_DIR/open.json"
mapfile -t lines < <(drive_settings "$DRIVE_DIR/open.json" backups-sd)
expect_failure 2 "$(ramsafe_config x "${lines[@]}")" "has mode 0644" "a world-readable key file" list --store drive

drive_service_account stranger --unregistered
mapfile -t lines < <(drive_settings "$DRIVE_DIR/stranger.json" backups-sd)
expect_failure 1 "$(ramsafe_config x "${lines[@]}")" \
  "Google refused the credentials of service account stranger@ramsafe-test.iam.gserviceaccount.com" \
  "a key Google does not know" list --store drive

mapfile -t lines < <(drive_settings "$DRIVE_DIR/sa.json" "")
expect_failure 1 "$(ramsafe_config x "${lines[@]}")" "service accounts have no Drive storage of their own" \
  "a service account outside a shared drive" upload

drive_user_token alice
mapfile -t lines < <(drive_settings "$DRIVE_DIR/alice.json")
alice_conf="$(ramsafe_config x "${lines[@]}")"
drive_admin POST /settings '{"user_quota_bytes": 100000}' >/dev/null
expect_failure 1 "$alice_conf" "Drive has no space" "a user over quota" upload
drive_admin POST /settings '{"user_quota_bytes": null}' >/dev/null
alice_token="$(json d.refresh_token <"$DRIVE_DIR/alice.json")"
drive_admin POST /refresh-tokens/revoke "{\"refresh_token\": \"$alice_token\"}" >/dev/null
expect_failure 1 "$alice_conf" "Token has been expired or revoked" "a revoked refresh token" list --store drive
assert_contains "$all_output" "run \`ramsafe drive-login\` again" "the revoked token's message says what to do"
pass "bad credentials file, unknown key, revoked token, quota: one clear message each"

assert_no_secrets "$all_output" "companion output"
assert_no_secrets "$(cat "$DRIVE_DIR/emulator.log")" "emulator log"
assert_no_secrets "$(cat "$(pg_logfile x)")" "server log"
pass "no secret or token in any output or log"

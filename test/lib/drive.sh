# shellcheck shell=bash
# The Google Drive v3 emulator (test/drive_emulator/) for integration tests. Source after
# common.sh (and ramsafe.sh).
#
#   drive_start                    certs + emulator in $WORK/drive; sets DRIVE_URL, DRIVE_CA
#   drive_admin METHOD PATH [JSON] call the emulator's /__admin API, print the answer
#   drive_service_account NAME [--unregistered]
#                                  RSA key + Google-style key file $WORK/drive/NAME.json
#                                  (postgres, 0600); registered with the emulator unless told
#   drive_user_token NAME          OAuth client + refresh token in $WORK/drive/NAME.json
#   drive_shared_drive ID [KEY_FILE ROLE]
#                                  a shared drive with that id; with a service account's
#                                  key file, that account is its only member, with ROLE
#                                  (organizer = Manager, fileOrganizer = Content manager,
#                                  writer = Contributor); without, anyone is organizer
#   drive_principal KEY_FILE       the client_email of a service account key file
#   drive_settings FILE [FOLDER]   the ramsafe.drive_* lines for a credentials file (a service
#                                  account key or a user token, told apart by its type)
#   json EXPR                      evaluate a JS expression over stdin's JSON as `d`
#   drive_set_files ID             the emulator's live files of backup set ID (not in the
#                                  trash, where ramsafe moves what it removes in a shared
#                                  drive), one "path<TAB>id<TAB>size" line each
#   drive_secrets                  every secret a test made, one per line (for leak checks)
#   drive_fail_30_percent SEED     fault plan: about 30% of Drive requests (not the token
#                                  endpoint) answer 429 or 503 or lose their connection
#   drive_cluster_folder CLUSTER   the id of ramsafe's folder for CLUSTER
#   drive_put TOKEN_FILE FOLDER NAME PROPS_JSON FILE
#                                  uploads FILE with curl as the holder of a user token (an
#                                  attacker with write access to the folder; no ramsafe)
#   drive_put_folder TOKEN_FILE PARENT NAME PROPS_JSON
#                                  likewise a folder; prints its id
#   drive_put_set TOKEN_FILE FOLDER DIR ID
#                                  every file of the set directory DIR, as set ID, tagged as
#                                  ramsafe tags a set's files (drive_put for each)
#   drive_device_login CONF OUT    `ramsafe drive-login -o OUT` with CONF, approved in the
#                                  emulator (client pi-client, user pi@example.com); fails
#                                  unless it exits 0; its output in OUT.log

DRIVE_DIR="$WORK/drive"

json() {
  node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
const r = eval(process.argv[1]);
if (r !== undefined) console.log(typeof r === "string" ? r : JSON.stringify(r));' "$1"
}

drive_start() {
  mkdir -p "$DRIVE_DIR/state"
  chmod 0755 "$DRIVE_DIR"
  bash "$RAMSAFE_REPO_DIR/test/drive_emulator/make_certs.sh" "$DRIVE_DIR/certs" >"$DRIVE_DIR/certs.log" 2>&1 ||
    fail "make_certs.sh failed" "$(cat "$DRIVE_DIR/certs.log")"
  chmod 0755 "$DRIVE_DIR/certs"
  chmod 0644 "$DRIVE_DIR/certs/ca.pem"
  DRIVE_CA="$DRIVE_DIR/certs/ca.pem"
  node "$RAMSAFE_REPO_DIR/test/drive_emulator/server.js" --cert "$DRIVE_DIR/certs/server.pem" \
    --key "$DRIVE_DIR/certs/server.key" --state-dir "$DRIVE_DIR/state" 2>"$DRIVE_DIR/emulator.log" &
  DRIVE_PID=$!
  ramsafe_on_exit "kill $DRIVE_PID 2>/dev/null; wait $DRIVE_PID 2>/dev/null || true"
  wait_for "the Drive emulator to listen" 30 test -s "$DRIVE_DIR/state/port"
  DRIVE_URL="https://127.0.0.1:$(cat "$DRIVE_DIR/state/port")"
  DRIVE_SECRETS=()
}

drive_admin() {
  local method="$1" path="$2" body="${3:-}"
  local args=(-sS --fail-with-body --cacert "$DRIVE_CA" -X "$method" "$DRIVE_URL/__admin$path")
  # The body (it may hold a test token) goes through stdin, never argv.
  [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary @-)
  curl "${args[@]}" <<<"$body" || fail "drive_admin $method $path failed"
}

drive_service_account() {
  local name="$1"
  local key="$DRIVE_DIR/$name.key" email="$name@ramsafe-test.iam.gserviceaccount.com"
  openssl genrsa -out "$key" 2048 2>/dev/null || fail "openssl genrsa failed"
  node -e 'const fs = require("fs");
const [key, email, uri, out] = process.argv.slice(1);
fs.writeFileSync(out, JSON.stringify({type: "service_account", project_id: "ramsafe-test",
  private_key_id: "k1", private_key: fs.readFileSync(key, "utf8"), client_email: email,
  client_id: "1", token_uri: uri}, null, 2), {mode: 0o600});' "$key" "$email" "$DRIVE_URL/token" "$DRIVE_DIR/$name.json"
  chown postgres:postgres "$DRIVE_DIR/$name.json"
  chmod 0600 "$DRIVE_DIR/$name.json"
  DRIVE_SECRETS+=("$(sed -n 2p "$key")")  # a line of the private key's base64
  if [[ "${2:-}" != --unregistered ]]; then
    local pub
    pub="$(openssl rsa -in "$key" -pubout 2>/dev/null)"
    drive_admin POST /service-accounts \
      "$(node -e 'console.log(JSON.stringify({client_email: process.argv[1], public_key_pem: process.argv[2]}))' "$email" "$pub")" >/dev/null
  fi
}

drive_user_token() {
  local name="$1" token
  local client="client-$name" secret="secret-$RANDOM$RANDOM-$name"
  drive_admin POST /oauth-clients "{\"client_id\":\"$client\",\"client_secret\":\"$secret\"}" >/dev/null
  token="$(drive_admin POST /refresh-tokens "{\"client_id\":\"$client\",\"user\":\"$name@example.com\"}" | json d.refresh_token)"
  # Secrets through the environment, not argv.
  C="$client" S="$secret" T="$token" node -e 'const fs = require("fs"); const e = process.env;
fs.writeFileSync(process.argv[1], JSON.stringify({type: "authorized_user", client_id: e.C,
  client_secret: e.S, refresh_token: e.T}, null, 2), {mode: 0o600});' "$DRIVE_DIR/$name.json"
  chown postgres:postgres "$DRIVE_DIR/$name.json"
  chmod 0600 "$DRIVE_DIR/$name.json"
  DRIVE_SECRETS+=("$secret" "$token")
}

drive_shared_drive() {
  local members=""
  [[ $# -ge 3 ]] && members=",\"members\":{\"$(drive_principal "$2")\":\"$3\"}"
  drive_admin POST /drives "{\"id\":\"$1\",\"name\":\"$1\"$members}" >/dev/null
}

drive_principal() {
  json d.client_email <"$1"
}

drive_settings() {
  local file="$1" folder="${2:-}" setting=drive_credentials_file
  grep -q '"authorized_user"' "$file" && setting=drive_token_file
  printf '%s\n' "ramsafe.$setting = '$file'" "ramsafe.drive_folder_id = '$folder'" \
    "ramsafe.drive_ca_file = '$DRIVE_CA'" "ramsafe.drive_api_url = '$DRIVE_URL'" \
    "ramsafe.drive_oauth_url = '$DRIVE_URL'" "ramsafe.drive_chunk_kb = 256"
}

drive_set_files() {
  drive_admin GET /files | json "d.files.filter(f => f.appProperties && f.appProperties.ramsafe_set === '$1' && !f.trashed)
    .map(f => f.appProperties.ramsafe_path + '\t' + f.id + '\t' + f.size).sort().join('\n')"
}

drive_secrets() {
  printf '%s\n' "${DRIVE_SECRETS[@]}"
  # Access tokens the emulator issued have this prefix; none may appear anywhere.
  printf '%s\n' "ya29.emu-"
}

# assert_no_secrets TEXT DESC: none of drive_secrets appears in TEXT.
assert_no_secrets() {
  local text="$1" desc="$2" secret
  while IFS= read -r secret; do
    [[ -z "$secret" ]] && continue
    [[ "$text" == *"$secret"* ]] && fail "$desc: a secret appears (${secret:0:6}...)"
  done < <(drive_secrets)
  return 0
}

drive_fail_30_percent() {
  drive_admin POST /faults '{"seed": '"$1"', "rules": [
  {"match": {"tokenEndpoint": false}, "action": "status", "status": 429, "probability": 0.12},
  {"match": {"tokenEndpoint": false}, "action": "status", "status": 503, "probability": 0.12},
  {"match": {"tokenEndpoint": false}, "action": "reset", "afterBytes": {"random": [0, 200000]}, "probability": 0.12}]}' >/dev/null
}

drive_cluster_folder() {
  drive_admin GET /files | json "d.files.find(f => f.appProperties && f.appProperties.ramsafe_cluster === '$1' && !f.trashed).id"
}

# The access token of a user token file, into a header file for curl -H @FILE (the
# refresh token through stdin: never in argv); fetched once per token file.
declare -A DRIVE_AUTH_HEADERS=()
_drive_auth_header() {
  local token_file="$1" header="$2" access
  if [[ -n "${DRIVE_AUTH_HEADERS[$token_file]:-}" ]]; then
    cp "${DRIVE_AUTH_HEADERS[$token_file]}" "$header"
    return
  fi
  access="$(node -e 'const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
process.stdout.write(new URLSearchParams({grant_type: "refresh_token", client_id: t.client_id,
  client_secret: t.client_secret, refresh_token: t.refresh_token}).toString());' "$token_file" |
    curl -sS --fail-with-body --cacert "$DRIVE_CA" --data-binary @- "$DRIVE_URL/token" | json d.access_token)" ||
    fail "no access token for $token_file"
  printf 'Authorization: Bearer %s\n' "$access" >"$header"
  DRIVE_AUTH_HEADERS[$token_file]="$DRIVE_DIR/auth.${#DRIVE_AUTH_HEADERS[@]}"
  cp "$header" "${DRIVE_AUTH_HEADERS[$token_file]}"
}

drive_put() {
  local token_file="$1" folder="$2" name="$3" props="$4" file="$5"
  local tmp="$DRIVE_DIR/put.$$"
  _drive_auth_header "$token_file" "$tmp.hdr"
  {
    printf -- '--b0undary\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n'
    node -e 'console.log(JSON.stringify({name: process.argv[1], parents: [process.argv[2]],
  appProperties: JSON.parse(process.argv[3])}))' "$name" "$folder" "$props"
    printf -- '\r\n--b0undary\r\nContent-Type: application/octet-stream\r\n\r\n'
    cat "$file"
    printf -- '\r\n--b0undary--\r\n'
  } >"$tmp.body"
  curl -sS --fail-with-body --cacert "$DRIVE_CA" -H @"$tmp.hdr" \
    -H 'Content-Type: multipart/related; boundary=b0undary' --data-binary @"$tmp.body" \
    "$DRIVE_URL/upload/drive/v3/files?uploadType=multipart&supportsAllDrives=true" >/dev/null ||
    { rm -f "$tmp.hdr" "$tmp.body"; fail "drive_put $name failed"; }
  rm -f "$tmp.hdr" "$tmp.body"
}

drive_put_folder() {
  local token_file="$1" parent="$2" name="$3" props="$4" tmp="$DRIVE_DIR/put.$$"
  _drive_auth_header "$token_file" "$tmp.hdr"
  node -e 'console.log(JSON.stringify({name: process.argv[1], parents: [process.argv[2]],
  mimeType: "application/vnd.google-apps.folder", appProperties: JSON.parse(process.argv[3])}))' \
    "$name" "$parent" "$props" |
    curl -sS --fail-with-body --cacert "$DRIVE_CA" -H @"$tmp.hdr" -H 'Content-Type: application/json' \
      --data-binary @- "$DRIVE_URL/drive/v3/files?supportsAllDrives=true" | json d.id ||
    { rm -f "$tmp.hdr"; fail "drive_put_folder $name failed"; }
  rm -f "$tmp.hdr"
}

drive_put_set() {
  local token_file="$1" folder="$2" dir="$3" id="$4" f path
  while IFS= read -r f; do
    path="${f#"$dir/"}"
    drive_put "$token_file" "$folder" "$id/$path" \
      "{\"ramsafe_set\":\"$id\",\"ramsafe_path\":\"$path\",\"ramsafe_role\":\"x\"}" "$f"
  done < <(find "$dir" -type f | sort)
}

drive_device_login() {
  local conf="$1" out="$2" pid rc=0 user_code
  if [[ ! -f "$DRIVE_DIR/pi-client-secret" ]]; then
    drive_admin POST /oauth-clients '{"client_id": "pi-client", "client_secret": "pi-secret-3301"}' >/dev/null
    drive_admin POST /settings '{"device_interval": 1}' >/dev/null
    DRIVE_SECRETS+=("pi-secret-3301")
    printf 'pi-secret-3301\n' >"$DRIVE_DIR/pi-client-secret"
    chown postgres:postgres "$DRIVE_DIR/pi-client-secret"
    chmod 0600 "$DRIVE_DIR/pi-client-secret"
  fi
  (rs_exec "$conf" drive-login --client-id pi-client --client-secret-file "$DRIVE_DIR/pi-client-secret" \
    -o "$out" >"$out.log" 2>&1) &
  pid=$!
  ramsafe_on_exit "kill $pid 2>/dev/null"
  wait_for "drive-login to show the code" 30 grep -q "enter the code" "$out.log"
  user_code="$(sed -n 's/.*enter the code \([A-Z0-9-]*\).*/\1/p' "$out.log")"
  drive_admin POST /device/approve "{\"user_code\": \"$user_code\", \"user\": \"pi@example.com\"}" >/dev/null
  wait "$pid" || rc=$?
  assert_eq 0 "$rc" "drive-login exits 0 once approved"
  DRIVE_SECRETS+=("$(json d.refresh_token <"$out")")
}

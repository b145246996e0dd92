#!/bin/bash
# Test of the Drive emulator itself: Google's official Node client against it
# (official_client_check.js), then curl checks of protocol corners the official
# client never exercises. Prints "ok - ..." per check; exits non-zero on the first
# failure. Needs node, openssl, curl, and test/node_modules (npm ci in test/).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
node_modules=$here/../node_modules
for tool in node openssl curl; do
  command -v "$tool" >/dev/null || { echo "not ok - $tool is not installed"; exit 1; }
done
[ -d "$node_modules/@googleapis/drive" ] && [ -d "$node_modules/google-auth-library" ] ||
  { echo "not ok - $node_modules lacks the Google client: run 'npm ci' in test/"; exit 1; }

work=$(mktemp -d)
emulator_pid=
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "not ok - $*"
  echo "--- last emulator log lines:"; tail -n 20 "$work/emulator.log" 2>/dev/null || true
  exit 1
}
ok() { echo "ok - $*"; }

bash "$here/make_certs.sh" "$work/certs"
ca=$work/certs/ca.pem
node "$here/server.js" --cert "$work/certs/server.pem" --key "$work/certs/server.key" \
  --state-dir "$work/state" --port 0 2>"$work/emulator.log" &
emulator_pid=$!

# Wait for the port file (written atomically once listening), with a deadline.
deadline=$((SECONDS + 15))
until [ -s "$work/state/port" ]; do
  kill -0 "$emulator_pid" 2>/dev/null || fail "emulator exited before listening"
  [ $SECONDS -lt $deadline ] || fail "emulator did not write its port file within 15 s"
  sleep 0.05
done
port=$(cat "$work/state/port")
base=https://127.0.0.1:$port
ok "emulator listening on $base"

# ---- helpers ---------------------------------------------------------------------
# req METHOD URL [curl args...]: body to $work/body, headers to $work/headers,
# prints the status code.
req() {
  local method=$1 url=$2; shift 2
  curl -sS --noproxy '*' --cacert "$ca" -X "$method" -o "$work/body" -D "$work/headers" -w '%{http_code}' "$@" "$url"
}
# json EXPR: evaluates a JS expression over the parsed $work/body (bound to `b`).
json() { node -e 'const b=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const v=eval(process.argv[2]);process.stdout.write(typeof v==="object"?JSON.stringify(v):String(v))' "$work/body" "$1"; }
header() { tr -d '\r' <"$work/headers" | awk -v h="$(echo "$1" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1)==h {print $2}' | tail -n 1; }
admin() { # admin METHOD PATH [JSON]
  local code
  code=$(req "$1" "$base/__admin$2" -H 'Content-Type: application/json' ${3:+--data-binary "$3"})
  [ "$code" = 200 ] || fail "admin $1 $2 answered $code: $(cat "$work/body")"
}
expect() { # expect WHAT GOT WANT
  [ "$2" = "$3" ] || fail "$1: got '$2', want '$3' (body: $(head -c 600 "$work/body"))"
}
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# ---- 1. Google's official client ---------------------------------------------------
node "$here/official_client_check.js" --url "$base" --ca "$ca" || fail "official_client_check.js"
admin POST /reset

# ---- 2. OAuth: service-account JWT signed with openssl ------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/sa.key" 2>/dev/null
openssl pkey -in "$work/sa.key" -pubout -out "$work/sa.pub"
sa=backup@ramsafe-test.iam.gserviceaccount.com
admin POST /service-accounts "$(node -e 'console.log(JSON.stringify({client_email:process.argv[1],public_key_pem:require("fs").readFileSync(process.argv[2],"utf8")}))' "$sa" "$work/sa.pub")"
jwt() { # jwt ISS AUD LIFETIME [KEY]
  local now h c s
  now=$(date +%s)
  h=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
  c=$(printf '{"iss":"%s","scope":"https://www.googleapis.com/auth/drive","aud":"%s","iat":%d,"exp":%d}' "$1" "$2" "$now" $((now + $3)) | b64url)
  s=$(printf '%s.%s' "$h" "$c" | openssl dgst -sha256 -sign "${4:-$work/sa.key}" -binary | b64url)
  printf '%s.%s.%s' "$h" "$c" "$s"
}
grant=urn:ietf:params:oauth:grant-type:jwt-bearer
code=$(req POST "$base/token" --data-urlencode "grant_type=$grant" --data-urlencode "assertion=$(jwt "$sa" "$base/token" 3600)")
expect "service-account token" "$code $(json 'b.token_type+" "+b.expires_in')" "200 Bearer 3599"
sa_token=$(json b.access_token)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/other.key" 2>/dev/null
code=$(req POST "$base/token" --data-urlencode "grant_type=$grant" --data-urlencode "assertion=$(jwt "$sa" "$base/token" 3600 "$work/other.key")")
expect "JWT signed by another key" "$code $(json 'b.error+"/"+b.error_description')" "400 invalid_grant/Invalid JWT Signature."
code=$(req POST "$base/token" --data-urlencode "grant_type=$grant" --data-urlencode "assertion=$(jwt "$sa" "$base/token" 7200)")
expect "JWT living 2 h" "$code $(json 'b.error')" "400 invalid_grant"
code=$(req POST "$base/token" --data-urlencode "grant_type=$grant" --data-urlencode "assertion=$(jwt nobody@x.iam.gserviceaccount.com "$base/token" 3600)")
expect "unknown account" "$code $(json 'b.error_description')" "400 Invalid grant: account not found"
ok "JWT bearer grant: openssl-signed JWT accepted; wrong key, long lifetime, unknown account refused as Google does"

# ---- 3. OAuth: refresh tokens and the device flow ------------------------------------
admin POST /oauth-clients '{"client_id":"cli.apps.googleusercontent.com","client_secret":"sec"}'
code=$(req POST "$base/token" -d grant_type=refresh_token -d client_id=cli.apps.googleusercontent.com -d client_secret=wrong -d refresh_token=x)
expect "bad client secret" "$code $(json b.error)" "401 invalid_client"
code=$(req POST "$base/token" -d grant_type=refresh_token -d client_id=cli.apps.googleusercontent.com -d client_secret=sec -d refresh_token=unknown)
expect "unknown refresh token" "$code $(json b.error_description)" "400 Token has been expired or revoked."

admin POST /settings '{"device_interval":0}'
code=$(req POST "$base/device/code" -d client_id=cli.apps.googleusercontent.com -d scope=https://www.googleapis.com/auth/drive.file)
expect "device code" "$code $(json 'b.verification_url+" "+b.interval')" "200 https://www.google.com/device 0"
device_code=$(json b.device_code); user_code=$(json b.user_code)
poll() { req POST "$base/token" -d "grant_type=urn:ietf:params:oauth:grant-type:device_code" -d client_id=cli.apps.googleusercontent.com -d client_secret=sec -d "device_code=$1"; }
code=$(poll "$device_code"); expect "device flow pending" "$code $(json b.error)" "428 authorization_pending"
admin POST /device/approve "{\"user_code\":\"$user_code\",\"user\":\"bob@example.com\"}"
code=$(poll "$device_code")
expect "device flow approved" "$code $(json 'b.token_type+" "+(b.refresh_token.length>10)+" "+b.scope')" "200 Bearer true https://www.googleapis.com/auth/drive.file"
user_token=$(json b.access_token)
admin POST /settings '{"device_interval":5}'
code=$(req POST "$base/device/code" -d client_id=cli.apps.googleusercontent.com -d scope=https://www.googleapis.com/auth/drive)
device_code=$(json b.device_code); user_code=$(json b.user_code)
code=$(poll "$device_code"); expect "first poll" "$code" 428
code=$(poll "$device_code"); expect "poll faster than interval" "$code $(json b.error)" "403 slow_down"
admin POST /settings '{"device_interval":0}' # applies to codes issued from now on, as Google's interval does
code=$(req POST "$base/device/code" -d client_id=cli.apps.googleusercontent.com)
device_code=$(json b.device_code); user_code=$(json b.user_code)
admin POST /device/deny "{\"user_code\":\"$user_code\"}"
code=$(poll "$device_code"); expect "denied" "$code $(json b.error)" "403 access_denied"
admin POST /device/expire
code=$(req POST "$base/device/code" -d client_id=cli.apps.googleusercontent.com); device_code=$(json b.device_code)
admin POST /device/expire
code=$(poll "$device_code"); expect "expired device code" "$code $(json b.error)" "400 expired_token"
ok "device flow: 428 authorization_pending, 403 slow_down, 403 access_denied, 400 expired_token, 200 with refresh_token"

# A full-drive user token for the Drive checks below.
code=$(req POST "$base/__admin/refresh-tokens" -H 'Content-Type: application/json' -d '{"client_id":"cli.apps.googleusercontent.com","user":"carol@example.com"}')
refresh=$(json b.refresh_token)
code=$(req POST "$base/token" -d grant_type=refresh_token -d client_id=cli.apps.googleusercontent.com -d client_secret=sec --data-urlencode "refresh_token=$refresh")
expect "refresh grant" "$code" 200
tok=$(json b.access_token)
auth=(-H "Authorization: Bearer $tok")

# ---- 4. Drive auth errors, q and fields validation -----------------------------------
code=$(req GET "$base/drive/v3/files")
expect "no token" "$code $(json 'b.error.errors[0].reason+" "+b.error.status')" "401 authError UNAUTHENTICATED"
[[ "$(header WWW-Authenticate)" == Bearer\ realm=* ]] || fail "401 without WWW-Authenticate"
code=$(req GET "$base/drive/v3/files" "${auth[@]}" -G --data-urlencode "q=name = 'x' and size > 3")
expect "unsupported q" "$code $(json 'b.error.errors[0].reason+" "+b.error.message')" "400 invalid Invalid Value"
code=$(req GET "$base/drive/v3/files" "${auth[@]}" -G --data-urlencode "q=name = 'it\\'s' or (not name contains 'a\\\\b' and trashed = false)")
expect "escaped q" "$code" 200
code=$(req GET "$base/drive/v3/files" "${auth[@]}" -G --data-urlencode "fields=files(id,bogus)")
expect "bad fields" "$code $(json 'b.error.errors[0].reason')" "400 invalidParameter"
ok "Drive: 401 authError with WWW-Authenticate; q parser refuses unsupported terms and takes escapes; fields validated"

# ---- 5. storage quota -------------------------------------------------------------------
code=$(req POST "$base/upload/drive/v3/files?uploadType=media" -H "Authorization: Bearer $sa_token" --data-binary 'abc')
expect "SA upload to My Drive" "$code $(json 'b.error.errors[0].reason')" "403 storageQuotaExceeded"
[[ "$(json b.error.message)" == "Service Accounts do not have storage quota."* ]] || fail "SA quota message: $(json b.error.message)"
admin POST /settings '{"user_quota_bytes":10}'
code=$(req POST "$base/upload/drive/v3/files?uploadType=media" "${auth[@]}" --data-binary 'more than ten bytes')
expect "user over quota" "$code $(json 'b.error.errors[0].reason+"|"+b.error.message')" "403 storageQuotaExceeded|The user's Drive storage quota has been exceeded."
admin POST /settings '{"user_quota_bytes":null}'
ok "storageQuotaExceeded: service account outside a shared drive, and a user over the admin-set quota"

# ---- 6. shared drive visibility -----------------------------------------------------------
admin POST /drives '{"id":"0AsharedDriveTest","name":"Team"}'
code=$(req POST "$base/upload/drive/v3/files?uploadType=multipart&supportsAllDrives=true&fields=id,driveId" \
  -H "Authorization: Bearer $sa_token" -H 'Content-Type: multipart/related; boundary=BND' \
  --data-binary $'--BND\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{"name":"in-team.bin","parents":["0AsharedDriveTest"]}\r\n--BND\r\nContent-Type: application/octet-stream\r\n\r\nteam data\r\n--BND--')
expect "SA multipart into shared drive" "$code $(json b.driveId)" "200 0AsharedDriveTest"
team_id=$(json b.id)
code=$(req GET "$base/drive/v3/files/$team_id" "${auth[@]}"); expect "get without supportsAllDrives" "$code $(json b.error.message)" "404 File not found: $team_id."
code=$(req GET "$base/drive/v3/files/$team_id?supportsAllDrives=true&fields=id,name,size,md5Checksum" "${auth[@]}")
expect "get with supportsAllDrives" "$code $(json 'b.size+" "+b.md5Checksum')" "200 9 $(printf 'team data' | md5sum | cut -d' ' -f1)"
code=$(req GET "$base/drive/v3/files?q=name%3D%27in-team.bin%27" "${auth[@]}"); expect "list hides shared drive items" "$code $(json b.files.length)" "200 0"
code=$(req GET "$base/drive/v3/files?q=name%3D%27in-team.bin%27&corpora=drive&driveId=0AsharedDriveTest&includeItemsFromAllDrives=true&supportsAllDrives=true" "${auth[@]}")
expect "list corpora=drive" "$code $(json b.files.length)" "200 1"
ok "shared drives: items 404 without supportsAllDrives, listed only with includeItemsFromAllDrives"

# ---- 7. resumable upload corners ------------------------------------------------------------
KiB256=262144
head -c $((3 * KiB256 + 1000)) /dev/urandom >"$work/blob"
total=$(stat -c %s "$work/blob")
part() { dd if="$work/blob" of="$work/chunk" iflag=skip_bytes,count_bytes skip="$1" count="$2" status=none; } # OFFSET LEN
init() {
  code=$(req POST "$base/upload/drive/v3/files?uploadType=resumable&supportsAllDrives=true&fields=id,size,md5Checksum" \
    "${auth[@]}" -H 'Content-Type: application/json; charset=UTF-8' -H "X-Upload-Content-Length: $total" \
    --data-binary '{"name":"resumable.bin","parents":["0AsharedDriveTest"]}')
  expect "resumable initiation" "$code" 200
  session=$(header Location)
  [[ "$session" == "$base/upload/drive/v3/files?"*upload_id=* ]] || fail "Location: $session"
}
put() { # put RANGE [body file] -> status
  if [ $# -gt 1 ]; then req PUT "$session" -H "Content-Range: bytes $1" --data-binary "@$2"
  else req PUT "$session" -H "Content-Range: bytes $1" -H 'Content-Length: 0'; fi
}
init
code=$(put "*/$total"); expect "status query before any byte" "$code [$(header Range)]" "308 []"
part 0 300000; code=$(put "0-299999/$total" "$work/chunk")
expect "non-final chunk not a multiple of 256 KiB" "$code $(json b.error.errors[0].reason)" "400 badRequest"
[[ "$(json b.error.message)" == *"multiple of 256 KiB"* ]] || fail "256 KiB message: $(json b.error.message)"
admin POST /faults '{"rules":[{"match":{"kind":"upload_chunk"},"action":"partial","keepBytes":300000,"count":1}]}'
part 0 $((2 * KiB256)); code=$(put "0-$((2 * KiB256 - 1))/$total" "$work/chunk")
expect "partly received chunk" "$code $(header Range)" "308 bytes=0-$((KiB256 - 1))"
code=$(put "*/$total"); expect "status query" "$code $(header Range)" "308 bytes=0-$((KiB256 - 1))"
part $((2 * KiB256)) $KiB256; code=$(put "$((2 * KiB256))-$((3 * KiB256 - 1))/$total" "$work/chunk")
expect "chunk past the committed offset (gap)" "$code" 400
part $((KiB256 - 1000)) $((KiB256 + 1000)); code=$(put "$((KiB256 - 1000))-$((2 * KiB256 - 1))/$total" "$work/chunk")
expect "chunk overlapping committed bytes" "$code $(header Range)" "308 bytes=0-$((2 * KiB256 - 1))"
code=$(put "*/$((total + 1))"); expect "declared total changed" "$code" 400
part $((2 * KiB256)) $((KiB256 + 1000)); code=$(put "$((2 * KiB256))-$((total - 1))/$total" "$work/chunk")
expect "final chunk" "$code $(json 'b.size+" "+b.md5Checksum')" "200 $total $(md5sum <"$work/blob" | cut -d' ' -f1)"
file_id=$(json b.id)
cp "$work/blob" "$work/file"; file_size=$total # what sections 8 and 10 download and corrupt
code=$(put "*/$total"); expect "status query after completion" "$code $(json b.id)" "200 $file_id"
ok "resumable: 256 KiB rule, partial chunk -> 308 Range, status query, gap refused, overlap accepted, total fixed, completion"

init
part 0 $KiB256; code=$(put "0-$((KiB256 - 1))/*" "$work/chunk"); expect "chunk with unknown total" "$code" 308
admin POST /expire-upload-sessions
code=$(put "*/*"); expect "expired session" "$code $(json b.error.errors[0].reason)" "404 notFound"
ok "resumable: 404 notFound once the admin expires the session"

# A client whose connection drops mid-chunk: bytes received are committed rounded
# down to 256 KiB. curl is throttled and cut by --max-time to drop the connection.
head -c $((16 * KiB256)) /dev/urandom >"$work/blob"
total=$(stat -c %s "$work/blob")
init
part 0 $((12 * KiB256))
curl -sS --noproxy '*' --cacert "$ca" -X PUT -H "Content-Range: bytes 0-$((12 * KiB256 - 1))/$total" --data-binary "@$work/chunk" \
  --limit-rate 1M --max-time 1 -o /dev/null "$session" 2>/dev/null && fail "throttled upload was not cut"
# The server may see the drop a moment after curl gives up: poll, with a deadline.
deadline=$((SECONDS + 5))
while :; do
  code=$(put "*/$total")
  committed=$(header Range | sed -n 's/bytes=0-//p')
  [ -n "$committed" ] && [ "$code" = 308 ] && break
  [ $SECONDS -lt $deadline ] || fail "no bytes committed after a dropped chunk ($code)"
  sleep 0.05
done
[ $(((committed + 1) % KiB256)) = 0 ] && [ "$committed" -lt $((12 * KiB256 - 1)) ] ||
  fail "committed after drop: 0-$committed (not a 256 KiB multiple below the chunk)"
ok "resumable: a dropped connection commits $((committed + 1)) bytes (rounded down to 256 KiB)"

# ---- 8. downloads -----------------------------------------------------------------------------
code=$(req GET "$base/drive/v3/files/$file_id?alt=media&supportsAllDrives=true" "${auth[@]}" -H "Range: bytes=$file_size-")
expect "range past the end" "$code $(header Content-Range)" "416 bytes */$file_size"
code=$(req GET "$base/drive/v3/files/$file_id?alt=media&supportsAllDrives=true" "${auth[@]}" -H "Range: bytes=-10")
expect "suffix range" "$code $(header Content-Range) $(md5sum <"$work/body" | cut -c1-32)" "206 bytes $((file_size - 10))-$((file_size - 1))/$file_size $(tail -c 10 "$work/file" | md5sum | cut -c1-32)"
code=$(req GET "$base/drive/v3/files/0AsharedDriveTest?alt=media&supportsAllDrives=true" "${auth[@]}")
expect "folder download" "$code $(json b.error.errors[0].reason)" "403 fileNotDownloadable"
admin POST /faults '{"rules":[{"match":{"kind":"media"},"action":"reset","afterBytes":5000,"count":1}]}'
set +e
curl -sS --noproxy '*' --cacert "$ca" "${auth[@]}" -o "$work/cut" "$base/drive/v3/files/$file_id?alt=media&supportsAllDrives=true" 2>/dev/null
rc=$?
set -e
[ $rc -ne 0 ] && [ "$(stat -c %s "$work/cut")" = 5000 ] || fail "download reset: curl rc $rc, $(stat -c %s "$work/cut") bytes"
ok "downloads: 416 with Content-Range */size, suffix range 206, folder 403 fileNotDownloadable, reset after 5000 bytes"

# ---- 9. fault rules fire `count` times, then stop --------------------------------------------
admin POST /stats/reset
admin POST /faults '{"seed":1,"rules":[{"match":{"method":"GET","path":"/drive/v3/files"},"action":"status","status":503,"count":2},{"match":{"kind":"list"},"action":"status","status":429,"retryAfter":2,"skip":1,"count":1}]}'
codes="" retry_after=""
for _ in 1 2 3 4 5; do
  code=$(req GET "$base/drive/v3/files" "${auth[@]}")
  codes="$codes $code"
  [ "$code" != 429 ] || retry_after="$(header Retry-After) $(json 'b.error.errors[0].reason')"
done
expect "fault sequence" "$codes" " 503 503 200 429 200"
expect "429 body and Retry-After" "$retry_after" "2 rateLimitExceeded"
admin GET /stats
expect "stats" "$(json 'b.faults.status+" "+b.requests.list+" "+b.statuses["list 503"]')" "3 5 2"
code=$(req GET "$base/drive/v3/files" "${auth[@]}"); expect "plan exhausted" "$code" 200
admin POST /faults '{"rules":[{"match":{"tokenEndpoint":true},"action":"status","status":403,"reason":"userRateLimitExceeded","count":1},{"match":{"kind":"get"},"action":"status","status":403,"reason":"userRateLimitExceeded","count":1}]}'
code=$(req GET "$base/drive/v3/files/$file_id?supportsAllDrives=true" "${auth[@]}")
expect "403 userRateLimitExceeded" "$code $(json 'b.error.errors[0].reason+"/"+b.error.errors[0].domain')" "403 userRateLimitExceeded/usageLimits"
admin DELETE /faults
ok "faults: status rules fire exactly count times (with skip), counted in /__admin/stats; Google-shaped 403 rate-limit body"

# ---- 10. admin file access and corruption ---------------------------------------------------
code=$(req POST "$base/__admin/files/$file_id/corrupt" -H 'Content-Type: application/json' -d '{"offset":100}')
expect "corrupt" "$code" 200
code=$(req GET "$base/drive/v3/files/$file_id?supportsAllDrives=true&fields=md5Checksum" "${auth[@]}")
corrupted_md5=$(json b.md5Checksum)
code=$(req GET "$base/__admin/files/$file_id/content")
[ "$(md5sum <"$work/body" | cut -c1-32)" = "$corrupted_md5" ] && [ "$corrupted_md5" != "$(md5sum <"$work/file" | cut -c1-32)" ] ||
  fail "corrupted md5"
cmp -s "$work/body" "$work/file" && fail "content not corrupted"
ok "admin: corrupt flips a bit; Drive then reports the md5 of the stored content"

# ---- 11. lost responses and incomplete searches ---------------------------------------------
# loseResponse: the server carries the request out, the client never hears back.
admin POST /faults '{"rules":[{"match":{"kind":"create"},"action":"loseResponse","count":1}]}'
set +e
curl -sS --noproxy '*' --cacert "$ca" "${auth[@]}" -H 'Content-Type: application/json' -o /dev/null \
  --data-binary '{"name":"lost-answer","mimeType":"application/vnd.google-apps.folder"}' "$base/drive/v3/files" 2>/dev/null
rc=$?
set -e
[ $rc = 52 ] || fail "a lost response: curl exit $rc, want 52 (empty reply)"
admin DELETE /faults
code=$(req GET "$base/drive/v3/files" "${auth[@]}" -G --data-urlencode "q=name = 'lost-answer'")
expect "the folder whose answer was lost exists" "$code $(json b.files.length)" "200 1"
ok "loseResponse: the create is carried out, the client gets no answer (curl exit 52)"

admin POST /settings '{"incomplete_search":"allDrives"}'
code=$(req GET "$base/drive/v3/files?q=name%3D%27in-team.bin%27&corpora=allDrives&includeItemsFromAllDrives=true&supportsAllDrives=true" "${auth[@]}")
expect "allDrives listing with incomplete_search" "$code $(json 'b.incompleteSearch+" "+b.files.length')" "200 true 0"
code=$(req GET "$base/drive/v3/files?q=name%3D%27in-team.bin%27&corpora=drive&driveId=0AsharedDriveTest&includeItemsFromAllDrives=true&supportsAllDrives=true" "${auth[@]}")
expect "corpora=drive listing with incomplete_search" "$code $(json 'b.incompleteSearch+" "+b.files.length')" "200 false 1"
admin POST /settings '{"incomplete_search":"always"}'
code=$(req GET "$base/drive/v3/files?q=name%3D%27in-team.bin%27&corpora=drive&driveId=0AsharedDriveTest&includeItemsFromAllDrives=true&supportsAllDrives=true" "${auth[@]}")
expect "any listing with incomplete_search always" "$code $(json 'b.incompleteSearch')" "200 true"
admin POST /settings '{"incomplete_search":null}'
ok "incompleteSearch: corpora=allDrives leaves shared drives out and says so; corpora=drive is complete"

grep -q "$tok" "$work/emulator.log" && fail "an access token reached the log"
grep -q "$refresh" "$work/emulator.log" && fail "a refresh token reached the log"
ok "the log holds no tokens"

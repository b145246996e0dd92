#!/usr/bin/env bash
# Fuzzing drill: builds the libFuzzer targets of test/drills/fuzz/ (clang, AddressSanitizer,
# UndefinedBehaviorSanitizer) and runs each for N seconds on seeds written here.
#
#   test/drills/fuzz.sh [--seconds N]     N per target; 20 by default, e.g. 600 for a long run
#
# Prints "fuzz <target>: <execs> executions, <crashes> crashes" per target and a summary
# line; exits non-zero on any crash, keeping the crashing input (and the log with its
# stack) under the directory it names. The build, the growing corpora and the crash
# directories live in $RAMSAFE_FUZZ_BUILD_DIR (default: build-fuzz/ in the repository).
set -euo pipefail

seconds=20
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
    --seconds=*) seconds="${1#--seconds=}"; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
case "$seconds" in
  ''|*[!0-9]*|0) echo "fuzz.sh: --seconds wants a positive whole number, not \"$seconds\"" >&2
                 exit 2 ;;
esac

repo="$(cd "$(dirname "$0")/../.." && pwd)"
build="${RAMSAFE_FUZZ_BUILD_DIR:-$repo/build-fuzz}"
targets=(age_decrypt age_header manifest config cron)

# The fixed identity's recipient (its secret is in test/drills/fuzz/age_decrypt_fuzz.cc),
# and a second one, so that some seeds have two stanzas.
fuzz_recipient=age1vclu5vjlftv9zm92myys2tu4kv2twgy9wgjrdj4fu040f86mvqlq8ezz5h
other_recipient=age1598hceftpke4mlqjtzk605tmmuspcwjkcdm8wfregyltd3un2y9q49gf66

for tool in clang++ cmake age; do
  command -v "$tool" >/dev/null ||
    { echo "fuzz.sh: $tool not found: run scripts/setup --test" >&2; exit 1; }
done

# ---- build ----
mkdir -p "$build/logs"
build_log="$build/logs/build.log"
if ! { cmake -S "$repo/test/drills/fuzz" -B "$build" -DCMAKE_CXX_COMPILER=clang++ &&
       cmake --build "$build" -j "${RAMSAFE_FUZZ_JOBS:-2}"; } >"$build_log" 2>&1; then
  tail -n 40 "$build_log" >&2
  echo "fuzz.sh: the build failed (log: $build_log)" >&2
  exit 1
fi

# ---- seeds (rewritten each run; the corpora in $build/corpus keep what the fuzzer found) ----
seeds="$build/seeds"
rm -rf "$seeds"
for t in "${targets[@]}"; do mkdir -p "$seeds/$t" "$build/corpus/$t"; done
"$build/make_seeds" "$seeds"

printf 'hello, ramsafe\n' >"$seeds/plain-small"
head -c 65636 /dev/zero | tr '\0' 'x' >"$seeds/plain-two-chunks"  # 64 KiB + 100 bytes
: >"$seeds/plain-empty"
a="$seeds/age_decrypt"
age -r "$fuzz_recipient" -o "$a/small.age" "$seeds/plain-small"
age -r "$fuzz_recipient" -o "$a/empty.age" "$seeds/plain-empty"
age -r "$fuzz_recipient" -o "$a/two-chunks.age" "$seeds/plain-two-chunks"
age -a -r "$fuzz_recipient" -o "$a/small.age.asc" "$seeds/plain-small"
age -r "$other_recipient" -r "$fuzz_recipient" -o "$a/two-recipients.age" "$seeds/plain-small"
age -r "$other_recipient" -o "$a/not-for-us.age" "$seeds/plain-small"
rm -f "$seeds"/plain-*
for f in small.age empty.age two-recipients.age small.age.asc; do
  cp "$a/$f" "$seeds/age_header/$f"
done
# A header with a scrypt stanza and a body of exactly one full line (then the empty line).
printf 'age-encryption.org/v1\n-> scrypt c2FsdHNhbHRzYWx0c2FsdA 18\n%s\n\n--- %s\n' \
  "$(printf 'A%.0s' $(seq 64))" "$(printf 'A%.0s' $(seq 43))" >"$seeds/age_header/scrypt.hdr"

c="$seeds/config"
cat >"$c/typical.conf" <<'EOF'
# ramsafe settings, as in postgresql.conf
ramsafe.cluster_name = 'main'
ramsafe.local_dir = '/var/lib/ramsafe/backups'
ramsafe.recipients_file = '/etc/ramsafe/recipients.txt'
ramsafe.compression_level = 3
ramsafe.schedule = '*/15 9-17 * * mon-fri'
ramsafe.timezone = 'Europe/Berlin'
ramsafe.local_retention = 'last=3 hourly=24 daily=7'
ramsafe.drive_chunk_kb = 0x2000
ramsafe.port=5433
data_directory = '/run/postgresql/data'	# tab before the comment
unix_socket_directories = '/run/postgresql,/tmp'
port = 5433
include_if_exists 'extra.conf'
include_dir 'conf.d'
EOF
cat >"$c/quoting.conf" <<'EOF'
ramsafe.user = 'o''brien\tx\101\x41'
ramsafe.host "/tmp"
ramsafe.max_rate = 12.5
shared_buffers = 128MB
ramsafe.on_missing = init
include 'loop.conf'
EOF
# The include files parse_text may reach (relative to RAMSAFE_FUZZ_CONFIG_DIR).
config_dir="$seeds/config-include-dir"
mkdir -p "$config_dir/conf.d"
printf "ramsafe.restore_jobs = 4\ninclude_if_exists 'missing.conf'\n" >"$config_dir/extra.conf"
printf "ramsafe.ram_warn_percent = 90\n" >"$config_dir/conf.d/10-ram.conf"
printf "ramsafe.schedule = '@daily'\n" >"$config_dir/conf.d/20-schedule.conf"
printf "include 'loop.conf'\n" >"$config_dir/loop.conf"

i=0
for expr in '*/15 9-17 * * mon-fri' '@daily' '@hourly' '@weekly' '@monthly' '@yearly' \
            '0 * * * *' '30 2 * * *' '0 0 29 2 *' '0 0 30 2 *' '5,35 */2 1-7 jan-mar,OCT sun' \
            '0 3 1 * 7' '*/7 1-23/5 */3 * 1-5' '59 23 31 12 *'; do
  printf '%s' "$expr" >"$seeds/cron/$i.cron"
  i=$((i + 1))
done

# Dictionaries: the tokens each format is made of (libFuzzer -dict syntax).
dicts="$build/dicts"
mkdir -p "$dicts"
cat >"$dicts/manifest.dict" <<'EOF'
"{"
"}"
"["
"]"
":"
","
"null"
"true"
"false"
"-1"
"1.5"
"1e400"
"18446744073709551616"
"\"\""
"\"\\u0000\""
"\"format\""
"\"ramsafe-backup\""
"\"format_version\""
"\"manifest_sha256\""
"\"files\""
"\"path\""
"\"role\""
"\"database\""
"\"globals\""
"\"initdb\""
"\"finished_at\""
"\"recipients\""
"\"sha256\""
"\"../x\""
EOF
cat >"$dicts/cron.dict" <<'EOF'
"*"
"/"
"-"
","
" "
"@yearly"
"@annually"
"@monthly"
"@weekly"
"@daily"
"@midnight"
"@hourly"
"jan"
"feb"
"DEC"
"sun"
"Mon"
"sat"
"59"
"23"
"31"
"12"
"7"
EOF
cat >"$dicts/config.dict" <<'EOF'
"'"
"''"
"\\"
"\x0a"
"#"
"="
"include"
"include_if_exists"
"include_dir"
"ramsafe."
"ramsafe.schedule"
"ramsafe.timezone"
"ramsafe.port"
"ramsafe.drive_chunk_kb"
"ramsafe.local_retention"
"ramsafe.local_base_retention"
"ramsafe.on_missing"
"data_directory"
"unix_socket_directories"
"port"
"0x"
"1e9"
"on"
"off"
"'extra.conf'"
"'loop.conf'"
"'conf.d'"
"last="
"hourly="
"monthly="
EOF
cat >"$dicts/age_header.dict" <<'EOF'
"age-encryption.org/v1"
"-> "
"X25519"
"scrypt"
"---"
"\x0a"
"-----BEGIN AGE ENCRYPTED FILE-----"
"-----END AGE ENCRYPTED FILE-----"
EOF
cp "$dicts/age_header.dict" "$dicts/age_decrypt.dict"

# ---- run ----
run_id="$(date -u +%Y%m%dT%H%M%SZ)-$$"
crash_root="$build/crashes/$run_id"
total_execs=0
total_crashes=0
failed=()
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export RAMSAFE_FUZZ_CONFIG_DIR="$config_dir"
for t in "${targets[@]}"; do
  log="$build/logs/$t.log"
  crash_dir="$crash_root/$t"
  mkdir -p "$crash_dir"
  # Inputs that once crashed a target stay in test/drills/fuzz/regressions/<target>/ and
  # run first, every time.
  corpora=("$build/corpus/$t" "$seeds/$t")
  [ -d "$repo/test/drills/fuzz/regressions/$t" ] &&
    corpora+=("$repo/test/drills/fuzz/regressions/$t")
  rc=0
  (cd "$crash_dir" &&
   "$build/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=30 \
     -rss_limit_mb=2048 -dict="$dicts/$t.dict" -artifact_prefix="$crash_dir/" \
     "${corpora[@]}") </dev/null >"$log" 2>&1 || rc=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)"
  if [ -z "$execs" ]; then  # no final stats (killed hard): the last status line's "#N"
    execs="$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')"
  fi
  execs="${execs:-0}"
  crashes="$(find "$crash_dir" -maxdepth 1 -type f \
             \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) |
             wc -l)"
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  echo "fuzz $t: $execs executions, $crashes crashes"
  total_execs=$((total_execs + execs))
  total_crashes=$((total_crashes + crashes))
  if [ "$crashes" -gt 0 ]; then
    failed+=("$t")
    cp "$log" "$crash_dir/fuzz.log"
    {
      echo "---- fuzz $t (exit $rc): reproduce with $build/fuzz_$t <input>; log $crash_dir/fuzz.log"
      ls -1 "$crash_dir"
      grep -n -m 1 -E 'ERROR: (Address|Leak|libFuzzer)|runtime error:|fuzz target:|terminate called|deadly signal' \
        "$log" | cut -d: -f1 | { read -r first || true
          sed -n "${first:-1},\$p" "$log" | head -n 60; }
      echo "----"
    } >&2
  else
    rm -rf "$crash_dir"
  fi
done
rmdir "$crash_root" "$build/crashes" 2>/dev/null || true

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: ${#targets[@]} targets x ${seconds}s, $total_execs executions, $total_crashes crashes" \
       "(${failed[*]}); crashing inputs in $crash_root"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets x ${seconds}s, $total_execs executions, 0 crashes"

#!/usr/bin/env bash
# What signed backups cost (issue 14; not a test): the same cluster backed up by a ramsafe
# that does not sign (OLD, e.g. main before issue 14) and one that does (NEW), alternating,
# then `ramsafe list` of a 1,000-set store in each one's format. As root:
#   test/bench/signing.sh OLD_RAMSAFE NEW_RAMSAFE [--runs N] [--sets N] [--scale N]
# Prints a markdown table: median wall time, CPU time and peak RSS of `ramsafe backup` per
# binary and the difference (and peak heap, with heaptrack), and median wall time of
# `ramsafe list` over N sets (default
# 1000): OLD on unsigned sets, NEW on signed sets, NEW on the same unsigned sets (all
# UNTRUSTED). The dataset is test/bench/run's forum dataset plus pgbench at --scale (default
# 1, about 91 MiB of pg_dump output); the stores are on disk ($DISK_DIR, default /var/tmp).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 2 && -x "$1" && -x "$2" ]] || usage
old_bin="$(readlink -f "$1")" new_bin="$(readlink -f "$2")"
shift 2
runs=5 sets=1000 scale=1
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --sets) sets="$2"; shift 2 ;;
    --scale) scale="$2"; shift 2 ;;
    *) usage ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]?$ && "$sets" =~ ^[1-9][0-9]{0,4}$ && "$scale" =~ ^[1-9][0-9]?$ ]] || usage
[[ "$(id -u)" == 0 ]] || { echo "$0: run as root (the cluster runs as postgres)" >&2; exit 2; }
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || "$HERE/../../scripts/setup" --bench >/dev/null

export RAMSAFE_BIN="$new_bin"
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$HERE/../lib/common.sh"
ramsafe_test_init bench_signing
# shellcheck source-path=SCRIPTDIR source=../lib/ramsafe.sh
. "$HERE/../lib/ramsafe.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
install -m 0755 -o postgres "$old_bin" "$WORK/bin/old_ramsafe"
bench_disk_dir signing
disk="$BENCH_DISK"

ramsafe_keys  # NEW's keys: age + signing; OLD uses the same age keys only
pg_init_cluster c
pg_conf c "shared_buffers = 256MB" "max_wal_size = 4GB" "checkpoint_timeout = 30min"
pg_start_existing c
export PGHOST PGPORT PGUSER=postgres
PGHOST="$(pg_sockdir c)" PGPORT="$(pg_port c)"
psql_as c postgres -c "CREATE DATABASE forum" -c "CREATE DATABASE pgbench"
"$PG_BINDIR/psql" -X -q -v scale="$scale" -f "$HERE/gen_dataset.sql" forum >/dev/null
"$PG_BINDIR/pgbench" -q -i -s "$scale" pgbench >/dev/null 2>&1 || fail "pgbench -i failed"
psql_as c forum -c "VACUUM ANALYZE"
psql_as c pgbench -c "VACUUM ANALYZE"
psql_as c postgres -c "CHECKPOINT"
pg_mkdir "$disk/old" "$disk/new"
new_conf="$(ramsafe_config c "ramsafe.local_dir = '$disk/new'" "ramsafe.local_retention = ''")"
old_conf="$WORK/old.conf"
grep -v -e '^ramsafe.signing_key_file' -e '^ramsafe.verify_keys_file' -e '^ramsafe.local_dir' "$new_conf" >"$old_conf"
printf "ramsafe.local_dir = '%s'\n" "$disk/old" >>"$old_conf"
chown postgres:postgres "$old_conf"

# keep only the newest set of a store, so that every run sees the same store
prune_store() {
  local d="$1/main" newest s
  newest="$(newest_set "$d")"
  for s in "$d"/2*; do [[ -d "$s" && "$s" != "$newest" ]] && rm -rf "$s"; done
  return 0
}

: >"$WORK/backup.tsv"
for ((run = 1; run <= runs; run++)); do
  for v in old new; do
    bin="$WORK/bin/${v}_ramsafe" conf="$old_conf"
    [[ "$v" == new ]] && bin="$RAMSAFE_TEST_BIN" conf="$new_conf"
    sync
    bench_measure --user postgres -- "$bin" backup --config "$conf" --no-progress
    printf '%s\t%s\t%s\t%s\n' "$v" "$M_WALL" "$M_CPU" "$M_RSS_KIB" >>"$WORK/backup.tsv"
    note "run $run $v: wall $M_WALL s, cpu $M_CPU s, peak RSS $M_RSS_KIB KiB"
    prune_store "$disk/$v"
  done
done
# Peak heap of one backup each (heaptrack, when installed): peak RSS also counts the code
# pages a program touches, and signing runs code (OpenSSL's Ed25519) that OLD never loads.
old_heap=- new_heap=-
if command -v heaptrack >/dev/null; then
  pg_mkdir "$WORK/heaptrack"
  for v in old new; do
    bin="$WORK/bin/${v}_ramsafe" conf="$old_conf"
    [[ "$v" == new ]] && bin="$RAMSAFE_TEST_BIN" conf="$new_conf"
    (cd "$WORK/heaptrack" && runuser -u postgres -- heaptrack -o "$WORK/heaptrack/$v" "$bin" backup \
      --config "$conf" --no-progress >/dev/null 2>&1) || fail "heaptrack $v backup failed"
    printf -v "${v}_heap" '%s' "$(heaptrack_print "$WORK/heaptrack/$v".* 2>/dev/null |
      sed -n 's/^peak heap memory consumption: //p')"
    prune_store "$disk/$v"
  done
fi
col() { awk -F'\t' -v v="$1" -v c="$2" '$1 == v { print $c }' "$WORK/backup.tsv" | bench_median; }
for v in old new; do
  printf -v "${v}_wall" '%s' "$(col "$v" 2)"
  printf -v "${v}_cpu" '%s' "$(col "$v" 3)"
  printf -v "${v}_rss" '%s' "$(col "$v" 4)"
done

# ------------------------------------------------------------------ N-set stores
# Copies of each store's newest set's manifest under N ids (list reads the manifests and
# signatures only): OLD's as they are (format 1), NEW's re-signed with NEW's key.
make_store() {
  local template="$1" out="$2" key="${3:-}"
  /usr/bin/python3 - "$template" "$out" "$sets" "$key" <<'PY'
import base64, datetime, hashlib, json, os, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
template, out, n, key_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
m = json.load(open(os.path.join(template, "manifest.json")))
key = None
if key_file:
    seed = [l.split()[1] for l in open(key_file) if l.startswith("RAMSAFE-ED25519-SIGNING-KEY ")][0]
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed))
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = "ed25519:" + hashlib.sha256(pub).hexdigest()[:16]
start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
os.makedirs(out, mode=0o700)
for i in range(n):
    t = start + datetime.timedelta(hours=i)
    m["backup_id"] = t.strftime("%Y%m%dT%H%M%SZ")
    m["started_at"] = m["finished_at"] = t.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if key:
        m["sequence"] = i + 1
    m.pop("manifest_sha256", None)
    m["manifest_sha256"] = hashlib.sha256(
        json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    text = json.dumps(m, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    d = os.path.join(out, m["backup_id"])
    os.mkdir(d, 0o700)
    open(os.path.join(d, "manifest.json"), "w").write(text)
    if key:
        sig = key.sign(b"ramsafe-manifest-v1\n" + text.encode())
        open(os.path.join(d, "manifest.json.sig"), "w").write(
            "ramsafe-signature-v1 %s %s\n" % (key_id, base64.b64encode(sig).decode()))
PY
  chown -R postgres:postgres "$out"
}
make_store "$(newest_set "$disk/old/main")" "$disk/many-old/main"
make_store "$(newest_set "$disk/new/main")" "$disk/many-new/main" "$WORK/keys/signing.key"
many_conf() {  # many_conf VERSION STORE: a configuration reading that store
  local conf="$WORK/many-$1-$2.conf" base="$old_conf"
  [[ "$1" == new ]] && base="$new_conf"
  grep -v '^ramsafe.local_dir' "$base" >"$conf"
  printf "ramsafe.local_dir = '%s'\n" "$disk/many-$2" >>"$conf"
  chown postgres:postgres "$conf"
  printf '%s\n' "$conf"
}
list_median() {  # list_median BIN CONF: median wall seconds of `list` (and its set count)
  local bin="$1" conf="$2" i
  for ((i = 0; i < runs; i++)); do
    bench_measure --user postgres -- "$bin" list --config "$conf"
    printf '%s\n' "$M_WALL"
  done | bench_median
}
old_list="$(list_median "$WORK/bin/old_ramsafe" "$(many_conf old old)")"
new_list="$(list_median "$RAMSAFE_TEST_BIN" "$(many_conf new new)")"
new_unsigned_list="$(list_median "$RAMSAFE_TEST_BIN" "$(many_conf new old)")"
listed="$(runuser -u postgres -- "$RAMSAFE_TEST_BIN" list --config "$(many_conf new new)" --json | jq '[.[] | select(.trust == "trusted")] | length')"
[[ "$listed" == "$sets" ]] || fail "NEW lists $listed trusted sets of $sets"

pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", (b - a) * 100 / a }'; }
cat <<EOF
dataset: forum + pgbench at scale $scale; $runs runs each, alternating; medians
| | OLD (unsigned) | NEW (signed) | difference |
|---|---|---|---|
| \`ramsafe backup\` wall s | $old_wall | $new_wall | $(pct "$old_wall" "$new_wall") |
| \`ramsafe backup\` CPU s | $old_cpu | $new_cpu | $(pct "$old_cpu" "$new_cpu") |
| \`ramsafe backup\` peak RSS KiB | $old_rss | $new_rss | $(pct "$old_rss" "$new_rss") |
| \`ramsafe backup\` peak heap (heaptrack, one run) | $old_heap | $new_heap | |
| \`ramsafe list\` of $sets sets, s | $old_list | $new_list | $(pct "$old_list" "$new_list") |
| NEW's \`ramsafe list\` of the $sets unsigned sets (all UNTRUSTED), s | - | $new_unsigned_list | |
EOF

#!/bin/bash
# bench/sendemail_rate.sh: SESv2 SendEmail requests/s over HTTP with SigV4.
#
# Starts herald in a temp dir (production account "bench", sender domain verified, send
# limits raised so nothing is throttled), then runs bench/sendemail_load (cpp-httplib
# keep-alive clients signing every request as an SDK does) with THREADS threads for
# REQUESTS requests of a BYTES-byte text body to TO (default: the mailbox simulator's
# success address, so every message also yields its Send and Delivery events), after a
# warm-up. Every request must succeed (HTTP 200 + MessageId).
#
# Usage: bench/sendemail_rate.sh [--herald PATH] [--load PATH] [--threads N]
#                                [--requests M] [--bytes B] [--to ADDR] [--json FILE]
# Prints one JSON line (sendemail_load's output plus the benchmark name).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
HERALD=${HERALD:-$REPO/build-integ/herald}
LOAD=${LOAD:-$REPO/build-integ/bench/sendemail_load}
THREADS=8
REQUESTS=20000
BYTES=5120
WARMUP=500
TO=success@simulator.amazonses.com
JSON_OUT=
while [ $# -gt 0 ]; do
  case "$1" in
    --herald) HERALD=$2; shift 2 ;;
    --load) LOAD=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --bytes) BYTES=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --to) TO=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -x "$HERALD" ] || { echo "herald binary not found at $HERALD (use --herald PATH)" >&2; exit 2; }
[ -x "$LOAD" ] || { echo "sendemail_load not found at $LOAD (build target sendemail_load; use --load PATH)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/herald-bench-api.XXXXXX)
HERALD_PID=
cleanup() {
  if [ -n "$HERALD_PID" ] && kill -0 "$HERALD_PID" 2>/dev/null; then
    kill -TERM "$HERALD_PID" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$HERALD_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$HERALD_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/herald.toml" <<EOF
region = "us-east-1"
hostname = "herald.bench.test"
log_level = "warn"

[sending]
production_max_send_rate = 1000000
production_max_24h_send = 1000000000000

[dns]
server = "127.0.0.1:9"
EOF
mkdir -p "$WORK/data"
cli() { "$HERALD" "$@" --data-dir "$WORK/data" --config "$WORK/herald.toml"; }
CREDS=$(cli account create bench --json)
cli identity verify --account bench bench.example >/dev/null
cli account production bench >/dev/null
AKID=$(echo "$CREDS" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["access_key_id"])')
SECRET=$(echo "$CREDS" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["secret_access_key"])')

"$HERALD" serve --config "$WORK/herald.toml" --data-dir "$WORK/data" \
  --http 127.0.0.1:0 --smtp 127.0.0.1:0 2>"$WORK/herald.log" &
HERALD_PID=$!
for _ in $(seq 1 600); do
  [ -s "$WORK/data/ready.json" ] && break
  kill -0 "$HERALD_PID" 2>/dev/null || { echo "herald exited:" >&2; tail "$WORK/herald.log" >&2; exit 1; }
  sleep 0.05
done
HTTP=$(/usr/bin/python3 -c "import json; print(json.load(open('$WORK/data/ready.json'))['http'])")

run() {
  "$LOAD" --endpoint "$HTTP" --access-key "$AKID" --secret "$SECRET" --from sender@bench.example \
    --to "$TO" --threads "$THREADS" --requests "$1" --body-bytes "$BYTES"
}
if ! OUT=$(run "$WARMUP"); then
  echo "warm-up requests failed: $OUT" >&2
  exit 1
fi
if ! OUT=$(run "$REQUESTS"); then
  echo "requests failed: $OUT" >&2
  exit 1
fi

kill -TERM "$HERALD_PID"
rc=0
wait "$HERALD_PID" || rc=$?
HERALD_PID=
[ "$rc" -eq 0 ] || { echo "herald exited $rc on SIGTERM" >&2; tail "$WORK/herald.log" >&2; exit 1; }

RESULT=$(echo "$OUT" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
r = dict({"benchmark": "sendemail_rate", "to": sys.argv[1]}, **r)
print(json.dumps(r))' "$TO")
echo "$RESULT"
if [ -n "$JSON_OUT" ]; then echo "$RESULT" > "$JSON_OUT"; fi

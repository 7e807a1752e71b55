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
#                                [--requests M] [--bytes B] [--warmup W] [--to ADDR]
#                                [--json FILE]
# Prints one JSON line (sendemail_load's output plus the benchmark name).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

LOAD=${LOAD:-$REPO/build-integ/bench/sendemail_load}
THREADS=8
REQUESTS=20000
BYTES=5120
WARMUP=500
TO=success@simulator.amazonses.com
JSON_OUT=
bench_parse_args "--herald HERALD --load LOAD --threads THREADS --requests REQUESTS
  --bytes BYTES --warmup WARMUP --to TO --json JSON_OUT" "$@"
bench_require_herald
[ -x "$LOAD" ] || { echo "sendemail_load not found at $LOAD (build target sendemail_load; use --load PATH)" >&2; exit 2; }
bench_workdir api

herald_start --no-trusted-smtp
credential() {
  /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$HD/account.json" "$1"
}
AKID=$(credential access_key_id)
SECRET=$(credential secret_access_key)

run() {
  "$LOAD" --endpoint "$HERALD_HTTP" --access-key "$AKID" --secret "$SECRET" \
    --from sender@bench.example --to "$TO" --threads "$THREADS" --requests "$1" --body-bytes "$BYTES"
}
if ! OUT=$(run "$WARMUP"); then
  echo "warm-up requests failed: $OUT" >&2
  exit 1
fi
if ! OUT=$(run "$REQUESTS"); then
  echo "requests failed: $OUT" >&2
  exit 1
fi

herald_stop

RESULT=$(echo "$OUT" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
r = dict({"benchmark": "sendemail_rate", "to": sys.argv[1]}, **r)
print(json.dumps(r))' "$TO")
bench_emit "$RESULT"

#!/bin/bash
# bench/queue_memory.sh: herald's memory per queued recipient while the destination is down.
#
# herald runs with a static route "* 127.0.0.1:CLOSED" (a loopback port nobody listens on:
# every connection is refused), a retry schedule of one long step (24h) and a route TTL of
# a day. A first message is sent and must fail once (connection refused, deferred): the
# destination is then paused for the first retry step, so everything injected afterwards
# just sits in its ready queue, as it would behind a real outage. Then MESSAGES messages of
# RECIPIENTS recipients each (default 20,000 x 50 = 1,000,000) are injected with
# smtp-source (SESSIONS parallel sessions, BYTES payload), and once the daemon's
# `queue list --json` shows every one of them queued, herald's resident set (VmRSS in
# /proc/PID/status) is read again. Reported: RSS before and after, their difference per
# queued recipient, the peak (VmHWM), the spool's size on disk and the injection rate.
# Checked: queued_recipients == 1 + MESSAGES * RECIPIENTS, nothing delivered or bounced,
# and the destination was not tried again during the injection (one connection failure).
#
# Usage: bench/queue_memory.sh [--herald PATH] [--messages N] [--recipients R]
#                                   [--sessions S] [--bytes B] [--json FILE] [--keep]
# Prints one JSON line: {"queued_recipients":..,"rss_bytes_per_recipient":..,...}
set -euo pipefail
source "$(dirname "$0")/lib.sh"

MESSAGES=20000
RECIPIENTS=50
SESSIONS=20
BYTES=5120
JSON_OUT=
bench_parse_args "--herald HERALD --messages MESSAGES --recipients RECIPIENTS
  --sessions SESSIONS --bytes BYTES --json JSON_OUT --keep KEEP=" "$@"

bench_require_tools smtp-source /usr/bin/python3
bench_require_herald
bench_workdir qmem

# status_kb FIELD: a field of /proc/HERALD_PID/status, in kB.
status_kb() {
  awk -v f="$1:" '$1 == f { print $2 }' "/proc/$HERALD_PID/status"
}

# queue_json: the daemon's queue listing (counters and destinations).
queue_json() {
  herald_cli queue list --json
}

# wait_queue PYTHON_CONDITION SECONDS: polls `queue list --json` (every 0.5 s) until the
# condition on c (counters) and d (destinations) holds.
wait_queue() {
  local deadline=$(($(date +%s) + $2))
  while true; do
    if queue_json | /usr/bin/python3 -c "
import json, sys
j = json.load(sys.stdin); c = j['counters']; d = j['destinations']
sys.exit(0 if ($1) else 1)" 2>/dev/null; then
      return 0
    fi
    if [ "$(date +%s)" -gt "$deadline" ]; then
      echo "timed out waiting for: $1" >&2
      queue_json >&2 || true
      return 1
    fi
    sleep 0.5
  done
}

DOWN_PORT=$(free_port)  # bound for a moment by free_port, then closed: connections are refused
herald_start "[delivery]
routes = [\"* 127.0.0.1:$DOWN_PORT\"]
retry_schedule = \"24h\"
route_ttl_seconds = 86400
max_delivery_seconds = 604800"
PORT=$HERALD_SMTP_PORT

# The destination fails once: one message, one recipient, deferred by a refused connection.
run_source "$PORT" 1 prime -s 1 -t first@example.com
wait_queue "c['queued_recipients'] == 1 and c['connection_failures'] >= 1 and c['deferred'] >= 1" 60
sleep 1
RSS_BEFORE_KB=$(status_kb VmRSS)

TOTAL=$((MESSAGES * RECIPIENTS))
T0=$(now)
run_source "$PORT" "$MESSAGES" bench -r "$RECIPIENTS"
T1=$(now)
wait_queue "c['queued_recipients'] == 1 + $TOTAL" 600
sleep 2  # let allocator and threads settle
STATE=$(queue_json)
RSS_AFTER_KB=$(status_kb VmRSS)
HWM_KB=$(status_kb VmHWM)
THREADS=$(awk '$1 == "Threads:" { print $2 }' "/proc/$HERALD_PID/status")
SPOOL_BYTES=$(du -sb "$HD/data/spool" | cut -f1)

RESULT=$(/usr/bin/python3 - "$STATE" "$RSS_BEFORE_KB" "$RSS_AFTER_KB" "$HWM_KB" "$SPOOL_BYTES" \
  "$MESSAGES" "$RECIPIENTS" "$BYTES" "$T0" "$T1" "$THREADS" <<'EOF'
import json, sys
state = json.loads(sys.argv[1])
c = state["counters"]
before, after, hwm, spool = (int(x) for x in sys.argv[2:6])
messages, rcpts, payload = (int(x) for x in sys.argv[6:9])
t0, t1 = float(sys.argv[9]), float(sys.argv[10])
total = messages * rcpts
errors = []
if c["queued_recipients"] != 1 + total:
    errors.append("queued_recipients %d, expected %d" % (c["queued_recipients"], 1 + total))
if c["delivered"] or c["bounced"]:
    errors.append("delivered %d, bounced %d: expected none" % (c["delivered"], c["bounced"]))
if c["connection_failures"] != 1:
    errors.append("%d connection failures: the destination was tried again during the run"
                  % c["connection_failures"])
if errors:
    sys.exit("queue_memory: " + "; ".join(errors) + "\n" + json.dumps(state))
print(json.dumps({
    "benchmark": "queue_memory", "messages": messages, "recipients_per_message": rcpts,
    "payload_bytes": payload, "queued_recipients": c["queued_recipients"],
    "rss_before_kb": before, "rss_after_kb": after, "rss_peak_kb": hwm,
    "rss_bytes_per_recipient": round((after - before) * 1024 / total, 1),
    "spool_bytes": spool, "spool_bytes_per_recipient": round(spool / total, 1),
    "threads": int(sys.argv[11]),
    "inject_seconds": round(t1 - t0, 1), "inject_recipients_per_s": round(total / (t1 - t0), 1)}))
EOF
)
bench_emit "$RESULT"

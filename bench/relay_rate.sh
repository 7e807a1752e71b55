#!/bin/bash
# bench/relay_rate.sh: end-to-end relay rate of herald vs Postfix on loopback.
#
# One smtp-sink (Postfix's test server: it answers 250 to everything and throws the mail
# away) receives all the mail. Each server in turn, on the same machine in the same run,
# accepts mail from smtp-source and relays every message to that sink:
#  - Postfix 3.7 as a private instance (own config, queue and data dirs, no chroot) with
#    relayhost = [127.0.0.1]:SINK, no hold, default_destination_concurrency_limit =
#    CONCURRENCY and the SMTP connection cache on for the relay host.
#  - herald with a static route "* 127.0.0.1:SINK", max_connections_per_destination =
#    CONCURRENCY, [smtp] trusted_networks = ["127.0.0.1/32"] (smtp-source has no AUTH) and
#    a production account "bench" (its domain verified with no DKIM key: nothing is signed,
#    as with Postfix).
# Load: smtp-source, SESSIONS parallel sessions, MESSAGES messages of BYTES payload, one
# recipient each, after a warm-up of WARMUP messages that must reach the sink first. The
# clock runs from the first injected message until the sink has counted all MESSAGES (its
# "-c" counter, read from its output); the injection time alone is reported too.
# Every run is checked: the sink must have received exactly the messages sent (no loss, no
# duplicate), and afterwards Postfix's queue must be empty, herald's `queue list --json`
# must show delivered == WARMUP + MESSAGES and queued_recipients == 0.
#
# Usage: sudo bench/relay_rate.sh [--herald PATH] [--messages N] [--sessions S] [--bytes B]
#                                 [--warmup W] [--concurrency C] [--timeout SECONDS]
#                                 [--json FILE] [--only postfix|herald] [--keep]
# (--keep leaves the work directory with the logs: Postfix's maillog, herald.log, sink.out)
# Prints one JSON line: {"postfix_msgs_per_s":..,"herald_msgs_per_s":..,
#                        "ratio_herald_to_postfix":..,...}
set -euo pipefail
source "$(dirname "$0")/lib.sh"

MESSAGES=20000
SESSIONS=20
BYTES=5120
WARMUP=500
CONCURRENCY=20
TIMEOUT=900
JSON_OUT=
ONLY=
bench_parse_args "--herald HERALD --messages MESSAGES --sessions SESSIONS --bytes BYTES
  --warmup WARMUP --concurrency CONCURRENCY --timeout TIMEOUT --json JSON_OUT --only ONLY
  --keep KEEP=" "$@"

bench_require_root
bench_require_tools postfix postconf smtp-source smtp-sink /usr/bin/python3
if [ "$ONLY" != postfix ]; then bench_require_herald; fi
bench_workdir relay
SINK_OUT="$WORK/sink.out"

# smtp-sink -c writes "sess=N quit=N mesg=N\r" after every session end, QUIT and final
# dot; mesg counts the messages it received (one recipient each here).
sink_count() {
  /usr/bin/python3 - "$SINK_OUT" <<'EOF'
import re, sys
data = open(sys.argv[1], "rb").read()[-4096:]
m = re.findall(rb"mesg=(\d+)", data)
print(int(m[-1]) if m else 0)
EOF
}

# wait_sink TARGET: waits (polling every 20 ms) until the sink has counted TARGET messages;
# prints the wall-clock time at which it saw them. Fails after TIMEOUT seconds.
wait_sink() {
  /usr/bin/python3 - "$SINK_OUT" "$1" "$TIMEOUT" <<'EOF'
import os, re, sys, time
path, target, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.time() + timeout
pat = re.compile(rb"mesg=(\d+)")
with open(path, "rb") as f:
    while True:
        size = os.fstat(f.fileno()).st_size
        f.seek(max(0, size - 256))
        m = pat.findall(f.read())
        count = int(m[-1]) if m else 0
        if count >= target:
            print("%.6f" % time.time())
            sys.exit(0)
        if time.time() > deadline:
            print("sink counted %d of %d messages after %.0f s" % (count, target, timeout),
                  file=sys.stderr)
            sys.exit(1)
        time.sleep(0.02)
EOF
}

sink_start() {
  SINK_PORT=$(free_port)
  smtp-sink -u nobody -c "127.0.0.1:$SINK_PORT" 1024 >"$SINK_OUT" 2>"$WORK/sink.err" &
  bench_track_pid $!
  wait_port 127.0.0.1 "$SINK_PORT"
}

# measure PORT BASE: warm-up, then the timed run; BASE is the sink count before. Sets
# INJECT_SECONDS and TOTAL_SECONDS.
measure() {
  local port=$1 base=$2 t0 t1 t_end count
  run_source "$port" "$WARMUP" warmup
  wait_sink $((base + WARMUP)) >/dev/null
  t0=$(now)
  run_source "$port" "$MESSAGES" bench
  t1=$(now)
  t_end=$(wait_sink $((base + WARMUP + MESSAGES)))
  INJECT_SECONDS=$(calc "$t1 - $t0")
  TOTAL_SECONDS=$(calc "$t_end - $t0")
  sleep 2  # anything sent twice would arrive now
  count=$(sink_count)
  if [ "$count" -ne $((base + WARMUP + MESSAGES)) ]; then
    echo "the sink received $((count - base)) messages, expected $((WARMUP + MESSAGES))" >&2
    exit 1
  fi
}

postfix_queued() {
  find "$PF/spool/maildrop" "$PF/spool/incoming" "$PF/spool/active" "$PF/spool/deferred" \
    "$PF/spool/hold" -type f | wc -l
}

# herald_check EXPECTED: the daemon's own counters must agree with the sink.
herald_check() {
  herald_cli queue list --json | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
want = int(sys.argv[1])
if c["delivered"] != want or c["queued_recipients"] != 0 or c["bounced"] != 0:
    sys.exit("herald counters: %s, expected delivered=%d queued_recipients=0" % (c, want))
' "$1"
}

sink_start
POSTFIX_RATE=null
HERALD_RATE=null
POSTFIX_INJECT=null
HERALD_INJECT=null
BASE=0
if [ "$ONLY" != herald ]; then
  postfix_start "relayhost=[127.0.0.1]:$SINK_PORT" smtp_tls_security_level=none \
    "default_destination_concurrency_limit=$CONCURRENCY" \
    smtp_connection_cache_on_demand=yes \
    "smtp_connection_cache_destinations=[127.0.0.1]:$SINK_PORT"
  measure "$PF_PORT" "$BASE"
  left=$(postfix_queued)
  if [ "$left" -ne 0 ]; then
    echo "Postfix still has $left queue files after the sink counted everything" >&2
    exit 1
  fi
  postfix_stop
  POSTFIX_RATE=$(calc "$MESSAGES / $TOTAL_SECONDS")
  POSTFIX_INJECT=$(calc "$MESSAGES / $INJECT_SECONDS")
  BASE=$((BASE + WARMUP + MESSAGES))
fi
if [ "$ONLY" != postfix ]; then
  herald_start "[delivery]
routes = [\"* 127.0.0.1:$SINK_PORT\"]
max_connections_per_destination = $CONCURRENCY"
  measure "$HERALD_SMTP_PORT" "$BASE"
  herald_check $((WARMUP + MESSAGES))
  herald_stop
  HERALD_RATE=$(calc "$MESSAGES / $TOTAL_SECONDS")
  HERALD_INJECT=$(calc "$MESSAGES / $INJECT_SECONDS")
  BASE=$((BASE + WARMUP + MESSAGES))
fi
if [ "$(sink_count)" -ne "$BASE" ]; then
  echo "the sink counted $(sink_count) messages in all, expected $BASE" >&2
  exit 1
fi

RESULT=$(/usr/bin/python3 - "$POSTFIX_RATE" "$HERALD_RATE" "$POSTFIX_INJECT" "$HERALD_INJECT" \
  "$MESSAGES" "$SESSIONS" "$BYTES" "$CONCURRENCY" <<'EOF'
import json, sys
f = lambda s: None if s == "null" else float(s)
pf, hd, pfi, hdi = f(sys.argv[1]), f(sys.argv[2]), f(sys.argv[3]), f(sys.argv[4])
r = lambda v: None if v is None else round(v, 1)
print(json.dumps({
    "benchmark": "relay_rate", "messages": int(sys.argv[5]), "sessions": int(sys.argv[6]),
    "payload_bytes": int(sys.argv[7]), "concurrency": int(sys.argv[8]),
    "postfix_msgs_per_s": r(pf), "herald_msgs_per_s": r(hd),
    "ratio_herald_to_postfix": None if not (pf and hd) else round(hd / pf, 3),
    "postfix_inject_msgs_per_s": r(pfi), "herald_inject_msgs_per_s": r(hdi)}))
EOF
)
bench_emit "$RESULT"

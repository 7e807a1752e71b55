#!/bin/bash
# bench/smtp_accept.sh: SMTP accept rate of herald vs Postfix on loopback.
#
# Both servers only accept and queue (fsync'd, as in production) and deliver nothing:
#  - Postfix 3.7 as a private instance (own config, queue and data dirs, no chroot) whose
#    smtpd puts every message on the hold queue (access-table HOLD action at DATA). smtpd
#    and cleanup do their normal work, cleanup fsyncs the queue file before the 250, and
#    the queue manager never schedules a delivery.
#  - herald with [smtp] trusted_networks = ["127.0.0.1/32"] (smtp-source has no AUTH), a
#    production account "bench", and [delivery] enabled = false, so every message stays
#    queued in its spool and no delivery work competes with the accepting (its DNS server
#    is also a closed port: nothing could leave the machine anyway).
# Load: Postfix's smtp-source, SESSIONS parallel sessions (default 20), MESSAGES messages
# (default 20000) of BYTES payload (default 5120), one recipient each, after a warm-up of
# WARMUP messages. Every run is checked: the queue (Postfix hold queue / herald spool
# list) must hold exactly the messages sent.
#
# Usage: sudo bench/smtp_accept.sh [--herald PATH] [--messages N] [--sessions S]
#                                  [--bytes B] [--warmup W] [--json FILE] [--only postfix|herald]
# Prints one JSON line: {"postfix_msgs_per_s":..,"herald_msgs_per_s":..,
#                        "ratio_herald_to_postfix":..,...}
set -euo pipefail
source "$(dirname "$0")/lib.sh"

MESSAGES=20000
SESSIONS=20
BYTES=5120
WARMUP=500
JSON_OUT=
ONLY=
bench_parse_args "--herald HERALD --messages MESSAGES --sessions SESSIONS --bytes BYTES
  --warmup WARMUP --json JSON_OUT --only ONLY" "$@"

bench_require_root
bench_require_tools postfix postconf smtp-source /usr/bin/python3
if [ "$ONLY" != postfix ]; then bench_require_herald; fi
bench_workdir smtp

# timed_source PORT COUNT SUBJECT -> seconds on stdout
timed_source() {
  local t0 t1
  t0=$(now)
  run_source "$@"
  t1=$(now)
  calc "$t1 - $t0"
}

postfix_held() {
  find "$PF/spool/hold" -type f | wc -l
}

herald_queued() {
  herald_cli spool list --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

POSTFIX_RATE=null
HERALD_RATE=null
if [ "$ONLY" != herald ]; then
  postfix_start "smtpd_data_restrictions=check_client_access static:HOLD"
  run_source "$PF_PORT" "$WARMUP" warmup
  PF_SECONDS=$(timed_source "$PF_PORT" "$MESSAGES" bench)
  held=$(postfix_held)
  if [ "$held" -ne $((MESSAGES + WARMUP)) ]; then
    echo "Postfix queued $held messages, expected $((MESSAGES + WARMUP))" >&2
    exit 1
  fi
  postfix_stop
  POSTFIX_RATE=$(calc "$MESSAGES / $PF_SECONDS")
fi
if [ "$ONLY" != postfix ]; then
  herald_start $'[delivery]\nenabled = false'
  run_source "$HERALD_SMTP_PORT" "$WARMUP" warmup
  HERALD_SECONDS=$(timed_source "$HERALD_SMTP_PORT" "$MESSAGES" bench)
  herald_stop
  queued=$(herald_queued)
  if [ "$queued" -ne $((MESSAGES + WARMUP)) ]; then
    echo "herald spooled $queued messages, expected $((MESSAGES + WARMUP))" >&2
    exit 1
  fi
  HERALD_RATE=$(calc "$MESSAGES / $HERALD_SECONDS")
fi

RESULT=$(/usr/bin/python3 - "$POSTFIX_RATE" "$HERALD_RATE" "$MESSAGES" "$SESSIONS" "$BYTES" <<'EOF'
import json, sys
pf = None if sys.argv[1] == "null" else float(sys.argv[1])
hd = None if sys.argv[2] == "null" else float(sys.argv[2])
print(json.dumps({
    "benchmark": "smtp_accept", "messages": int(sys.argv[3]), "sessions": int(sys.argv[4]),
    "payload_bytes": int(sys.argv[5]),
    "postfix_msgs_per_s": None if pf is None else round(pf, 1),
    "herald_msgs_per_s": None if hd is None else round(hd, 1),
    "ratio_herald_to_postfix": None if not (pf and hd) else round(hd / pf, 3)}))
EOF
)
bench_emit "$RESULT"

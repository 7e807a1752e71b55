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
# Prints one JSON line: {"postfix_msgs_per_s":..,"herald_msgs_per_s":..,"ratio":..,...}
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
HERALD=${HERALD:-$REPO/build-integ/herald}
MESSAGES=20000
SESSIONS=20
BYTES=5120
WARMUP=500
JSON_OUT=
ONLY=
while [ $# -gt 0 ]; do
  case "$1" in
    --herald) HERALD=$2; shift 2 ;;
    --messages) MESSAGES=$2; shift 2 ;;
    --sessions) SESSIONS=$2; shift 2 ;;
    --bytes) BYTES=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "smtp_accept.sh runs a private Postfix instance and must run as root (sudo)" >&2
  exit 2
fi
for tool in postfix postconf smtp-source /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (Debian package postfix)" >&2; exit 2; }
done
if [ "$ONLY" != postfix ] && [ ! -x "$HERALD" ]; then
  echo "herald binary not found at $HERALD (use --herald PATH)" >&2
  exit 2
fi

WORK=$(mktemp -d /tmp/herald-bench-smtp.XXXXXX)
chmod 755 "$WORK"
PF="$WORK/postfix"
HD="$WORK/herald"
HERALD_PID=
PF_STARTED=

cleanup() {
  if [ -n "$HERALD_PID" ] && kill -0 "$HERALD_PID" 2>/dev/null; then
    kill -TERM "$HERALD_PID" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$HERALD_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$HERALD_PID" 2>/dev/null || true
  fi
  if [ -n "$PF_STARTED" ]; then
    postfix -c "$PF/etc" stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {  # host port
  for _ in $(seq 1 400); do
    if /usr/bin/python3 -c "import socket,sys; socket.create_connection(('$1',$2),0.2)" 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "timed out waiting for $1:$2" >&2
  return 1
}

now() { date +%s.%N; }

# run_source PORT COUNT SUBJECT -> seconds on stdout
run_source() {
  local port=$1 count=$2 t0 t1
  t0=$(now)
  smtp-source -s "$SESSIONS" -l "$BYTES" -m "$count" -S "$3" \
    -f bench@bench.example -t user@example.com "127.0.0.1:$port" >/dev/null
  t1=$(now)
  /usr/bin/python3 -c "print($t1 - $t0)"
}

postfix_start() {
  PF_PORT=$(free_port)
  mkdir -p "$PF/etc" "$PF/spool" "$PF/data"
  cp /etc/postfix/master.cf "$PF/etc/master.cf"
  : > "$PF/etc/main.cf"
  local P="postconf -c $PF/etc"
  $P -e compatibility_level=3.6 "queue_directory=$PF/spool" "data_directory=$PF/data" \
    myhostname=mx.bench.test mydomain=bench.test myorigin=bench.test \
    inet_interfaces=127.0.0.1 inet_protocols=ipv4 mydestination= local_recipient_maps= \
    alias_maps= alias_database= "maillog_file=$PF/maillog" "maillog_file_prefixes=$PF" \
    smtpd_tls_security_level=none mynetworks=127.0.0.0/8 \
    smtpd_relay_restrictions=permit_mynetworks,reject \
    smtpd_recipient_restrictions=permit_mynetworks,reject \
    "smtpd_data_restrictions=check_client_access static:HOLD" \
    smtpd_client_connection_count_limit=0 smtpd_client_connection_rate_limit=0 \
    smtpd_client_message_rate_limit=0 smtpd_client_recipient_rate_limit=0 \
    default_process_limit=100
  $P -F '*/*/chroot=n'
  $P -MX smtp/inet
  $P -Me "$PF_PORT/inet=$PF_PORT inet n - n - - smtpd"
  chown postfix:postfix "$PF/data"
  postfix -c "$PF/etc" check
  postfix -c "$PF/etc" start >/dev/null 2>&1
  PF_STARTED=1
  wait_port 127.0.0.1 "$PF_PORT"
}

postfix_held() {
  find "$PF/spool/hold" -type f | wc -l
}

herald_cli() {
  "$HERALD" "$@" --data-dir "$HD/data" --config "$HD/herald.toml"
}

herald_start() {
  mkdir -p "$HD/data"
  cat > "$HD/herald.toml" <<EOF
region = "us-east-1"
hostname = "herald.bench.test"
log_level = "warn"

[smtp]
trusted_networks = ["127.0.0.1/32"]
trusted_account = "bench"

[sending]
production_max_send_rate = 1000000
production_max_24h_send = 1000000000000

[delivery]
enabled = false

[dns]
server = "127.0.0.1:9"
EOF
  herald_cli account create bench --json >/dev/null
  herald_cli identity verify --account bench bench.example >/dev/null
  herald_cli account production bench >/dev/null
  "$HERALD" serve --config "$HD/herald.toml" --data-dir "$HD/data" \
    --http 127.0.0.1:0 --smtp 127.0.0.1:0 2>"$HD/herald.log" &
  HERALD_PID=$!
  for _ in $(seq 1 600); do
    [ -s "$HD/data/ready.json" ] && break
    kill -0 "$HERALD_PID" 2>/dev/null || { echo "herald exited:" >&2; tail "$HD/herald.log" >&2; exit 1; }
    sleep 0.05
  done
  HERALD_SMTP_PORT=$(/usr/bin/python3 -c "import json; print(json.load(open('$HD/data/ready.json'))['smtp'].rsplit(':',1)[1])")
}

herald_stop() {
  kill -TERM "$HERALD_PID"
  local rc=0
  wait "$HERALD_PID" || rc=$?
  HERALD_PID=
  if [ "$rc" -ne 0 ]; then
    echo "herald exited $rc on SIGTERM" >&2
    tail "$HD/herald.log" >&2
    exit 1
  fi
}

herald_queued() {
  herald_cli spool list --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

POSTFIX_RATE=null
HERALD_RATE=null
if [ "$ONLY" != herald ]; then
  postfix_start
  run_source "$PF_PORT" "$WARMUP" warmup >/dev/null
  PF_SECONDS=$(run_source "$PF_PORT" "$MESSAGES" bench)
  held=$(postfix_held)
  if [ "$held" -ne $((MESSAGES + WARMUP)) ]; then
    echo "Postfix queued $held messages, expected $((MESSAGES + WARMUP))" >&2
    exit 1
  fi
  postfix -c "$PF/etc" stop >/dev/null 2>&1
  PF_STARTED=
  POSTFIX_RATE=$(/usr/bin/python3 -c "print($MESSAGES / $PF_SECONDS)")
fi
if [ "$ONLY" != postfix ]; then
  herald_start
  run_source "$HERALD_SMTP_PORT" "$WARMUP" warmup >/dev/null
  HERALD_SECONDS=$(run_source "$HERALD_SMTP_PORT" "$MESSAGES" bench)
  herald_stop
  queued=$(herald_queued)
  if [ "$queued" -ne $((MESSAGES + WARMUP)) ]; then
    echo "herald spooled $queued messages, expected $((MESSAGES + WARMUP))" >&2
    exit 1
  fi
  HERALD_RATE=$(/usr/bin/python3 -c "print($MESSAGES / $HERALD_SECONDS)")
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
echo "$RESULT"
if [ -n "$JSON_OUT" ]; then echo "$RESULT" > "$JSON_OUT"; fi

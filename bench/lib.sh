# bench/lib.sh: shell helpers shared by the benchmark scripts (smtp_accept.sh,
# relay_rate.sh, queue_memory.sh, sendemail_rate.sh). Sourced, never run:
#   source "$(dirname "$0")/lib.sh"
# right after the script's `set -euo pipefail`. Each script keeps its own defaults, checks,
# measurement and JSON; this file only holds the plumbing they all repeated.
#
# On sourcing it sets REPO (the checkout holding bench/), HERALD (unless set in the
# environment: $REPO/build-integ/herald) and empties KEEP, WORK, HD, PF, HERALD_PID,
# PF_STARTED and BENCH_PIDS, so a script may read them under `set -u`.
#
# Setup and teardown
#   bench_parse_args SPEC ARGS...  Parses the command line. SPEC is a whitespace-separated
#                                  list of pairs: "--flag VAR" takes a value into VAR,
#                                  "--flag VAR=" is a switch that sets VAR=1. Anything else:
#                                  "unknown argument", exit 2.
#   bench_require_root             Exits 2 unless run as root (the Postfix benchmarks).
#   bench_require_tools TOOL...    Exits 2 naming the first TOOL not on PATH.
#   bench_require_herald           Exits 2 unless $HERALD is executable.
#   bench_workdir NAME             Creates WORK=/tmp/herald-bench-NAME.XXXXXX and sets
#                                  HD=$WORK/herald and PF=$WORK/postfix; traps EXIT to
#                                  bench_cleanup.
#   bench_cleanup                  (the EXIT trap) Stops herald (HERALD_PID: SIGTERM, up to
#                                  30 s, then SIGKILL), the private Postfix if PF_STARTED,
#                                  every process in BENCH_PIDS (SIGTERM, then wait), and
#                                  removes WORK, or keeps it and says so when KEEP is set.
#   bench_track_pid PID            Adds a background helper (e.g. smtp-sink) to BENCH_PIDS.
#   bench_emit RESULT              Prints the JSON line RESULT, and writes it to JSON_OUT
#                                  too when that is set (the --json option).
# Small tools
#   free_port                      Prints a loopback TCP port free at the time of asking
#                                  (bound and closed again: connecting to it is refused).
#   wait_port HOST PORT            Waits up to 20 s for HOST:PORT to accept a connection.
#   now                            Prints the wall clock in seconds (with nanoseconds).
#   calc EXPR                      Prints the value of the Python expression EXPR.
#   run_source PORT COUNT SUBJECT [OPTION...]
#                                  smtp-source injects COUNT messages of BYTES payload over
#                                  SESSIONS parallel sessions into 127.0.0.1:PORT, from
#                                  bench@bench.example to user@example.com (one recipient
#                                  each), in the foreground, output discarded. OPTIONs go
#                                  after the defaults, and smtp-source takes the last of a
#                                  repeated option: "-s 1" or "-r 50" override them.
# herald (reads HERALD and HD)
#   herald_cli ARGS...             Runs `herald ARGS` on HD's data dir and herald.toml.
#   herald_start [--no-trusted-smtp] [TOML]
#                                  Writes $HD/herald.toml (region, hostname, log_level warn;
#                                  [smtp] trusted_networks = ["127.0.0.1/32"] with
#                                  trusted_account "bench", left out by --no-trusted-smtp;
#                                  [sending] production limits high enough never to
#                                  throttle; the script's own TOML text, e.g. its [delivery]
#                                  section; [dns] server = a closed port, so nothing can leave
#                                  the machine), creates the production account "bench"
#                                  (its credentials JSON kept in $HD/account.json) with
#                                  bench.example verified, starts `herald serve` on loopback
#                                  ports chosen by the kernel (stderr to $HD/herald.log) and
#                                  waits for $HD/data/ready.json. Sets HERALD_PID,
#                                  HERALD_SMTP_PORT and HERALD_HTTP (host:port).
#   herald_stop                    SIGTERM to HERALD_PID and waits; exits 1 (with the log's
#                                  tail) unless herald exited 0. Empties HERALD_PID.
# Private Postfix (reads PF; root only)
#   postfix_start [SETTING...]     Configures a Postfix instance under PF (own config,
#                                  queue and data dirs, no chroot, loopback only, no local
#                                  delivery, 127.0.0.0/8 may relay, no TLS, no client rate
#                                  limits, 100 processes), plus the script's own main.cf
#                                  SETTINGs, with smtpd on a free port instead of port 25;
#                                  starts it and waits for the port. Sets PF_PORT and
#                                  PF_STARTED.
#   postfix_stop                   Stops it and empties PF_STARTED.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERALD=${HERALD:-$REPO/build-integ/herald}
KEEP=
WORK=
HD=
PF=
HERALD_PID=
PF_STARTED=
BENCH_PIDS=

bench_parse_args() {
  local -a spec
  read -r -d '' -a spec <<<"$1" || true  # the pairs may span lines
  shift
  local i var
  while [ $# -gt 0 ]; do
    var=
    for ((i = 0; i + 1 < ${#spec[@]}; i += 2)); do
      if [ "${spec[i]}" = "$1" ]; then var=${spec[i + 1]}; break; fi
    done
    if [ -z "$var" ]; then
      echo "unknown argument: $1" >&2
      exit 2
    elif [ "${var%=}" != "$var" ]; then
      printf -v "${var%=}" 1
      shift
    elif [ $# -lt 2 ]; then
      echo "$1 needs a value" >&2
      exit 2
    else
      printf -v "$var" '%s' "$2"
      shift 2
    fi
  done
}

bench_require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "$(basename "$0") runs a private Postfix instance and must run as root (sudo)" >&2
    exit 2
  fi
}

bench_require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "missing $tool (Debian package postfix)" >&2; exit 2; }
  done
}

bench_require_herald() {
  if [ ! -x "$HERALD" ]; then
    echo "herald binary not found at $HERALD (use --herald PATH)" >&2
    exit 2
  fi
}

bench_workdir() {
  WORK=$(mktemp -d "/tmp/herald-bench-$1.XXXXXX")
  HD="$WORK/herald"
  PF="$WORK/postfix"
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local pid
  if [ -n "$HERALD_PID" ] && kill -0 "$HERALD_PID" 2>/dev/null; then
    kill -TERM "$HERALD_PID" 2>/dev/null || true
    for _ in $(seq 1 600); do kill -0 "$HERALD_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$HERALD_PID" 2>/dev/null || true
  fi
  if [ -n "$PF_STARTED" ]; then
    postfix -c "$PF/etc" stop >/dev/null 2>&1 || true
  fi
  for pid in $BENCH_PIDS; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -z "$WORK" ]; then return; fi
  if [ -n "$KEEP" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}

bench_track_pid() {
  BENCH_PIDS="$BENCH_PIDS $1"
}

bench_emit() {
  echo "$1"
  if [ -n "${JSON_OUT:-}" ]; then echo "$1" > "$JSON_OUT"; fi
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
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

calc() { /usr/bin/python3 -c "print($1)"; }

run_source() {
  local port=$1 count=$2 subject=$3
  shift 3
  smtp-source -s "$SESSIONS" -l "$BYTES" -m "$count" -S "$subject" \
    -f bench@bench.example -t user@example.com "$@" "127.0.0.1:$port" >/dev/null
}

herald_cli() {
  "$HERALD" "$@" --data-dir "$HD/data" --config "$HD/herald.toml"
}

herald_start() {
  local trusted_smtp=1
  if [ "${1-}" = --no-trusted-smtp ]; then trusted_smtp=; shift; fi
  mkdir -p "$HD/data"
  {
    printf '%s\n' 'region = "us-east-1"' 'hostname = "herald.bench.test"' 'log_level = "warn"'
    if [ -n "$trusted_smtp" ]; then
      printf '\n%s\n' '[smtp]'
      printf '%s\n' 'trusted_networks = ["127.0.0.1/32"]' 'trusted_account = "bench"'
    fi
    printf '\n%s\n' '[sending]'
    printf '%s\n' 'production_max_send_rate = 1000000' 'production_max_24h_send = 1000000000000'
    if [ -n "${1-}" ]; then printf '\n%s\n' "$1"; fi
    printf '\n%s\n' '[dns]'
    printf '%s\n' 'server = "127.0.0.1:9"'
  } > "$HD/herald.toml"
  herald_cli account create bench --json > "$HD/account.json"
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
  [ -s "$HD/data/ready.json" ] || { echo "herald not ready after 30 s" >&2; exit 1; }
  local ready
  ready=$(/usr/bin/python3 -c "import json; r = json.load(open('$HD/data/ready.json')); print(r['http'], r['smtp'].rsplit(':', 1)[1])")
  HERALD_HTTP=${ready% *}
  HERALD_SMTP_PORT=${ready#* }
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

postfix_start() {
  PF_PORT=$(free_port)
  chmod 755 "$WORK"  # Postfix's own users must reach its directories below WORK
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
    smtpd_client_connection_count_limit=0 smtpd_client_connection_rate_limit=0 \
    smtpd_client_message_rate_limit=0 smtpd_client_recipient_rate_limit=0 \
    default_process_limit=100 "$@"
  $P -F '*/*/chroot=n'
  $P -MX smtp/inet
  $P -Me "$PF_PORT/inet=$PF_PORT inet n - n - - smtpd"
  chown postfix:postfix "$PF/data"
  postfix -c "$PF/etc" check
  postfix -c "$PF/etc" start >/dev/null 2>&1
  PF_STARTED=1
  wait_port 127.0.0.1 "$PF_PORT"
}

postfix_stop() {
  postfix -c "$PF/etc" stop >/dev/null 2>&1
  PF_STARTED=
}

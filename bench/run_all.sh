#!/bin/bash
# bench/run_all.sh: runs every benchmark and writes the figures to bench/results/.
#   sudo bench/run_all.sh [--herald PATH] [--load PATH]
# Runs smtp_accept.sh, sendemail_rate.sh, relay_rate.sh and queue_memory.sh in turn, then
# classify_corpus.sh (herald classify vs Sisimai) when the corpus ../shared/corpus is there,
# then reputation.sh and events.sh (their tables also go to bench/results/reputation.txt
# and bench/results/events.txt).
# Writes bench/results/<UTC date>-<host>.json (one object per benchmark plus the machine)
# and prints the Markdown table rows to paste into docs/benchmarks.md.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
HERALD=${HERALD:-$REPO/build-integ/herald}
LOAD=${LOAD:-$REPO/build-integ/bench/sendemail_load}
while [ $# -gt 0 ]; do
  case "$1" in
    --herald) HERALD=$2; shift 2 ;;
    --load) LOAD=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$REPO/bench/results"
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT="$REPO/bench/results/$STAMP-$(hostname -s).json"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
"$REPO/bench/smtp_accept.sh" --herald "$HERALD" --json "$TMP/smtp.json" >/dev/null
"$REPO/bench/sendemail_rate.sh" --herald "$HERALD" --load "$LOAD" --json "$TMP/api.json" >/dev/null
"$REPO/bench/relay_rate.sh" --herald "$HERALD" --json "$TMP/relay.json" >/dev/null
"$REPO/bench/queue_memory.sh" --herald "$HERALD" --json "$TMP/qmem.json" >/dev/null
echo null > "$TMP/classify.json"
if [ -f "$REPO/../shared/corpus/manifest.tsv" ]; then
  "$REPO/bench/classify_corpus.sh" --herald "$HERALD" --json "$TMP/classify.json" >/dev/null
fi
"$REPO/bench/reputation.sh" --herald "$HERALD" --bench "$(dirname "$HERALD")/bench/reputation_bench" --json "$TMP/reputation.json" >/dev/null
"$REPO/bench/events.sh" --herald "$HERALD" --bench "$(dirname "$HERALD")/bench/template_bench" >/dev/null
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

/usr/bin/python3 - "$TMP/smtp.json" "$TMP/api.json" "$OUT" "$LOAD_BEFORE" "$LOAD_AFTER" \
  "$TMP/relay.json" "$TMP/qmem.json" "$TMP/classify.json" "$TMP/reputation.json" \
  "$REPO/bench/results/events.txt" <<'EOF'
import json, os, platform, subprocess, sys, datetime
smtp = json.load(open(sys.argv[1]))
api = json.load(open(sys.argv[2]))
relay = json.load(open(sys.argv[6]))
qmem = json.load(open(sys.argv[7]))
classify = json.load(open(sys.argv[8]))
reputation = json.load(open(sys.argv[9]))
events = open(sys.argv[10]).read()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
machine = {"date_utc": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
           "cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
           "postfix": subprocess.run(["postconf", "-d", "-h", "mail_version"], capture_output=True,
                                     text=True).stdout.strip(),
           "loadavg_before": sys.argv[4], "loadavg_after": sys.argv[5]}
json.dump({"machine": machine, "smtp_accept": smtp, "sendemail_rate": api,
           "relay_rate": relay, "queue_memory": qmem, "classify": classify,
           "reputation": reputation, "events_table": events},
          open(sys.argv[3], "w"), indent=2)
print("| date (UTC) | machine | Postfix msg/s | herald msg/s | herald/Postfix | SendEmail req/s | p50 ms | p99 ms |")
print("|---|---|---|---|---|---|---|---|")
print("| %s | %d cores, %s | %s | %s | %s | %.0f | %.1f | %.1f |" % (
    machine["date_utc"], machine["cpus"], cpu, smtp["postfix_msgs_per_s"],
    smtp["herald_msgs_per_s"], smtp["ratio_herald_to_postfix"],
    api["requests_per_second"], api["p50_ms"], api["p99_ms"]))
print()
print("| date (UTC) | machine | Postfix relay msg/s | herald relay msg/s | herald/Postfix "
      "| queued recipients | RSS bytes/recipient | spool bytes/recipient |")
print("|---|---|---|---|---|---|---|---|")
print("| %s | %d cores, %s | %s | %s | %s | %d | %.0f | %.0f |" % (
    machine["date_utc"], machine["cpus"], cpu, relay["postfix_msgs_per_s"],
    relay["herald_msgs_per_s"], relay["ratio_herald_to_postfix"], qmem["queued_recipients"],
    qmem["rss_bytes_per_recipient"], qmem["spool_bytes_per_recipient"]))
if classify:
    h, s = classify["herald"], classify["sisimai"] or {}
    pct = lambda d, c: "%.1f" % d[c]["percent"] if d.get(c) and d[c]["percent"] is not None else "-"
    print()
    print("| date (UTC) | machine | kind % herald / Sisimai | hard/soft % | reason % "
          "| herald ms | Sisimai ms | herald/Sisimai |")
    print("|---|---|---|---|---|---|---|---|")
    print("| %s | %d cores, %s | %s / %s | %s / %s | %s / %s | %.1f | %.1f | %.1fx |" % (
        machine["date_utc"], machine["cpus"], cpu, pct(h, "kind"), pct(s, "kind"),
        pct(h, "hard_soft"), pct(s, "hard_soft"), pct(h, "reason"), pct(s, "reason"),
        classify["herald_ms"], classify["sisimai_ms"] or 0, classify["speed_ratio"] or 0))
print("\nwritten to %s" % sys.argv[3])
EOF

#!/bin/bash
# bench/reputation.sh: the figures of issue 5 (reputation and suppression), in one run.
#   bench/reputation.sh [--herald PATH] [--bench PATH] [--json FILE] [--keep]
#       [--sends N] [--accounts N] [--calls N] [--suppress-entries N] [--import-entries N]
# 1. Outcomes recorded per second: `reputation_bench window` (the pure RepWindow) and
#    `reputation_bench service` (ReputationService over a real SqliteStore, Tick() and its
#    saves once per simulated second) with 10 and with 100 accounts.
# 2. GetAccount latency: a store with --accounts accounts (default 100,000; one access key
#    each) and one with 10, each served by the real herald; --calls signed GetAccount
#    calls to each (default 2,000, after 200 of warm-up), one keep-alive connection each,
#    the two called in turn, each call with a random account's key. The figure that matters
#    is the ratio of the two.
# 3. Suppression check: FindSuppressedDestinations (1 and 50 recipients, hits and misses)
#    on one account's list of --suppress-entries entries (default 1,000,000; pass
#    10000000 for the 10-million figure, which takes about 4 more minutes here), and the
#    database bytes per entry.
# 4. Import of --import-entries entries (default 1,000,000) into an empty list: through
#    PutSuppressedDestinations in batches of 100,000 (as given, and with each batch sorted
#    by key), and through `herald suppression import` (100,000 per run, its limit).
# Writes the table to bench/results/reputation.txt (and to stdout), the raw figures to
# the --json file when given. Work files go to a temp dir (the account stores are built in
# /dev/shm, where fsync costs nothing, then copied), removed at the end unless --keep.
# Nothing here asserts on time; a run fails only when a check fails (wrong counts, a
# failed call).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

BENCH=${BENCH:-$REPO/build-integ/bench/reputation_bench}
JSON_OUT=
SENDS=500000
ACCOUNTS=100000
CALLS=2000
SUP_ENTRIES=1000000
IMPORT_ENTRIES=1000000
bench_parse_args "--herald HERALD --bench BENCH --json JSON_OUT --keep KEEP=
  --sends SENDS --accounts ACCOUNTS --calls CALLS --suppress-entries SUP_ENTRIES
  --import-entries IMPORT_ENTRIES" "$@"
bench_require_herald
if [ ! -x "$BENCH" ]; then
  echo "reputation_bench not found at $BENCH (use --bench PATH)" >&2
  exit 2
fi
for n in "$SENDS" "$ACCOUNTS" "$CALLS" "$SUP_ENTRIES" "$IMPORT_ENTRIES"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "counts must be positive integers: $n" >&2; exit 2; }
done
if [ $((IMPORT_ENTRIES % 100000)) -ne 0 ] || [ "$SUP_ENTRIES" -lt "$IMPORT_ENTRIES" ]; then
  echo "--import-entries must be a multiple of 100,000 and at most --suppress-entries" >&2
  exit 2
fi

bench_workdir reputation
SHM=$(mktemp -d /dev/shm/herald-bench-reputation.XXXXXX)
rep_cleanup() {
  rm -rf "$SHM"
  bench_cleanup
}
trap rep_cleanup EXIT
R="$WORK/results"
mkdir -p "$R"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(now)
say() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# ---- 1. outcomes recorded per second ------------------------------------------------------
say "RepWindow record rate"
"$BENCH" window > "$R/window.json"
for a in 10 100; do
  say "ReputationService: $SENDS sends over $a accounts"
  mkdir -p "$WORK/service-$a"
  "$BENCH" service --dir "$WORK/service-$a" --accounts "$a" --sends "$SENDS" > "$R/service-$a.json"
  rm -rf "$WORK/service-$a"
done

# ---- 2. GetAccount latency ----------------------------------------------------------------
# One store per size, built in /dev/shm and copied to its data dir; herald then creates its
# "bench" account on it (herald_start) and serves it from disk like any other data dir.
# Both instances run at once and are called in turn, so that the machine's other load
# affects both alike.
declare -A GA_PID GA_HTTP GA_START
start_store() {
  local n=$1
  HD="$WORK/herald-$n"
  mkdir -p "$HD/data"
  say "GetAccount: creating $n accounts"
  "$BENCH" accounts --db "$SHM/herald.db" --accounts "$n" --keys "$WORK/keys-$n.txt" \
    > "$R/accounts-$n.json"
  cp "$SHM/herald.db" "$HD/data/herald.db"
  rm -f "$SHM"/herald.db*
  local t0 t1
  t0=$(now)
  herald_start
  t1=$(now)
  GA_PID[$n]=$HERALD_PID
  GA_HTTP[$n]=$HERALD_HTTP
  GA_START[$n]=$(calc "$t1 - $t0")
  bench_track_pid "$HERALD_PID"  # stopped by the EXIT trap if the run fails
  HERALD_PID=
}
stop_store() {
  HD="$WORK/herald-$1"
  HERALD_PID=${GA_PID[$1]}
  herald_stop
  rm -rf "$HD"
}
start_store 10
start_store "$ACCOUNTS"
syscr() { awk '/^syscr:/ {print $2}' "/proc/$1/io"; }
SYSCR_SMALL=$(syscr "${GA_PID[10]}")
SYSCR_BIG=$(syscr "${GA_PID[$ACCOUNTS]}")
say "GetAccount: $CALLS calls to each, in turn"
"$BENCH" getaccount --endpoints "${GA_HTTP[10]},${GA_HTTP[$ACCOUNTS]}" \
  --keys "$WORK/keys-10.txt,$WORK/keys-$ACCOUNTS.txt" --requests "$CALLS" > "$R/getaccount.json"
# Read syscalls (read, pread: the SQLite pages that were not in its own cache) per call,
# warm-up included; herald's background work adds a few.
SYSCR_SMALL=$(( $(syscr "${GA_PID[10]}") - SYSCR_SMALL ))
SYSCR_BIG=$(( $(syscr "${GA_PID[$ACCOUNTS]}") - SYSCR_BIG ))
RSS_SMALL=$(awk '/^VmRSS:/ {print $2}' "/proc/${GA_PID[10]}/status")
RSS_BIG=$(awk '/^VmRSS:/ {print $2}' "/proc/${GA_PID[$ACCOUNTS]}/status")
stop_store 10
stop_store "$ACCOUNTS"
BENCH_PIDS=
/usr/bin/python3 - "$R" "${GA_START[10]}" "${GA_START[$ACCOUNTS]}" "$RSS_SMALL" "$RSS_BIG" \
  "$ACCOUNTS" "$SYSCR_SMALL" "$SYSCR_BIG" "$((CALLS + 200))" <<'EOF'
import json, sys
r = sys.argv[1]
small, big = json.load(open(r + "/getaccount.json"))
small["herald_start_seconds"], big["herald_start_seconds"] = float(sys.argv[2]), float(sys.argv[3])
small["herald_rss_kb"], big["herald_rss_kb"] = int(sys.argv[4]), int(sys.argv[5])
calls = int(sys.argv[9])
small["read_syscalls_per_call"] = int(sys.argv[7]) / calls
big["read_syscalls_per_call"] = int(sys.argv[8]) / calls
json.dump(small, open(r + "/getaccount-10.json", "w"))
json.dump(big, open(r + "/getaccount-%s.json" % sys.argv[6], "w"))
EOF

# ---- 3 and 4. suppression: import, then the check on the grown list -------------------------
SUP="$WORK/suppression"
mkdir -p "$SUP"
say "PutSuppressedDestinations: $IMPORT_ENTRIES entries as given"
"$BENCH" suppress-load --db "$SUP/herald.db" --account big --entries "$IMPORT_ENTRIES" \
  > "$R/import-direct.json"
say "PutSuppressedDestinations: $IMPORT_ENTRIES entries, batches sorted by key"
mkdir -p "$WORK/sorted"
"$BENCH" suppress-load --db "$WORK/sorted/herald.db" --account big --entries "$IMPORT_ENTRIES" \
  --sort-batches 1 > "$R/import-sorted.json"
rm -rf "$WORK/sorted"

say "herald suppression import: $IMPORT_ENTRIES entries, 100,000 per run"
HD="$WORK/herald-import"
mkdir -p "$HD/data"
printf '%s\n' 'region = "us-east-1"' 'hostname = "herald.bench.test"' 'log_level = "warn"' \
  > "$HD/herald.toml"
herald_cli account create imp --json > /dev/null
RUNS=$((IMPORT_ENTRIES / 100000))
for ((i = 0; i < RUNS; i++)); do
  "$BENCH" suppress-csv --first $((i * 100000)) --entries 100000 --out "$WORK/import-$i.csv"
done
t0=$(now)
for ((i = 0; i < RUNS; i++)); do
  herald_cli suppression import --account imp --json "$WORK/import-$i.csv" > "$WORK/import-$i.out"
done
t1=$(now)
IMPORTED=$(cat "$WORK"/import-*.out | /usr/bin/python3 -c \
  'import json, sys; print(sum(json.loads(l)["imported"] for l in sys.stdin))')
# Checked through the store: random addresses of the million are on the list, others not.
"$BENCH" suppress-lookup --db "$HD/data/herald.db" --account imp --entries "$IMPORT_ENTRIES" \
  --lookups 200 > "$R/import-cli-check.json"
/usr/bin/python3 - "$R/import-cli.json" "$IMPORT_ENTRIES" "$IMPORTED" "$RUNS" \
  "$(calc "$t1 - $t0")" "$(stat -c %s "$HD/data/herald.db")" <<'EOF'
import json, sys
n, imported, runs, s, size = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
json.dump({"entries": n, "imported": imported, "runs": runs, "seconds": s,
           "entries_per_s": imported / s, "db_bytes": size}, open(sys.argv[1], "w"))
EOF
rm -rf "$HD" "$WORK"/import-*.csv
if [ "$IMPORTED" -ne "$IMPORT_ENTRIES" ]; then
  echo "herald suppression import reported $IMPORTED entries, not $IMPORT_ENTRIES" >&2
  exit 1
fi

if [ "$SUP_ENTRIES" -gt "$IMPORT_ENTRIES" ]; then
  # The rest of the list, in sorted batches (about twice as fast; the layout on disk is
  # much the same).
  say "PutSuppressedDestinations: growing the list to $SUP_ENTRIES entries"
  "$BENCH" suppress-load --db "$SUP/herald.db" --account big --first "$IMPORT_ENTRIES" \
    --entries $((SUP_ENTRIES - IMPORT_ENTRIES)) --sort-batches 1 > "$R/grow.json"
else
  echo null > "$R/grow.json"
fi
say "FindSuppressedDestinations on $SUP_ENTRIES entries"
"$BENCH" suppress-lookup --db "$SUP/herald.db" --account big --entries "$SUP_ENTRIES" \
  --lookups "$CALLS" > "$R/lookup.json"
rm -rf "$SUP"

T_END=$(now)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$REPO/bench/results"
/usr/bin/python3 - "$R" "$REPO/bench/results/reputation.txt" "${JSON_OUT:-}" "$LOAD_BEFORE" \
  "$LOAD_AFTER" "$(calc "$T_END - $T_START")" "$ACCOUNTS" "$SUP_ENTRIES" "$IMPORT_ENTRIES" <<'EOF'
import datetime, json, os, platform, sys
r, txt, json_out = sys.argv[1], sys.argv[2], sys.argv[3]
load = lambda name: json.load(open(os.path.join(r, name + ".json")))
accounts, sup_n, imp_n = int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
machine = {"date_utc": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(),
           "cpu": cpu, "kernel": platform.release(), "loadavg_before": sys.argv[4],
           "loadavg_after": sys.argv[5], "seconds": float(sys.argv[6])}
d = {"machine": machine, "window": load("window"), "service_10": load("service-10"),
     "service_100": load("service-100"), "accounts_10": load("accounts-10"),
     "accounts_big": load("accounts-%d" % accounts), "getaccount_10": load("getaccount-10"),
     "getaccount_big": load("getaccount-%d" % accounts), "import_direct": load("import-direct"),
     "import_sorted": load("import-sorted"), "import_cli": load("import-cli"),
     "import_cli_check": load("import-cli-check"), "grow": load("grow"), "lookup": load("lookup")}
ok = all(d[k]["ok"] for k in ("window", "service_10", "service_100")) and \
     d["lookup"]["wrong_answers"] == 0 and d["import_cli_check"]["wrong_answers"] == 0
w, s10, s100 = d["window"], d["service_10"], d["service_100"]
g10, gb = d["getaccount_10"], d["getaccount_big"]
lk = d["lookup"]
db = (d["grow"] or d["import_direct"])["db_bytes"]
lines = []
p = lines.append
p("reputation and suppression (bench/reputation.sh), %s UTC, %d cores (%s), load %s -> %s, %.0f s"
  % (machine["date_utc"], machine["cpus"], cpu, machine["loadavg_before"], machine["loadavg_after"],
     machine["seconds"]))
p("")
p("| figure | value |")
p("|---|---|")
p("| RepWindow.RecordSends | %.1f M/s |" % (w["record_sends_per_s"] / 1e6))
p("| RepWindow.RecordHardBounce | %.1f M/s |" % (w["record_bounces_per_s"] / 1e6))
p("| RepWindow.Measure, 10,000 one-send buckets | %.1f us |" % w["measure_us_p50"])
for name, s in (("10", s10), ("100", s100)):
    p("| service, %s accounts: sends/s with ticks (without) | %.0f (%.0f) |"
      % (name, s["sends_per_s"], s["sends_per_s_without_ticks"]))
    p("| service, %s accounts: tick ms mean (max), all accounts dirty | %.1f (%.1f) |"
      % (name, s["send_tick_ms_mean"], s["send_tick_ms_max"]))
    p("| service, %s accounts: outcomes/s with ticks (without); outcomes | %.0f (%.0f); %d |"
      % (name, s["outcomes_per_s"], s["outcomes_per_s_without_ticks"], s["outcomes"]))
    p("| service, %s accounts: tick releasing the held bounces, ms | %.1f |"
      % (name, s["last_tick_ms"]))
p("| GetAccount p50 / p99 ms, 10 accounts | %.3f / %.3f |" % (g10["p50_ms"], g10["p99_ms"]))
p("| GetAccount p50 / p99 ms, %d accounts | %.3f / %.3f |" % (accounts, gb["p50_ms"], gb["p99_ms"]))
p("| GetAccount ratio %d / 10 accounts: p50, p99 | %.2f, %.2f |"
  % (accounts, gb["p50_ms"] / g10["p50_ms"], gb["p99_ms"] / g10["p99_ms"]))
p("| herald read syscalls per GetAccount, 10 / %d accounts | %.2f / %.2f |"
  % (accounts, g10["read_syscalls_per_call"], gb["read_syscalls_per_call"]))
p("| herald start (3 CLI calls + serve until ready) s, 10 / %d accounts | %.2f / %.2f |"
  % (accounts, g10["herald_start_seconds"], gb["herald_start_seconds"]))
p("| herald RSS MB, 10 / %d accounts | %.1f / %.1f |" % (accounts, g10["herald_rss_kb"] / 1024,
                                                         gb["herald_rss_kb"] / 1024))
for c in ("1_hit", "1_miss", "50_hit", "50_miss"):
    p("| FindSuppressedDestinations %s, %d entries: p50 / p99 us | %.0f / %.0f |"
      % (c.replace("_", " "), sup_n, lk[c]["p50_us"], lk[c]["p99_us"]))
p("| database bytes per entry, %d entries | %.1f |" % (sup_n, db / sup_n))
p("| lookup process RSS MB | %.1f |" % (lk["rss_kb_after"] / 1024))
p("| import %d, PutSuppressedDestinations as given | %.0f entries/s (%.1f s) |"
  % (imp_n, d["import_direct"]["entries_per_s"], d["import_direct"]["put_seconds"]))
p("| import %d, PutSuppressedDestinations sorted batches | %.0f entries/s (%.1f s) |"
  % (imp_n, d["import_sorted"]["entries_per_s"], d["import_sorted"]["put_seconds"]))
p("| import %d, herald suppression import x %d | %.0f entries/s (%.1f s) |"
  % (imp_n, d["import_cli"]["runs"], d["import_cli"]["entries_per_s"], d["import_cli"]["seconds"]))
if d["grow"]:
    g = d["grow"]
    p("| grow %d -> %d, sorted batches | %.0f entries/s (%.1f s); s per million %s |"
      % (imp_n, sup_n, g["entries_per_s"], g["put_seconds"],
         ", ".join("%.1f" % x for x in g["seconds_per_million"])))
p("")
p("checks: %s" % ("all passed" if ok else "FAILED"))
text = "\n".join(lines) + "\n"
open(txt, "w").write(text)
sys.stdout.write(text)
if json_out:
    json.dump(d, open(json_out, "w"), indent=2)
sys.exit(0 if ok else 1)
EOF

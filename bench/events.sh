#!/bin/bash
# bench/events.sh: the figures of issue 6 (event publishing and templates), in one run.
#   bench/events.sh [--herald PATH] [--bench PATH] [--events N] [--renders N]
# 1. Events delivered per second to a local webhook receiver, herald's dispatcher against a
#    plain client POSTing the same bodies to the same receiver (bench/events_webhook.py).
# 2. Template renders per second: bench/template_bench (mail::RenderTemplate) against
#    handlebars.js (bench/template_handlebars.mjs) on bench/template_case.json; both must
#    produce the same number of bytes.
# Writes the table to bench/results/events.txt (and stdout). Nothing asserts on time.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

BENCH=${BENCH:-$REPO/build/bench/template_bench}
EVENTS=2000
RENDERS=200000
bench_parse_args "--herald HERALD --bench BENCH --events EVENTS --renders RENDERS" "$@"
bench_require_herald
[ -x "$BENCH" ] || { echo "template_bench not found at $BENCH (use --bench PATH)" >&2; exit 1; }

hook=$(/usr/bin/python3 "$REPO/bench/events_webhook.py" --herald "$HERALD" --events "$EVENTS")
ours=$("$BENCH" "$REPO/bench/template_case.json" "$RENDERS")
peer=$(node "$REPO/bench/template_handlebars.mjs" "$REPO/bench/template_case.json" "$RENDERS")

/usr/bin/python3 - "$hook" "$ours" "$peer" <<'PY' | tee "$REPO/bench/results/events.txt"
import json, sys
hook, ours, peer = (json.loads(a) for a in sys.argv[1:])
if ours["bytes"] != peer["bytes"]:
    sys.exit("renderers disagree: %d vs %d bytes" % (ours["bytes"], peer["bytes"]))
print("| measure | herald | peer | herald / peer |")
print("|---|---|---|---|")
print("| webhook events delivered per second (%d events, %d duplicates) | %d | %d (plain client) | %.2f |"
      % (hook["events"], hook["duplicates"], hook["herald_events_per_second"],
         hook["peer_events_per_second"], hook["ratio"]))
print("| template renders per second (3 parts, %d bytes each) | %d | %d (handlebars.js) | %.2f |"
      % (ours["bytes"], ours["renders_per_second"], peer["renders_per_second"],
         ours["renders_per_second"] / peer["renders_per_second"]))
PY

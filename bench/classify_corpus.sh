#!/bin/bash
# bench/classify_corpus.sh: herald's bounce and complaint classifier against the labelled
# corpus (../shared/corpus, manifest.tsv; see its README), and Sisimai (Debian's
# libsisimai-perl) on the same files: agreement per column and the speed ratio on one core.
#
# Usage: bench/classify_corpus.sh [--herald PATH] [--corpus DIR] [--runs N]
#                                 [--sisimai-runs N] [--no-sisimai] [--out FILE]
#                                 [--misses COLUMN [--tool herald|sisimai]]
#                                 [--herald-json FILE] [--json FILE]
#   --herald PATH      the binary (default: $HERALD, else build-integ/herald as in lib.sh)
#   --corpus DIR       the corpus (default: the repository's ../shared/corpus)
#   --runs N           timed herald runs, the best is kept (default 3)
#   --sisimai-runs N   timed Sisimai runs, 1 to 10 (default 1)
#   --no-sisimai       score herald only (nothing is written to the results file)
#   --misses COLUMN    list the files where herald disagrees in COLUMN (kind, hard_soft,
#                      reason, status, reply_code, feedback_type): file, expected, got,
#                      format, the diagnostic's first 100 characters; --tool sisimai lists
#                      Sisimai's instead
#   --herald-json FILE score a saved `herald classify` output instead of running herald
#   --out FILE         where the table goes (default bench/results/classify.txt)
#   --json FILE        also write the figures as one JSON object (for bench/run_all.sh)
# Both tools read every file in one process, pinned to CPU 0 (taskset -c 0); the time is
# the wall time of that process. Scoring rules: the header of bench/classify_score.py.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CORPUS=$(cd "$REPO/.." && pwd)/shared/corpus
RUNS=3
SISIMAI_RUNS=1
NO_SISIMAI=
OUT=$REPO/bench/results/classify.txt
MISSES=
TOOL=herald
HERALD_JSON=
JSON_OUT=
bench_parse_args "--herald HERALD --corpus CORPUS --runs RUNS --sisimai-runs SISIMAI_RUNS
  --no-sisimai NO_SISIMAI= --out OUT --misses MISSES --tool TOOL --herald-json HERALD_JSON
  --json JSON_OUT" "$@"

if [ ! -f "$CORPUS/manifest.tsv" ]; then
  echo "no manifest.tsv in $CORPUS (use --corpus DIR)" >&2
  exit 2
fi
if [ -z "$HERALD_JSON" ]; then bench_require_herald; fi
command -v taskset >/dev/null || { echo "missing taskset (Debian package util-linux)" >&2; exit 2; }
if [ -z "$NO_SISIMAI" ] && { [ -z "$MISSES" ] || [ "$TOOL" = sisimai ]; }; then
  if ! perl -MSisimai -e 1 2>/dev/null; then
    echo "Sisimai is not installed (Debian package libsisimai-perl; or use --no-sisimai)" >&2
    exit 2
  fi
fi

args=(--herald "$HERALD" --corpus "$CORPUS" --runs "$RUNS" --sisimai-runs "$SISIMAI_RUNS"
      --out "$OUT" --tool "$TOOL")
if [ -n "$NO_SISIMAI" ]; then args+=(--no-sisimai); fi
if [ -n "$MISSES" ]; then args+=(--misses "$MISSES"); fi
if [ -n "$HERALD_JSON" ]; then args+=(--herald-json "$HERALD_JSON"); fi
if [ -n "$JSON_OUT" ]; then args+=(--json "$JSON_OUT"); fi
exec /usr/bin/python3 "$REPO/bench/classify_score.py" "${args[@]}"

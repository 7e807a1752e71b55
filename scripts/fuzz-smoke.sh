#!/usr/bin/env bash
# scripts/fuzz-smoke.sh BUILD_DIR: builds every libFuzzer target with clang (ASan+UBSan) and
# runs each briefly, as many at once as there are cores (JOBS). A crash fails the run.
# FUZZ_SECONDS sets the time per target. The configuration matches scripts/sanitize.sh, so
# that both share one build.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
secs=${FUZZ_SECONDS:-6}
jobs=${JOBS:-$(nproc)}
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERALD_FUZZ=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -DNDEBUG" -DHERALD_BUILD_SERVER=ON >/dev/null
targets=$(cmake --build "$build" --target help | sed -n 's/^\.\.\. \([a-z0-9_]*_fuzz\)$/\1/p; s/^\([a-z0-9_]*_fuzz\):.*/\1/p' | sort -u)
if [ -z "$targets" ]; then echo "fuzz: no targets"; exit 0; fi
cmake --build "$build" -j "$jobs" --target $targets
# One target: runs it and, on a crash, prints the end of its log.
run_one() {
  local t=$1 corpus="$build/corpus/$1" seeds="tests/fuzz/seeds/${1%_fuzz}" bin
  mkdir -p "$corpus"
  [ -d "$seeds" ] || seeds=""
  bin=$(find "$build" -type f -name "$t" -perm -u+x | head -1)
  if "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=0 "$corpus" $seeds \
    >"$build/$t.log" 2>&1; then
    echo "fuzz: $t ran ${secs}s"
  else
    tail -50 "$build/$t.log"
    echo "fuzz: $t FAILED"
    return 1
  fi
}
passed=0
failed=0
running=0
for t in $targets; do
  if [ "$running" -ge "$jobs" ]; then
    if wait -n; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  if wait -n; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  running=$((running - 1))
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

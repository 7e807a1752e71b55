#!/usr/bin/env bash
# scripts/fuzz-smoke.sh BUILD_DIR: builds every libFuzzer target with clang (ASan+UBSan) and
# runs each briefly. A crash fails the run. FUZZ_SECONDS sets the time per target.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
secs=${FUZZ_SECONDS:-6}
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERALD_FUZZ=ON \
  -DHERALD_BUILD_SERVER=ON >/dev/null
targets=$(cmake --build "$build" --target help | sed -n 's/^\.\.\. \([a-z0-9_]*_fuzz\)$/\1/p; s/^\([a-z0-9_]*_fuzz\):.*/\1/p' | sort -u)
if [ -z "$targets" ]; then echo "fuzz: no targets"; exit 0; fi
cmake --build "$build" -j "$(nproc)" --target $targets
passed=0
for t in $targets; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  seeds="tests/fuzz/seeds/${t%_fuzz}"
  [ -d "$seeds" ] || seeds=""
  echo "fuzz: $t for ${secs}s"
  bin=$(find "$build" -type f -name "$t" -perm -u+x | head -1)
  "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=0 "$corpus" $seeds \
    >"$build/$t.log" 2>&1 || { tail -50 "$build/$t.log"; echo "fuzz: $t FAILED"; exit 1; }
  passed=$((passed + 1))
done
echo "fuzz: $passed passed, 0 failed"

#!/usr/bin/env bash
# scripts/sanitize.sh BUILD_DIR: one clang build with ASan+UBSan (and libFuzzer's coverage
# instrumentation) that compiles the libraries once for both the unit tests and the fuzz
# targets. Runs every unit test under the sanitizers, then the fuzz smoke run
# (scripts/fuzz-smoke.sh, which finds this build already configured and built).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
jobs=${JOBS:-$(nproc)}
# -O0: the sanitizers find the same faults at any level, and this build exists to run tests,
# not to be fast. With the instrumentation, clang took 24 s of CPU for src/api/sesv2_api.cc
# at -O1 and 11 s at -O0 (2026-11-23). The build type adds -g1 (line tables), enough for
# symbolised sanitizer reports.
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERALD_FUZZ=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -DNDEBUG" \
  -DHERALD_BUILD_SERVER=ON >/dev/null
targets=$(cmake --build "$build" --target help | sed -n 's/^\.\.\. \([a-z0-9_]*_fuzz\)$/\1/p; s/^\([a-z0-9_]*_fuzz\):.*/\1/p' | sort -u)
cmake --build "$build" -j "$jobs" --target herald_unit_tests $targets
(cd "$build" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j "$jobs" -L unit)
scripts/fuzz-smoke.sh "$build"

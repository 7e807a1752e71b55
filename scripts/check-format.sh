#!/usr/bin/env bash
# scripts/check-format.sh: fails when a tracked C++ file differs from clang-format's output.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
for f in $(git ls-files '*.h' '*.cc'); do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not clang-formatted: $f (run: make format)"
    bad=1
  fi
done
exit $bad

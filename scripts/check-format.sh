#!/usr/bin/env bash
# scripts/check-format.sh: fails when a tracked C++ file differs from clang-format's output.
# One clang-format process per batch of files and core (not one per file: its start-up was
# most of the time); a file that is not formatted is named in the warnings it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(git ls-files -z '*.h' '*.cc' |
  xargs -0 -n 40 -P "$(nproc)" clang-format --dry-run -Werror 2>&1 >/dev/null || true)
if [ -n "$out" ]; then
  files=$(printf '%s\n' "$out" | sed -n 's/^\([^:]*\.\(h\|cc\)\):[0-9]*:[0-9]*: error:.*/\1/p' | sort -u)
  if [ -n "$files" ]; then
    printf '%s: not clang-formatted (run: make format)\n' $files
  else
    printf '%s\n' "$out" | head -20  # clang-format failed some other way
  fi
  exit 1
fi

#!/usr/bin/env bash
# Sets up, builds and runs every test: lit (check-gfl), GoogleTest (ctest) and
# a short fuzz smoke of the frontend (GFL_FUZZ_SECONDS, 60 by default; 0
# skips it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GFL_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh"
"$ROOT/scripts/build.sh" check-gfl
ctest --test-dir "$BUILD" --output-on-failure -j "${GFL_JOBS:-2}"
# A parser change that crashes on some input fails here. The fuzzer's own
# output goes to a log, shown on failure.
FUZZ_SECONDS="${GFL_FUZZ_SECONDS:-60}"
if [ "$FUZZ_SECONDS" -gt 0 ]; then
  LOG="$BUILD/fuzz-smoke.log"
  if "$ROOT/scripts/fuzz.sh" "$FUZZ_SECONDS" > "$LOG" 2>&1; then
    echo "fuzz smoke: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$LOG"), no crash"
  else
    tail -n 60 "$LOG"
    echo "fuzz smoke: failed (crash input in build-fuzz/artifacts/)"
    exit 1
  fi
fi

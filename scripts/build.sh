#!/usr/bin/env bash
# Configures (once) and builds gfl into build/ with Ninja.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GFL_BUILD_DIR:-$ROOT/build}"
JOBS="${GFL_JOBS:-2}"
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
if [ $# -gt 0 ]; then
  cmake --build "$BUILD" -j "$JOBS" --target "$@"
else
  cmake --build "$BUILD" -j "$JOBS"
fi

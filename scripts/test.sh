#!/usr/bin/env bash
# Sets up, builds and runs every test: lit (check-gfl) and GoogleTest (ctest).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GFL_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh"
"$ROOT/scripts/build.sh" check-gfl
ctest --test-dir "$BUILD" --output-on-failure -j "${GFL_JOBS:-2}"

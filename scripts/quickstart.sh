#!/usr/bin/env bash
# The main job: set up, build, and compile the hypergrid example to the gfl
# dialect. (Training arrives with the runtime.)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" gflc gfl-opt
"$ROOT/build/bin/gflc" --emit=mlir "$ROOT/examples/hypergrid.gfl"

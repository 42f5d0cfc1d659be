#!/usr/bin/env bash
# The main job: set up, build, and compile the hypergrid example into an
# artifact (native CPU kernels + manifest). Training arrives with gfl-run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" gflc gfl-opt
"$ROOT/build/bin/gflc" "$ROOT/examples/hypergrid.gfl" -o "$ROOT/build/hypergrid.gflx"
echo "wrote $ROOT/build/hypergrid.gflx; its manifest:"
"$ROOT/build/bin/gflc" "$ROOT/examples/hypergrid.gfl" --emit=manifest

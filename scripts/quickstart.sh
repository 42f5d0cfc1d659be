#!/usr/bin/env bash
# The main job: set up, build, compile examples/hypergrid.gfl into an
# artifact and train it with gfl-run; prints the final metrics.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" gflc gfl-run
OUT="$ROOT/build/quickstart"
mkdir -p "$OUT"
"$ROOT/build/bin/gflc" "$ROOT/examples/hypergrid.gfl" -o "$OUT/hypergrid.gflx"
"$ROOT/build/bin/gfl-run" train "$OUT/hypergrid.gflx" --out "$OUT/run"
echo "metrics: $OUT/run/metrics.jsonl, checkpoint: $OUT/run/checkpoint.pt" >&2

#!/usr/bin/env bash
# Builds the frontend fuzz target with clang's libFuzzer (ASan + UBSan) and
# runs it. Usage: scripts/fuzz.sh [SECONDS] (default 600).
# The seed corpus is every .gfl file in examples/ and test/; new inputs go
# to build-fuzz/corpus, crashes to build-fuzz/artifacts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/build-fuzz"
SECONDS_TO_RUN="${1:-600}"
CXX="${FUZZ_CXX:-clang++-14}"
mkdir -p "$OUT/corpus" "$OUT/artifacts" "$OUT/seeds"
"$CXX" -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined \
  -I"$ROOT/frontend/include" \
  "$ROOT"/frontend/lib/*.cpp "$ROOT/fuzz/FrontendFuzzer.cpp" \
  -lfmt -o "$OUT/gfl-frontend-fuzzer"
find "$ROOT/examples" "$ROOT/test" -name '*.gfl' -exec cp {} "$OUT/seeds/" \;
cd "$OUT"
./gfl-frontend-fuzzer -max_total_time="$SECONDS_TO_RUN" -timeout=10 \
  -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
  -artifact_prefix="$OUT/artifacts/" -dict="$ROOT/fuzz/gfl.dict" \
  corpus seeds

#!/usr/bin/env bash
# On a GPU machine (after scripts/gpu-prepare.sh here, carrying .device):
# builds the runtime against the machine's PyTorch (LibTorch with CUDA),
# runs every runtime test (the `cuda` ones included) on the prebuilt
# artifacts, then the GPU benchmark.
#
#   scripts/gpu-test.sh [--no-bench]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"
DEV="$ROOT/.device"
BUILD="${GFL_GPU_BUILD:-$ROOT/build-gpu}"
[[ -d "$DEV/artifacts" ]] || { echo "no .device/: run scripts/gpu-prepare.sh"; exit 2; }

PREFIX="$("$PY" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DGFL_BUILD_COMPILER=OFF \
  -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DGFL_PREBUILT_TEST_ARTIFACTS="$DEV/artifacts" \
  -DGFL_GTEST_SOURCE_DIR="$DEV/googletest" \
  -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON ${GFL_GPU_CMAKE_ARGS:-}
ninja -C "$BUILD" -j"$(nproc)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
ctest --test-dir "$BUILD" --output-on-failure -j4
# The GPU tests again, verbose: what ran and what skipped, with the reasons.
ctest --test-dir "$BUILD" -L cuda -V | grep -E "Skipped|SKIPPED|OK \]|image|iteration" || true

if [[ "${1:-}" != "--no-bench" ]]; then
  if [[ -d "$DEV/wheels" ]]; then
    "$PY" -m pip install -q --no-index --no-deps --target /tmp/gfl-peer "$DEV"/wheels/*.whl
    export PYTHONPATH=/tmp/gfl-peer${PYTHONPATH:+:$PYTHONPATH}
  fi
  "$PY" "$ROOT/bench/hypergrid.py" --device cuda --bin "$BUILD/bin" \
    --artifacts "$DEV/bench" --iterations "${GFL_BENCH_ITERATIONS:-200}"
fi

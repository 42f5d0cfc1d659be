#!/usr/bin/env bash
# Prepares .device/ for a GPU machine, which has CUDA, PyTorch (LibTorch
# with CUDA), CMake and Ninja but no MLIR and no Debian -dev packages:
#   .device/artifacts/   the test artifacts, compiled here by gflc
#   .device/bench/       hypergrid artifacts for bench/hypergrid.py --device cuda
#   .device/googletest/  GoogleTest's sources
#   .device/wheels/      torchgfn and what it needs there (with --peer)
# Then, on the GPU machine: scripts/gpu-test.sh (carry .device).
#
#   scripts/gpu-prepare.sh [--peer]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/build/bin"
OUT="$ROOT/.device"
PEER="${1:-}"

ninja -C "$ROOT/build" gflc gfl-test-artifacts >/dev/null
rm -rf "$OUT"
mkdir -p "$OUT/artifacts" "$OUT/bench"
cp "$ROOT"/build/test/artifacts/*.gflx "$OUT/artifacts/"
# proxy.gflx finds its reward model next to it when gflc's path is absent.
mkdir -p "$OUT/artifacts/data"
cp "$ROOT"/examples/data/proxy.pt "$OUT/artifacts/data/"
for dh in 2:8 4:8 4:32; do
  d="${dh%:*}" h="${dh#*:}"
  "$BIN/gflc" "$ROOT/examples/hypergrid.gfl" --set "D=$d" --set "H=$h" \
    -o "$OUT/bench/hg_D${d}_H${h}.gflx"
done
cp -r /usr/src/googletest "$OUT/googletest"

if [[ "$PEER" == "--peer" ]]; then
  # The GPU machines run Python 3.12 with numpy 2; torchgfn wants numpy < 2.
  python3 -m pip download -q --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux_2_28_x86_64 -d "$OUT/wheels" \
    torchgfn dill tensordict orjson pyvers importlib_metadata \
    linear-attention-transformer axial-positional-embedding linformer \
    local-attention product-key-memory colt5-attention hyper-connections \
    "numpy<2"
fi
du -sh "$OUT"

#!/usr/bin/env bash
# Installs every system package the gfl build and tests need on Debian 12.
# Does nothing (no apt calls) when everything is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build git python3
  llvm-19 llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  clang-14 libclang-rt-14-dev
  libtorch-dev libopenblas0-pthread libgloo-dev
  libfmt-dev libgtest-dev
  zlib1g-dev libzstd-dev libedit-dev libxml2-dev libcurl4-openssl-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# cuobjdump and nvdisasm, which the CUDA toolkit here lacks, check the cubins
# gflc writes (lit feature `cuobjdump`).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -x /usr/local/cuda/bin/ptxas ] && [ ! -x /usr/local/cuda/bin/cuobjdump ]; then
  python3 "$ROOT/scripts/fetch-cuda-tools.py"
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# Builds gflc, gfl-run and every test with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/ and runs them: the GoogleTest
# suites (ctest) and lit. The first error stops the process that hits it and
# fails its test. Not part of CI (it does not fit its time limit; the README
# gives the time on 2 cores). Usage: scripts/sanitize.sh [ctest|lit]
# (default both).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GFL_ASAN_BUILD_DIR:-$ROOT/build-asan}"
JOBS="${GFL_JOBS:-2}"
WHAT="${1:-all}"
# vptr needs RTTI, which LLVM and MLIR are built without.
FLAGS="-fsanitize=address,undefined -fno-sanitize=vptr"
FLAGS="$FLAGS -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
"$ROOT/scripts/setup.sh"
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="$FLAGS" -DCMAKE_CXX_FLAGS="$FLAGS" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined"
fi
# The build runs gflc (test artifacts), so the options apply from here on.
# Leaks are not checked: LibTorch, OpenBLAS and MLIR keep process-lifetime
# allocations that LeakSanitizer reports at exit. User poisoning is off:
# LLVM's BumpPtrAllocator poisons its slabs in the instrumented copies of its
# header code (in gflc) but not in the uninstrumented libMLIR, which then
# hands out memory ASan still believes poisoned.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:strict_string_checks=1:allow_user_poisoning=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export GFL_SANITIZED=1
start=$(date +%s)
cmake --build "$BUILD" -j "$JOBS"
echo "sanitize: built in $(( $(date +%s) - start )) s"
status=0
if [ "$WHAT" = all ] || [ "$WHAT" = ctest ]; then
  t=$(date +%s)
  ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS" || status=1
  echo "sanitize: ctest in $(( $(date +%s) - t )) s"
fi
if [ "$WHAT" = all ] || [ "$WHAT" = lit ]; then
  t=$(date +%s)
  /usr/lib/llvm-19/build/utils/lit/lit.py -q "$BUILD/test" || status=1
  echo "sanitize: lit in $(( $(date +%s) - t )) s"
fi
echo "sanitize: total $(( $(date +%s) - start )) s, status $status"
exit $status

//===- CpuKernels.h - What the runtime's own CPU kernels need ---*- C++ -*-===//
//
// The runtime's few hand-written CPU loops (FewRowLinear, the fused Adam
// step) use AVX2 and FMA where the CPU has them, chosen at run time, so
// that one build runs on any x86-64 and elsewhere: GFL_CPU_KERNELS is
// defined where the compiler can target AVX2 in a function, and
// cpuHasAvx2Fma() says whether this CPU runs it. Callers fall back to
// LibTorch's ops otherwise.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_CPUKERNELS_H
#define GFL_RUNTIME_CPUKERNELS_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GFL_CPU_KERNELS 1
#include <immintrin.h>
#define GFL_AVX2_FMA __attribute__((target("avx2,fma")))
#endif

namespace gfl {

inline bool cpuHasAvx2Fma() {
#ifdef GFL_CPU_KERNELS
  static const bool has =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}

} // namespace gfl

#endif // GFL_RUNTIME_CPUKERNELS_H

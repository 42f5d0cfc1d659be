//===- CpuKernels.h - What the runtime's own CPU kernels need ---*- C++ -*-===//
//
// The runtime's few hand-written CPU loops (FewRowLinear, the bias and
// activation pass of LayerActivation, the fused Adam step) use AVX2 and FMA
// where the CPU has them, and FewRowLinear AVX-512 where it has that, chosen
// at run time, so that one build runs on any x86-64 and elsewhere:
// GFL_CPU_KERNELS is defined where the compiler can target AVX2 in a
// function, and cpuHasAvx2Fma() and cpuHasAvx512() say whether this CPU runs
// it. Callers fall back to LibTorch's ops otherwise.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_CPUKERNELS_H
#define GFL_RUNTIME_CPUKERNELS_H

#include "gfl/Runtime/LayerActivation.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GFL_CPU_KERNELS 1
#include <immintrin.h>
#define GFL_AVX2_FMA __attribute__((target("avx2,fma")))
#define GFL_AVX512 __attribute__((target("avx512f,avx2,fma")))
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

/// Whether this CPU runs GFL_AVX512 code (AVX-512 Foundation): twice the
/// AVX2 kernels' multiply-adds per instruction.
inline bool cpuHasAvx512() {
#ifdef GFL_CPU_KERNELS
  static const bool has = cpuHasAvx2Fma() && __builtin_cpu_supports("avx512f");
  return has;
#else
  return false;
#endif
}

#ifdef GFL_CPU_KERNELS
/// act(v) for the activations the kernels apply in registers (None, Relu,
/// LeakyRelu; any other leaves v). The operand order of max keeps a NaN
/// (max returns its second operand when either is NaN), as LibTorch does.
GFL_AVX2_FMA inline __attribute__((always_inline)) __m256
activate8(__m256 v, LayerActivation act) {
  if (act == LayerActivation::Relu)
    return _mm256_max_ps(_mm256_setzero_ps(), v);
  if (act == LayerActivation::LeakyRelu)
    return _mm256_max_ps(
        _mm256_mul_ps(_mm256_set1_ps(float(kLeakyReluSlope)), v), v);
  return v;
}

/// activate8 on 16 lanes. (maskz_max with every lane set is max: GCC 12
/// warns of the undefined source operand in _mm512_max_ps.)
GFL_AVX512 inline __attribute__((always_inline)) __m512
activate16(__m512 v, LayerActivation act) {
  if (act == LayerActivation::Relu)
    return _mm512_maskz_max_ps(0xffff, _mm512_setzero_ps(), v);
  if (act == LayerActivation::LeakyRelu)
    return _mm512_maskz_max_ps(
        0xffff, _mm512_mul_ps(_mm512_set1_ps(float(kLeakyReluSlope)), v), v);
  return v;
}

/// Whether activate8 and activate16 apply `act`.
inline bool activatesInRegisters(LayerActivation act) {
  return act == LayerActivation::None || act == LayerActivation::Relu ||
         act == LayerActivation::LeakyRelu;
}
#endif

} // namespace gfl

#endif // GFL_RUNTIME_CPUKERNELS_H

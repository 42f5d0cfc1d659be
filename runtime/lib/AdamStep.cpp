//===- AdamStep.cpp - One Adam step over flat buffers in one pass ---------===//

#include "AdamStep.h"

#include "CoreTeam.h"
#include "CpuKernels.h"

#include <algorithm>
#include <cmath>

namespace gfl {

namespace {

#ifdef GFL_CPU_KERNELS

/// The update of one element, also for the tail past the last full vector.
inline void adamElement(const AdamScalars &s, float &p, float g, float &m,
                        float &v) {
  if (s.weightDecay != 0)
    g += float(s.weightDecay) * p;
  m = m * float(s.beta1) + float(1 - s.beta1) * g;
  v = v * float(s.beta2) + float(1 - s.beta2) * g * g;
  float denom = std::sqrt(v) / float(std::sqrt(s.correction2)) + float(s.eps);
  p += float(-s.lr / s.correction1) * (m / denom);
}

GFL_AVX2_FMA void adamAvx2(const AdamScalars &s, float *p, const float *g,
                           float *m, float *v, int64_t n) {
  const __m256 decay = _mm256_set1_ps(float(s.weightDecay));
  const __m256 b1 = _mm256_set1_ps(float(s.beta1));
  const __m256 a1 = _mm256_set1_ps(float(1 - s.beta1));
  const __m256 b2 = _mm256_set1_ps(float(s.beta2));
  const __m256 a2 = _mm256_set1_ps(float(1 - s.beta2));
  const __m256 root2 = _mm256_set1_ps(float(std::sqrt(s.correction2)));
  const __m256 eps = _mm256_set1_ps(float(s.eps));
  const __m256 step = _mm256_set1_ps(float(-s.lr / s.correction1));
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 pi = _mm256_loadu_ps(p + i), gi = _mm256_loadu_ps(g + i);
    if (s.weightDecay != 0)
      gi = _mm256_fmadd_ps(decay, pi, gi);
    __m256 mi =
        _mm256_fmadd_ps(a1, gi, _mm256_mul_ps(_mm256_loadu_ps(m + i), b1));
    __m256 vi = _mm256_fmadd_ps(_mm256_mul_ps(a2, gi), gi,
                                _mm256_mul_ps(_mm256_loadu_ps(v + i), b2));
    __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), root2), eps);
    pi = _mm256_fmadd_ps(step, _mm256_div_ps(mi, denom), pi);
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    _mm256_storeu_ps(p + i, pi);
  }
  for (; i < n; ++i)
    adamElement(s, p[i], g[i], m[i], v[i]);
}

/// The elements below which a thread of the team would cost more than its
/// share of the step.
constexpr int64_t kElementsPerThread = 16384;

bool isFlatCpuFloat(const torch::Tensor &t, int64_t n) {
  return t.device().is_cpu() && t.scalar_type() == torch::kFloat32 &&
         t.is_contiguous() && t.numel() == n;
}

#endif

} // namespace

bool adamStep(const AdamScalars &s, const torch::Tensor &value,
              const torch::Tensor &grad, const torch::Tensor &expAvg,
              const torch::Tensor &expAvgSq) {
#ifdef GFL_CPU_KERNELS
  int64_t n = value.numel();
  if (!cpuHasAvx2Fma() || !isFlatCpuFloat(value, n) ||
      !isFlatCpuFloat(grad, n) || !isFlatCpuFloat(expAvg, n) ||
      !isFlatCpuFloat(expAvgSq, n))
    return false;
  float *p = value.data_ptr<float>(), *g = grad.data_ptr<float>(),
        *m = expAvg.data_ptr<float>(), *v = expAvgSq.data_ptr<float>();
  // Each element's step is its own: split in ranges of whole vectors
  // between the team's threads, it gives the same bits.
  CoreTeam &team = CoreTeam::shared();
  int parts =
      static_cast<int>(std::min<int64_t>(team.size(), n / kElementsPerThread));
  if (parts > 1) {
    int64_t vectors = n / 8;
    team.run([&](int i) {
      if (i >= parts)
        return;
      int64_t begin = vectors * i / parts * 8,
              end = i + 1 == parts ? n : vectors * (i + 1) / parts * 8;
      adamAvx2(s, p + begin, g + begin, m + begin, v + begin, end - begin);
    });
  } else {
    adamAvx2(s, p, g, m, v, n);
  }
  // As LibTorch's in-place ops on these tensors do (the group's flat
  // values and moments): a graph that saved one refuses its backward.
  for (const torch::Tensor *t : {&value, &expAvg, &expAvgSq})
    t->unsafeGetTensorImpl()->bump_version();
  return true;
#else
  (void)s, (void)value, (void)grad, (void)expAvg, (void)expAvgSq;
  return false;
#endif
}

} // namespace gfl

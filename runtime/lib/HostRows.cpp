//===- HostRows.cpp - Row selections of CPU tensors on the host -----------===//

#include "HostRows.h"

#include "CpuKernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace gfl {

namespace {

bool hostIndices(const torch::Tensor &rows) {
  return onHost(rows) && rows.scalar_type() == torch::kInt64 && rows.dim() == 1;
}

/// Bytes per row of `t` [N, ...].
int64_t rowBytes(const torch::Tensor &t) {
  int64_t n = t.size(0);
  return n == 0 ? 0 : t.numel() / n * static_cast<int64_t>(t.element_size());
}

/// Throws unless every row index is in [0, n): the host copies check what
/// index_select and index_copy_ check.
void checkRows(const int64_t *rows, int64_t k, int64_t n) {
  for (int64_t i = 0; i < k; ++i)
    if (rows[i] < 0 || rows[i] >= n)
      throw std::out_of_range("row " + std::to_string(rows[i]) +
                              " is out of range for " + std::to_string(n) +
                              " rows");
}

/// Whether p[0..n) are all finite (no exponent with every bit set).
bool finiteScalar(const float *p, int64_t n) {
  return std::all_of(p, p + n, [](float v) { return std::isfinite(v); });
}

#ifdef GFL_CPU_KERNELS
GFL_AVX2_FMA bool finiteAvx2(const float *p, int64_t n) {
  const __m256i exponent = _mm256_set1_epi32(0x7f800000);
  __m256i bad = _mm256_setzero_si256();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i bits = _mm256_and_si256(
        _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p + i)),
        exponent);
    bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(bits, exponent));
  }
  return _mm256_testz_si256(bad, bad) && finiteScalar(p + i, n - i);
}
#endif

/// Rows [start, start + count) of t, with the first dimension kept or
/// dropped; nullopt where LibTorch's ops must make the view.
std::optional<torch::Tensor> hostRows(const torch::Tensor &t, int64_t start,
                                      int64_t count, bool keepDim) {
  if (!onHost(t) || t.dim() == 0 || start < 0 || count < 0 ||
      start + count > t.size(0))
    return std::nullopt;
  auto impl = c10::make_intrusive<c10::TensorImpl>(c10::Storage(t.storage()),
                                                   t.key_set(), t.dtype());
  c10::IntArrayRef sizes = t.sizes(), strides = t.strides();
  if (keepDim) {
    c10::DimVector rows(sizes.begin(), sizes.end());
    rows[0] = count;
    impl->set_sizes_and_strides(rows, strides);
  } else {
    impl->set_sizes_and_strides(sizes.slice(1), strides.slice(1));
  }
  impl->set_storage_offset(t.storage_offset() + start * t.stride(0));
  return torch::Tensor(std::move(impl));
}

} // namespace

bool onHost(const torch::Tensor &t) {
  return t.device().is_cpu() && t.is_contiguous() &&
         !(t.requires_grad() && torch::GradMode::is_enabled());
}

bool allSet(const torch::Tensor &flags) {
  if (!onHost(flags) || flags.scalar_type() != torch::kBool)
    return flags.all().item<bool>();
  const bool *f = flags.data_ptr<bool>();
  return std::all_of(f, f + flags.numel(), [](bool b) { return b; });
}

torch::Tensor unsetIndices(const torch::Tensor &flags) {
  if (!onHost(flags) || flags.scalar_type() != torch::kBool || flags.dim() != 1)
    return flags.logical_not().nonzero().reshape({-1});
  const bool *f = flags.data_ptr<bool>();
  int64_t n = flags.size(0);
  int64_t k = n - std::count(f, f + n, true);
  torch::Tensor out = torch::empty({k}, flags.options().dtype(torch::kInt64));
  int64_t *o = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    if (!f[i])
      *o++ = i;
  return out;
}

torch::Tensor selectRows(const torch::Tensor &x, const torch::Tensor &rows) {
  if (!onHost(x) || !hostIndices(rows) || x.dim() == 0)
    return x.index_select(0, rows);
  std::vector<int64_t> shape = x.sizes().vec();
  shape[0] = rows.size(0);
  torch::Tensor out = torch::empty(shape, x.options());
  const int64_t *r = rows.data_ptr<int64_t>();
  checkRows(r, rows.size(0), x.size(0));
  int64_t bytes = rowBytes(x);
  const char *from = static_cast<const char *>(x.data_ptr());
  char *to = static_cast<char *>(out.data_ptr());
  for (int64_t i = 0; i < rows.size(0); ++i)
    std::memcpy(to + i * bytes, from + r[i] * bytes, bytes);
  return out;
}

void copyRows(torch::Tensor &into, const torch::Tensor &rows,
              const torch::Tensor &x) {
  if (!onHost(into) || !onHost(x) || !hostIndices(rows) || into.dim() == 0 ||
      x.scalar_type() != into.scalar_type() || x.dim() != into.dim() ||
      x.size(0) != rows.size(0) ||
      !x.sizes().slice(1).equals(into.sizes().slice(1))) {
    into.index_copy_(0, rows, x);
    return;
  }
  const int64_t *r = rows.data_ptr<int64_t>();
  checkRows(r, rows.size(0), into.size(0));
  int64_t bytes = rowBytes(into);
  const char *from = static_cast<const char *>(x.data_ptr());
  char *to = static_cast<char *>(into.data_ptr());
  for (int64_t i = 0; i < rows.size(0); ++i)
    std::memcpy(to + r[i] * bytes, from + i * bytes, bytes);
}

torch::Tensor rowsOf(const torch::Tensor &t, int64_t start, int64_t count) {
  if (auto rows = hostRows(t, start, count, /*keepDim=*/true))
    return *rows;
  return t.narrow(0, start, count);
}

torch::Tensor rowOf(const torch::Tensor &t, int64_t k) {
  if (auto row = hostRows(t, k, 1, /*keepDim=*/false))
    return *row;
  return t.select(0, k);
}

bool allFinite(const std::vector<torch::Tensor> &ts) {
  bool host = std::all_of(ts.begin(), ts.end(), [](const torch::Tensor &t) {
    return onHost(t) && t.scalar_type() == torch::kFloat32;
  });
  if (!host) {
    torch::Tensor total;
    for (const torch::Tensor &t : ts)
      total = total.defined() ? total + t.sum() : t.sum();
    return !total.defined() || torch::isfinite(total).item<bool>();
  }
  for (const torch::Tensor &t : ts) {
    const float *p = t.data_ptr<float>();
#ifdef GFL_CPU_KERNELS
    if (cpuHasAvx2Fma() ? !finiteAvx2(p, t.numel())
                        : !finiteScalar(p, t.numel()))
      return false;
#else
    if (!finiteScalar(p, t.numel()))
      return false;
#endif
  }
  return true;
}

} // namespace gfl

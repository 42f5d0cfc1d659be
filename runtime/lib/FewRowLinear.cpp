//===- FewRowLinear.cpp - Linear layers over few rows, weights packed once ===//

#include "gfl/Runtime/FewRowLinear.h"

#include "CoreTeam.h"
#include "CpuKernels.h"

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

namespace gfl {

namespace {

// The weight is packed in panels of kPanel output columns (two AVX
// registers), input-major: panel p holds W[16p + j, k] at k * 16 + j. The
// rows of x are packed in blocks of kBlock rows, input-major likewise. One
// kernel call computes a block's rows on a panel's columns in 2 kBlock
// accumulator registers.
constexpr int64_t kPanel = 16;

/// A product is split between the team's threads by rows where each
/// thread gets at least kMinRows and the layer has at least kSplitWeights
/// weights. Measured on 2 cores (AVX-512), against one thread: 256 x 256,
/// 8 rows 5.98 -> 4.61 us, 128 rows 91.8 -> 52.0; 32 inputs x 256, 8 rows
/// 0.87 -> 2.11 (each row's packing and store outweigh its products).
constexpr int64_t kMinRows = 4;
constexpr int64_t kSplitWeights = 128 * 256;

#ifdef GFL_CPU_KERNELS

constexpr int64_t kBlock = 6;

/// acc[r] += a[r] * w for the R rows of one input k.
template <int R>
GFL_AVX2_FMA inline __attribute__((always_inline)) void
accumulate(__m256 (&acc)[R][2], const float *a, const float *w) {
  __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    __m256 x = _mm256_broadcast_ss(a + r);
    acc[r][0] = _mm256_fmadd_ps(x, w0, acc[r][0]);
    acc[r][1] = _mm256_fmadd_ps(x, w1, acc[r][1]);
  }
}

/// y[r, 0..cols) = act(bias + sum_k a[k, r] w[k, :]) for the R rows of a
/// block, with `act` None, Relu or LeakyRelu.
template <int R>
GFL_AVX2_FMA void blockProduct(const float *a, const float *w, int64_t inputs,
                               const float *bias, float *y, int64_t ldy,
                               int64_t cols, LayerActivation act) {
  __m256 acc[R][2];
  __m256 b0 = _mm256_loadu_ps(bias), b1 = _mm256_loadu_ps(bias + 8);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    acc[r][0] = b0;
    acc[r][1] = b1;
  }
  // Four inputs per iteration: the loop's own work otherwise halves the
  // rate (measured: 17 against 43 GFMA/s on one core).
  int64_t k = 0;
  for (; k + 4 <= inputs; k += 4, a += 4 * kBlock, w += 4 * kPanel) {
    accumulate<R>(acc, a, w);
    accumulate<R>(acc, a + kBlock, w + kPanel);
    accumulate<R>(acc, a + 2 * kBlock, w + 2 * kPanel);
    accumulate<R>(acc, a + 3 * kBlock, w + 3 * kPanel);
  }
  for (; k < inputs; ++k, a += kBlock, w += kPanel)
    accumulate<R>(acc, a, w);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
    for (__m256 &v : acc[r])
      v = activate8(v, act);
  for (int r = 0; r < R; ++r) {
    if (cols == kPanel) {
      _mm256_storeu_ps(y + r * ldy, acc[r][0]);
      _mm256_storeu_ps(y + r * ldy + 8, acc[r][1]);
    } else {
      float lane[kPanel];
      _mm256_storeu_ps(lane, acc[r][0]);
      _mm256_storeu_ps(lane + 8, acc[r][1]);
      std::copy(lane, lane + cols, y + r * ldy);
    }
  }
}

using BlockProduct = void (*)(const float *, const float *, int64_t,
                              const float *, float *, int64_t, int64_t,
                              LayerActivation);
constexpr BlockProduct kBlockProducts[kBlock + 1] = {
    nullptr,         blockProduct<1>, blockProduct<2>, blockProduct<3>,
    blockProduct<4>, blockProduct<5>, blockProduct<6>};

// With AVX-512, a tile is two row blocks on two panels: R <= 2 kBlock rows
// on P <= 2 panels in 2 R accumulator registers of 16 lanes, twice the
// AVX2 tile's multiply-adds per instruction. Each output is the same chain
// of fused multiply-adds, in the same order, as in blockProduct: the two
// kernels give bit-identical results.

/// Row r's value of input k of a block pair (a[0]: rows 0..kBlock-1, a[1]:
/// the rest).
inline __attribute__((always_inline)) const float *
pairRow(const float *const (&a)[2], int r) {
  return r < kBlock ? a[0] + r : a[1] + (r - kBlock);
}

/// y[r, 0..cols) = act(bias + sum_k a[k, r] w[k, :]) for the R rows of a
/// block pair on the P panels `w`.
template <int R, int P>
GFL_AVX512 void pairProduct(const float *a0, const float *a1, const float *w0,
                            const float *w1, int64_t inputs, const float *bias,
                            float *y, int64_t ldy, int64_t cols,
                            LayerActivation act) {
  const float *const a[2] = {a0, a1};
  const float *const w[2] = {w0, w1};
  __m512 acc[R][P];
#pragma GCC unroll 2
  for (int p = 0; p < P; ++p) {
    __m512 b = _mm512_loadu_ps(bias + p * kPanel);
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r)
      acc[r][p] = b;
  }
  for (int64_t k = 0; k < inputs; ++k) {
    __m512 wk[P];
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p)
      wk[p] = _mm512_loadu_ps(w[p] + k * kPanel);
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      __m512 x = _mm512_set1_ps(pairRow(a, r)[k * kBlock]);
#pragma GCC unroll 2
      for (int p = 0; p < P; ++p)
        acc[r][p] = _mm512_fmadd_ps(x, wk[p], acc[r][p]);
    }
  }
  for (int p = 0; p < P; ++p) {
    int64_t n = std::min(kPanel, cols - p * kPanel);
    __mmask16 mask = static_cast<__mmask16>((1u << n) - 1);
    for (int r = 0; r < R; ++r)
      _mm512_mask_storeu_ps(y + r * ldy + p * kPanel, mask,
                            activate16(acc[r][p], act));
  }
}

using PairProduct = void (*)(const float *, const float *, const float *,
                             const float *, int64_t, const float *, float *,
                             int64_t, int64_t, LayerActivation);

template <int... Rs>
constexpr std::array<std::array<PairProduct, 2>, sizeof...(Rs) + 1>
pairProducts(std::integer_sequence<int, Rs...>) {
  return {{{nullptr, nullptr},
           {pairProduct<Rs + 1, 1>, pairProduct<Rs + 1, 2>}...}};
}

/// kPairProducts[R][P - 1].
constexpr auto kPairProducts =
    pairProducts(std::make_integer_sequence<int, 2 * kBlock>());

/// A product's tiles: with `wide`, pairProduct's (two row blocks on two
/// panels), else blockProduct's (a row block on a panel).
struct Tiles {
  const float *panels, *bias, *rowBlocks;
  float *y;
  int64_t rows, blocks, panelCount, inputs, outputs;
  bool wide;
  LayerActivation act;
};

/// Every tile of `t`, panel-major: a panel stays in cache for the rows.
void runTiles(const Tiles &t) {
  // Row blocks and panels per tile.
  int64_t span = t.wide ? 2 : 1;
  for (int64_t p = 0; p < t.panelCount; p += span)
    for (int64_t blk = 0; blk < t.blocks; blk += span) {
      int64_t firstRow = blk * kBlock, firstCol = p * kPanel;
      int64_t r = std::min(span * kBlock, t.rows - firstRow);
      int64_t cols = std::min(span * kPanel, t.outputs - firstCol);
      const float *a = t.rowBlocks + blk * t.inputs * kBlock;
      const float *w = t.panels + p * t.inputs * kPanel;
      float *y = t.y + firstRow * t.outputs + firstCol;
      if (t.wide)
        kPairProducts[r][std::min<int64_t>(2, t.panelCount - p) - 1](
            a, a + t.inputs * kBlock, w, w + t.inputs * kPanel, t.inputs,
            t.bias + firstCol, y, t.outputs, cols, t.act);
      else
        kBlockProducts[r](a, w, t.inputs, t.bias + firstCol, y, t.outputs, cols,
                          t.act);
    }
}

/// to[i * kPanel + j] = from[j * stride + i] for i, j < 8: eight rows of W
/// across eight inputs, into a panel.
GFL_AVX2_FMA void transpose8(const float *from, int64_t stride, float *to) {
  __m256 r[8], t[8];
  for (int j = 0; j < 8; ++j)
    r[j] = _mm256_loadu_ps(from + j * stride);
  for (int j = 0; j < 8; j += 2) {
    t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
    t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
  }
  // r[4h + q]: rows 4h..4h+3 at input q (low lane) and q + 4 (high lane).
  for (int h = 0; h < 2; ++h) {
    __m256 *u = t + 4 * h, *v = r + 4 * h;
    v[0] = _mm256_shuffle_ps(u[0], u[2], _MM_SHUFFLE(1, 0, 1, 0));
    v[1] = _mm256_shuffle_ps(u[0], u[2], _MM_SHUFFLE(3, 2, 3, 2));
    v[2] = _mm256_shuffle_ps(u[1], u[3], _MM_SHUFFLE(1, 0, 1, 0));
    v[3] = _mm256_shuffle_ps(u[1], u[3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int q = 0; q < 4; ++q) {
    _mm256_storeu_ps(to + q * kPanel,
                     _mm256_permute2f128_ps(r[q], r[4 + q], 0x20));
    _mm256_storeu_ps(to + (4 + q) * kPanel,
                     _mm256_permute2f128_ps(r[q], r[4 + q], 0x31));
  }
}

#endif

bool isCpuFloat(const torch::Tensor &t) {
  return t.device().is_cpu() && t.scalar_type() == torch::kFloat32 &&
         t.dim() == 2 && t.is_contiguous();
}

} // namespace

bool FewRowLinear::applies(const torch::Tensor &x, const torch::Tensor &weight,
                           const torch::Tensor &out) {
  // The kernel records no graph: a product autograd must see goes to BLAS.
  bool graphless = !torch::GradMode::is_enabled() ||
                   (!x.requires_grad() && !weight.requires_grad());
  return graphless && isCpuFloat(x) && isCpuFloat(weight) && isCpuFloat(out) &&
         cpuHasAvx2Fma() &&
         x.size(0) <= maxRows(weight.size(1), weight.size(0));
}

int64_t FewRowLinear::maxRows(int64_t inputs, int64_t outputs) {
  // Split between the team's threads, the packed product ran 2x as fast as
  // one-threaded BLAS at every size measured (to 512 rows of a 256 x 256
  // layer), but on a layer narrower than a panel, which keeps the bound.
  if (CoreTeam::shared().size() > 1 && outputs >= kPanel)
    return std::numeric_limits<int64_t>::max();
  return (cpuHasAvx512() ? 16384 : 4096) / std::max<int64_t>(inputs, 1);
}

FewRowLinear::FewRowLinear(const torch::Tensor &weight,
                           const torch::Tensor &bias, bool avx512)
    : inputs_(weight.size(1)), outputs_(weight.size(0)),
      wide_(avx512 && cpuHasAvx512()) {
  int64_t panels = (outputs_ + kPanel - 1) / kPanel;
  bias_ =
      torch::zeros({panels * kPanel}, weight.options().requires_grad(false));
  if (bias.defined()) {
    if (bias.scalar_type() != torch::kFloat32 || bias.numel() != outputs_)
      throw std::logic_error("FewRowLinear: the bias is not float32 [N]");
    bias_.narrow(0, 0, outputs_).copy_(bias.detach());
  }
  panels_ = torch::empty({panels, inputs_, kPanel},
                         weight.options().requires_grad(false));
  // A weight changes with every optimizer step and is packed again for
  // each rollout: whole panels in 8 x 8 blocks transposed in registers,
  // the rest (a last partial panel, inputs past a multiple of 8) one value
  // at a time.
  torch::Tensor dense = weight.detach().contiguous();
  const float *w = dense.data_ptr<float>();
  for (int64_t p = 0; p < panels; ++p) {
    int64_t cols = std::min(kPanel, outputs_ - p * kPanel);
    const float *rows = w + p * kPanel * inputs_;
    float *panel = panels_.data_ptr<float>() + p * inputs_ * kPanel;
    int64_t k = 0;
#ifdef GFL_CPU_KERNELS
    if (cols == kPanel && cpuHasAvx2Fma())
      for (; k + 8 <= inputs_; k += 8)
        for (int64_t j = 0; j < kPanel; j += 8)
          transpose8(rows + j * inputs_ + k, inputs_, panel + k * kPanel + j);
#endif
    for (; k < inputs_; ++k) {
      float *to = panel + k * kPanel;
      for (int64_t j = 0; j < cols; ++j)
        to[j] = rows[j * inputs_ + k];
      std::fill(to + cols, to + kPanel, 0.0f);
    }
  }
}

void FewRowLinear::run(const torch::Tensor &x, torch::Tensor &out,
                       LayerActivation act) const {
#ifdef GFL_CPU_KERNELS
  int64_t rows = x.size(0), panels = panels_.size(0);
  if (x.size(1) != inputs_ || out.size(0) != rows || out.size(1) != outputs_)
    throw std::logic_error("FewRowLinear: shapes differ from the layer's");
  bool inRegisters = activatesInRegisters(act);
  // Rows [begin, end): packed into this thread's scratch, then every tile.
  auto runRows = [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> rowBlocks;
    int64_t count = end - begin, blocks = (count + kBlock - 1) / kBlock;
    rowBlocks.resize(blocks * inputs_ * kBlock);
    const float *xs = x.data_ptr<float>() + begin * inputs_;
    for (int64_t i = 0; i < count; ++i) {
      float *to =
          rowBlocks.data() + (i / kBlock) * inputs_ * kBlock + i % kBlock;
      for (int64_t k = 0; k < inputs_; ++k)
        to[k * kBlock] = xs[i * inputs_ + k];
    }
    Tiles tiles{panels_.data_ptr<float>(),
                bias_.data_ptr<float>(),
                rowBlocks.data(),
                out.data_ptr<float>() + begin * outputs_,
                count,
                blocks,
                panels,
                inputs_,
                outputs_,
                wide_,
                inRegisters ? act : LayerActivation::None};
    runTiles(tiles);
  };
  // Each output is computed by one thread, as on one.
  CoreTeam &team = CoreTeam::shared();
  int parts = static_cast<int>(std::min<int64_t>(team.size(), rows / kMinRows));
  if (parts > 1 && inputs_ * outputs_ >= kSplitWeights) {
    team.run([&](int i) {
      if (i < parts)
        runRows(rows * i / parts, rows * (i + 1) / parts);
    });
  } else {
    runRows(0, rows);
  }
  if (!inRegisters)
    activateInPlace(out, act);
#else
  (void)x, (void)out, (void)act;
  throw std::logic_error("FewRowLinear: no kernel for this CPU");
#endif
}

} // namespace gfl

//===- FewRowLinear.h - Few-row products on packed weights --*- C++ -*-===//
//
// The rollout runs the policy once per step over the trajectories still
// running: many products x W^T + b with the same weight and few rows. A
// BLAS call packs W into its panel layout on every call, which costs more
// than the product itself below a few thousand input values (OpenBLAS on
// a 256 x 256 layer: 22-27 us for 2 rows, of which the arithmetic is 3).
// FewRowLinear packs W once, for the whole rollout, and runs the products
// on it with an AVX-512 kernel, or AVX2/FMA on CPUs without AVX-512.
//
// Each output element is its bias plus the products in input order, one
// fused multiply-add at a time: deterministic, the same with either kernel,
// and within float32 rounding of LibTorch's product (which sums in another
// order).
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_FEWROWLINEAR_H
#define GFL_RUNTIME_FEWROWLINEAR_H

#include "gfl/Runtime/LayerActivation.h"

#include <torch/torch.h>

namespace gfl {

class FewRowLinear {
public:
  /// Whether `out = x W^T + b` goes faster here than through BLAS: float32
  /// contiguous CPU tensors, at most maxRows() rows, on a CPU with AVX2 and
  /// FMA.
  static bool applies(const torch::Tensor &x, const torch::Tensor &weight,
                      const torch::Tensor &out);

  /// The rows up to which the packed product beats BLAS on a layer of
  /// `inputs` x `outputs`. Where the runtime's CoreTeam has two threads or
  /// more (and BLAS one), every row count but on layers narrower than a
  /// panel (16 rows there). Otherwise, against BLAS on two cores: 16,384
  /// input values with AVX-512 (64 rows of 256), whose kernel on one core
  /// ran 2-4x faster than OpenBLAS on two below 32 rows, where BLAS's
  /// packing of W dominates, and kept up with it to 128; 4,096 with AVX2
  /// alone, where the two break even.
  static int64_t maxRows(int64_t inputs, int64_t outputs);

  /// Packs `weight` [N, K] and `bias` [N] (CPU float32 tensors; no bias
  /// where undefined). Without `avx512`, the AVX2 kernel runs where the
  /// CPU has AVX-512 too (tests compare the two).
  FewRowLinear(const torch::Tensor &weight, const torch::Tensor &bias,
               bool avx512 = true);

  /// out [M, N] = act(x [M, K] W^T + bias), for tensors that `applies`
  /// accepts. Relu and leaky_relu are applied in registers, before the
  /// store; tanh and elu by LibTorch's in-place ops after it. The rows are
  /// split between the CoreTeam's threads, each packing its own, where the
  /// product is large enough; split by output panels instead, two threads
  /// were no faster than one (each thread read every packed row).
  void run(const torch::Tensor &x, torch::Tensor &out,
           LayerActivation act = LayerActivation::None) const;

private:
  torch::Tensor panels_; // [ceil(N / 16), K, 16], zero past N
  torch::Tensor bias_;   // [ceil(N / 16) * 16], zero past N
  int64_t inputs_, outputs_;
  bool wide_; // the AVX-512 kernel
};

} // namespace gfl

#endif // GFL_RUNTIME_FEWROWLINEAR_H

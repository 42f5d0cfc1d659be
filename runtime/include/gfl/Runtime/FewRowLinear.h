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
  /// contiguous CPU tensors, at most maxInputs() input values (rows times
  /// width), on a CPU with AVX2 and FMA.
  static bool applies(const torch::Tensor &x, const torch::Tensor &weight,
                      const torch::Tensor &out);

  /// The input values up to which the packed product beats BLAS on a
  /// 2-core CPU (256 x 256 layers): 16 rows of 256 with AVX2, where the
  /// two break even; 64 rows with AVX-512, whose kernel on one core runs
  /// 2-4x faster than OpenBLAS on two below 32 rows (where BLAS's packing
  /// of W dominates) and keeps up with it to 128 (a 4D H8 batch-128
  /// rollout was 3% faster with 64 rows than with 256 as the bound).
  static int64_t maxInputs();

  /// Packs `weight` [N, K] and `bias` [N] (CPU float32 tensors; no bias
  /// where undefined). Without `avx512`, the AVX2 kernel runs where the
  /// CPU has AVX-512 too (tests compare the two).
  FewRowLinear(const torch::Tensor &weight, const torch::Tensor &bias,
               bool avx512 = true);

  /// out [M, N] = act(x [M, K] W^T + bias), for tensors that `applies`
  /// accepts. Relu and leaky_relu are applied in registers, before the
  /// store; tanh and elu by LibTorch's in-place ops after it. One thread:
  /// splitting these products between two cores lost 5-25% of the
  /// rollout's speed in measurements on a 2-core AVX-512 machine.
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

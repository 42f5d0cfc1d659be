//===- FewRowLinear.h - Few-row products on packed weights --*- C++ -*-===//
//
// The rollout runs the policy once per step over the trajectories still
// running: many products x W^T + b with the same weight and few rows. A
// BLAS call packs W into its panel layout on every call, which costs more
// than the product itself below a few thousand input values (OpenBLAS on
// a 256 x 256 layer: 22-27 us for 2 rows, of which the arithmetic is 3).
// FewRowLinear packs W once, for the whole rollout, and runs the products
// on it with an AVX2/FMA kernel.
//
// Each output element is its bias plus the products in input order, one
// fused multiply-add at a time: deterministic, and within float32 rounding
// of LibTorch's product (which sums in another order).
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_FEWROWLINEAR_H
#define GFL_RUNTIME_FEWROWLINEAR_H

#include "gfl/Runtime/LayerActivation.h"

#include <torch/torch.h>

namespace gfl {

class KernelThreads;

class FewRowLinear {
public:
  /// Whether `out = x W^T + b` goes faster here than through BLAS: float32
  /// contiguous CPU tensors, at most kMaxInputs input values (rows times
  /// width), on a CPU with AVX2 and FMA.
  static bool applies(const torch::Tensor &x, const torch::Tensor &weight,
                      const torch::Tensor &out);

  /// Packs `weight` [N, K] and `bias` [N] (CPU float32 tensors; no bias
  /// where undefined).
  FewRowLinear(const torch::Tensor &weight, const torch::Tensor &bias);

  /// out [M, N] = act(x [M, K] W^T + bias), for tensors that `applies`
  /// accepts. Relu and leaky_relu are applied in registers, before the
  /// store; tanh and elu by LibTorch's in-place ops after it. With
  /// `threads`, a product large enough splits its output tiles between
  /// them; each output is computed as on one thread.
  void run(const torch::Tensor &x, torch::Tensor &out,
           LayerActivation act = LayerActivation::None,
           KernelThreads *threads = nullptr) const;

  /// The input values (rows times width) up to which the packed product
  /// beats BLAS on a 2-core AVX2 CPU (bench: 16 rows of 256 break even).
  static constexpr int64_t kMaxInputs = 4096;

private:
  torch::Tensor panels_; // [ceil(N / 16), K, 16], zero past N
  torch::Tensor bias_;   // [ceil(N / 16) * 16], zero past N
  int64_t inputs_, outputs_;
};

} // namespace gfl

#endif // GFL_RUNTIME_FEWROWLINEAR_H

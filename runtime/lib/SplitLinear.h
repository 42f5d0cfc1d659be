//===- SplitLinear.h - Linear layers split between the team -----*- C++ -*-===//
//
// A linear layer's products on the CPU, with BLAS on one thread, split
// between the CoreTeam's threads: the forward by rows, the backward into its
// two products of equal size (the input's gradient and the weight's).
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_SPLITLINEAR_H
#define GFL_RUNTIME_SPLITLINEAR_H

#include "CoreTeam.h"
#include "gfl/Runtime/LayerActivation.h"

#include <torch/torch.h>

namespace gfl {

/// Whether the team splits products on `x`: float32 contiguous CPU rows
/// and a team of two threads or more.
bool splitsLinear(const torch::Tensor &x,
                  const CoreTeam &team = CoreTeam::shared());

/// out [M, N] = act(x [M, K] W^T + bias), without a graph: rows split
/// between the team's threads where splitsLinear(x), each part one BLAS
/// call and one pass for the bias and the activation.
void linearForwardInto(torch::Tensor &out, const torch::Tensor &x,
                       const torch::Tensor &weight, const torch::Tensor &bias,
                       LayerActivation act,
                       CoreTeam &team = CoreTeam::shared());

/// A linear layer's gradients from d z, the gradient at its output before
/// the activation: d x = d z W (where `needsDx`), d W = d z^T x and d b =
/// sum d z. Where splitsLinear(dz), the two products (of equal size) run at
/// once, d x split by rows between half of the team's threads and d W by
/// output rows between the others.
void linearBackward(const torch::Tensor &dz, const torch::Tensor &x,
                    const torch::Tensor &weight, bool needsDx,
                    torch::Tensor &dx, torch::Tensor &dw, torch::Tensor &db,
                    CoreTeam &team = CoreTeam::shared());

} // namespace gfl

#endif // GFL_RUNTIME_SPLITLINEAR_H

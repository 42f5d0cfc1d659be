//===- LayerActivation.h - Activations fused with a product -----*- C++ -*-===//
//
// A recorded forward (the rollout's policy) applies a hidden layer's bias
// and activation in the pass that writes the layer's output, and records
// the activated output. Its replay needs the activation's derivative from
// that output alone, which relu, leaky_relu, tanh and elu have (gelu and
// silu do not: those stay a separate op after the recorded product).
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_LAYERACTIVATION_H
#define GFL_RUNTIME_LAYERACTIVATION_H

#include <torch/torch.h>

#include <optional>
#include <string>

namespace gfl {

enum class LayerActivation { None, Relu, LeakyRelu, Tanh, Elu };

/// The slope of leaky_relu below 0, as the model applies it.
constexpr double kLeakyReluSlope = 0.01;

/// The activation named `name` where it can be fused (its derivative is a
/// function of its output); nullopt otherwise.
std::optional<LayerActivation> fusableActivation(const std::string &name);

/// out = act(out + bias), in place, for a product that BLAS wrote (`bias`
/// undefined: no bias). One pass over `out` on a CPU with AVX2 and FMA for
/// None, Relu and LeakyRelu; LibTorch's in-place ops otherwise.
void addBiasAndActivate(torch::Tensor &out, const torch::Tensor &bias,
                        LayerActivation act);

/// act(out), in place, with LibTorch's ops.
void activateInPlace(torch::Tensor &out, LayerActivation act);

/// The gradient before the activation, from the one after it (`dy`) and
/// its output `y`.
torch::Tensor activationBackward(const torch::Tensor &dy,
                                 const torch::Tensor &y, LayerActivation act);

} // namespace gfl

#endif // GFL_RUNTIME_LAYERACTIVATION_H

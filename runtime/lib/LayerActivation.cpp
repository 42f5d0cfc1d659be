//===- LayerActivation.cpp - Activations fused with a product -------------===//

#include "gfl/Runtime/LayerActivation.h"

#include "CpuKernels.h"

namespace gfl {

namespace {

#ifdef GFL_CPU_KERNELS

inline float activate1(float v, LayerActivation act) {
  if (act == LayerActivation::Relu)
    return v < 0.0f ? 0.0f : v;
  if (act == LayerActivation::LeakyRelu)
    return v < 0.0f ? v * float(kLeakyReluSlope) : v;
  return v;
}

GFL_AVX2_FMA void addBiasAndActivateAvx2(float *y, int64_t rows, int64_t cols,
                                         const float *bias,
                                         LayerActivation act) {
  for (int64_t i = 0; i < rows; ++i, y += cols) {
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8) {
      __m256 v = _mm256_loadu_ps(y + j);
      if (bias)
        v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
      _mm256_storeu_ps(y + j, activate8(v, act));
    }
    for (; j < cols; ++j)
      y[j] = activate1(bias ? y[j] + bias[j] : y[j], act);
  }
}

#endif

bool isCpuFloat(const torch::Tensor &t) {
  return t.device().is_cpu() && t.scalar_type() == torch::kFloat32 &&
         t.is_contiguous();
}

} // namespace

std::optional<LayerActivation> fusableActivation(const std::string &name) {
  if (name == "relu")
    return LayerActivation::Relu;
  if (name == "leaky_relu")
    return LayerActivation::LeakyRelu;
  if (name == "tanh")
    return LayerActivation::Tanh;
  if (name == "elu")
    return LayerActivation::Elu;
  return std::nullopt;
}

void activateInPlace(torch::Tensor &out, LayerActivation act) {
  switch (act) {
  case LayerActivation::None:
    return;
  case LayerActivation::Relu:
    out.relu_();
    return;
  case LayerActivation::LeakyRelu:
    torch::leaky_relu_(out, kLeakyReluSlope);
    return;
  case LayerActivation::Tanh:
    out.tanh_();
    return;
  case LayerActivation::Elu:
    torch::elu_(out);
    return;
  }
}

void addBiasAndActivate(torch::Tensor &out, const torch::Tensor &bias,
                        LayerActivation act) {
#ifdef GFL_CPU_KERNELS
  bool pass = activatesInRegisters(act);
  if (cpuHasAvx2Fma() && isCpuFloat(out) && out.dim() == 2 &&
      (!bias.defined() || (isCpuFloat(bias) && bias.numel() == out.size(1)))) {
    const float *b = bias.defined() ? bias.data_ptr<float>() : nullptr;
    addBiasAndActivateAvx2(out.data_ptr<float>(), out.size(0), out.size(1), b,
                           pass ? act : LayerActivation::None);
    if (!pass)
      activateInPlace(out, act);
    return;
  }
#endif
  if (bias.defined())
    out.add_(bias);
  activateInPlace(out, act);
}

torch::Tensor activationBackward(const torch::Tensor &dy,
                                 const torch::Tensor &y, LayerActivation act) {
  switch (act) {
  case LayerActivation::None:
    return dy;
  case LayerActivation::Relu:
    return torch::threshold_backward(dy, y, 0);
  case LayerActivation::LeakyRelu:
    // y and the input have the same sign: the slope follows from either.
    return torch::leaky_relu_backward(dy, y, kLeakyReluSlope,
                                      /*self_is_result=*/true);
  case LayerActivation::Tanh:
    return torch::tanh_backward(dy, y);
  case LayerActivation::Elu:
    return torch::elu_backward(dy, /*alpha=*/1, /*scale=*/1,
                               /*input_scale=*/1, /*is_result=*/true, y);
  }
  return dy;
}

} // namespace gfl

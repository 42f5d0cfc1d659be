//===- LayerActivationTest.cpp - Activations fused with a product ---------===//

#include "gfl/Runtime/LayerActivation.h"
#include "gfl/Runtime/FewRowLinear.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace {

using gfl::LayerActivation;

/// act(x) as the model's unfused forward computes it.
torch::Tensor reference(const torch::Tensor &x, LayerActivation act) {
  switch (act) {
  case LayerActivation::None:
    return x;
  case LayerActivation::Relu:
    return torch::relu(x);
  case LayerActivation::LeakyRelu:
    return torch::leaky_relu(x, 0.01);
  case LayerActivation::Tanh:
    return torch::tanh(x);
  case LayerActivation::Elu:
    return torch::elu(x);
  }
  return x;
}

const char *name(LayerActivation act) {
  const char *names[] = {"none", "relu", "leaky_relu", "tanh", "elu"};
  return names[static_cast<int>(act)];
}

constexpr LayerActivation kAll[] = {
    LayerActivation::None, LayerActivation::Relu, LayerActivation::LeakyRelu,
    LayerActivation::Tanh, LayerActivation::Elu};

/// Equal elementwise, a NaN equal to a NaN.
bool sameValues(const torch::Tensor &a, const torch::Tensor &b) {
  return a.eq(b)
      .logical_or(a.isnan().logical_and(b.isnan()))
      .all()
      .item<bool>();
}

TEST(LayerActivation, FusesTheActivationsWhoseDerivativeFollowsFromTheOutput) {
  EXPECT_EQ(gfl::fusableActivation("relu"), LayerActivation::Relu);
  EXPECT_EQ(gfl::fusableActivation("leaky_relu"), LayerActivation::LeakyRelu);
  EXPECT_EQ(gfl::fusableActivation("tanh"), LayerActivation::Tanh);
  EXPECT_EQ(gfl::fusableActivation("elu"), LayerActivation::Elu);
  EXPECT_FALSE(gfl::fusableActivation("gelu"));
  EXPECT_FALSE(gfl::fusableActivation("silu"));
}

/// The pass over a product BLAS wrote gives what LibTorch's add and
/// activation give, bit for bit: widths past a vector of 8, with and
/// without bias, and NaN and infinite inputs (relu keeps a NaN).
TEST(LayerActivation, AddBiasAndActivateIsLibTorchsAddAndActivation) {
  torch::manual_seed(6);
  float inf = std::numeric_limits<float>::infinity();
  for (LayerActivation act : kAll)
    for (int64_t cols : {1, 8, 19})
      for (bool withBias : {true, false}) {
        SCOPED_TRACE(std::string(name(act)) + ", " + std::to_string(cols) +
                     (withBias ? " columns with bias" : " columns"));
        torch::Tensor y = torch::randn({5, cols}) * 3;
        y[0][0] = NAN;
        y[1][0] = inf;
        y[2][0] = -inf;
        torch::Tensor bias = withBias ? torch::randn({cols}) : torch::Tensor();
        torch::Tensor want = reference(withBias ? y + bias : y, act);
        torch::Tensor got = y.clone();
        gfl::addBiasAndActivate(got, bias, act);
        EXPECT_TRUE(sameValues(got, want)) << got << want;
      }
}

/// The replay's backward takes the activation's derivative from its
/// output; autograd takes it from the input (leaky_relu, elu) or the
/// output (relu, tanh).
TEST(LayerActivation, BackwardFromTheOutputIsAutogradsBackward) {
  torch::manual_seed(7);
  for (LayerActivation act : kAll) {
    SCOPED_TRACE(name(act));
    torch::Tensor x = (torch::randn({6, 21}) * 2).requires_grad_();
    torch::Tensor y = reference(x, act);
    if (act == LayerActivation::None)
      y = y * 1; // a node of its own
    torch::Tensor dy = torch::randn({6, 21});
    torch::Tensor want = torch::autograd::grad({y}, {x}, {dy})[0];
    torch::Tensor got = gfl::activationBackward(dy, y.detach(), act);
    EXPECT_TRUE(torch::allclose(got, want, 1e-6, 1e-7))
        << (got - want).abs().max().item<double>();
  }
}

/// The packed kernel applies relu and leaky_relu in its registers, tanh
/// and elu after: the values LibTorch's activation gives on the kernel's
/// product, bit for bit.
TEST(LayerActivation, FewRowProductsApplyTheActivationAsLibTorchDoes) {
  torch::Tensor probe = torch::zeros({1, 1});
  if (!gfl::FewRowLinear::applies(probe, probe, probe))
    GTEST_SKIP() << "no AVX2/FMA on this CPU: BLAS computes every product";
  torch::manual_seed(8);
  torch::Tensor x = torch::randn({7, 37}), w = torch::randn({40, 37});
  x[3][5] = NAN;
  gfl::FewRowLinear layer(w, torch::randn({40}));
  torch::Tensor product = torch::empty({7, 40});
  layer.run(x, product);
  for (LayerActivation act : kAll) {
    SCOPED_TRACE(name(act));
    torch::Tensor out = torch::empty({7, 40});
    layer.run(x, out, act);
    EXPECT_TRUE(sameValues(out, reference(product, act)));
    EXPECT_TRUE(out[3].isnan().all().item<bool>());
  }
}

} // namespace

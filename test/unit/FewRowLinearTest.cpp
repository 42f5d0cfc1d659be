//===- FewRowLinearTest.cpp - Packed few-row products against float64 -----===//

#include "gfl/Runtime/FewRowLinear.h"

#include "CpuKernels.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace {

using gfl::FewRowLinear;

/// The CPU has the kernel (AVX2 and FMA), or the test skips.
class FewRowKernel : public ::testing::Test {
protected:
  void SetUp() override {
    torch::Tensor x = torch::zeros({1, 1}), w = torch::zeros({1, 1});
    torch::Tensor out = torch::empty({1, 1});
    if (!FewRowLinear::applies(x, w, out))
      GTEST_SKIP() << "no AVX2/FMA on this CPU: BLAS computes every product";
  }
};

/// Every shape the panels and row blocks split unevenly: rows past a
/// block of 6 and a pair of blocks (the AVX-512 tile), inputs past a group
/// of 4, outputs past a panel of 16 and an odd number of panels; with
/// and without bias. Against the product in float64: a sum of K products
/// and a bias, each rounded once, is within (K + 1) u of the float64 sum
/// of their magnitudes.
TEST_F(FewRowKernel, MatchesTheProductInFloat64) {
  torch::manual_seed(3);
  int checked = 0;
  for (int64_t inputs : {1, 3, 4, 17, 256})
    for (int64_t outputs : {1, 3, 16, 17, 40, 256})
      for (int64_t rows : {1, 2, 5, 6, 7, 12, 13, 30}) {
        for (bool withBias : {true, false}) {
          SCOPED_TRACE(std::to_string(rows) + " x " + std::to_string(inputs) +
                       " -> " + std::to_string(outputs) +
                       (withBias ? " with bias" : " without bias"));
          torch::Tensor x = torch::randn({rows, inputs});
          torch::Tensor w = torch::randn({outputs, inputs});
          torch::Tensor b =
              withBias ? torch::randn({outputs}) : torch::Tensor();
          torch::Tensor out = torch::full({rows, outputs}, NAN);
          ASSERT_EQ(FewRowLinear::applies(x, w, out),
                    rows <= FewRowLinear::maxRows(inputs, outputs));
          FewRowLinear(w, b).run(x, out);
          torch::Tensor x64 = x.to(torch::kFloat64),
                        w64 = w.to(torch::kFloat64);
          torch::Tensor exact = x64.mm(w64.t());
          torch::Tensor magnitude = x64.abs().mm(w64.abs().t());
          if (withBias) {
            exact += b.to(torch::kFloat64);
            magnitude += b.to(torch::kFloat64).abs();
          }
          double u = std::ldexp(1.0, -24);
          torch::Tensor error = (out.to(torch::kFloat64) - exact).abs();
          torch::Tensor bound = (inputs + 1) * u * magnitude + 1e-30;
          EXPECT_TRUE(error.le(bound).all().item<bool>())
              << "largest error over its bound "
              << (error / bound).max().item<double>();
          ++checked;
        }
      }
  EXPECT_EQ(checked, 5 * 6 * 8 * 2);
}

/// The AVX-512 and AVX2 kernels compute each output by the same chain of
/// fused multiply-adds: a checkpoint resumed on another CPU draws the same
/// trajectories.
TEST_F(FewRowKernel, BothKernelsGiveTheSameBits) {
  if (!gfl::cpuHasAvx512())
    GTEST_SKIP() << "no AVX-512 on this CPU: one kernel runs";
  torch::manual_seed(6);
  for (auto act : {gfl::LayerActivation::None, gfl::LayerActivation::Relu,
                   gfl::LayerActivation::LeakyRelu})
    for (int64_t rows : {1, 7, 12, 25, 40}) {
      torch::Tensor x = torch::randn({rows, 37}), w = torch::randn({41, 37});
      torch::Tensor b = torch::randn({41});
      torch::Tensor wide = torch::empty({rows, 41}),
                    narrow = torch::empty({rows, 41});
      FewRowLinear(w, b).run(x, wide, act);
      FewRowLinear(w, b, /*avx512=*/false).run(x, narrow, act);
      EXPECT_TRUE(torch::equal(wide, narrow)) << rows << " rows";
    }
}

/// A row's outputs do not depend on the rows beside it: the rollout's
/// products over the trajectories still running give each trajectory the
/// values it would get alone.
TEST_F(FewRowKernel, RowsComputedAloneAreBitIdentical) {
  torch::manual_seed(4);
  torch::Tensor x = torch::randn({11, 64}), w = torch::randn({40, 64});
  torch::Tensor b = torch::randn({40});
  FewRowLinear layer(w, b);
  torch::Tensor together = torch::empty({11, 40});
  layer.run(x, together);
  for (int64_t i = 0; i < 11; ++i) {
    torch::Tensor alone = torch::empty({1, 40});
    layer.run(x.narrow(0, i, 1).contiguous(), alone);
    EXPECT_TRUE(torch::equal(alone[0], together[i])) << "row " << i;
  }
}

/// A product large enough to be split between the CoreTeam's threads (by
/// rows, each packing its own) gives the bits of its rows computed one at a
/// time on the calling thread; with a team of one thread it is not split.
TEST_F(FewRowKernel, SplitProductsGiveTheBitsOfOneThread) {
  torch::manual_seed(6);
  torch::Tensor x = torch::randn({37, 256}), w = torch::randn({256, 256});
  torch::Tensor b = torch::randn({256});
  FewRowLinear layer(w, b);
  torch::Tensor together = torch::empty({37, 256});
  layer.run(x, together, gfl::LayerActivation::Relu);
  for (int64_t i = 0; i < 37; ++i) {
    torch::Tensor alone = torch::empty({1, 256});
    layer.run(x.narrow(0, i, 1).contiguous(), alone,
              gfl::LayerActivation::Relu);
    ASSERT_TRUE(torch::equal(alone[0], together[i])) << "row " << i;
  }
}

/// The rollout's tape hands the kernel rows in the middle of a larger
/// buffer: it writes those rows and nothing around them.
TEST_F(FewRowKernel, WritesOnlyItsRowsOfALargerBuffer) {
  torch::manual_seed(5);
  torch::Tensor x = torch::randn({7, 20}), w = torch::randn({19, 20});
  torch::Tensor buffer = torch::full({12, 19}, NAN);
  torch::Tensor out = buffer.narrow(0, 3, 7);
  ASSERT_TRUE(FewRowLinear::applies(x, w, out));
  FewRowLinear(w, torch::Tensor()).run(x, out);
  EXPECT_TRUE(buffer.narrow(0, 0, 3).isnan().all().item<bool>());
  EXPECT_TRUE(buffer.narrow(0, 10, 2).isnan().all().item<bool>());
  EXPECT_TRUE(torch::allclose(out, x.mm(w.t()), 1e-5, 1e-5));
}

/// Products autograd must see, under grad mode, stay with LibTorch.
TEST_F(FewRowKernel, LeavesProductsWithAGraphToLibTorch) {
  torch::Tensor x = torch::randn({4, 8}), out = torch::empty({4, 3});
  torch::Tensor w = torch::randn({3, 8}).requires_grad_();
  EXPECT_FALSE(FewRowLinear::applies(x, w, out));
  torch::NoGradGuard noGrad;
  EXPECT_TRUE(FewRowLinear::applies(x, w, out));
}

/// A bias that is not the layer's [N] floats, or a product of other
/// shapes than the packed layer's, is refused with the reason.
TEST_F(FewRowKernel, RefusesABiasOrShapesNotTheLayers) {
  torch::Tensor w = torch::randn({5, 8});
  auto message = [](const std::function<void()> &f) {
    try {
      f();
    } catch (const std::logic_error &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([&] { FewRowLinear(w, torch::randn({4})); }),
            "FewRowLinear: the bias is not float32 [N]");
  EXPECT_EQ(
      message([&] { FewRowLinear(w, torch::randn({5}, torch::kFloat64)); }),
      "FewRowLinear: the bias is not float32 [N]");
  FewRowLinear layer(w, torch::randn({5}));
  torch::Tensor out = torch::empty({3, 5});
  EXPECT_EQ(message([&] {
              layer.run(torch::randn({3, 7}), out);
            }),
            "FewRowLinear: shapes differ from the layer's");
}

/// BLAS keeps what the kernel does not take: other dtypes, strided tensors,
/// and more than maxRows() rows.
TEST_F(FewRowKernel, LeavesOtherProductsToBlas) {
  torch::Tensor w = torch::randn({32, 64}), out = torch::empty({4, 32});
  EXPECT_TRUE(FewRowLinear::applies(torch::randn({4, 64}), w, out));
  EXPECT_FALSE(FewRowLinear::applies(torch::randn({4, 64}, torch::kFloat64),
                                     w.to(torch::kFloat64),
                                     out.to(torch::kFloat64)));
  EXPECT_FALSE(FewRowLinear::applies(torch::randn({64, 4}).t(), w, out));
  EXPECT_FALSE(FewRowLinear::applies(torch::randn({4, 64}), w,
                                     torch::empty({32, 4}).t()));
  // A layer narrower than a panel has a bound with or without the team.
  torch::Tensor narrow = torch::randn({5, 64});
  int64_t rows = FewRowLinear::maxRows(64, 5);
  ASSERT_GE(rows, 64);
  ASSERT_LE(rows, 256);
  EXPECT_TRUE(FewRowLinear::applies(torch::randn({rows, 64}), narrow,
                                    torch::empty({rows, 5})));
  EXPECT_FALSE(FewRowLinear::applies(torch::randn({rows + 1, 64}), narrow,
                                     torch::empty({rows + 1, 5})));
}

} // namespace

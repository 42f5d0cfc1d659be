//===- ObjectiveAutogradTest.cpp - Compiled gradients vs LibTorch autograd ===//
//
// The same objectives as ObjectiveKernelTest, written here a second time as
// LibTorch expressions (float64) and differentiated by autograd. The
// compiled fused gradient kernels (float32) must agree.
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/Program.h"

#include "RaggedRows.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

using namespace gfl;

namespace {

constexpr int64_t B = 8, T = 7;

struct Inputs {
  torch::Tensor pf, pb, f, logR, logZ, n, exited;
};

Inputs randomInputs(int64_t seed) {
  torch::manual_seed(seed);
  Inputs in;
  in.pf = torch::randn({B, T}, torch::kFloat64) - 1;
  in.pb = torch::randn({B, T}, torch::kFloat64) - 1;
  in.f = torch::randn({B, T}, torch::kFloat64);
  in.logR = torch::randn({B}, torch::kFloat64);
  in.logZ = torch::randn({B}, torch::kFloat64);
  in.n = torch::randint(1, T - 1, {B}, torch::kInt32);
  in.exited = torch::randint(0, 2, {B}, torch::kBool);
  return in;
}

using Reference = std::function<torch::Tensor(
    const torch::Tensor &pf, const torch::Tensor &pb, const torch::Tensor &f,
    const torch::Tensor &logZ, const Inputs &in, int64_t row)>;

/// Sums entries [0, len) of a row.
torch::Tensor head(const torch::Tensor &row, int64_t len) {
  return row.slice(0, 0, len);
}

torch::Tensor tb(const torch::Tensor &pf, const torch::Tensor &pb,
                 const torch::Tensor &, const torch::Tensor &logZ,
                 const Inputs &in, int64_t b) {
  int64_t n = in.n[b].item<int>(), e = in.exited[b].item<bool>();
  auto r = logZ + head(pf, n + e).sum() - head(pb, n).sum() - in.logR[b];
  return r * r;
}

torch::Tensor db(const torch::Tensor &pf, const torch::Tensor &pb,
                 const torch::Tensor &f, const torch::Tensor &, const Inputs &in,
                 int64_t b) {
  int64_t n = in.n[b].item<int>();
  torch::Tensor total = torch::zeros({}, torch::kFloat64);
  for (int64_t k = 0; k < n; ++k) {
    torch::Tensor next = k + 1 == n ? in.logR[b] : f[k + 1];
    auto r = f[k] + pf[k] - pb[k] - next;
    total = total + r * r;
  }
  return total;
}

torch::Tensor subtb(const torch::Tensor &pf, const torch::Tensor &pb,
                    const torch::Tensor &f, const torch::Tensor &,
                    const Inputs &in, int64_t b) {
  const double lam = 0.9;
  int64_t n = in.n[b].item<int>();
  double w = 0;
  torch::Tensor total = torch::zeros({}, torch::kFloat64);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j <= n; ++j) {
      double weight = std::pow(lam, double(j - i - 1));
      w += weight;
      torch::Tensor end = j == n ? in.logR[b] : f[j];
      auto r = f[i] + (pf.slice(0, i, j) - pb.slice(0, i, j)).sum() - end;
      total = total + weight * r * r;
    }
  return total / w;
}

torch::Tensor mix(const torch::Tensor &pf, const torch::Tensor &pb,
                  const torch::Tensor &f, const torch::Tensor &logZ,
                  const Inputs &in, int64_t b) {
  int64_t n = in.n[b].item<int>(), e = in.exited[b].item<bool>();
  torch::Tensor c = head(pf, n + e).cumsum(0);
  torch::Tensor cum = torch::zeros({}, torch::kFloat64);
  for (int64_t k = 0; k < n; ++k)
    cum = cum + c[k] * f[k].exp();
  auto pair = torch::stack({logZ, 2.0 * in.logR[b]});
  return torch::logsumexp(head(pf, n + e), 0) * head(pb, n).max() + cum +
         torch::logsumexp(pair, 0) + torch::sqrt(1.0 + logZ * logZ) +
         head(f, n + 1).min() * torch::tanh(logZ);
}

struct Case {
  const char *name;
  Reference ref;
  std::vector<double> params;
};

class AgainstAutograd : public ::testing::TestWithParam<Case> {};

TEST_P(AgainstAutograd, GradientsAgree) {
  const Case &c = GetParam();
  std::string error;
  auto artifact = Artifact::open(GFL_OBJECTIVES_ARTIFACT, error);
  ASSERT_TRUE(artifact) << error;
  const Kernel *grad = artifact->kernel(std::string("gfl_obj_") + c.name + "_grad");
  ASSERT_NE(grad, nullptr);
  for (int64_t seed : {11, 12}) {
    Inputs in = randomInputs(seed);
    auto pf = in.pf.clone().requires_grad_(true);
    auto pb = in.pb.clone().requires_grad_(true);
    auto f = in.f.clone().requires_grad_(true);
    auto logZ = in.logZ.clone().requires_grad_(true);
    std::vector<torch::Tensor> losses;
    for (int64_t b = 0; b < B; ++b)
      losses.push_back(c.ref(pf[b], pb[b], f[b], logZ[b], in, b));
    torch::Tensor loss = torch::stack(losses);
    loss.sum().backward();

    auto f32 = [](const torch::Tensor &t) {
      return t.detach().to(torch::kFloat32).contiguous();
    };
    std::map<std::string, torch::Tensor> args{
        {"log_pf", f32(in.pf)},      {"log_pb", f32(in.pb)},
        {"log_f", f32(in.f)},        {"log_r", f32(in.logR)},
        {"log_z", f32(in.logZ)},     {"n", in.n.contiguous()},
        {"exited", in.exited.contiguous()},
        {"d_loss", torch::ones({B})}, {"loss", torch::empty({B})},
        {"d_log_pf", torch::empty({B, T})}, {"d_log_pb", torch::empty({B, T})},
        {"d_log_f", torch::empty({B, T})},  {"d_log_z", torch::empty({B})}};
    std::map<std::string, double> scalars;
    for (size_t i = 0; i < c.params.size(); ++i)
      scalars["param" + std::to_string(i)] = c.params[i];
    callKernel(*grad, test::gridsAsRaggedRows(args), scalars);

    auto expectClose = [&](const char *what, const torch::Tensor &compiled,
                           const torch::Tensor &reference) {
      if (!reference.defined())
        return;
      torch::Tensor ref = reference.to(torch::kFloat32);
      torch::Tensor err = (compiled - ref).abs();
      torch::Tensor tol = 1e-5 * (1 + ref.abs());
      EXPECT_TRUE(err.le(tol).all().item<bool>())
          << c.name << " " << what << " max error "
          << (err - tol).max().item<float>() << "\ncompiled\n"
          << compiled << "\nautograd\n"
          << ref;
    };
    expectClose("loss", args["loss"], loss.detach());
    // Only the quantities an objective reads have gradient outputs.
    for (const KernelArg &a : grad->args) {
      if (a.name == "d_log_pf")
        expectClose("d_log_pf", args["d_log_pf"], pf.grad());
      if (a.name == "d_log_pb")
        expectClose("d_log_pb", args["d_log_pb"], pb.grad());
      if (a.name == "d_log_f")
        expectClose("d_log_f", args["d_log_f"], f.grad());
      if (a.name == "d_log_z")
        expectClose("d_log_z", args["d_log_z"], logZ.grad());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Objectives, AgainstAutograd,
    ::testing::Values(Case{"tb", tb, {}}, Case{"db", db, {}},
                      Case{"subtb", subtb, {0.9}}, Case{"mix", mix, {}}),
    [](const ::testing::TestParamInfo<Case> &info) {
      return std::string(info.param.name);
    });

} // namespace

namespace {

/// ZVar needs the stage orchestration of docs/artifact.md: operands per row,
/// batch mean, loss and its gradient, then the stage gradient with the
/// summed adjoint of the mean.
TEST(AgainstAutogradBatch, ZVarThroughStages) {
  std::string error;
  auto artifact = Artifact::open(GFL_OBJECTIVES_ARTIFACT, error);
  ASSERT_TRUE(artifact) << error;
  const Kernel *stage = artifact->kernel("gfl_obj_zvar_batch");
  const Kernel *grad = artifact->kernel("gfl_obj_zvar_grad");
  const Kernel *stageGrad = artifact->kernel("gfl_obj_zvar_batch_grad");
  ASSERT_TRUE(stage && grad && stageGrad);

  Inputs in = randomInputs(21);
  auto pf = in.pf.clone().requires_grad_(true);
  auto pb = in.pb.clone().requires_grad_(true);
  std::vector<torch::Tensor> zs;
  for (int64_t b = 0; b < B; ++b) {
    int64_t n = in.n[b].item<int>(), e = in.exited[b].item<bool>();
    zs.push_back(head(pf[b], n + e).sum() - head(pb[b], n).sum() - in.logR[b]);
  }
  torch::Tensor z = torch::stack(zs);
  torch::Tensor loss = (z - z.mean()).pow(2);
  loss.sum().backward();

  auto f32 = [](const torch::Tensor &t) {
    return t.detach().to(torch::kFloat32).contiguous();
  };
  std::map<std::string, torch::Tensor> args{
      {"log_pf", f32(in.pf)},   {"log_pb", f32(in.pb)},
      {"log_r", f32(in.logR)},  {"log_z", f32(in.logZ)},
      {"n", in.n.contiguous()}, {"exited", in.exited.contiguous()},
      {"batch_mean_0", torch::empty({B})}};
  callKernel(*stage, test::gridsAsRaggedRows(args));
  args["batch_mean_0"] = args["batch_mean_0"].mean().expand({B}).contiguous();
  args["d_loss"] = torch::ones({B});
  args["loss"] = torch::empty({B});
  args["d_log_pf"] = torch::empty({B, T});
  args["d_log_pb"] = torch::empty({B, T});
  args["d_batch_mean_0"] = torch::empty({B});
  callKernel(*grad, test::gridsAsRaggedRows(args));
  std::map<std::string, torch::Tensor> second = args;
  double dm = args["d_batch_mean_0"].sum().item<double>() / B;
  second["d_batch_mean_0"] = torch::full({B}, dm, torch::kFloat32);
  second["d_log_pf"] = torch::empty({B, T});
  second["d_log_pb"] = torch::empty({B, T});
  callKernel(*stageGrad, test::gridsAsRaggedRows(second));

  auto close = [](const torch::Tensor &a, const torch::Tensor &ref) {
    torch::Tensor r = ref.to(torch::kFloat32);
    return ((a - r).abs() <= 1e-5 * (1 + r.abs())).all().item<bool>();
  };
  EXPECT_TRUE(close(args["loss"], loss.detach()));
  EXPECT_TRUE(close(args["d_log_pf"] + second["d_log_pf"], pf.grad()))
      << (args["d_log_pf"] + second["d_log_pf"]) << pf.grad();
  EXPECT_TRUE(close(args["d_log_pb"] + second["d_log_pb"], pb.grad()));
}

} // namespace

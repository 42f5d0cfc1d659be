//===- StdlibAutogradTest.cpp - Library objectives vs LibTorch autograd ---===//
//
// Every objective of the standard library (compiler/stdlib/objectives.gfl),
// compiled by gflc as the training objective of a hypergrid program, against
// the formulas of docs/objectives.md written as LibTorch expressions in
// float64 and differentiated by autograd, on random padded batches with
// mixed lengths and exits. Also the edge-flow kernels that flow matching
// reads, against masked logsumexp in LibTorch.
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/Program.h"

#include "RaggedRows.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <limits>

using namespace gfl;

namespace {

constexpr int64_t B = 8, T = 7;

/// The per-state and per-step quantities an objective may read, [B, T].
const char *const kSeqs[] = {"log_pf",        "log_pb",      "log_f",
                             "log_pf_exit",   "log_in_flow", "log_out_flow",
                             "log_exit_flow", "log_r_step",  "energy"};

struct Batch {
  std::map<std::string, torch::Tensor> seq; // float64 leaves
  torch::Tensor logR, logZ, n, exited;
};

Batch randomBatch(int64_t seed) {
  torch::manual_seed(seed);
  Batch in;
  for (const char *s : kSeqs)
    in.seq[s] =
        (torch::randn({B, T}, torch::kFloat64) - 0.5).requires_grad_(true);
  in.logR = torch::randn({B}, torch::kFloat64);
  in.logZ = torch::randn({B}, torch::kFloat64).requires_grad_(true);
  in.n = torch::randint(0, T - 1, {B}, torch::kInt32);
  in.n[0] = 0; // an immediate exit, or an empty trajectory
  in.exited = torch::randint(0, 2, {B}, torch::kBool);
  return in;
}

/// The residual the library objectives take: 0 squared, 1 half-squared,
/// 2 Huber with threshold delta.
struct Residual {
  int kind;
  double delta;
  torch::Tensor operator()(const torch::Tensor &x) const {
    if (kind == 0)
      return x * x;
    if (kind == 1)
      return 0.5 * x * x;
    torch::Tensor a = x.abs();
    return torch::where(a <= delta, 0.5 * x * x, delta * (a - 0.5 * delta));
  }
};

struct Row {
  const Batch &in;
  int64_t b, n;
  bool e;
  torch::Tensor at(const char *s, int64_t k) const {
    return in.seq.at(s)[b][k];
  }
  torch::Tensor sum(const char *s, int64_t lo, int64_t hi) const {
    return in.seq.at(s)[b].slice(0, lo, hi).sum();
  }
  torch::Tensor logR() const { return in.logR[b]; }
};

using Formula = std::function<torch::Tensor(const Row &, const Residual &)>;

torch::Tensor zero() { return torch::zeros({}, torch::kFloat64); }

torch::Tensor tb(const Row &r, const Residual &res) {
  return res(r.in.logZ[r.b] + r.sum("log_pf", 0, r.n + r.e) -
             r.sum("log_pb", 0, r.n) - r.logR());
}

torch::Tensor db(const Row &r, const Residual &res) {
  torch::Tensor total = zero();
  for (int64_t k = 0; k < r.n; ++k) {
    torch::Tensor next = k + 1 == r.n && !r.e ? r.logR() : r.at("log_f", k + 1);
    total = total + res(r.at("log_f", k) + r.at("log_pf", k) -
                        r.at("log_pb", k) - next);
  }
  if (r.e)
    total = total + res(r.at("log_f", r.n) + r.at("log_pf", r.n) - r.logR());
  return total;
}

torch::Tensor subtb(const Row &r, const Residual &res) {
  const double lam = 0.9;
  int64_t last = r.n + r.e;
  double w = 0;
  torch::Tensor total = zero();
  for (int64_t i = 0; i < last; ++i)
    for (int64_t j = i + 1; j <= last; ++j) {
      double weight = std::pow(lam, double(j - i - 1));
      w += weight;
      torch::Tensor end = j == last ? r.logR() : r.at("log_f", j);
      total = total + weight * res(r.at("log_f", i) + r.sum("log_pf", i, j) -
                                   r.sum("log_pb", i, std::min(j, r.n)) - end);
    }
  return w > 0 ? total / w : total;
}

torch::Tensor fldb(const Row &r, const Residual &res) {
  torch::Tensor total = zero();
  for (int64_t k = 0; k < r.n; ++k) {
    torch::Tensor next = k + 1 == r.n && !r.e ? r.logR() + r.at("energy", k + 1)
                                              : r.at("log_f", k + 1);
    total =
        total + res(r.at("log_f", k) + r.at("log_pf", k) - r.at("log_pb", k) +
                    r.at("energy", k + 1) - r.at("energy", k) - next);
  }
  if (r.e)
    total = total + res(r.at("log_f", r.n) - r.at("energy", r.n) +
                        r.at("log_pf", r.n) - r.logR());
  return total;
}

torch::Tensor mdb(const Row &r, const Residual &res) {
  torch::Tensor total = zero();
  for (int64_t k = 0; k < r.n; ++k)
    total = total + res(r.at("log_r_step", k) + r.at("log_pf", k) +
                        r.at("log_pf_exit", k + 1) - r.at("log_r_step", k + 1) -
                        r.at("log_pb", k) - r.at("log_pf_exit", k));
  return total;
}

torch::Tensor fm(const Row &r, const Residual &res) {
  torch::Tensor total = zero();
  for (int64_t k = 1; k < r.n + r.e; ++k)
    total = total + res(r.at("log_in_flow", k) - r.at("log_out_flow", k));
  if (r.e)
    total = total + res(r.at("log_exit_flow", r.n) - r.logR());
  else if (r.n > 0)
    total = total + res(r.at("log_in_flow", r.n) - r.logR());
  return total;
}

struct Case {
  const char *name;
  Formula formula;
  std::vector<double> params; // the objective's extra arguments
};

class LibraryAgainstAutograd : public ::testing::TestWithParam<Case> {};

TEST_P(LibraryAgainstAutograd, LossAndGradients) {
  const Case &c = GetParam();
  // Variants with other residuals ("tb_half") share the objective's artifact.
  std::string objective = c.name;
  objective = objective.substr(0, objective.find('_'));
  std::string path =
      std::string(GFL_TEST_ARTIFACTS_DIR) + "/stdlib_" + objective + ".gflx";
  std::string error;
  auto artifact = Artifact::open(path, error);
  ASSERT_TRUE(artifact) << error;
  const Kernel *grad = artifact->kernel("gfl_obj_" + objective + "_grad");
  ASSERT_NE(grad, nullptr);
  // The residual is the last two arguments (kind, delta).
  size_t np = c.params.size();
  Residual res{int(c.params[np - 2]), c.params[np - 1]};

  for (int64_t seed : {31, 32, 33}) {
    Batch in = randomBatch(seed);
    std::vector<torch::Tensor> losses;
    for (int64_t b = 0; b < B; ++b) {
      Row row{in, b, in.n[b].item<int>(), in.exited[b].item<bool>()};
      losses.push_back(c.formula(row, res));
    }
    torch::Tensor loss = torch::stack(losses);
    loss.sum().backward();

    auto f32 = [](const torch::Tensor &t) {
      return t.detach().to(torch::kFloat32).contiguous();
    };
    std::map<std::string, torch::Tensor> args{
        {"log_r", f32(in.logR)},       {"log_z", f32(in.logZ)},
        {"n", in.n.contiguous()},      {"exited", in.exited.contiguous()},
        {"d_loss", torch::ones({B})},  {"loss", torch::empty({B})},
        {"d_log_z", torch::empty({B})}};
    for (const char *s : kSeqs) {
      args[s] = f32(in.seq[s]);
      args[std::string("d_") + s] = torch::zeros({B, T});
    }
    std::map<std::string, double> scalars;
    for (size_t i = 0; i < np; ++i)
      scalars["param" + std::to_string(i)] = c.params[i];
    callKernel(*grad, test::gridsAsRaggedRows(args), scalars);

    auto expectClose = [&](const std::string &what,
                           const torch::Tensor &compiled,
                           const torch::Tensor &reference) {
      torch::Tensor ref = reference.defined() ? reference.to(torch::kFloat32)
                                              : torch::zeros_like(compiled);
      torch::Tensor err = (compiled - ref).abs();
      torch::Tensor tol = 1e-5 * (1 + ref.abs());
      EXPECT_TRUE(err.le(tol).all().item<bool>())
          << c.name << " seed " << seed << " " << what << "\ncompiled\n"
          << compiled << "\nautograd\n"
          << ref;
    };
    expectClose("loss", args["loss"], loss.detach());
    int checked = 0;
    for (const KernelArg &a : grad->args) {
      if (!a.output || a.name == "loss")
        continue;
      std::string field = a.name.substr(2);
      torch::Tensor ref =
          field == "log_z" ? in.logZ.grad() : in.seq.at(field).grad();
      expectClose(a.name, args[a.name], ref);
      ++checked;
    }
    EXPECT_GT(checked, 0) << "no gradient outputs";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Library, LibraryAgainstAutograd,
    ::testing::Values(Case{"tb", tb, {0, 1.0}}, Case{"db", db, {0, 1.0}},
                      Case{"subtb", subtb, {0.9, 0, 1.0}},
                      Case{"fldb", fldb, {0, 1.0}}, Case{"mdb", mdb, {0, 1.0}},
                      Case{"fm", fm, {0, 1.0}},
                      // The other residuals, through the same artifacts.
                      Case{"tb_half", tb, {1, 1.0}},
                      Case{"fm_huber", fm, {2, 0.5}},
                      Case{"db_huber", db, {2, 0.3}}),
    [](const ::testing::TestParamInfo<Case> &info) {
      return std::string(info.param.name);
    });

/// gfl_edge_flows and its gradient against masked logsumexp in LibTorch,
/// with rows where every action or every parent is masked.
TEST(EdgeFlows, AgainstAutograd) {
  std::string error;
  auto artifact = Artifact::open(GFL_HYPERGRID_2D, error);
  ASSERT_TRUE(artifact) << error;
  const Kernel *fwd = artifact->kernel("gfl_edge_flows");
  const Kernel *grad = artifact->kernel("gfl_edge_flows_grad");
  ASSERT_TRUE(fwd && grad);
  const int64_t N = 64, P = 2, A = 3; // hypergrid 2D: 2 increments + exit
  torch::manual_seed(5);
  auto logits = torch::randn({N, A}, torch::kFloat64).requires_grad_(true);
  auto parents = torch::randn({N, P, A}, torch::kFloat64).requires_grad_(true);
  auto mask = torch::rand({N, A}).lt(0.7);
  auto pmask = torch::rand({N, P}).lt(0.6);
  mask[0].fill_(false);
  pmask[1].fill_(false);

  const double inf = std::numeric_limits<double>::infinity();
  // Row by row: autograd's logsumexp of an all -inf row has NaN gradients,
  // so such rows are constants here (the kernels give them none).
  auto lse = [&](const torch::Tensor &x, const torch::Tensor &m) {
    std::vector<torch::Tensor> rows;
    for (int64_t i = 0; i < x.size(0); ++i)
      rows.push_back(m[i].any().item<bool>()
                         ? torch::logsumexp(x[i].masked_select(m[i]), 0)
                         : torch::full({}, -inf, torch::kFloat64));
    return torch::stack(rows);
  };
  torch::Tensor diag = parents.diagonal(0, 1, 2); // [N, P]: edge j of parent j
  torch::Tensor in = lse(diag, pmask), out = lse(logits, mask);
  torch::Tensor exit = logits.select(1, A - 1).masked_fill(
      mask.select(1, A - 1).logical_not(), -inf);
  auto dIn = torch::randn({N}, torch::kFloat64),
       dOut = torch::randn({N}, torch::kFloat64),
       dExit = torch::randn({N}, torch::kFloat64);
  auto finite = [](const torch::Tensor &x) {
    return torch::where(torch::isfinite(x), x, torch::zeros_like(x));
  };
  (finite(in) * dIn + finite(out) * dOut + finite(exit) * dExit)
      .sum()
      .backward();

  auto f32 = [](const torch::Tensor &t) {
    return t.detach().to(torch::kFloat32).contiguous();
  };
  std::map<std::string, torch::Tensor> args{
      {"logits", f32(logits)},
      {"mask", mask.contiguous()},
      {"parent_logits", f32(parents)},
      {"parent_mask", pmask.contiguous()},
      {"log_in_flow", torch::empty({N})},
      {"log_out_flow", torch::empty({N})},
      {"log_exit_flow", torch::empty({N})}};
  callKernel(*fwd, args);
  auto same = [](const torch::Tensor &compiled, const torch::Tensor &ref) {
    torch::Tensor r = ref.detach().to(torch::kFloat32);
    torch::Tensor bothInf = compiled.isinf().logical_and(r.isinf()).logical_and(
        compiled.sign().eq(r.sign()));
    torch::Tensor close = (compiled - r).abs().le(1e-5 * (1 + r.abs()));
    return bothInf.logical_or(close).all().item<bool>();
  };
  EXPECT_TRUE(same(args["log_in_flow"], in)) << args["log_in_flow"] << in;
  EXPECT_TRUE(same(args["log_out_flow"], out)) << args["log_out_flow"] << out;
  EXPECT_TRUE(same(args["log_exit_flow"], exit));
  EXPECT_TRUE(std::isinf(args["log_out_flow"][0].item<float>()));
  EXPECT_TRUE(std::isinf(args["log_in_flow"][1].item<float>()));

  args["d_log_in_flow"] = f32(dIn);
  args["d_log_out_flow"] = f32(dOut);
  args["d_log_exit_flow"] = f32(dExit);
  args["d_logits"] = torch::empty({N, A});
  args["d_parent_logits"] = torch::empty({N, P, A});
  callKernel(*grad, args);
  EXPECT_TRUE(same(args["d_logits"], logits.grad()))
      << args["d_logits"] << logits.grad();
  EXPECT_TRUE(same(args["d_parent_logits"], parents.grad()));
  EXPECT_FALSE(args["d_logits"].isnan().any().item<bool>());
  EXPECT_FALSE(args["d_parent_logits"].isnan().any().item<bool>());
}

} // namespace

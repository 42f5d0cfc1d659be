//===- RuleAutogradTest.cpp - Update rules vs LibTorch autograd -----------===//
//
// Every RL update rule of the standard library (reinforce, a2c, ppo, sql,
// mdqn) and two user-defined ones that differentiate through returns() and
// gae() (test/Runtime/Inputs/custom_rule.gfl), compiled by gflc as the training
// rule of a hypergrid program, through the runtime's autograd function (staged
// collectives included), against its formula written as LibTorch expressions in
// float64 and differentiated by autograd, on random padded batches with mixed
// lengths and exits: loss and the gradient of every learned input within 1e-5
// relative. The rules' reads past a sequence's valid length give 0, as in
// the compiled code.
//
//===----------------------------------------------------------------------===//

#include "CompiledFunctions.h"
#include "RaggedRows.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

using namespace gfl;

namespace {

constexpr int64_t B = 8, T = 7;

const char *const kLearned[] = {"log_pf", "log_pb", "entropy",
                                "value",  "logit",  "log_norm"};
const char *const kData[] = {"log_pf_old",      "log_q",        "logit_target",
                             "log_norm_target", "value_target", "reward"};

struct Batch {
  std::map<std::string, torch::Tensor> seq; // float64; learned ones leaves
  torch::Tensor logR, n, exited;
};

Batch randomBatch(int64_t seed) {
  torch::manual_seed(seed);
  Batch in;
  for (const char *s : kLearned)
    in.seq[s] = (torch::randn({B, T}, torch::kFloat64) * 0.7 - 0.3)
                    .requires_grad_(true);
  for (const char *s : kData)
    in.seq[s] = torch::randn({B, T}, torch::kFloat64) * 0.7 - 0.3;
  in.logR = torch::randn({B}, torch::kFloat64);
  in.n = torch::randint(0, T - 1, {B}, torch::kInt32);
  in.n[0] = 0; // an immediate exit, or an empty trajectory
  in.exited = torch::randint(0, 2, {B}, torch::kBool);
  return in;
}

/// One row of the batch, with the rules' reading conventions.
struct Row {
  const Batch &in;
  int64_t b, n;
  bool e;
  int64_t actions() const { return n + (e ? 1 : 0); }
  /// Entry k of a sequence; 0 at or past its valid length.
  torch::Tensor at(const char *s, int64_t k) const {
    std::string name = s;
    bool perAction = name == "log_pf" || name == "log_pf_old" ||
                     name == "log_q" || name == "logit" ||
                     name == "logit_target" || name == "reward";
    int64_t len = perAction ? actions() : name == "log_pb" ? n : n + 1;
    if (k < 0 || k >= len)
      return torch::zeros({}, torch::kFloat64);
    return in.seq.at(name)[b][k];
  }
  torch::Tensor logR() const { return in.logR[b]; }
};

/// The rules' parameters, by name.
using Params = std::map<std::string, double>;
using Formula = std::function<torch::Tensor(const Row &, const Params &,
                                            const torch::Tensor &batch)>;

torch::Tensor zero() { return torch::zeros({}, torch::kFloat64); }

/// Per-step reward of action k: the soft (GFlowNet-shaped) or the
/// reward-maximizing one; policy-gradient rules also subtract log pi_old.
torch::Tensor reward(const Row &r, const Params &p, int64_t k,
                     bool policyGradient) {
  bool soft = p.at("soft") == 1;
  bool last = k + 1 == r.actions();
  torch::Tensor x = r.at("reward", k);
  if (soft)
    x = x + r.at("log_pb", k) + (last ? r.logR() : zero());
  else
    x = x + (last ? r.logR().exp() : zero());
  if (soft && policyGradient)
    x = x - r.at("log_pf_old", k);
  return x;
}

std::vector<torch::Tensor> returns(const Row &r, const Params &p,
                                   bool policyGradient) {
  int64_t L = r.actions();
  std::vector<torch::Tensor> g(L + 1, zero());
  for (int64_t k = L - 1; k >= 0; --k)
    g[k] = reward(r, p, k, policyGradient) + p.at("gamma") * g[k + 1];
  return g;
}

torch::Tensor residual(const Params &p, const torch::Tensor &x) {
  if (p.at("kind") == 0)
    return x * x;
  if (p.at("kind") == 1)
    return 0.5 * x * x;
  double d = p.at("delta");
  torch::Tensor a = x.abs();
  return torch::where(a <= d, 0.5 * x * x, d * (a - 0.5 * d));
}

/// The per-row return from s0, for reinforce's batch-mean baseline.
torch::Tensor startReturn(const Row &r, const Params &p) {
  return returns(r, p, true)[0];
}

torch::Tensor reinforce(const Row &r, const Params &p,
                        const torch::Tensor &baseline) {
  auto g = returns(r, p, true);
  torch::Tensor total = zero();
  for (int64_t k = 0; k < r.actions(); ++k)
    total = total - r.at("log_pf", k) * (g[k] - baseline).detach();
  return total;
}

torch::Tensor a2c(const Row &r, const Params &p, const torch::Tensor &) {
  auto g = returns(r, p, true);
  torch::Tensor total = zero();
  for (int64_t k = 0; k < r.actions(); ++k) {
    torch::Tensor v = r.at("value", k);
    total = total - r.at("log_pf", k) * (g[k] - v).detach() +
            p.at("cv") * (v - g[k].detach()).pow(2) -
            p.at("ce") * r.at("entropy", k);
  }
  return total;
}

torch::Tensor ppo(const Row &r, const Params &p, const torch::Tensor &) {
  int64_t L = r.actions();
  auto g = returns(r, p, true);
  double gamma = p.at("gamma"), gl = gamma * p.at("lam");
  std::vector<torch::Tensor> adv(L + 1, zero());
  for (int64_t k = L - 1; k >= 0; --k) {
    torch::Tensor next = k + 1 < L ? r.at("value", k + 1) : zero();
    torch::Tensor delta =
        reward(r, p, k, true) + gamma * next - r.at("value", k);
    adv[k] = delta + gl * adv[k + 1];
  }
  double eps = p.at("eps");
  torch::Tensor total = zero();
  for (int64_t k = 0; k < L; ++k) {
    torch::Tensor rho = (r.at("log_pf", k) - r.at("log_pf_old", k)).exp();
    torch::Tensor a = adv[k].detach();
    total = total - torch::min(rho * a, rho.clamp(1 - eps, 1 + eps) * a) +
            p.at("cv") * (r.at("value", k) - g[k].detach()).pow(2) -
            p.at("ce") * r.at("entropy", k);
  }
  return total;
}

torch::Tensor sql(const Row &r, const Params &p, const torch::Tensor &) {
  int64_t L = r.actions();
  torch::Tensor total = zero();
  for (int64_t k = 0; k < L; ++k) {
    torch::Tensor next =
        k + 1 == L ? zero() : p.at("gamma") * r.at("log_norm_target", k + 1);
    torch::Tensor target = reward(r, p, k, false) + next;
    total = total + residual(p, r.at("logit", k) - target.detach());
  }
  return total;
}

torch::Tensor mdqn(const Row &r, const Params &p, const torch::Tensor &) {
  int64_t L = r.actions();
  double alpha = p.at("alpha");
  torch::Tensor total = zero();
  for (int64_t k = 0; k < L; ++k) {
    torch::Tensor next =
        k + 1 == L ? zero() : p.at("gamma") * r.at("log_norm_target", k + 1);
    torch::Tensor bonus = (r.at("logit_target", k) - r.at("log_norm_target", k))
                              .clamp(p.at("l0"), 0.0);
    torch::Tensor target =
        (1 - alpha) * reward(r, p, k, false) + alpha * bonus + next;
    total = total + residual(p, r.at("logit", k) - target.detach());
  }
  return total;
}

/// The user-defined rules of custom_rule.gfl: squared path-consistency
/// residuals, differentiated through the returns (pcl) and GAE (lambda_pcl).
std::vector<torch::Tensor> consistencyRewards(const Row &r) {
  std::vector<torch::Tensor> x;
  for (int64_t k = 0; k < r.actions(); ++k)
    x.push_back(r.at("log_pb", k) - r.at("log_pf", k) +
                (k + 1 == r.actions() ? r.logR() : zero()));
  return x;
}

torch::Tensor pcl(const Row &r, const Params &p, const torch::Tensor &) {
  auto x = consistencyRewards(r);
  torch::Tensor total = zero(), g = zero();
  for (int64_t k = r.actions() - 1; k >= 0; --k) {
    g = x[k] + p.at("gamma") * g;
    total = total + 0.5 * (r.at("value", k) - g).pow(2);
  }
  return total;
}

torch::Tensor lambdaPcl(const Row &r, const Params &p, const torch::Tensor &) {
  auto x = consistencyRewards(r);
  int64_t L = r.actions();
  double gamma = p.at("gamma"), gl = gamma * p.at("lam");
  torch::Tensor total = zero(), adv = zero();
  for (int64_t k = L - 1; k >= 0; --k) {
    torch::Tensor next = k + 1 < L ? r.at("value", k + 1) : zero();
    adv = x[k] + gamma * next - r.at("value", k) + gl * adv;
    total = total + 0.5 * adv.pow(2);
  }
  return total;
}

struct Case {
  const char *name; // test name
  const char *rule; // the library rule
  Formula formula;
  Params params;                   // by name
  std::vector<const char *> order; // the rule's parameter order
};

class RulesAgainstAutograd : public ::testing::TestWithParam<Case> {};

TEST_P(RulesAgainstAutograd, LossAndGradients) {
  const Case &c = GetParam();
  std::string error;
  auto program = Program::load(
      std::string(GFL_TEST_ARTIFACTS_DIR) + "/rule_" + c.rule + ".gflx", error);
  ASSERT_TRUE(program) << error;
  ASSERT_EQ(program->train().objective, c.rule);
  program->train().objectiveArgs.clear();
  for (const char *name : c.order)
    program->train().objectiveArgs.push_back(c.params.at(name));

  for (int64_t seed : {41, 42, 43}) {
    Batch in = randomBatch(seed);
    // The reference, in float64.
    std::vector<Row> rows;
    for (int64_t b = 0; b < B; ++b)
      rows.push_back({in, b, in.n[b].item<int>(), in.exited[b].item<bool>()});
    torch::Tensor baseline = zero();
    if (std::string(c.rule) == "reinforce") {
      for (const Row &r : rows)
        baseline = baseline + startReturn(r, c.params);
      baseline = baseline / double(B);
    }
    std::vector<torch::Tensor> losses;
    for (const Row &r : rows)
      losses.push_back(c.formula(r, c.params, baseline));
    torch::Tensor loss = torch::stack(losses);
    loss.sum().backward();

    // The compiled rule, through the runtime's autograd function.
    std::map<std::string, torch::Tensor> learned, data;
    for (const char *s : kLearned)
      if (program->kernelHasArg("gfl_obj_" + std::string(c.rule) + "_grad",
                                std::string("d_") + s))
        learned[s] = in.seq[s].detach().to(torch::kFloat32).requires_grad_();
    for (const char *s : kData)
      data[s] = in.seq[s].to(torch::kFloat32);
    data["log_r"] = in.logR.to(torch::kFloat32);
    data["n"] = in.n;
    data["exited"] = in.exited;
    // The kernels read ragged rows: the grids go flat (views, which the
    // gradients pass through to them) with offsets b*T.
    std::map<std::string, torch::Tensor> all = data, learnedRows, dataRows;
    all.insert(learned.begin(), learned.end());
    for (auto &[name, t] : test::gridsAsRaggedRows(all))
      (learned.count(name) ? learnedRows : dataRows)[name] = t;
    torch::Tensor compiled = objectiveLoss(*program, learnedRows, dataRows);
    compiled.sum().backward();

    auto expectClose = [&](const std::string &what, const torch::Tensor &got,
                           const torch::Tensor &want) {
      torch::Tensor ref =
          want.defined() ? want.to(torch::kFloat32) : torch::zeros_like(got);
      torch::Tensor err = (got - ref).abs();
      EXPECT_TRUE(err.le(1e-5 * (1 + ref.abs())).all().item<bool>())
          << c.name << " seed " << seed << " " << what << "\ncompiled\n"
          << got << "\nautograd\n"
          << ref;
    };
    expectClose("loss", compiled.detach(), loss.detach());
    ASSERT_FALSE(learned.empty());
    for (auto &[name, t] : learned) {
      ASSERT_TRUE(t.grad().defined()) << name;
      expectClose("d_" + name, t.grad(), in.seq[name].grad());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rules, RulesAgainstAutograd,
    ::testing::Values(
        Case{"pcl", "pcl", pcl, {{"gamma", 0.9}}, {"gamma"}},
        Case{"lambda_pcl",
             "lambda_pcl",
             lambdaPcl,
             {{"gamma", 0.95}, {"lam", 0.7}},
             {"gamma", "lam"}},
        Case{"reinforce_soft",
             "reinforce",
             reinforce,
             {{"soft", 1}, {"gamma", 0.9}},
             {"soft", "gamma"}},
        Case{"reinforce_max",
             "reinforce",
             reinforce,
             {{"soft", 0}, {"gamma", 1.0}},
             {"soft", "gamma"}},
        Case{"a2c",
             "a2c",
             a2c,
             {{"soft", 1}, {"gamma", 0.95}, {"cv", 0.5}, {"ce", 0.1}},
             {"soft", "gamma", "cv", "ce"}},
        Case{"ppo_soft",
             "ppo",
             ppo,
             {{"soft", 1},
              {"eps", 0.2},
              {"gamma", 0.9},
              {"lam", 0.8},
              {"cv", 0.5},
              {"ce", 0.01}},
             {"soft", "eps", "gamma", "lam", "cv", "ce"}},
        Case{"ppo_max",
             "ppo",
             ppo,
             {{"soft", 0},
              {"eps", 0.1},
              {"gamma", 1.0},
              {"lam", 0.95},
              {"cv", 1.0},
              {"ce", 0.0}},
             {"soft", "eps", "gamma", "lam", "cv", "ce"}},
        Case{"sql",
             "sql",
             sql,
             {{"soft", 1}, {"gamma", 1.0}, {"kind", 2}, {"delta", 1.0}},
             {"soft", "gamma", "kind", "delta"}},
        Case{"sql_squared",
             "sql",
             sql,
             {{"soft", 0}, {"gamma", 0.9}, {"kind", 0}, {"delta", 1.0}},
             {"soft", "gamma", "kind", "delta"}},
        Case{"mdqn",
             "mdqn",
             mdqn,
             {{"alpha", 0.15},
              {"l0", -1.0},
              {"soft", 1},
              {"gamma", 1.0},
              {"kind", 2},
              {"delta", 1.0}},
             {"alpha", "l0", "soft", "gamma", "kind", "delta"}}),
    [](const ::testing::TestParamInfo<Case> &info) {
      return std::string(info.param.name);
    });

} // namespace

//===- RuleTrainingTest.cpp - Loop semantics of update rules --------------===//
//
// What the train block's loop settings do, on hypergrid 2D H8 with the
// library rules: target networks copied every N iterations change exactly
// then (and Polyak averages move by tau per step); epochs and minibatches
// take epochs x minibatches optimizer steps over a permutation of the
// batch; PPO with 1 epoch and 1 minibatch is the plain policy-gradient step
// at ratio 1. Also the compiled policy statistics (the taken logit, the
// log-normalizer and the entropy) against LibTorch autograd.
//
//===----------------------------------------------------------------------===//

#include "CompiledFunctions.h"
#include "gfl/Runtime/Trainer.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace gfl;

namespace {

std::unique_ptr<Program> loadRule(const std::string &rule) {
  std::string error;
  auto p = Program::load(
      std::string(GFL_TEST_ARTIFACTS_DIR) + "/rule_" + rule + ".gflx", error);
  EXPECT_TRUE(p) << error;
  return p;
}

TrainerOptions quiet() {
  TrainerOptions o;
  o.progress = false;
  return o;
}

/// The parameters of network `net`, flattened into one tensor.
torch::Tensor flat(Model &m, const std::string &net) {
  std::vector<torch::Tensor> parts;
  for (const torch::Tensor &p : m->parametersOf(net))
    parts.push_back(p.detach().reshape({-1}));
  return torch::cat(parts).clone();
}

TEST(TargetNetworks, CopiesChangeExactlyEveryNIterations) {
  auto program = loadRule("sql");
  ASSERT_TRUE(program);
  TargetSpec copy;
  copy.every = 3;
  copy.nets = {"pf"};
  program->train().target = copy;
  program->train().batch = 16;
  Trainer trainer(*program, quiet());
  Model &target = trainer.targets().model();
  EXPECT_TRUE(torch::equal(flat(target, "pf"), flat(trainer.model(), "pf")));
  torch::Tensor before = flat(target, "pf");
  for (int64_t it = 0; it < 7; ++it) {
    trainer.fit(trainer.trainingBatch(it), it);
    torch::Tensor online = flat(trainer.model(), "pf");
    ASSERT_FALSE(torch::equal(online, before)); // the step moved the network
    trainer.targets().afterIteration(it);
    torch::Tensor now = flat(target, "pf");
    if ((it + 1) % 3 == 0) {
      EXPECT_TRUE(torch::equal(now, online)) << "iteration " << it;
    } else {
      EXPECT_TRUE(torch::equal(now, before)) << "iteration " << it;
    }
    before = now;
  }
}

TEST(TargetNetworks, PolyakMovesByTauPerStep) {
  auto program = loadRule("sql");
  ASSERT_TRUE(program);
  ASSERT_TRUE(program->train().target); // polyak(tau 0.25), every network
  EXPECT_TRUE(program->train().target->polyak);
  program->train().batch = 16;
  Trainer trainer(*program, quiet());
  torch::Tensor target0 = flat(trainer.targets().model(), "pf");
  trainer.fit(trainer.trainingBatch(0), 0); // one optimizer step
  torch::Tensor online = flat(trainer.model(), "pf");
  torch::Tensor expected = 0.75 * target0 + 0.25 * online;
  EXPECT_TRUE(torch::allclose(flat(trainer.targets().model(), "pf"), expected,
                              1e-6, 1e-7));
}

TEST(TargetNetworks, TheCheckpointCarriesTheTarget) {
  auto program = loadRule("sql");
  ASSERT_TRUE(program);
  program->train().batch = 16;
  std::string path = testing::TempDir() + "/gfl-target-checkpoint.pt";
  torch::Tensor saved;
  {
    Trainer trainer(*program, quiet());
    for (int64_t it = 0; it < 3; ++it) {
      trainer.fit(trainer.trainingBatch(it), it);
      trainer.targets().afterIteration(it);
    }
    saved = flat(trainer.targets().model(), "pf");
    // Polyak averaging leaves the target behind the online network.
    ASSERT_FALSE(torch::equal(saved, flat(trainer.model(), "pf")));
    trainer.saveCheckpoint(path, 3);
  }
  Checkpoint read = Checkpoint::read(path, *program);
  EXPECT_TRUE(read.get("target_params").isGenericDict());
  Trainer resumed(*program, quiet());
  EXPECT_FALSE(torch::equal(flat(resumed.targets().model(), "pf"), saved));
  EXPECT_EQ(resumed.loadCheckpoint(path), 3);
  EXPECT_TRUE(torch::equal(flat(resumed.targets().model(), "pf"), saved));
}

TEST(Minibatches, EpochsTimesMinibatchesStepsOverAPermutation) {
  auto program = loadRule("ppo");
  ASSERT_TRUE(program);
  program->train().batch = 32;
  program->train().epochs = 2;
  program->train().minibatches = 4;
  Trainer trainer(*program, quiet());
  Rollout r = trainer.trainingBatch(5);
  for (int64_t epoch : {0, 1}) {
    torch::Tensor order = trainer.minibatchOrder(epoch, 32);
    EXPECT_TRUE(torch::equal(std::get<0>(order.sort()),
                             torch::arange(32, torch::kInt64)));
    EXPECT_TRUE(torch::equal(order, trainer.minibatchOrder(epoch, 32)));
  }
  EXPECT_FALSE(torch::equal(trainer.minibatchOrder(0, 32),
                            trainer.minibatchOrder(1, 32)));
  trainer.fit(r, 5);
  // Adam counted 2 x 4 steps.
  std::string path = testing::TempDir() + "/gfl-minibatch-steps.pt";
  trainer.saveCheckpoint(path, 1);
  Checkpoint read = Checkpoint::read(path, *program);
  auto steps = read.get("adam_step").toGenericDict();
  ASSERT_GT(steps.size(), 0u);
  for (const auto &item : steps)
    EXPECT_EQ(item.value().toInt(), 8) << item.key().toStringRef();
}

TEST(Minibatches, ABatchNotDividedIsRefused) {
  auto program = loadRule("ppo");
  ASSERT_TRUE(program);
  program->train().batch = 30;
  program->train().minibatches = 4;
  try {
    Trainer trainer(*program, quiet());
    FAIL() << "30 trajectories in 4 minibatches were accepted";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("not divisible into 4 minibatches"),
              std::string::npos)
        << e.what();
  }
}

/// PPO with 1 epoch and 1 minibatch on a fresh rollout (ratio 1) takes the
/// step of the plain policy gradient -sum log pi(a_k|s_k) A_k with the
/// same GAE advantages and value loss, computed here with LibTorch.
TEST(Ppo, OneEpochOneMinibatchIsThePolicyGradientStep) {
  auto program = loadRule("ppo");
  ASSERT_TRUE(program);
  program->train().batch = 32;
  // soft 1, eps 0.2, gamma 0.9, lam 0.8, cv 0.5, ce 0.
  program->train().objectiveArgs = {1, 0.2, 0.9, 0.8, 0.5, 0.0};
  const double gamma = 0.9, lam = 0.8, cv = 0.5;
  Trainer ppo(*program, quiet()), reference(*program, quiet());
  Rollout r = ppo.trainingBatch(3);
  ppo.fit(r, 3);

  // The reference loss on the same rollout, from the reference trainer's
  // (identical) networks.
  const EnvSpec &env = program->env();
  int64_t B = r.batch, T1 = r.steps + 1;
  Model &model = reference.model();
  torch::Tensor feats =
      r.features.transpose(0, 1).reshape({B * T1, env.featureSize});
  auto outs = model->forward(feats);
  torch::Tensor logits = outs.at("pf");
  torch::Tensor value = outs.at("value").reshape({B, T1});
  State visited;
  {
    torch::Tensor b = torch::arange(B).unsqueeze(1),
                  k = torch::arange(T1).unsqueeze(0);
    visited =
        Program::select(Program::cat(r.states), (k * B + b).reshape({B * T1}));
  }
  torch::Tensor mask = program->forwardMask(visited);
  torch::Tensor actions = r.actions.reshape({B * T1}).contiguous();
  torch::Tensor logPf =
      policyLogProb(*program, logits, mask, actions).view({B, T1});
  // log P_B of the uniform backward policy: the successor's parent count.
  StepLogProbs lp = reference.logProbs(r);
  torch::Tensor loss = torch::zeros({});
  for (int64_t b = 0; b < B; ++b) {
    int64_t n = r.n[b].item<int32_t>();
    int64_t L = n + (r.exited[b].item<bool>() ? 1 : 0);
    std::vector<torch::Tensor> rew, adv(L + 1, torch::zeros({})),
        ret(L + 1, torch::zeros({}));
    for (int64_t k = 0; k < L; ++k)
      rew.push_back(lp.backward[b][k] - r.logPfOld[b][k] +
                    (k + 1 == L ? r.logReward[b] : torch::zeros({})));
    for (int64_t k = L - 1; k >= 0; --k) {
      torch::Tensor next = k + 1 < L ? value[b][k + 1] : torch::zeros({});
      torch::Tensor delta = rew[k] + gamma * next - value[b][k];
      adv[k] = delta + gamma * lam * adv[k + 1];
      ret[k] = rew[k] + gamma * ret[k + 1];
    }
    for (int64_t k = 0; k < L; ++k)
      loss = loss - logPf[b][k] * adv[k].detach() +
             cv * (value[b][k] - ret[k].detach()).pow(2);
  }
  (loss / double(B)).backward();
  Optimizer adam(*program, model);
  adam.step(3);

  auto a = ppo.model()->namedParams(), b = model->namedParams();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::allclose(a[i].second, b[i].second, 1e-5, 1e-6))
        << a[i].first << ": max difference "
        << (a[i].second - b[i].second).abs().max().item<double>();
}

/// gfl_policy_stats and its gradient against LibTorch on random logits,
/// with a row where nothing is allowed and padding actions.
TEST(PolicyStats, AgainstAutograd) {
  auto program = loadRule("sql");
  ASSERT_TRUE(program);
  const int64_t N = 64, A = 3;
  torch::manual_seed(9);
  torch::Tensor x = torch::randn({N, A}, torch::kFloat64).requires_grad_();
  torch::Tensor mask = torch::rand({N, A}).lt(0.7);
  mask[0].fill_(false);
  mask[1].fill_(true);
  torch::Tensor actions = torch::randint(0, A, {N}, torch::kInt32);
  actions[2] = -1;
  // The taken action is an allowed one (or padding).
  for (int64_t i = 3; i < N; ++i)
    if (!mask[i][actions[i].item<int32_t>()].item<bool>())
      actions[i] = -1;
  // Reference.
  torch::Tensor masked = x.masked_fill(mask.logical_not(), -INFINITY);
  torch::Tensor any = mask.any(1);
  torch::Tensor lse =
      torch::where(any, masked.logsumexp(1), torch::zeros({N}, x.options()));
  torch::Tensor p = torch::softmax(masked, 1).nan_to_num(0.0);
  torch::Tensor entropy =
      torch::where(any, lse - (p * x.masked_fill(mask.logical_not(), 0)).sum(1),
                   torch::zeros({N}, x.options()));
  torch::Tensor safe = actions.clamp_min(0).to(torch::kInt64);
  torch::Tensor logit =
      torch::where(actions.ge(0), x.gather(1, safe.unsqueeze(1)).squeeze(1),
                   torch::zeros({N}, x.options()));
  torch::Tensor w1 = torch::randn({N}, torch::kFloat64),
                w2 = torch::randn({N}, torch::kFloat64),
                w3 = torch::randn({N}, torch::kFloat64);
  ((logit * w1).sum() + (lse * w2).sum() + (entropy * w3).sum()).backward();

  torch::Tensor xf = x.detach().to(torch::kFloat32).requires_grad_();
  PolicyStats st = policyStats(*program, xf, mask, actions);
  EXPECT_TRUE(torch::allclose(st.logit.to(torch::kDouble), logit, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(st.logNorm.to(torch::kDouble), lse, 1e-5, 1e-5));
  EXPECT_TRUE(
      torch::allclose(st.entropy.to(torch::kDouble), entropy, 1e-5, 1e-5));
  ((st.logit * w1.to(torch::kFloat32)).sum() +
   (st.logNorm * w2.to(torch::kFloat32)).sum() +
   (st.entropy * w3.to(torch::kFloat32)).sum())
      .backward();
  EXPECT_TRUE(
      torch::allclose(xf.grad().to(torch::kDouble), x.grad(), 1e-4, 1e-5))
      << "max difference "
      << (xf.grad().to(torch::kDouble) - x.grad()).abs().max().item<double>();
}

} // namespace

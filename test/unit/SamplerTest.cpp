//===- SamplerTest.cpp - Backward sampling, local search, replay ----------===//
//
// The sampler stages on hypergrid 2D H8 (uniform P_B): backward walks follow
// P_B (chi-square over the paths to one state) and come back as valid
// forward trajectories; local-search proposals keep their prefix; the
// compiled acceptance kernel matches a LibTorch reference on random inputs;
// replay buffers evict, deduplicate, draw and checkpoint as declared;
// schedules give the declared values.
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/ConditionSampler.h"
#include "gfl/Runtime/LocalSearch.h"
#include "gfl/Runtime/ReplayBuffer.h"
#include "gfl/Runtime/Trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <vector>

using namespace gfl;

namespace {

std::unique_ptr<Program> loadHypergrid() {
  std::string error;
  auto p = Program::load(GFL_HYPERGRID_2D, error);
  EXPECT_TRUE(p) << error;
  return p;
}

TrainerOptions quiet() {
  TrainerOptions o;
  o.progress = false;
  return o;
}

torch::Tensor iterationBuffer(int64_t it) {
  return torch::full({1}, it, torch::kInt64);
}

/// Every row of `r` is a trajectory of the environment: each action leads
/// from one state to the next, the exit and padding keep the state, n
/// counts the moves, and the reward is the terminal state's.
void expectTrajectories(const Program &program, const Rollout &r) {
  const EnvSpec &env = program.env();
  int64_t exitIndex = env.numActions - 1;
  for (int64_t k = 0; k < r.steps; ++k) {
    torch::Tensor a = r.actions.select(1, k);
    auto [next, done] = program.step(r.states[k], a.clamp_min(0));
    torch::Tensor moves = a.ge(0).logical_and(a.ne(exitIndex));
    for (size_t f = 0; f < next.size(); ++f) {
      torch::Tensor expected =
          torch::where(moves.view({-1, 1}), next[f], r.states[k][f]);
      ASSERT_TRUE(torch::equal(expected, r.states[k + 1][f])) << "step " << k;
    }
  }
  EXPECT_TRUE(r.actions.select(1, r.steps).eq(-1).all().item<bool>());
  EXPECT_TRUE(torch::equal(
      r.n.to(torch::kInt64),
      r.actions.ge(0).logical_and(r.actions.ne(exitIndex)).sum(1)));
  EXPECT_TRUE(torch::equal(r.final[0], r.states.back()[0]));
  EXPECT_TRUE(torch::allclose(r.logReward, program.logReward(r.final)));
}

/// The rollout's way of calling a kernel (arguments by position, bound once
/// and updated between calls) computes what a call by names computes, and
/// refuses what it refuses.
TEST(BoundKernel, CallsAsByNames) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  const EnvSpec &env = program->env();
  State start = program->init(5);
  State moved = program->step(start, torch::zeros({5}, torch::kInt32)).first;
  BoundKernel features(*program, "gfl_features");
  EXPECT_EQ(features.slot("no_such_argument"), BoundKernel::kAbsent);
  features.set(BoundKernel::kAbsent, torch::zeros({1})); // dropped
  torch::Tensor out = torch::full({5, env.featureSize}, NAN);
  features.set(features.slot("features"), out);
  try {
    features();
    ADD_FAILURE() << "a call without the state ran";
  } catch (const std::runtime_error &e) {
    EXPECT_EQ(std::string(e.what()), "gfl_features: missing buffer 'state." +
                                         env.fields[0].name + "'");
  }
  for (const State &s : {start, moved}) {
    for (size_t f = 0; f < s.size(); ++f)
      features.set(features.slot("state." + env.fields[f].name), s[f]);
    features();
    EXPECT_TRUE(torch::equal(out, program->features(s)));
  }
  EXPECT_FALSE(torch::equal(program->features(start), out));
  EXPECT_THROW(BoundKernel(*program, "gfl_no_such_kernel"), std::runtime_error);
}

TEST(BackwardSampling, PathsToAStateFollowTheBackwardPolicy) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  Trainer trainer(*program, quiet());
  const int64_t N = 24000;
  State x = program->emptyState(N);
  x[0].fill_(2); // every walk starts at (2, 2)
  BackwardDraw draw;
  draw.iteration = iterationBuffer(5);
  torch::Tensor logPb;
  Rollout r = trainer.sampler().backward().sample(x, draw, &logPb);
  expectTrajectories(*program, r);
  // Four moves from s0, then the exit (hypergrid states are not terminal).
  EXPECT_EQ(r.steps, 5);
  EXPECT_TRUE(r.n.eq(4).all().item<bool>());
  EXPECT_TRUE(r.exited.all().item<bool>());
  EXPECT_TRUE(r.states[0][0].eq(0).all().item<bool>());
  EXPECT_TRUE(r.actions.select(1, 4).eq(2).all().item<bool>());

  // Uniform P_B: the backward step from (a, b) picks each existing parent
  // with probability 1 / #parents. The probability of a forward path is
  // the product over the states it enters.
  std::map<std::vector<int>, double> expected;
  std::vector<int> path;
  std::function<void(int, int, double)> walk = [&](int a, int b, double p) {
    if (a == 2 && b == 2) {
      expected[path] = p;
      return;
    }
    for (int d : {0, 1}) {
      int na = a + (d == 0), nb = b + (d == 1);
      if (na > 2 || nb > 2)
        continue;
      double parents = (na > 0) + (nb > 0);
      path.push_back(d);
      walk(na, nb, p / parents);
      path.pop_back();
    }
  };
  walk(0, 0, 1.0);
  ASSERT_EQ(expected.size(), 6u);
  std::map<std::vector<int>, int64_t> counts;
  auto acts = r.actions.accessor<int32_t, 2>();
  auto lp = logPb.accessor<float, 2>();
  for (int64_t i = 0; i < N; ++i) {
    std::vector<int> key{acts[i][0], acts[i][1], acts[i][2], acts[i][3]};
    ASSERT_TRUE(expected.count(key));
    ++counts[key];
    double sum = lp[i][0] + lp[i][1] + lp[i][2] + lp[i][3];
    EXPECT_NEAR(sum, std::log(expected[key]), 1e-5);
    EXPECT_EQ(lp[i][4], 0.0f); // no P_B term at the exit
  }
  double chi = 0;
  for (const auto &[key, p] : expected) {
    double e = N * p;
    chi += (counts[key] - e) * (counts[key] - e) / e;
  }
  // 5 degrees of freedom: the 0.1% critical value.
  EXPECT_LT(chi, 20.52);

  // Another iteration draws other paths; the same one the same paths.
  Rollout again = trainer.sampler().backward().sample(x, draw);
  EXPECT_TRUE(torch::equal(again.actions, r.actions));
  draw.iteration = iterationBuffer(6);
  Rollout other = trainer.sampler().backward().sample(x, draw);
  EXPECT_FALSE(torch::equal(other.actions, r.actions));
}

TEST(BackwardSampling, WalksFromS0AreEmpty) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  Trainer trainer(*program, quiet());
  BackwardDraw draw;
  draw.iteration = iterationBuffer(0);
  Rollout r = trainer.sampler().backward().sample(program->init(3), draw);
  EXPECT_EQ(r.steps, 1);
  EXPECT_TRUE(r.n.eq(0).all().item<bool>());
  EXPECT_TRUE(r.actions.select(1, 0).eq(2).all().item<bool>()); // the exit
}

TEST(LocalSearch, AcceptanceKernelMatchesLibTorch) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  const int64_t B = 4096, K = 2;
  torch::manual_seed(17);
  auto f = [&] { return torch::randn({B}) * 3; };
  torch::Tensor logR = f(), logRNew = f(), pf = f(), pfNew = f(), pb = f(),
                pbNew = f();
  // Some zero rewards: -inf log-rewards.
  logRNew.index_put_({torch::arange(0, B, 97)}, -INFINITY);
  logR.index_put_({torch::arange(1, B, 89)}, -INFINITY);
  torch::Tensor n = torch::randint(0, 6, {B}, torch::kInt32);
  torch::Tensor nNew = torch::randint(0, 6, {B}, torch::kInt32);
  // Both rewards zero on a reversible move: a NaN ratio.
  torch::Tensor both = torch::arange(0, B, 97 * 5);
  logR.index_put_({both}, -INFINITY);
  nNew.index_put_({both}, n.index({both}));
  torch::Tensor it = iterationBuffer(12);
  auto u = torch::empty({B}, torch::kFloat32);
  program->call("gfl_uniform", {{"iteration", it}, {"u", u}},
                {{"seed", 3.0}, {"stream", 18.0}, {"first", 0.0}});
  for (bool greedy : {false, true}) {
    SCOPED_TRACE(greedy ? "greedy" : "mh");
    auto accept = torch::empty({B}, torch::kBool);
    auto logA = torch::empty({B}, torch::kFloat32);
    program->call("gfl_ls_accept",
                  {{"log_r", logR},
                   {"log_r_new", logRNew},
                   {"log_pf", pf},
                   {"log_pf_new", pfNew},
                   {"log_pb", pb},
                   {"log_pb_new", pbNew},
                   {"n", n},
                   {"n_new", nNew},
                   {"iteration", it},
                   {"accept", accept},
                   {"log_accept", logA}},
                  {{"seed", 3.0},
                   {"stream", 18.0},
                   {"greedy", greedy ? 1.0 : 0.0},
                   {"backtrack", double(K)},
                   {"first", 0.0}});
    // The reference in float64.
    auto d = [](const torch::Tensor &t) { return t.to(torch::kFloat64); };
    torch::Tensor a =
        (d(logRNew) + d(pbNew) - d(pfNew)) - (d(logR) + d(pb) - d(pf));
    torch::Tensor cut = (n.to(torch::kInt64) - K).clamp_min(0);
    torch::Tensor cutNew = (nNew.to(torch::kInt64) - K).clamp_min(0);
    torch::Tensor negInf = torch::full({B}, -INFINITY, torch::kFloat64);
    torch::Tensor refLogA, refAccept;
    if (greedy) {
      refAccept = logRNew.ge(logR);
      refLogA =
          torch::where(refAccept, torch::zeros({B}, torch::kFloat64), negInf);
    } else {
      refLogA = torch::where(cut.eq(cutNew), a.clamp_max(0), negInf);
      refAccept = d(u).log().lt(refLogA);
    }
    torch::Tensor logA64 = d(logA), logU = d(u).log();
    auto got = logA64.accessor<double, 1>();
    auto want = refLogA.accessor<double, 1>();
    auto gotAccept = accept.accessor<bool, 1>();
    auto wantAccept = refAccept.accessor<bool, 1>();
    auto logUA = logU.accessor<double, 1>();
    int64_t accepted = 0, nan = 0;
    for (int64_t i = 0; i < B; ++i) {
      if (std::isnan(want[i])) {
        // -inf - -inf: a NaN ratio, rejected.
        ++nan;
        EXPECT_FALSE(gotAccept[i]) << i;
        continue;
      }
      if (std::isinf(want[i]))
        EXPECT_EQ(got[i], want[i]) << i;
      else
        EXPECT_NEAR(got[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << i;
      // Decisions agree wherever float32 rounding cannot flip them.
      if (greedy || std::fabs(logUA[i] - want[i]) > 1e-4)
        EXPECT_EQ(gotAccept[i], wantAccept[i]) << i;
      accepted += gotAccept[i];
    }
    EXPECT_GT(accepted, B / 10);
    EXPECT_LT(accepted, B - B / 10);
    if (!greedy)
      EXPECT_GT(nan, 0);
  }
}

TEST(LocalSearch, ProposalsKeepThePrefixAndAreTrajectories) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  Trainer trainer(*program, quiet());
  TrajectoryLoss scores(*program, trainer.model());
  LocalSearchSpec spec;
  spec.backtrack = 3;
  LocalSearch ls(*program, spec, trainer.sampler().forward(),
                 trainer.sampler().backward(), scores);
  torch::Tensor it = iterationBuffer(4);
  Rollout drawn = trainer.rollout(4, 512);
  BackwardDraw back;
  back.iteration = it;
  Rollout tau = trainer.sampler().backward().sample(drawn.final, back);
  expectTrajectories(*program, tau);
  // The backward walk ends where the forward one did.
  EXPECT_TRUE(torch::equal(tau.final[0], drawn.final[0]));
  Rollout proposal = ls.propose(tau, it, 0);
  expectTrajectories(*program, proposal);
  torch::Tensor n = tau.n.to(torch::kInt64);
  torch::Tensor p = n - n.clamp_max(3);
  EXPECT_TRUE(proposal.n.to(torch::kInt64).ge(p).all().item<bool>());
  auto pA = p.accessor<int64_t, 1>();
  for (int64_t row = 0; row < 512; ++row)
    for (int64_t k = 0; k <= pA[row]; ++k)
      ASSERT_TRUE(
          torch::equal(proposal.states[k][0][row], tau.states[k][0][row]))
          << "row " << row << " step " << k;
  // MH: log A <= 0, -inf where the proposal's cut differs.
  torch::Tensor logA;
  torch::Tensor accepted = ls.accept(tau, proposal, it, 0, &logA);
  EXPECT_TRUE(logA.le(0).all().item<bool>());
  torch::Tensor cutNew = (proposal.n.to(torch::kInt64) - 3).clamp_min(0);
  torch::Tensor irreversible = cutNew.ne(p);
  EXPECT_TRUE(irreversible.any().item<bool>());
  EXPECT_TRUE(
      logA.masked_select(irreversible).eq(-INFINITY).all().item<bool>());
  EXPECT_FALSE(accepted.masked_select(irreversible).any().item<bool>());
  EXPECT_TRUE(accepted.any().item<bool>());

  // A refinement keeps one trajectory per row, each ending in an accepted
  // proposal or the walk's own terminal state.
  spec.rounds = 2;
  LocalSearch twice(*program, spec, trainer.sampler().forward(),
                    trainer.sampler().backward(), scores);
  LocalSearch::Result result = twice.refine(drawn, it);
  EXPECT_EQ(result.refined.batch, 512);
  expectTrajectories(*program, result.refined);
  EXPECT_EQ(result.acceptance.size(0), 2);
  EXPECT_EQ(result.accepted[0].size(0), result.acceptedLogReward.size(0));
}

TEST(LocalSearch, ABacktrackLongerThanEveryTrajectoryIsRefused) {
  // gflc refuses it for artifacts with CPU kernels; the trainer checks it
  // for the others (a CUDA-only artifact) when it starts.
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  LocalSearchSpec spec;
  spec.backtrack = 15; // 2D H8: at most 14 moves
  program->train().sampler.localSearch = spec;
  try {
    Trainer trainer(*program, quiet());
    FAIL() << "a 15-move backtrack was accepted";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("local search backtracks 15 moves, "
                                         "more than the longest trajectory "
                                         "of the environment (14)"),
              std::string::npos)
        << e.what();
  }
}

TEST(LocalSearch, GreedyNeverLowersTheReward) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  Trainer trainer(*program, quiet());
  TrajectoryLoss scores(*program, trainer.model());
  LocalSearchSpec spec;
  spec.backtrack = 4;
  spec.rounds = 3;
  spec.greedy = true;
  LocalSearch ls(*program, spec, trainer.sampler().forward(),
                 trainer.sampler().backward(), scores);
  Rollout drawn = trainer.rollout(9, 1024);
  LocalSearch::Result r = ls.refine(drawn, iterationBuffer(9));
  EXPECT_TRUE(r.refined.logReward.ge(drawn.logReward).all().item<bool>());
  EXPECT_GT(r.refined.logReward.mean().item<double>(),
            drawn.logReward.mean().item<double>());
}

/// `count` hypergrid states (v, v) for v in `values`, with log R = v.
std::pair<State, torch::Tensor> states(const Program &program,
                                       std::vector<int> values) {
  int64_t n = static_cast<int64_t>(values.size());
  State s = program.emptyState(n);
  torch::Tensor logR = torch::empty({n});
  for (int64_t i = 0; i < n; ++i) {
    s[0][i].fill_(values[i]);
    logR[i] = double(values[i]);
  }
  return {s, logR};
}

std::vector<int> heldValues(const ReplayBuffer &buffer) {
  torch::Tensor held = buffer.states()[0].select(1, 0).contiguous();
  return std::vector<int>(held.data_ptr<int32_t>(),
                          held.data_ptr<int32_t>() + held.numel());
}

TEST(ReplayBuffer, FifoEvictsTheOldest) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  ReplaySpec spec;
  spec.capacity = 4;
  spec.fraction = 0.25;
  ReplayBuffer buffer(*program, spec, 0);
  EXPECT_EQ(buffer.share(64), 0); // empty: nothing to draw
  auto [a, ra] = states(*program, {1, 2, 3});
  buffer.insert(a, ra);
  EXPECT_EQ(buffer.size(), 3);
  EXPECT_EQ(buffer.share(64), 16);
  auto [b, rb] = states(*program, {4, 5});
  buffer.insert(b, rb);
  EXPECT_EQ(buffer.size(), 4);
  // A ring: 5 overwrote 1.
  EXPECT_EQ(heldValues(buffer), (std::vector<int>{5, 2, 3, 4}));
  auto [c, rc] = states(*program, {6, 7, 1, 2, 3, 4});
  buffer.insert(c, rc); // more than fit: the last four
  std::vector<int> held = heldValues(buffer);
  std::sort(held.begin(), held.end());
  EXPECT_EQ(held, (std::vector<int>{1, 2, 3, 4}));
}

TEST(ReplayBuffer, RewardEvictionKeepsTheHighestAndInsertNewSkipsHeld) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  ReplaySpec spec;
  spec.capacity = 3;
  spec.fraction = 0.5;
  spec.evictLowest = true;
  spec.insertNew = true;
  ReplayBuffer buffer(*program, spec, 1);
  auto [a, ra] = states(*program, {2, 5, 2, 1});
  buffer.insert(a, ra); // the second 2 is a duplicate
  EXPECT_EQ(heldValues(buffer), (std::vector<int>{5, 2, 1}));
  auto [b, rb] = states(*program, {5, 3, 0});
  buffer.insert(b, rb); // 5 is held; 3 beats 1; 0 does not fit
  EXPECT_EQ(heldValues(buffer), (std::vector<int>{5, 3, 2}));
  EXPECT_TRUE(
      torch::equal(buffer.logRewards(), torch::tensor({5.0f, 3.0f, 2.0f})));
}

TEST(ReplayBuffer, DrawsFollowThePriorities) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  ReplaySpec spec;
  spec.capacity = 8;
  spec.fraction = 0.5;
  for (bool prioritized : {false, true}) {
    SCOPED_TRACE(prioritized ? "prioritized" : "uniform");
    spec.prioritized = prioritized;
    spec.temperature = 2.0;
    ReplayBuffer buffer(*program, spec, 0);
    auto [s, logR] = states(*program, {0, 1, 2, 3});
    buffer.insert(s, logR);
    const int64_t N = 40000;
    State drawn = buffer.draw(N, 0, iterationBuffer(2));
    torch::Tensor v = drawn[0].select(1, 0);
    torch::Tensor p = prioritized
                          ? torch::softmax(logR.to(torch::kDouble) / 2.0, 0)
                          : torch::full({4}, 0.25, torch::kDouble);
    double chi = 0;
    for (int k = 0; k < 4; ++k) {
      double count = v.eq(k).sum().item<double>(), e = N * p[k].item<double>();
      chi += (count - e) * (count - e) / e;
    }
    EXPECT_LT(chi, 16.27); // 3 degrees of freedom, 0.1%
    // Rows are keyed by their batch index: a draw for rows 10.. is the
    // tail of a draw for rows 0...
    State tail = buffer.draw(N - 10, 10, iterationBuffer(2));
    EXPECT_TRUE(torch::equal(tail[0], drawn[0].slice(0, 10)));
  }
}

TEST(ReplayBuffer, SurvivesACheckpoint) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  ReplaySpec spec;
  spec.capacity = 5;
  spec.fraction = 0.5;
  ReplayBuffer buffer(*program, spec, 0), restored(*program, spec, 0);
  auto [s, logR] = states(*program, {1, 2, 3, 4, 5, 6, 7});
  buffer.insert(s, logR);
  Checkpoint c(*program);
  buffer.save(c);
  std::string path =
      (std::filesystem::temp_directory_path() / "gfl-replay-test.pt").string();
  c.write(path);
  restored.load(Checkpoint::read(path, *program));
  EXPECT_EQ(heldValues(restored), heldValues(buffer));
  EXPECT_TRUE(torch::equal(restored.logRewards(), buffer.logRewards()));
  // The ring goes on where it stopped.
  auto [t, logT] = states(*program, {0});
  buffer.insert(t, logT);
  restored.insert(t, logT);
  EXPECT_EQ(heldValues(restored), heldValues(buffer));
  // A buffer of a smaller capacity refuses it.
  spec.capacity = 3;
  ReplayBuffer small(*program, spec, 0);
  try {
    small.load(Checkpoint::read(path, *program));
    FAIL() << "a 5-state buffer loaded into a 3-state one";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("does not fit a buffer of capacity 3"),
              std::string::npos)
        << e.what();
  }
  std::filesystem::remove(path);
}

// A checkpoint tensor that claims more elements than its storage holds is
// refused before anything copies from it (it made copy_ read out of bounds).
TEST(ReplayBuffer, RefusesACheckpointTensorLargerThanItsStorage) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  ReplaySpec spec;
  spec.capacity = 5;
  spec.fraction = 0.5;
  ReplayBuffer buffer(*program, spec, 0);
  auto [s, logR] = states(*program, {1, 2, 3});
  buffer.insert(s, logR);
  Checkpoint c(*program);
  buffer.save(c);
  // The same dictionary with a log-reward tensor of one stored element that
  // says it has 3 (sizes set under the tensor's checks, as a tampered pickle
  // can say).
  auto t = c.tensors("replay0"); // the first buffer's entry
  torch::Tensor forged = torch::zeros({1});
  forged.unsafeGetTensorImpl()->set_sizes_contiguous({3});
  t.insert_or_assign("log_reward", forged);
  c.put("replay0", t);
  std::string path =
      (std::filesystem::temp_directory_path() / "gfl-forged-test.pt").string();
  c.write(path);
  ReplayBuffer restored(*program, spec, 0);
  try {
    restored.load(Checkpoint::read(path, *program));
    FAIL() << "a tensor larger than its storage was loaded";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "log_reward needs 3 elements but its storage holds 1"),
              std::string::npos)
        << e.what();
  }
  std::filesystem::remove(path);
}

TEST(ReplayBuffer, RefusesACapacityBeyondMemory) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  ReplaySpec spec;
  spec.capacity = int64_t(1) << 40; // 12 bytes each: 12 TiB
  spec.fraction = 0.5;
  try {
    ReplayBuffer buffer(*program, spec, 0);
    FAIL() << "a 12 TiB buffer was allocated";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("available"), std::string::npos)
        << e.what();
  }
}

std::unique_ptr<Program> loadConditions() {
  std::string error;
  auto p = Program::load(
      std::string(GFL_TEST_ARTIFACTS_DIR) + "/conditions.gflx", error);
  EXPECT_TRUE(p) << error;
  return p;
}

TEST(Conditions, DrawsHaveTheDeclaredDistributions) {
  auto program = loadConditions();
  ASSERT_TRUE(program);
  const EnvSpec &env = program->env();
  ASSERT_EQ(env.conditions.size(), 3u);
  ASSERT_EQ(env.conditionSize, 5);
  ConditionSampler sampler(*program);
  const int64_t N = 100000;
  torch::Tensor c =
      sampler.draw(N, iterationBuffer(3)).to(torch::kDouble); // [N, 5]
  auto expectMoments = [&](torch::Tensor x, double mean, double var,
                           const char *what) {
    SCOPED_TRACE(what);
    double sd = std::sqrt(var / N);
    EXPECT_NEAR(x.mean().item<double>(), mean, 5 * sd);
    EXPECT_NEAR(x.var().item<double>(), var, 0.05 * var);
  };
  // uniform(-1, 3)
  torch::Tensor a = c.select(1, 0);
  EXPECT_GE(a.min().item<double>(), -1.0);
  EXPECT_LT(a.max().item<double>(), 3.0);
  expectMoments(a, 1.0, 16.0 / 12, "uniform");
  // loguniform(0.1, 10): log b uniform on [log 0.1, log 10]
  torch::Tensor lb = c.select(1, 1).log();
  double w = std::log(100.0);
  expectMoments(lb, 0.0, w * w / 12, "loguniform");
  // dirichlet(0.5, 1, 3)
  torch::Tensor wv = c.slice(1, 2, 5);
  EXPECT_TRUE(wv.ge(0).all().item<bool>());
  EXPECT_TRUE(
      torch::allclose(wv.sum(1), torch::ones({N}, torch::kDouble), 1e-5, 1e-5));
  double alpha[3] = {0.5, 1.0, 3.0}, a0 = 4.5;
  for (int i = 0; i < 3; ++i)
    expectMoments(wv.select(1, i), alpha[i] / a0,
                  alpha[i] * (a0 - alpha[i]) / (a0 * a0 * (a0 + 1)),
                  "dirichlet");
  // A function of the seed, iteration and trajectory.
  EXPECT_TRUE(
      torch::equal(sampler.draw(N, iterationBuffer(3)), c.to(torch::kFloat32)));
  EXPECT_FALSE(
      torch::equal(sampler.draw(N, iterationBuffer(4)), c.to(torch::kFloat32)));
}

TEST(Conditions, TheRewardReadsTheCondition) {
  auto program = loadConditions();
  ASSERT_TRUE(program);
  State s = program->stateDecode(torch::arange(4, torch::kInt64));
  torch::Tensor cond = torch::tensor({{2.0f, 4.0f, 0.2f, 0.3f, 0.5f}})
                           .expand({4, 5})
                           .contiguous();
  torch::Tensor logR = program->logReward(s, cond);
  for (int n = 0; n < 4; ++n)
    EXPECT_NEAR(logR[n].item<double>(), 2.0 * n + std::log(4.0) + 0.2 - 0.5,
                1e-5);
  // Without a condition: the declared values (the means, b = 2).
  torch::Tensor fallback = program->logReward(s);
  EXPECT_NEAR(fallback[1].item<double>(),
              1.0 + std::log(2.0) + 0.5 / 4.5 - 3.0 / 4.5, 1e-5);
}

TEST(Conditions, SettingsAreParsedAndChecked) {
  auto program = loadConditions();
  ASSERT_TRUE(program);
  torch::Tensor row =
      ConditionSampler::parse(*program, {{"a", "0.5"}, {"w", "0.2,0.3,0.5"}});
  EXPECT_TRUE(
      torch::allclose(row, torch::tensor({0.5f, 2.0f, 0.2f, 0.3f, 0.5f})));
  EXPECT_EQ(ConditionSampler::json(*program, row),
            "{\"a\":0.5,\"b\":2,\"w\":[0.200000003,0.300000012,0.5]}");
  for (auto [bad, message] :
       {std::pair<std::vector<std::pair<std::string, std::string>>,
                  std::string>{{{"c", "1"}}, "unknown condition 'c'"},
        {{{"w", "0.5,0.5"}}, "expected 3 value(s), got 2"},
        {{{"w", "0.5,0.6,0.1"}}, "preferences must sum to 1"},
        {{{"b", "-1"}}, "must be positive"},
        {{{"a", "x"}}, "is not a list of numbers"}}) {
    try {
      ConditionSampler::parse(*program, bad);
      FAIL() << "accepted " << bad[0].first << "=" << bad[0].second;
    } catch (const std::runtime_error &e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos)
          << e.what();
    }
  }
}

TEST(Conditions, NetworksAndLogZReadTheirConditions) {
  auto program = loadConditions();
  ASSERT_TRUE(program);
  Trainer trainer(*program, quiet());
  // Rollouts carry their conditions; the loss is finite and differentiable
  // through log Z(a, b, w).
  Rollout r = trainer.trainingBatch(2);
  ASSERT_TRUE(r.cond.defined());
  EXPECT_EQ(r.cond.size(1), 5);
  torch::Tensor loss = trainer.loss(r);
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
  // The model leaves out `pb`: P_B is uniform over the backward actions
  // (a zero-width row would be read past its end), and the loss repeats.
  torch::Tensor feats2 = program->features(program->init(3));
  EXPECT_EQ(trainer.model()->backwardLogits(feats2).sizes(),
            torch::IntArrayRef({3, program->env().numBackwardActions}));
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(trainer.loss(r).item<double>(), loss.item<double>());
  loss.backward();
  for (auto &[name, p] : trainer.model()->namedParams())
    if (name.rfind("logZ", 0) == 0) {
      ASSERT_TRUE(p.grad().defined()) << name;
      EXPECT_GT(p.grad().abs().sum().item<double>(), 0) << name;
    }
  // The policy's logits change with the condition.
  torch::Tensor feats = program->features(program->init(2));
  torch::Tensor c = torch::tensor(
      {{0.0f, 1.0f, 0.1f, 0.1f, 0.8f}, {2.0f, 1.0f, 0.8f, 0.1f, 0.1f}});
  torch::Tensor logits = trainer.model()->policyLogits(feats, c);
  EXPECT_FALSE(torch::allclose(logits[0], logits[1]));
}

TEST(Schedules, LinearScheduleAndLearningRates) {
  Schedule eps{1.0, 0.2, 8};
  EXPECT_DOUBLE_EQ(eps.at(0), 1.0);
  EXPECT_DOUBLE_EQ(eps.at(4), 0.6);
  EXPECT_DOUBLE_EQ(eps.at(8), 0.2);
  EXPECT_DOUBLE_EQ(eps.at(100), 0.2);
  EXPECT_DOUBLE_EQ(Schedule::constant(0.3).at(50), 0.3);

  LearningRateSpec warm;
  warm.warmup = 4;
  EXPECT_DOUBLE_EQ(warm.factor(0, 100), 0.25);
  EXPECT_DOUBLE_EQ(warm.factor(3, 100), 1.0);
  EXPECT_DOUBLE_EQ(warm.factor(50, 100), 1.0);
  LearningRateSpec cosine;
  cosine.kind = "cosine";
  cosine.min = 0.1;
  EXPECT_DOUBLE_EQ(cosine.factor(0, 101), 1.0);
  EXPECT_NEAR(cosine.factor(50, 101), 0.55, 1e-12);
  EXPECT_NEAR(cosine.factor(100, 101), 0.1, 1e-12);
  LearningRateSpec linear;
  linear.kind = "linear";
  EXPECT_NEAR(linear.factor(25, 101), 0.75, 1e-12);
  LearningRateSpec step;
  step.kind = "step";
  step.every = 10;
  step.gamma = 0.5;
  EXPECT_DOUBLE_EQ(step.factor(9, 100), 1.0);
  EXPECT_DOUBLE_EQ(step.factor(10, 100), 0.5);
  EXPECT_DOUBLE_EQ(step.factor(35, 100), 0.125);
}

TEST(Schedules, TheBehaviourPolicyAndTheOptimizerFollowThem) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  SamplerSpec &s = program->train().sampler;
  s.epsilon = {1.0, 0.0, 10};
  program->train().learningRate.kind = "step";
  program->train().learningRate.every = 2;
  program->train().learningRate.gamma = 0.5;
  program->train().iterations = 5;
  TrainerOptions o = quiet();
  o.outDir = (std::filesystem::temp_directory_path() / "gfl-sched").string();
  Trainer trainer(*program, o);
  // epsilon 1: uniform over the valid actions, whatever the network.
  Rollout uniform = trainer.rollout(0, 20000);
  double exits = uniform.actions.select(1, 0).eq(2).sum().item<double>();
  EXPECT_NEAR(exits / 20000, 1.0 / 3, 0.02);
  trainer.run();
  // The last step (iteration 4) ran at 0.5^2 of each group's rate.
  EXPECT_NEAR(trainer.optimizer().learningRate(0), 0.1 * 0.25, 1e-12);
  std::filesystem::remove_all(o.outDir);
}

} // namespace

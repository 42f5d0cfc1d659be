//===- TrainerTest.cpp - The trainer's rollouts and losses on the CPU -----===//
//
// On a GPU the rollout asks "have all trajectories ended?" only every few
// steps and trims the no-op steps after the end. Here every check interval
// must give the rollout (and the loss) of the per-step check. A CUDA graph
// records a rollout padded to the horizon; padding must change neither the
// loss nor the gradients of any objective.
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/Trainer.h"
#include "gfl/Runtime/Checkpoint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

using namespace gfl;

namespace {

std::unique_ptr<Program> loadHypergrid() {
  std::string error;
  auto p = Program::load(GFL_HYPERGRID_2D, error);
  EXPECT_TRUE(p) << error;
  return p;
}

TrainerOptions quietWithEndChecksEvery(int64_t every) {
  TrainerOptions o;
  o.progress = false;
  o.endCheckEvery = every;
  return o;
}

void expectSameRollout(const Rollout &a, const Rollout &b) {
  ASSERT_EQ(a.steps, b.steps);
  ASSERT_EQ(a.states.size(), b.states.size());
  EXPECT_TRUE(torch::equal(a.actions, b.actions));
  EXPECT_TRUE(torch::equal(a.features, b.features));
  EXPECT_TRUE(torch::equal(a.n, b.n));
  EXPECT_TRUE(torch::equal(a.exited, b.exited));
  EXPECT_TRUE(torch::equal(a.logReward, b.logReward));
  for (size_t k = 0; k < a.states.size(); ++k)
    for (size_t f = 0; f < a.states[k].size(); ++f)
      EXPECT_TRUE(torch::equal(a.states[k][f], b.states[k][f]));
  for (size_t f = 0; f < a.final.size(); ++f)
    EXPECT_TRUE(torch::equal(a.final[f], b.final[f]));
}

TEST(TrainerRollout, EndCheckIntervalDoesNotChangeTheRollout) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  Trainer perStep(*program, quietWithEndChecksEvery(1));
  // 3 and 8 do not divide the trajectory lengths; 64 exceeds them all.
  for (int64_t every : {3, 8, 64}) {
    Trainer chunked(*program, quietWithEndChecksEvery(every));
    for (int64_t it = 0; it < 3; ++it) {
      SCOPED_TRACE("every " + std::to_string(every) + ", iteration " +
                   std::to_string(it));
      Rollout a = perStep.rollout(it, 64);
      Rollout b = chunked.rollout(it, 64);
      // A 2D H8 trajectory takes at most 14 moves and the exit.
      EXPECT_GE(a.steps, 2);
      EXPECT_LE(a.steps, 15);
      EXPECT_EQ(a.actions.select(1, a.steps).eq(-1).all().item<bool>(), true);
      expectSameRollout(a, b);
      EXPECT_EQ(perStep.loss(a).item<float>(), chunked.loss(b).item<float>());
    }
  }
}

TEST(TrainerRollout, EveryTrajectoryEndsAndTheLastColumnIsPadding) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  Trainer trainer(*program, quietWithEndChecksEvery(8));
  Rollout r = trainer.rollout(5, 256);
  // The longest trajectory ends at the last step taken.
  EXPECT_EQ(r.actions.ge(0).sum(1).max().item<int64_t>(), r.steps);
  EXPECT_TRUE(r.exited.all().item<bool>());
  EXPECT_EQ(static_cast<int64_t>(r.states.size()), r.steps + 1);
  EXPECT_EQ(r.features.size(0), r.steps + 1);
}

TEST(TrainerRollout, HorizonIsTheLongestTrajectoryAndTheExit) {
  // D (H - 1) moves and the exit.
  for (auto [path, horizon] :
       {std::pair<const char *, int64_t>{GFL_HYPERGRID_2D, 2 * 7 + 1},
        {GFL_HYPERGRID_4D, 4 * 7 + 1}}) {
    std::string error;
    auto program = Program::load(path, error);
    ASSERT_TRUE(program) << error;
    Trainer trainer(*program, quietWithEndChecksEvery(1));
    EXPECT_EQ(trainer.horizon(), horizon) << path;
  }
}

TEST(TrainerRollout, TooFewPaddedStepsIsAnError) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  Trainer trainer(*program, quietWithEndChecksEvery(1));
  try {
    trainer.rollout(0, 64, 2);
    FAIL() << "a 2-step padded rollout of 64 trajectories ended them all";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("did not end within 2 steps"),
              std::string::npos)
        << e.what();
  }
}

TEST(TrainerRollout, PaddingToTheHorizonKeepsLossAndGradients) {
  for (const char *objective : {"tb", "db", "subtb", "fldb", "mdb", "fm"}) {
    SCOPED_TRACE(objective);
    std::string error;
    auto program = Program::load(std::string(GFL_TEST_ARTIFACTS_DIR) +
                                     "/stdlib_" + objective + ".gflx",
                                 error);
    ASSERT_TRUE(program) << error;
    // Same seed: the two trainers start from the same networks.
    Trainer trimmed(*program, quietWithEndChecksEvery(1));
    Trainer padded(*program, quietWithEndChecksEvery(1));
    ASSERT_GT(padded.horizon(), 0);
    Rollout a = trimmed.rollout(3, 64);
    Rollout b = padded.rollout(3, 64, padded.horizon());
    ASSERT_LT(a.steps, b.steps);
    EXPECT_EQ(b.steps, padded.horizon());
    EXPECT_TRUE(torch::equal(a.actions, b.actions.slice(1, 0, a.steps + 1)));
    EXPECT_TRUE(b.actions.slice(1, a.steps).eq(-1).all().item<bool>());
    EXPECT_TRUE(torch::equal(a.n, b.n));
    EXPECT_TRUE(torch::equal(a.exited, b.exited));
    EXPECT_TRUE(torch::equal(a.logReward, b.logReward));
    torch::Tensor la = trimmed.loss(a), lb = padded.loss(b);
    EXPECT_NEAR(la.item<double>(), lb.item<double>(),
                1e-6 * (1 + std::fabs(la.item<double>())));
    la.backward();
    lb.backward();
    auto pa = trimmed.model()->namedParams(),
         pb = padded.model()->namedParams();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) {
      SCOPED_TRACE(pa[i].first);
      torch::Tensor ga = pa[i].second.grad(), gb = pb[i].second.grad();
      ASSERT_EQ(ga.defined(), gb.defined());
      if (ga.defined())
        EXPECT_TRUE(torch::allclose(ga, gb, 1e-4, 1e-6))
            << "max difference " << (ga - gb).abs().max().item<double>();
    }
  }
}

/// The library's objectives and update rules, as test artifacts.
std::vector<std::string> libraryArtifacts() {
  std::vector<std::string> artifacts;
  for (const char *o : {"tb", "db", "subtb", "fldb", "mdb", "fm", "zvar"})
    artifacts.push_back(std::string("stdlib_") + o);
  for (const char *r :
       {"reinforce", "a2c", "ppo", "sql", "mdqn", "pcl", "lambda_pcl"})
    artifacts.push_back(std::string("rule_") + r);
  return artifacts;
}

std::unique_ptr<Program> loadArtifact(const std::string &name) {
  std::string error;
  auto p = Program::load(
      std::string(GFL_TEST_ARTIFACTS_DIR) + "/" + name + ".gflx", error);
  EXPECT_TRUE(p) << error;
  return p;
}

/// Trainers `a` and `b` start from the same parameters; their losses on
/// `ra` and `rb` (the same trajectories) agree to 1e-6, and so do the
/// gradients they leave, relative in norm (`scaleTolerance` for the
/// logit-scale network).
void expectSameLossAndGradients(Trainer &a, const Rollout &ra, Trainer &b,
                                const Rollout &rb,
                                double scaleTolerance = 1e-6) {
  torch::Tensor la = a.loss(ra), lb = b.loss(rb);
  EXPECT_NEAR(la.item<double>(), lb.item<double>(),
              1e-6 * std::max(1.0, std::fabs(lb.item<double>())));
  la.backward();
  lb.backward();
  auto pa = a.model()->namedParams(), pb = b.model()->namedParams();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    SCOPED_TRACE(pa[i].first);
    torch::Tensor ga = pa[i].second.grad(), gb = pb[i].second.grad();
    ASSERT_EQ(ga.defined(), gb.defined());
    if (!ga.defined())
      continue;
    // Relative in norm: float32 sums over other numbers of rows differ in
    // their last bits (the largest element by up to 1.2e-6).
    double norm = gb.norm().item<double>();
    double tolerance =
        pa[i].first.rfind("logit_scale", 0) == 0 ? scaleTolerance : 1e-6;
    EXPECT_LE((ga - gb).norm().item<double>(), tolerance * std::max(norm, 1e-3))
        << "gradient norm " << norm;
  }
}

// The networks run on the rows of states that exist (packed) or on every
// row of the padded B x (T+1) grid: the same loss and gradients, for every
// library objective and update rule, on the same trajectories.
TEST(TrainerLoss, PackedAndPaddedRowsGiveTheSameLossAndGradients) {
  for (const std::string &name : libraryArtifacts()) {
    SCOPED_TRACE(name);
    auto program = loadArtifact(name);
    ASSERT_TRUE(program);
    Trainer packed(*program, quietWithEndChecksEvery(1));
    Trainer padded(*program, quietWithEndChecksEvery(1));
    packed.trajectoryLoss().setPacking(TrajectoryLoss::Packing::Packed);
    padded.trajectoryLoss().setPacking(TrajectoryLoss::Packing::Padded);
    Rollout r = packed.rollout(3, 64);
    // Padding exists: some trajectory is shorter than the longest.
    ASSERT_LT(r.actions.ge(0).sum(1).min().item<int64_t>(), r.steps + 1);
    expectSameLossAndGradients(packed, r, padded, r);
  }
}

/// An on-policy batch keeps the rollout's evaluations of P_F; the loss
/// replays them instead of running the policy again. Against the loss that
/// runs it again on the same trajectories: the same loss and gradients, for
/// every library objective whose training takes one step per batch, with
/// conditions and a logit scale (Logit-GFN), and with end checks every 3
/// steps (steps where no trajectory runs), and with a trunk and each kind
/// of activation (applied with its layer, or after it).
TEST(TrainerLoss, TheRolloutsKeptPolicyGivesTheSameLossAndGradients) {
  std::vector<std::pair<std::string, int64_t>> cases;
  for (const std::string &name : libraryArtifacts())
    cases.push_back({name, 1});
  cases.push_back({"activations_tanh_leaky_relu", 1});
  cases.push_back({"activations_elu_gelu", 1});
  cases.push_back({"conditions", 1});
  cases.push_back({"hypergrid-tempered", 1});
  cases.push_back({"stdlib_tb", 3});
  int kept = 0;
  for (auto [name, every] : cases) {
    SCOPED_TRACE(name + ", end checks every " + std::to_string(every));
    auto program = loadArtifact(name);
    ASSERT_TRUE(program);
    Trainer keeping(*program, quietWithEndChecksEvery(every));
    Trainer recomputing(*program, quietWithEndChecksEvery(every));
    Rollout r = keeping.trainingBatch(3);
    const TrainSpec &t = program->train();
    bool keeps = t.epochs * t.minibatches == 1 && t.sampler.replay.empty() &&
                 !t.sampler.localSearch;
    EXPECT_EQ(keeping.trajectoryLoss().keepsRolloutPolicy(), keeps);
    ASSERT_EQ(r.policyTape != nullptr, keeps);
    if (!keeps)
      continue;
    ++kept;
    Rollout again = r;
    again.policyTape.reset();
    // The logit scale's gradient sums every row's, which nearly cancel
    // (norm 0.008 to 0.05): the loss's own packed and padded rows give
    // gradients 1.1e-6 apart there, and these 4e-6 to 6e-6 where the kept
    // products summed in the packed kernel's order (FewRowLinear, up to 64
    // rows with AVX-512) and the recomputed ones in BLAS's.
    expectSameLossAndGradients(keeping, r, recomputing, again, 1e-5);
  }
  EXPECT_GE(kept, 16);
}

TEST(TrainerDevice, CudaNeedsLibTorchWithCudaAndAGpu) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  if (torch::cuda::is_available())
    GTEST_SKIP() << "a GPU is present; gfl-cuda-trainer-tests covers it";
  try {
    program->useDevice(torch::Device(torch::kCUDA, 0));
    FAIL() << "useDevice(cuda) succeeded without a GPU";
  } catch (const std::runtime_error &e) {
    std::string what = e.what();
    EXPECT_TRUE(what.find("without CUDA") != std::string::npos ||
                what.find("no CUDA device") != std::string::npos)
        << what;
  }
  // The program still runs on the CPU.
  EXPECT_TRUE(program->device().is_cpu());
  EXPECT_EQ(program->gpu(), nullptr);
  EXPECT_EQ(program->init(4)[0].device().type(), torch::kCPU);
}

TEST(TrainerDevice, KernelsRefuseTensorsOfTwoDevices) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  // A meta tensor stands in for a second device on a CPU-only machine.
  State s = program->init(2);
  std::map<std::string, torch::Tensor> args{
      {"features", torch::empty({2, program->env().featureSize},
                                torch::TensorOptions().device(torch::kMeta))}};
  program->bindState(args, "state", s);
  try {
    program->call("gfl_features", args);
    FAIL() << "a call with tensors of two devices ran";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("is on meta, the others on cpu"),
              std::string::npos)
        << e.what();
  }
}

} // namespace

TEST(TrainerFiles, AFailedCheckpointWriteLeavesNoTemporaryFile) {
  // The rename onto a directory fails after the temporary file is written.
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "gfl-trainer-test-ckpt";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "checkpoint.pt");
  std::vector<char> bytes(100, 'x');
  EXPECT_THROW(writeAtomically((dir / "checkpoint.pt").string(), bytes),
               std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(dir / "checkpoint.pt.tmp"));
  std::filesystem::remove_all(dir);
}

TEST(TrainerFiles, MetricsPastTheCheckpointAndTornLinesAreDropped) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "gfl-trainer-test-metrics";
  std::filesystem::create_directories(dir);
  std::string path = (dir / "metrics.jsonl").string();
  {
    std::ofstream out(path, std::ios::trunc);
    out << "{\"iteration\":50,\"loss\":1}\n{\"iteration\":100,\"loss\":2}\n"
        << "{\"iteration\":150,\"loss\":3}\n{\"iteration\":2";
  }
  keepMetricsUpTo(path, 100);
  std::ifstream in(path);
  std::string all((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  EXPECT_EQ(all,
            "{\"iteration\":50,\"loss\":1}\n{\"iteration\":100,\"loss\":2}\n");
  std::filesystem::remove_all(dir);
}

/// The optimizer steps each group as one flat tensor; the parameters must
/// move as LibTorch's Adam moves them: two groups (log Z at its own
/// learning rate), betas, L2 weight decay, and a step in which log Z and
/// one parameter of P_F get no gradient (they are not stepped; P_F's group,
/// its step counts unequal from then on, is stepped parameter by
/// parameter).
TEST(TrainerOptimizer, StepsAsLibTorchsAdam) {
  auto program = loadHypergrid();
  ASSERT_TRUE(program);
  TrainSpec &t = program->train();
  // eps large enough to count: sqrt(v) is about 1 for these gradients.
  t.optimizer.args = {{"lr", 3e-3},
                      {"beta1", 0.8},
                      {"beta2", 0.99},
                      {"eps", 0.05},
                      {"weight_decay", 0.01}};
  t.groups["logZ"].args = {{"lr", 0.1}};
  torch::manual_seed(7);
  Model ours(*program);
  torch::manual_seed(7);
  Model theirs(*program);
  Optimizer optimizer(*program, ours);
  auto adamOptions = [](double lr) {
    auto o = std::make_unique<torch::optim::AdamOptions>(lr);
    o->betas(std::make_tuple(0.8, 0.99)).eps(0.05).weight_decay(0.01);
    return o;
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(theirs->parametersOf("logZ"), adamOptions(0.1));
  groups.emplace_back(theirs->parametersOf("pf"), adamOptions(3e-3));
  torch::optim::Adam adam(groups, *adamOptions(3e-3));
  auto a = ours->namedParams(), b = theirs->namedParams();
  ASSERT_EQ(a.size(), b.size());
  for (int64_t step = 0; step < 6; ++step) {
    for (size_t i = 0; i < a.size(); ++i) {
      // No gradient for log Z and for P_F's last parameter at step 2.
      if (step == 2 &&
          (a[i].first.rfind("logZ", 0) == 0 || i + 1 == a.size())) {
        a[i].second.mutable_grad().reset();
        b[i].second.mutable_grad().reset();
        continue;
      }
      torch::Tensor g = torch::randn_like(a[i].second);
      a[i].second.mutable_grad() = g.clone();
      b[i].second.mutable_grad() = g.clone();
    }
    optimizer.step(step);
    adam.step();
    for (size_t i = 0; i < a.size(); ++i) {
      SCOPED_TRACE(a[i].first + " after step " + std::to_string(step));
      ASSERT_EQ(a[i].first, b[i].first);
      double scale = b[i].second.abs().max().item<double>();
      EXPECT_LE((a[i].second - b[i].second).abs().max().item<double>(),
                1e-6 * std::max(scale, 1.0));
    }
  }
  // The parameters moved (the comparison is not of two frozen models).
  torch::manual_seed(7);
  Model initial(*program);
  EXPECT_GT((ours->namedParams()[1].second - initial->namedParams()[1].second)
                .abs()
                .max()
                .item<double>(),
            1e-4);
}

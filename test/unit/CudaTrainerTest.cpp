//===- CudaTrainerTest.cpp - The trainer on the GPU against the CPU -------===//
//
// gfl-run --device cuda end to end, through the Trainer API:
//   - same seed, same trajectories: with the same (fixed, freshly
//     initialized) networks, the GPU rollout draws the CPU rollout's actions;
//   - hypergrid 2D H8 trained with TB on the GPU reaches the CPU's exact-L1
//     bound (train-hypergrid.test's setting: batch 128, 250 iterations,
//     L1 <= 0.05, log Z within 0.1 of 3.1091), with and without CUDA graphs;
//   - iterations replayed from a CUDA graph give the losses of iterations
//     run one kernel at a time (so the replays draw new trajectories and
//     train the current networks).
// Needs LibTorch with CUDA and a GPU; otherwise every test skips and says
// why. Label `cuda`.
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/Json.h"
#include "gfl/Runtime/TorchCompat.h"
#include "gfl/Runtime/Trainer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace gfl;

namespace {

class CudaTrainer : public ::testing::Test {
protected:
  void SetUp() override {
    if (!compat::torchHasCuda())
      GTEST_SKIP() << "built against a LibTorch without CUDA";
    if (!torch::cuda::is_available())
      GTEST_SKIP() << "no CUDA device";
    std::string error;
    cpu_ = Program::load(GFL_HYPERGRID_2D, error);
    gpu_ = Program::load(GFL_HYPERGRID_2D, error);
    ASSERT_TRUE(cpu_ && gpu_) << error;
    gpu_->useDevice(torch::Device(torch::kCUDA, 0));
  }

  static TrainerOptions quiet(const std::string &out = "",
                              bool cudaGraph = true) {
    TrainerOptions o;
    o.progress = false;
    o.outDir = out;
    o.cudaGraph = cudaGraph;
    return o;
  }

  static std::string tempDir(const std::string &name) {
    return (std::filesystem::temp_directory_path() / name).string();
  }

  /// Field `key` of every line of DIR/metrics.jsonl.
  static std::vector<double> metricsOf(const std::string &dir,
                                       const std::string &key) {
    std::ifstream in(dir + "/metrics.jsonl");
    std::vector<double> values;
    for (std::string line; std::getline(in, line);) {
      std::string error;
      auto v = json::parse(line, error);
      EXPECT_TRUE(v) << error;
      if (v && v->get(key) && v->get(key)->isNumber())
        values.push_back(v->get(key)->asNumber());
    }
    return values;
  }

  void trainHypergridToTheCpuBound(bool cudaGraph) {
    TrainSpec &t = gpu_->train();
    t.batch = 128;
    t.iterations = 250;
    t.seed = 1;
    t.evalEvery = 0;
    Trainer trainer(*gpu_, quiet(tempDir("gfl-cuda-trainer"), cudaGraph));
    Metrics m = trainer.run();
    std::cout << m.json() << "\n" << trainer.profile().json() << "\n";
    EXPECT_EQ(trainer.graphed(), cudaGraph);
    ASSERT_TRUE(m.l1 && m.logz);
    EXPECT_LE(*m.l1, 0.05);
    EXPECT_NEAR(*m.logz, 3.1091, 0.1);
    EXPECT_EQ(m.modesFound, 4);
  }

  std::unique_ptr<Program> cpu_, gpu_;
};

TEST_F(CudaTrainer, SameSeedSameTrajectories) {
  Trainer onCpu(*cpu_, quiet()), onGpu(*gpu_, quiet());
  ASSERT_NE(gpu_->gpu(), nullptr);
  std::cout << "GPU image: " << gpu_->gpu()->image() << "\n";
  for (int64_t it : {0, 7}) {
    SCOPED_TRACE("iteration " + std::to_string(it));
    Rollout a = onCpu.rollout(it, 512);
    Rollout b = onGpu.rollout(it, 512);
    ASSERT_TRUE(b.actions.is_cuda());
    ASSERT_EQ(a.steps, b.steps);
    torch::Tensor same = a.actions.eq(b.actions.cpu());
    EXPECT_TRUE(same.all().item<bool>())
        << same.logical_not().sum().item<int64_t>() << " of " << same.numel()
        << " actions differ";
    EXPECT_TRUE(torch::equal(a.n, b.n.cpu()));
    EXPECT_TRUE(torch::allclose(a.logReward, b.logReward.cpu()));
    EXPECT_TRUE(torch::allclose(a.features, b.features.cpu()));
    // The loss and its gradient agree too.
    torch::Tensor la = onCpu.loss(a), lb = onGpu.loss(b);
    EXPECT_NEAR(la.item<double>(), lb.item<double>(),
                1e-4 * (1 + std::abs(la.item<double>())));
  }
}

TEST_F(CudaTrainer, HypergridTbReachesTheCpuBound) {
  trainHypergridToTheCpuBound(/*cudaGraph=*/true);
}

TEST_F(CudaTrainer, HypergridTbReachesTheCpuBoundWithoutGraphs) {
  trainHypergridToTheCpuBound(/*cudaGraph=*/false);
}

TEST_F(CudaTrainer, GraphReplaysGiveTheLossesOfKernelByKernelIterations) {
  // Iteration 0 runs kernel by kernel in both; 1 is recorded and replayed,
  // 2.. are replays. Padding to the horizon changes the loss only by
  // rounding, so the first iterations' trajectories are the same.
  std::vector<double> losses[2], l1s[2];
  for (bool graph : {true, false}) {
    std::string error;
    auto program = Program::load(GFL_HYPERGRID_2D, error);
    ASSERT_TRUE(program) << error;
    program->useDevice(torch::Device(torch::kCUDA, 0));
    TrainSpec &t = program->train();
    t.batch = 64;
    t.iterations = 5;
    t.seed = 3;
    t.evalEvery = 1;
    std::string dir = tempDir(graph ? "gfl-cuda-graph" : "gfl-cuda-eager");
    Trainer trainer(*program, quiet(dir, graph));
    trainer.run();
    EXPECT_EQ(trainer.graphed(), graph);
    if (graph)
      EXPECT_GT(trainer.profile().graph, 0);
    losses[graph] = metricsOf(dir, "loss");
    l1s[graph] = metricsOf(dir, "l1");
  }
  ASSERT_EQ(losses[0].size(), 5u);
  ASSERT_EQ(losses[1].size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    SCOPED_TRACE("iteration " + std::to_string(i + 1));
    EXPECT_NEAR(losses[1][i], losses[0][i],
                1e-4 * (1 + std::abs(losses[0][i])));
    EXPECT_NEAR(l1s[1][i], l1s[0][i], 1e-5);
  }
  // The replays trained: the iterations' losses differ.
  EXPECT_NE(losses[1][3], losses[1][4]);
}

TEST_F(CudaTrainer, CheckpointsMoveBetweenDevices) {
  std::string dir = tempDir("gfl-cuda-ckpt");
  std::filesystem::create_directories(dir);
  gpu_->train().iterations = 20;
  gpu_->train().evalEvery = 0;
  Trainer onGpu(*gpu_, quiet(dir));
  Metrics trained = onGpu.run();
  Trainer onCpu(*cpu_, quiet());
  EXPECT_EQ(onCpu.loadCheckpoint(dir + "/checkpoint.pt"), 20);
  Metrics loaded = onCpu.evaluate(20, 0);
  ASSERT_TRUE(trained.l1 && loaded.l1);
  EXPECT_NEAR(*trained.l1, *loaded.l1, 1e-4);
  EXPECT_EQ(trained.modesFound, loaded.modesFound);
}

} // namespace

//===- CudaTrainerTest.cpp - The trainer on the GPU against the CPU -------===//
//
// gfl-run --device cuda end to end, through the Trainer API:
//   - same seed, same trajectories: with the same (fixed, freshly
//     initialized) networks, the GPU rollout draws the CPU rollout's actions;
//   - hypergrid 2D H8 trained with TB on the GPU reaches the CPU's exact-L1
//     bound (train-hypergrid.test's setting: batch 128, 250 iterations,
//     L1 <= 0.05, log Z within 0.1 of 3.1091).
// Needs LibTorch with CUDA and a GPU; otherwise every test skips and says
// why. Label `cuda`.
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/TorchCompat.h"
#include "gfl/Runtime/Trainer.h"

#include <gtest/gtest.h>

#include <filesystem>

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

  static TrainerOptions quiet(const std::string &out = "") {
    TrainerOptions o;
    o.progress = false;
    o.outDir = out;
    return o;
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
  TrainSpec &t = gpu_->train();
  t.batch = 128;
  t.iterations = 250;
  t.seed = 1;
  t.evalEvery = 0;
  std::string out =
      (std::filesystem::temp_directory_path() / "gfl-cuda-trainer").string();
  Trainer trainer(*gpu_, quiet(out));
  Metrics m = trainer.run();
  std::cout << m.json() << "\n";
  ASSERT_TRUE(m.l1 && m.logz);
  EXPECT_LE(*m.l1, 0.05);
  EXPECT_NEAR(*m.logz, 3.1091, 0.1);
  EXPECT_EQ(m.modesFound, 4);
}

TEST_F(CudaTrainer, CheckpointsMoveBetweenDevices) {
  std::string dir =
      (std::filesystem::temp_directory_path() / "gfl-cuda-ckpt").string();
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

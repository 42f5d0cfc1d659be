//===- SampleMetricsTest.cpp - Metrics without enumeration, checked exactly
//===//
//
// On an enumerable environment every sample-based metric has an exact
// counterpart: the importance-sampling estimate of log P_T against the
// evaluator's exact log P_T, distinct states and reference modes against
// hand-picked batches.
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/SampleMetrics.h"
#include "gfl/Runtime/Checkpoint.h"
#include "gfl/Runtime/Trainer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

using namespace gfl;

namespace {

std::unique_ptr<Program> loadEstimates() {
  std::string error;
  auto p = Program::load(
      std::string(GFL_TEST_ARTIFACTS_DIR) + "/hypergrid_estimates.gflx", error);
  EXPECT_TRUE(p) << error;
  return p;
}

TrainerOptions quiet() {
  TrainerOptions o;
  o.progress = false;
  o.outDir =
      (std::filesystem::temp_directory_path() / "gfl-sample-metrics").string();
  return o;
}

/// A batch of 2-D hypergrid states.
State states(const Program &p, const std::vector<std::array<int, 2>> &xs) {
  std::vector<int> flat;
  for (auto &x : xs)
    flat.insert(flat.end(), x.begin(), x.end());
  return {torch::tensor(flat, torch::kInt32)
              .view({int64_t(xs.size()), 2})
              .to(p.device())};
}

} // namespace

TEST(SampleMetrics, ImportanceSamplingMatchesTheExactLogPt) {
  auto program = loadEstimates();
  ASSERT_TRUE(program);
  Trainer trainer(*program, quiet());
  trainer.run(); // 200 iterations: P_F and the learned P_B far from uniform
  Evaluator exact(*program);
  State tests = program->paramStates("TESTS");
  torch::Tensor truth = exact.exactLogPt(trainer.model(), tests);
  SampleMetrics sm(*program, trainer.model(), trainer.trajectoryLoss(), 1000);
  torch::Tensor estimate = sm.estimateLogPt(tests, 4096, 7);
  ASSERT_EQ(truth.size(0), 12);
  ASSERT_TRUE(truth.isfinite().all().item<bool>());
  // P_T itself spans a factor of more than 10 over the test states.
  EXPECT_GT((truth.max() - truth.min()).item<double>(), std::log(10.0));
  double worst = (estimate.cpu() - truth).abs().max().item<double>();
  std::printf("log P_T over %lld test states spans %.3f; the estimate from "
              "4096 backward walks is off by at most %.4f\n",
              (long long)truth.size(0),
              (truth.max() - truth.min()).item<double>(), worst);
  EXPECT_LT(worst, 0.05) << "estimate " << estimate << "\nexact " << truth;
  // s0 has a single trajectory to itself (the exit): the estimate is exact.
  EXPECT_NEAR(estimate[0].item<double>(), truth[0].item<double>(), 1e-5);
  // Another key gives other walks and (nearly) the same estimate.
  torch::Tensor other = sm.estimateLogPt(tests, 4096, 8);
  EXPECT_FALSE(torch::equal(other, estimate));
  EXPECT_LT((other - estimate).abs().max().item<double>(), 0.05);
}

TEST(SampleMetrics, DistinctStatesTopRewardsAndReferenceModes) {
  auto program = loadEstimates();
  ASSERT_TRUE(program);
  Trainer trainer(*program, quiet());
  SampleMetrics sm(*program, trainer.model(), trainer.trajectoryLoss(), 1000);
  // Modes (1,1) (1,6) (6,1) (6,6), found within Hamming distance 1 (the
  // number of coordinates that differ).
  State a = states(*program, {{0, 0}, {2, 1}, {0, 0}, {3, 3}});
  sm.observe(a, program->logReward(a));
  State b = states(*program, {{3, 3}, {2, 2}, {5, 5}});
  sm.observe(b, program->logReward(b));
  Metrics m;
  sm.fill(m, 0);
  EXPECT_EQ(m.uniqueTerminal, 5); // (0,0) and (3,3) twice
  EXPECT_EQ(m.referenceModesTotal, 4);
  EXPECT_EQ(m.referenceModesFound, 2); // (2,1) is 1 from (1,1) and (6,1)
  State last = states(*program, {{6, 6}});
  sm.observe(last, program->logReward(last));
  sm.fill(m, 0);
  EXPECT_EQ(m.uniqueTerminal, 6);
  EXPECT_EQ(m.referenceModesFound, 4); // (6,6) itself and (1,6)
  // Fewer than 10 distinct states: the top-k mean is over all of them.
  torch::Tensor all = program->logReward(
      states(*program, {{0, 0}, {2, 1}, {3, 3}, {2, 2}, {5, 5}, {6, 6}}));
  ASSERT_TRUE(m.topkRewardUnique.has_value());
  EXPECT_NEAR(*m.topkRewardUnique, all.exp().mean().item<double>(), 1e-6);
  EXPECT_EQ(m.estSamples, 64);
  ASSERT_TRUE(m.estSpearman.has_value());
  ASSERT_TRUE(m.estPearson.has_value());

  // The records survive a checkpoint; a fresh object reads them back.
  Checkpoint c(*program);
  sm.save(c);
  SampleMetrics back(*program, trainer.model(), trainer.trajectoryLoss(), 1000);
  back.load(c);
  Metrics again;
  back.fill(again, 0);
  EXPECT_EQ(again.uniqueTerminal, 6);
  EXPECT_EQ(again.referenceModesFound, 4);
  EXPECT_NEAR(*again.topkRewardUnique, *m.topkRewardUnique, 1e-12);
}

//===- DistributedTest.cpp - Data-parallel training as one process --------===//
//
// N workers that each draw their share of a batch of B must draw the
// trajectories one process draws for the whole batch, and train to the
// same parameters: bit-identical between the workers, equal to one
// process's up to float summation order. The workers here are threads of
// one process, joined over Gloo on the loopback address, each with its own
// Program and Trainer (as separate processes have).
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/Checkpoint.h"
#include "gfl/Runtime/LocalLaunch.h"
#include "gfl/Runtime/ReplayBuffer.h"
#include "gfl/Runtime/Trainer.h"
#include "gfl/Runtime/WorkerGroup.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

using namespace gfl;

namespace {

std::unique_ptr<Program> load(const std::string &path) {
  std::string error;
  auto p = Program::load(path, error);
  EXPECT_TRUE(p) << error;
  return p;
}

std::string artifact(const char *name) {
  return std::string(GFL_TEST_ARTIFACTS_DIR) + "/" + name;
}

std::string scratchDir(const std::string &name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("gfl-distributed-" + std::to_string(getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

TEST(BatchShares, CoverTheBatchInRankOrder) {
  for (int size : {1, 2, 3, 7})
    for (int64_t total : {7, 8, 64, 100}) {
      int64_t next = 0;
      for (int r = 0; r < size; ++r) {
        EXPECT_EQ(batchShareBegin(total, r, size), next);
        int64_t n = batchShareSize(total, r, size);
        EXPECT_GE(n, total / size);
        EXPECT_LE(n, total / size + 1);
        next += n;
      }
      EXPECT_EQ(next, total) << total << " rows, " << size << " workers";
    }
}

// The sampler keys its random numbers by the row's number in the whole
// batch: rows [0, 40) and [40, 64) drawn apart are rows of one draw of 64,
// conditions and tempered exploration included.
TEST(DataParallel, SharesDrawTheTrajectoriesOfOneBatch) {
  for (const char *name :
       {"hypergrid_2d_h8.gflx", "conditions.gflx", "hypergrid-tempered.gflx"}) {
    SCOPED_TRACE(name);
    auto program = load(artifact(name));
    ASSERT_TRUE(program);
    TrainerOptions o;
    o.progress = false;
    Trainer trainer(*program, o);
    BatchSampler &s = trainer.sampler();
    s.setIteration(3);
    s.setFirstRow(0);
    Rollout whole = s.draw(64);
    Rollout head = s.draw(40);
    s.setFirstRow(40);
    Rollout tail = s.draw(24);
    Rollout joined = concatRollouts({head, tail});
    ASSERT_EQ(joined.batch, 64);
    EXPECT_TRUE(torch::equal(joined.n, whole.n));
    EXPECT_TRUE(torch::equal(joined.logReward, whole.logReward));
    for (size_t f = 0; f < whole.final.size(); ++f)
      EXPECT_TRUE(torch::equal(joined.final[f], whole.final[f]));
    int64_t T = std::min(joined.actions.size(1), whole.actions.size(1));
    EXPECT_TRUE(torch::equal(joined.actions.slice(1, 0, T),
                             whole.actions.slice(1, 0, T)));
    if (whole.cond.defined()) {
      EXPECT_TRUE(torch::equal(joined.cond, whole.cond));
    }
    // A share that starts elsewhere draws other trajectories.
    s.setFirstRow(0);
    Rollout unshifted = s.draw(24);
    EXPECT_FALSE(torch::equal(unshifted.actions.slice(1, 0, 2),
                              tail.actions.slice(1, 0, 2)));
  }
}

struct Trained {
  std::vector<torch::Tensor> params;
  Metrics metrics;
};

std::vector<torch::Tensor> paramsOf(Trainer &t) {
  std::vector<torch::Tensor> out;
  for (auto &[name, p] : t.model()->namedParams())
    out.push_back(p.detach().clone());
  return out;
}

void configure(Program &p, int64_t batch, int64_t iterations) {
  p.train().batch = batch;
  p.train().iterations = iterations;
  p.train().evalEvery = iterations;
}

Trained trainAlone(const std::string &path, int64_t batch, int64_t iterations) {
  auto program = load(path);
  configure(*program, batch, iterations);
  TrainerOptions o;
  o.progress = false;
  o.outDir = scratchDir("alone");
  Trainer trainer(*program, o);
  Trained t;
  t.metrics = trainer.run();
  t.params = paramsOf(trainer);
  std::filesystem::remove_all(o.outDir);
  return t;
}

/// The groups of `workers` workers of one run, joined from threads.
std::vector<std::unique_ptr<WorkerGroup>> joinGroups(int workers) {
  int port = freeLoopbackPort();
  std::vector<std::unique_ptr<WorkerGroup>> groups(workers);
  std::vector<std::string> errors(workers);
  {
    std::vector<std::thread> joining;
    for (int r = 0; r < workers; ++r)
      joining.emplace_back([&, r] {
        LaunchEnvironment e;
        e.rank = r;
        e.worldSize = workers;
        e.localRank = r;
        e.masterAddr = "127.0.0.1";
        e.masterPort = port;
        WorkerGroupOptions o;
        o.timeout = std::chrono::seconds(60);
        try {
          groups[r] = std::make_unique<WorkerGroup>(e, o, torch::kCPU);
        } catch (const std::exception &ex) {
          errors[r] = ex.what();
        }
      });
    for (auto &t : joining)
      t.join();
  }
  for (const std::string &e : errors)
    EXPECT_EQ(e, "");
  return groups;
}

/// Runs f(rank) on one thread per worker; returns the exceptions' texts.
template <typename F> void onEveryWorker(int workers, F &&f) {
  std::vector<std::string> errors(workers);
  std::vector<std::thread> threads;
  for (int r = 0; r < workers; ++r)
    threads.emplace_back([&, r] {
      try {
        f(r);
      } catch (const std::exception &ex) {
        errors[r] = ex.what();
      }
    });
  for (auto &t : threads)
    t.join();
  for (int r = 0; r < workers; ++r)
    EXPECT_EQ(errors[r], "") << "worker " << r;
}

/// `workers` threads, each a worker with its own Program and Trainer.
std::vector<Trained> trainTogether(const std::string &path, int workers,
                                   int64_t batch, int64_t iterations) {
  std::vector<std::unique_ptr<WorkerGroup>> groups = joinGroups(workers);
  // Built one after another: initialization draws from LibTorch's global
  // generator.
  std::vector<std::unique_ptr<Program>> programs;
  std::vector<std::unique_ptr<Trainer>> trainers;
  std::string out = scratchDir("together");
  for (int r = 0; r < workers; ++r) {
    programs.push_back(load(path));
    configure(*programs.back(), batch, iterations);
    TrainerOptions o;
    o.progress = false;
    o.outDir = out;
    o.workers = groups[r].get();
    trainers.push_back(std::make_unique<Trainer>(*programs.back(), o));
  }
  std::vector<Trained> results(workers);
  onEveryWorker(workers, [&](int r) {
    results[r].metrics = trainers[r]->run();
    results[r].params = paramsOf(*trainers[r]);
  });
  std::filesystem::remove_all(out);
  return results;
}

/// Largest max|a - b| / max|b| over the parameter tensors.
double relativeDifference(const std::vector<torch::Tensor> &a,
                          const std::vector<torch::Tensor> &b) {
  double worst = 0;
  for (size_t k = 0; k < a.size(); ++k)
    worst = std::max(worst, (a[k] - b[k]).abs().max().item<double>() /
                                b[k].abs().max().item<double>());
  return worst;
}

void expectTrainsLikeOneProcess(const char *name, int workers, int64_t batch) {
  SCOPED_TRACE(std::string(name) + ", " + std::to_string(workers) +
               " workers, batch " + std::to_string(batch));
  std::string why;
  if (!distributedAvailable(&why))
    GTEST_SKIP() << why;
  const int64_t iterations = 10;
  Trained alone = trainAlone(artifact(name), batch, iterations);
  std::vector<Trained> together =
      trainTogether(artifact(name), workers, batch, iterations);
  ASSERT_EQ(together.size(), size_t(workers));
  for (int r = 1; r < workers; ++r) {
    ASSERT_EQ(together[r].params.size(), together[0].params.size());
    for (size_t k = 0; k < together[0].params.size(); ++k)
      EXPECT_TRUE(torch::equal(together[r].params[k], together[0].params[k]))
          << "worker " << r << " parameter " << k;
  }
  ASSERT_EQ(together[0].params.size(), alone.params.size());
  // Adam amplifies float summation-order differences where a gradient is
  // near zero: measured 1e-5 to 1e-4 after 10 steps. A batch collective
  // reduced over one worker's rows instead of all gives 0.16.
  double difference = relativeDifference(together[0].params, alone.params);
  std::printf("parameters: %.3g relative to one process\n", difference);
  EXPECT_LT(difference, 1e-3);
  const Metrics &m = together[0].metrics, &a = alone.metrics;
  EXPECT_NEAR(m.loss, a.loss, 1e-5 * std::abs(a.loss) + 1e-7);
  EXPECT_NEAR(m.meanReward, a.meanReward, 1e-5 * std::abs(a.meanReward));
  ASSERT_TRUE(m.l1 && a.l1);
  EXPECT_NEAR(*m.l1, *a.l1, 1e-5 * *a.l1);
  EXPECT_EQ(m.modesFound, a.modesFound);
}

TEST(DataParallel, TwoWorkersTrainLikeOneProcess) {
  expectTrainsLikeOneProcess("hypergrid_2d_h8.gflx", 2, 64);
}

// A batch that does not split evenly: shares of 22, 21 and 21 rows.
TEST(DataParallel, UnevenSharesTrainLikeOneProcess) {
  expectTrainsLikeOneProcess("hypergrid_2d_h8.gflx", 3, 64);
}

// REINFORCE's baseline is a batch mean (without gradient): a collective
// over every worker's rows.
TEST(DataParallel, BatchCollectivesSpanTheWorkers) {
  expectTrainsLikeOneProcess("rule_reinforce.gflx", 2, 32);
}

// VarGrad's batch mean of z has a gradient: each row's share of it comes
// from every worker's adjoints.
TEST(DataParallel, BatchCollectiveGradientsSpanTheWorkers) {
  expectTrainsLikeOneProcess("stdlib_zvar.gflx", 2, 32);
  expectTrainsLikeOneProcess("stdlib_zvar.gflx", 3, 32);
}

// Each worker holds a shard of a replay buffer (its share of the capacity);
// a checkpoint holds every shard in rank order, and a run with another
// number of workers deals the held states out again: worker r of M takes
// states r, r + M, ...
TEST(ReplayShards, ACheckpointHoldsEveryShard) {
  std::string why;
  if (!distributedAvailable(&why))
    GTEST_SKIP() << why;
  ReplaySpec spec;
  spec.capacity = 10;
  spec.fraction = 0.5;
  std::vector<std::unique_ptr<WorkerGroup>> groups = joinGroups(2);
  std::vector<std::unique_ptr<Program>> programs;
  for (int r = 0; r < 2; ++r)
    programs.push_back(load(GFL_HYPERGRID_2D));
  std::string dir = scratchDir("replay");
  std::filesystem::create_directories(dir);
  std::string path = dir + "/checkpoint.pt";
  // Worker r holds the states (r, k) for k < 3 + r, log-reward -(10r + k).
  onEveryWorker(2, [&](int r) {
    ReplayBuffer shard(*programs[r], spec, 0, groups[r].get());
    EXPECT_EQ(shard.capacity(), 5);
    int64_t n = 3 + r;
    torch::Tensor x = torch::stack({torch::full({n}, r, torch::kInt32),
                                    torch::arange(n).to(torch::kInt32)},
                                   1);
    shard.insert({x}, -(10.0 * r + torch::arange(n).to(torch::kFloat32)));
    Checkpoint c(*programs[r]);
    shard.save(c); // every worker: a collective
    if (r == 0)
      c.write(path);
  });
  // One process: the whole buffer, shard 0 then shard 1.
  Checkpoint c = Checkpoint::read(path, *programs[0]);
  ReplayBuffer whole(*programs[0], spec, 0);
  whole.load(c);
  ASSERT_EQ(whole.size(), 7);
  EXPECT_TRUE(torch::equal(
      whole.logRewards(),
      torch::tensor({0.f, -1.f, -2.f, -10.f, -11.f, -12.f, -13.f})));
  EXPECT_TRUE(
      torch::equal(whole.states()[0].select(1, 0),
                   torch::tensor({0, 0, 0, 1, 1, 1, 1}, torch::kInt32)));
  // Two workers again: dealt out in turn.
  std::vector<torch::Tensor> held(2);
  onEveryWorker(2, [&](int r) {
    ReplayBuffer shard(*programs[r], spec, 0, groups[r].get());
    shard.load(Checkpoint::read(path, *programs[r]));
    held[r] = shard.logRewards().clone();
  });
  EXPECT_TRUE(torch::equal(held[0], torch::tensor({0.f, -2.f, -11.f, -13.f})));
  EXPECT_TRUE(torch::equal(held[1], torch::tensor({-1.f, -10.f, -12.f})));
  std::filesystem::remove_all(dir);
}

} // namespace

//===- CudaDistributedTest.cpp - Workers summing on a GPU over NCCL -------===//
//
// Two workers (threads) on GPU 0 over NCCL: a sum of device tensors, then
// ten training iterations with bit-identical parameters on both. NCCL may
// refuse two ranks on one device; the test then skips with NCCL's reason,
// as it does without a GPU, without LibTorch CUDA or without NCCL.
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/LocalLaunch.h"
#include "gfl/Runtime/TorchCompat.h"
#include "gfl/Runtime/Trainer.h"
#include "gfl/Runtime/WorkerGroup.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

using namespace gfl;

namespace {

TEST(CudaDataParallel, TwoNcclWorkersOnOneGpu) {
  if (!compat::torchHasCuda())
    GTEST_SKIP() << "built against a LibTorch without CUDA";
  if (!torch::cuda::is_available())
    GTEST_SKIP() << "no CUDA device";
  std::string why;
  if (!distributedAvailable(&why))
    GTEST_SKIP() << why;
  torch::Device gpu(torch::kCUDA, 0);
  int port = freeLoopbackPort();
  std::vector<std::unique_ptr<WorkerGroup>> groups(2);
  std::vector<std::string> errors(2);
  std::vector<torch::Tensor> sums(2);
  auto onBoth = [&](auto &&f) {
    std::vector<std::thread> threads;
    for (int r = 0; r < 2; ++r)
      threads.emplace_back([&, r] {
        try {
          f(r);
        } catch (const std::exception &e) {
          errors[r] = e.what();
        }
      });
    for (auto &t : threads)
      t.join();
  };
  onBoth([&](int r) {
    LaunchEnvironment e;
    e.rank = r;
    e.worldSize = 2;
    e.localRank = r;
    e.masterPort = port;
    WorkerGroupOptions o;
    o.backend = "nccl";
    o.timeout = std::chrono::seconds(60);
    groups[r] = std::make_unique<WorkerGroup>(e, o, gpu);
    torch::Tensor t = torch::full({4}, float(r + 1), torch::device(gpu));
    groups[r]->allReduceSum(t);
    sums[r] = t.cpu();
  });
  for (const std::string &e : errors)
    if (!e.empty())
      GTEST_SKIP() << "NCCL with two ranks on one GPU: " << e;
  for (int r = 0; r < 2; ++r)
    EXPECT_TRUE(torch::equal(sums[r], torch::full({4}, 3.0f)));

  std::vector<std::unique_ptr<Program>> programs;
  std::vector<std::unique_ptr<Trainer>> trainers;
  std::string out = (std::filesystem::temp_directory_path() /
                     ("gfl-nccl-" + std::to_string(getpid())))
                        .string();
  for (int r = 0; r < 2; ++r) {
    std::string error;
    programs.push_back(Program::load(GFL_HYPERGRID_2D, error));
    ASSERT_TRUE(programs.back()) << error;
    programs.back()->useDevice(gpu);
    programs.back()->train().batch = 64;
    programs.back()->train().iterations = 10;
    TrainerOptions o;
    o.progress = false;
    o.outDir = out;
    o.workers = groups[r].get();
    trainers.push_back(std::make_unique<Trainer>(*programs.back(), o));
  }
  onBoth([&](int r) { trainers[r]->run(); });
  for (const std::string &e : errors)
    EXPECT_EQ(e, "");
  auto a = trainers[0]->model()->namedParams(),
       b = trainers[1]->model()->namedParams();
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k)
    EXPECT_TRUE(torch::equal(a[k].second.cpu(), b[k].second.cpu()))
        << a[k].first;
  std::filesystem::remove_all(out);
}

} // namespace

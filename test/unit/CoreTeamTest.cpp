//===- CoreTeamTest.cpp - The runtime's threads and split linear layers ---===//

#include "CoreTeam.h"
#include "SplitLinear.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace {

using gfl::CoreTeam;

struct Counts {
  std::array<std::atomic<int>, CoreTeam::kMaxThreads> calls{};
  std::atomic<std::thread::id> caller;
  std::atomic<bool> gradMode{false};

  void operator()(int index) {
    calls[index].fetch_add(1);
    if (torch::GradMode::is_enabled())
      gradMode = true;
    if (index == 0)
      caller = std::this_thread::get_id();
  }
};

/// Every part runs once per call, part 0 on the caller, without autograd;
/// back to back (the workers spinning) and after pauses long enough for
/// them to sleep.
TEST(CoreTeam, RunsEveryPartOncePerCall) {
  int most = std::min<int>(CoreTeam::kMaxThreads,
                           std::max(2u, std::thread::hardware_concurrency()));
  for (int threads = 1; threads <= most; ++threads) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    CoreTeam team(threads);
    ASSERT_EQ(team.size(), threads);
    Counts c;
    for (int i = 0; i < 500; ++i)
      team.run([&](int index) { c(index); });
    for (int i = 0; i < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      team.run([&](int index) { c(index); });
    }
    for (int p = 0; p < threads; ++p)
      EXPECT_EQ(c.calls[p].load(), 503) << "part " << p;
    for (int p = threads; p < CoreTeam::kMaxThreads; ++p)
      EXPECT_EQ(c.calls[p].load(), 0) << "part " << p;
    EXPECT_EQ(c.caller.load(), std::this_thread::get_id());
    EXPECT_FALSE(c.gradMode.load());
  }
}

/// Callers on two threads at once (trainers in threads of one process):
/// every call still runs every part once.
TEST(CoreTeam, ConcurrentCallersEachRunEveryPart) {
  CoreTeam team(2);
  auto slow = [](Counts &c, int index) {
    auto until =
        std::chrono::steady_clock::now() + std::chrono::microseconds(20);
    while (std::chrono::steady_clock::now() < until)
      ;
    c(index);
  };
  Counts a, b;
  std::thread other([&] {
    for (int i = 0; i < 300; ++i)
      team.run([&](int index) { slow(b, index); });
  });
  for (int i = 0; i < 300; ++i)
    team.run([&](int index) { slow(a, index); });
  other.join();
  for (Counts *c : {&a, &b})
    for (int p = 0; p < 2; ++p)
      EXPECT_EQ(c->calls[p].load(), 300) << "part " << p;
}

/// A part's exception reaches the caller once every part has returned, and
/// the team runs the next call.
TEST(CoreTeam, RethrowsAPartsException) {
  CoreTeam team(2);
  for (int thrower : {0, 1}) {
    std::atomic<int> ran{0};
    try {
      team.run([&](int index) {
        ran.fetch_add(1);
        if (index == thrower)
          throw std::runtime_error("part " + std::to_string(index));
      });
      FAIL() << "no exception";
    } catch (const std::runtime_error &e) {
      EXPECT_EQ(std::string(e.what()), "part " + std::to_string(thrower));
    }
    EXPECT_EQ(ran.load(), 2);
  }
  Counts c;
  team.run([&](int index) { c(index); });
  EXPECT_EQ(c.calls[1].load(), 1);
}

/// While BLAS has the cores back (the GEMM floor), the shared team splits
/// nothing.
TEST(CoreTeam, LendingToBlasLeavesOneThread) {
  int threads = CoreTeam::shared().size();
  {
    CoreTeam::LendToBlas lend;
    EXPECT_EQ(CoreTeam::shared().size(), 1);
    EXPECT_FALSE(gfl::splitsLinear(torch::zeros({4, 4})));
  }
  EXPECT_EQ(CoreTeam::shared().size(), threads);
}

/// The split layer against LibTorch: the forward against addmm and its
/// activation, the backward against autograd, for row counts the team
/// splits unevenly or not at all (one row), on teams of 1 to 4 threads.
TEST(SplitLinear, MatchesLibTorchAndItsAutograd) {
  torch::manual_seed(12);
  for (int threads = 1; threads <= 4; ++threads) {
    CoreTeam team(threads);
    for (int64_t rows : {1, 2, 3, 7, 64, 301}) {
      for (bool needsDx : {true, false}) {
        SCOPED_TRACE(std::to_string(threads) + " threads, " +
                     std::to_string(rows) + " rows" +
                     (needsDx ? "" : ", no d x"));
        torch::Tensor x = torch::randn({rows, 40}).requires_grad_(needsDx);
        torch::Tensor w = torch::randn({24, 40}).requires_grad_();
        torch::Tensor b = torch::randn({24}).requires_grad_();
        torch::Tensor expected = torch::relu(torch::addmm(b, x, w.t()));
        torch::Tensor out = torch::full({rows, 24}, NAN);
        {
          torch::NoGradGuard noGrad;
          gfl::linearForwardInto(out, x, w, b, gfl::LayerActivation::Relu,
                                 team);
        }
        EXPECT_TRUE(torch::allclose(out, expected, 1e-5, 1e-5));

        torch::Tensor dy = torch::randn({rows, 24});
        std::vector<torch::Tensor> wrt{w, b};
        if (needsDx)
          wrt.insert(wrt.begin(), x);
        auto grads = torch::autograd::grad({expected}, wrt, {dy});
        torch::Tensor dz = dy * out.gt(0), dx, dw, db;
        gfl::linearBackward(dz, x.detach(), w.detach(), needsDx, dx, dw, db,
                            team);
        size_t k = 0;
        if (needsDx)
          EXPECT_TRUE(torch::allclose(dx, grads[k++], 1e-4, 1e-5));
        else
          EXPECT_FALSE(dx.defined());
        EXPECT_TRUE(torch::allclose(dw, grads[k++], 1e-4, 1e-5));
        EXPECT_TRUE(torch::allclose(db, grads[k], 1e-4, 1e-5));
      }
    }
  }
}

} // namespace

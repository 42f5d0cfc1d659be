//===- KernelThreadsTest.cpp - The CPU kernels' thread pool ---------------===//

#include "KernelThreads.h"
#include "gfl/Runtime/FewRowLinear.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace {

using gfl::KernelThreads;

struct Counts {
  std::atomic<int> calls[KernelThreads::kMaxThreads];
  std::atomic<std::thread::id> caller;
};

void count(void *context, int index) {
  auto &c = *static_cast<Counts *>(context);
  c.calls[index].fetch_add(1);
  if (index == 0)
    c.caller = std::this_thread::get_id();
}

/// Every part runs once per call, part 0 on the caller; back to back (the
/// workers spinning) and after pauses long enough for them to sleep.
TEST(KernelThreads, RunsEveryPartOncePerCall) {
  for (int threads = 1; threads <= KernelThreads::kMaxThreads; ++threads) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    KernelThreads pool(threads);
    ASSERT_EQ(pool.size(), threads);
    Counts c{};
    for (int i = 0; i < 500; ++i)
      pool.run(count, &c);
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      pool.run(count, &c);
    }
    for (int p = 0; p < threads; ++p)
      EXPECT_EQ(c.calls[p].load(), 505) << "part " << p;
    for (int p = threads; p < KernelThreads::kMaxThreads; ++p)
      EXPECT_EQ(c.calls[p].load(), 0) << "part " << p;
    EXPECT_EQ(c.caller.load(), std::this_thread::get_id());
  }
}

/// count(), taking 20 us: long enough for calls on two threads to overlap.
void slowCount(void *context, int index) {
  auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
  while (std::chrono::steady_clock::now() < until)
    ;
  count(context, index);
}

/// Callers on several threads at once (trainers in threads of one
/// process): every call still runs every part once.
TEST(KernelThreads, ConcurrentCallersEachRunEveryPart) {
  KernelThreads pool(2);
  Counts a{}, b{};
  std::thread other([&] {
    for (int i = 0; i < 300; ++i)
      pool.run(slowCount, &b);
  });
  for (int i = 0; i < 300; ++i)
    pool.run(slowCount, &a);
  other.join();
  for (Counts *c : {&a, &b})
    for (int p = 0; p < 2; ++p)
      EXPECT_EQ(c->calls[p].load(), 300) << "part " << p;
}

/// A product split between threads gives what one thread gives, bit for
/// bit: each output is computed by one of them, as on one. The tiles split
/// unevenly, by panels, by row blocks and by both.
TEST(KernelThreads, SplitProductsAreBitIdentical) {
  torch::Tensor probe = torch::zeros({1, 1});
  if (!gfl::FewRowLinear::applies(probe, probe, probe))
    GTEST_SKIP() << "no AVX2/FMA on this CPU: BLAS computes every product";
  torch::manual_seed(10);
  KernelThreads pool(3);
  for (auto [rows, inputs, outputs] :
       {std::tuple{16, 256, 256}, {13, 300, 40}, {40, 256, 16}, {6, 512, 96}}) {
    SCOPED_TRACE(std::to_string(rows) + " x " + std::to_string(inputs) +
                 " -> " + std::to_string(outputs));
    torch::Tensor x = torch::randn({rows, inputs});
    gfl::FewRowLinear layer(torch::randn({outputs, inputs}),
                            torch::randn({outputs}));
    torch::Tensor alone = torch::empty({rows, outputs});
    torch::Tensor split = torch::full({rows, outputs}, NAN);
    layer.run(x, alone, gfl::LayerActivation::Relu);
    layer.run(x, split, gfl::LayerActivation::Relu, &pool);
    EXPECT_TRUE(torch::equal(alone, split));
  }
}

} // namespace

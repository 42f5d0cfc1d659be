//===- KernelThreads.cpp - Threads for the runtime's CPU kernels ----------===//

#include "KernelThreads.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// OpenBLAS's thread count where OpenBLAS is the BLAS (a weak reference,
// null under another BLAS).
extern "C" int openblas_get_num_threads(void) __attribute__((weak));

namespace gfl {

namespace {

/// How long a worker waits for the next job before it sleeps: longer than
/// the gap between a rollout's steps at small batches (20-60 us), short
/// enough not to take a core from the loss's BLAS calls for long.
constexpr auto kSpinFor = std::chrono::microseconds(100);

inline void pause() {
#if defined(__x86_64__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

int blasThreads() {
  return openblas_get_num_threads ? openblas_get_num_threads()
                                  : at::get_num_threads();
}

} // namespace

KernelThreads &KernelThreads::shared() {
  static KernelThreads pool(std::clamp(blasThreads(), 1, kMaxThreads));
  return pool;
}

KernelThreads::KernelThreads(int threads) {
  for (int i = 1; i < threads; ++i)
    workers_.emplace_back([this, i] { work(i); });
}

KernelThreads::~KernelThreads() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread &t : workers_)
    t.join();
}

void KernelThreads::run(void (*part)(void *, int), void *context) {
  // Another thread's call holds the workers (trainers in threads of one
  // process): this one runs every part itself.
  if (workers_.empty() || busy_.exchange(true, std::memory_order_acquire)) {
    for (int i = 0; i < size(); ++i)
      part(context, i);
    return;
  }
  part_ = part;
  context_ = context;
  finished_.store(0, std::memory_order_relaxed);
  // Sequentially consistent with a worker's sleeping_ increment and its
  // check of generation_: either this sees the worker going to sleep and
  // wakes it, or the worker sees the new generation.
  generation_.fetch_add(1);
  if (sleeping_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  part(context, 0);
  int others = static_cast<int>(workers_.size());
  while (finished_.load(std::memory_order_acquire) < others)
    pause();
  busy_.store(false, std::memory_order_release);
}

void KernelThreads::work(int index) {
  uint64_t seen = 0;
  for (;;) {
    auto deadline = std::chrono::steady_clock::now() + kSpinFor;
    for (int i = 0; generation_.load(std::memory_order_acquire) == seen; ++i) {
      pause();
      if (i % 64 == 63 && std::chrono::steady_clock::now() > deadline) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleeping_.fetch_add(1);
        wake_.wait(lock,
                   [&] { return stopping_ || generation_.load() != seen; });
        sleeping_.fetch_sub(1);
        break;
      }
    }
    if (stopping_)
      return;
    seen = generation_.load(std::memory_order_acquire);
    part_(context_, index);
    finished_.fetch_add(1, std::memory_order_release);
  }
}

} // namespace gfl

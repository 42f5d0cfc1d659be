//===- CoreTeam.cpp - The runtime's threads for CPU products --------------===//

#include "CoreTeam.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// OpenBLAS's thread count where OpenBLAS is the BLAS (weak references,
// null under another BLAS).
extern "C" int openblas_get_num_threads(void) __attribute__((weak));
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace gfl {

namespace {

/// How long a worker waits for the next job before it sleeps: longer than
/// the gaps between a training iteration's products (the loss's forward
/// between the rollout and the backward, the optimizer step: hundreds of
/// microseconds at small batches), as waking a sleeping thread took tens
/// of microseconds on the benchmark machine's virtual CPUs.
constexpr auto kSpinFor = std::chrono::milliseconds(2);

inline void pause() {
#if defined(__x86_64__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

int initialBlasThreads() {
  static const int threads = openblas_get_num_threads
                                 ? openblas_get_num_threads()
                                 : at::get_num_threads();
  return threads;
}

/// The shared team's threads, set once: OpenBLAS's, and OpenBLAS set to
/// one. Under another BLAS, which the team cannot set to one thread, and
/// where OpenBLAS has more than kMaxThreads (a machine larger than those
/// the team was measured on), BLAS keeps the cores and the team is the
/// caller alone.
int processThreads() {
  int blas = initialBlasThreads();
  int threads =
      openblas_set_num_threads && blas <= CoreTeam::kMaxThreads ? blas : 1;
  if (threads > 1)
    CoreTeam::setBlasThreads(1);
  return threads;
}

} // namespace

int CoreTeam::blasThreads() { return initialBlasThreads(); }

void CoreTeam::setBlasThreads(int threads) {
  initialBlasThreads(); // read before the first change
  if (openblas_set_num_threads)
    openblas_set_num_threads(threads);
}

CoreTeam &CoreTeam::shared() {
  static CoreTeam team(processThreads());
  return team;
}

CoreTeam::LendToBlas::LendToBlas() {
  CoreTeam &team = shared();
  if (team.workers_.empty())
    return;
  team.lent_ = true;
  setBlasThreads(blasThreads());
}

CoreTeam::LendToBlas::~LendToBlas() {
  CoreTeam &team = shared();
  if (team.workers_.empty())
    return;
  setBlasThreads(1);
  team.lent_ = false;
}

CoreTeam::CoreTeam(int threads) {
  for (int i = 1; i < threads; ++i)
    workers_.emplace_back([this, i] { work(i); });
}

CoreTeam::~CoreTeam() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread &t : workers_)
    t.join();
}

void CoreTeam::runOne(int index) {
  try {
    torch::NoGradGuard noGrad;
    part_(context_, index);
  } catch (...) {
    std::lock_guard<std::mutex> lock(errorMutex_);
    if (!error_)
      error_ = std::current_exception();
  }
}

void CoreTeam::runParts(PartFn part, const void *context) {
  // Another thread's call holds the workers (trainers in threads of one
  // process): this one runs every part itself.
  int threads = static_cast<int>(workers_.size()) + 1;
  if (threads == 1 || busy_.exchange(true, std::memory_order_acquire)) {
    torch::NoGradGuard noGrad;
    for (int i = 0; i < threads; ++i)
      part(context, i);
    return;
  }
  part_ = part;
  context_ = context;
  error_ = nullptr;
  finished_.store(0, std::memory_order_relaxed);
  // Sequentially consistent with a worker's sleeping_ increment and its
  // check of generation_: either this sees the worker going to sleep and
  // wakes it, or the worker sees the new generation.
  generation_.fetch_add(1);
  if (sleeping_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  runOne(0);
  int others = static_cast<int>(workers_.size());
  while (finished_.load(std::memory_order_acquire) < others)
    pause();
  std::exception_ptr error = error_;
  busy_.store(false, std::memory_order_release);
  if (error)
    std::rethrow_exception(error);
}

void CoreTeam::work(int index) {
  uint64_t seen = 0;
  for (;;) {
    auto deadline = std::chrono::steady_clock::now() + kSpinFor;
    for (int i = 0; generation_.load(std::memory_order_acquire) == seen; ++i) {
      pause();
      if (i % 64 != 63)
        continue;
      // Gives the core away where another thread is waiting for it (more
      // threads than cores).
      std::this_thread::yield();
      if (std::chrono::steady_clock::now() > deadline) {
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
    runOne(index);
    finished_.fetch_add(1, std::memory_order_release);
  }
}

} // namespace gfl

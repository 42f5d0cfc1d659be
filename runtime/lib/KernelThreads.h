//===- KernelThreads.h - Threads for the runtime's CPU kernels --*- C++ -*-===//
//
// The rollout's few-row products (FewRowLinear) can split their output
// tiles between the calling thread and a few workers. LibTorch's OpenMP
// pool is not used for this: it runs one thread in Debian's build, and
// OpenMP's idle threads spin hard enough to slow OpenBLAS's threads on a
// 2-core machine (measured: 1.87 against 2.75 ms for a sequence of BLAS
// calls). These workers spin only briefly between jobs (one rollout's
// products come tens of microseconds apart) and then sleep, leaving the
// cores to BLAS for the loss's products.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_KERNELTHREADS_H
#define GFL_RUNTIME_KERNELTHREADS_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace gfl {

class KernelThreads {
public:
  /// The process's pool: as many threads in all (the caller included) as
  /// BLAS uses, at most kMaxThreads.
  static KernelThreads &shared();

  explicit KernelThreads(int threads);
  ~KernelThreads();
  KernelThreads(const KernelThreads &) = delete;
  KernelThreads &operator=(const KernelThreads &) = delete;

  /// Threads in all, the caller included.
  int size() const { return static_cast<int>(workers_.size()) + 1; }

  /// Runs part(context, i) for every i in [0, size()), part 0 on the
  /// calling thread, and returns when all have returned. `part` must not
  /// throw. While one thread's call runs, another's runs every part on
  /// its own thread.
  void run(void (*part)(void *context, int index), void *context);

  static constexpr int kMaxThreads = 4;

private:
  void work(int index);

  std::vector<std::thread> workers_;
  void (*part_)(void *, int) = nullptr;
  void *context_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> finished_{0};
  std::atomic<int> sleeping_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> busy_{false}; // a call holds the workers
  std::mutex mutex_;
  std::condition_variable wake_;
};

} // namespace gfl

#endif // GFL_RUNTIME_KERNELTHREADS_H

//===- CoreTeam.h - The runtime's threads for CPU products ------*- C++ -*-===//
//
// On a CPU the trainer runs its products on all the cores it was given
// with threads of its own, and BLAS on one thread. OpenBLAS's workers spin
// between calls (for about a tenth of a second), so while the rollout ran
// its few-row products on one core, the other cores held nothing but
// OpenBLAS's spinning workers, and a thread of the runtime put beside them
// shared a core with one. With BLAS single-threaded, the team splits each
// product itself: the rollout's few-row products by output panels, larger
// ones by rows, and a layer's backward into its two products (the input's
// gradient and the weight's), each part one single-threaded BLAS call.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_CORETEAM_H
#define GFL_RUNTIME_CORETEAM_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace gfl {

class CoreTeam {
public:
  /// The process's team: as many threads in all (the caller included) as
  /// OpenBLAS had when the team was first asked for, and OpenBLAS then runs
  /// on one; one thread under another BLAS or where OpenBLAS had more than
  /// kMaxThreads.
  static CoreTeam &shared();

  explicit CoreTeam(int threads);
  ~CoreTeam();
  CoreTeam(const CoreTeam &) = delete;
  CoreTeam &operator=(const CoreTeam &) = delete;

  /// Threads in all, the caller included; 1 while BLAS has the cores.
  int size() const {
    return lent_.load(std::memory_order_relaxed)
               ? 1
               : static_cast<int>(workers_.size()) + 1;
  }

  /// For its scope, BLAS has its own thread count back and the team splits
  /// nothing (size() is 1): what LibTorch's products do by themselves, as
  /// the GEMM floor measures them.
  class LendToBlas {
  public:
    LendToBlas();
    ~LendToBlas();
    LendToBlas(const LendToBlas &) = delete;
    LendToBlas &operator=(const LendToBlas &) = delete;
  };

  /// Runs part(i) for every i in [0, size()), part 0 on the calling
  /// thread, and returns when all have returned; the parts run without
  /// autograd. A part that throws has its first exception rethrown here
  /// once all have returned. While one thread's call runs, another's runs
  /// every part on its own thread.
  template <typename Part> void run(const Part &part) {
    runParts([](const void *p, int i) { (*static_cast<const Part *>(p))(i); },
             &part);
  }

  /// BLAS's own thread count, as it was before the team set it to one.
  static int blasThreads();
  /// Sets BLAS's thread count (OpenBLAS; a no-op under another BLAS).
  static void setBlasThreads(int threads);

  static constexpr int kMaxThreads = 4;

private:
  using PartFn = void (*)(const void *, int);
  void runParts(PartFn part, const void *context);
  void work(int index);
  void runOne(int index);

  std::vector<std::thread> workers_;
  PartFn part_ = nullptr;
  const void *context_ = nullptr;
  std::exception_ptr error_;
  std::mutex errorMutex_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> finished_{0};
  std::atomic<int> sleeping_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> busy_{false}; // a call holds the workers
  std::atomic<bool> lent_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

} // namespace gfl

#endif // GFL_RUNTIME_CORETEAM_H

//===- WorkerGroup.h - The workers of a data-parallel run --------*- C++
//-*-===//
//
// A data-parallel run is N processes (workers), each drawing its share of
// every batch and averaging gradients with the others. WorkerGroup is this
// process's place in it, on LibTorch's own distributed layer (c10d): a
// TCPStore rendezvous at MASTER_ADDR:MASTER_PORT, served by rank 0, and a
// Gloo (CPU) or NCCL (GPU) process group. Where it is launched from is read
// from the variables torchrun, SLURM and Kubernetes jobs set: RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
//
// Every collective throws std::runtime_error with one line when another
// worker died (its connections close), hung past the timeout, or cannot be
// reached, so that no worker waits forever.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_WORKERGROUP_H
#define GFL_RUNTIME_WORKERGROUP_H

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gfl {

/// Where this process stands in a launch, from the launcher's variables.
struct LaunchEnvironment {
  int rank = 0, worldSize = 1, localRank = 0;
  std::string masterAddr = "127.0.0.1";
  int masterPort = 29500;

  /// The launch this process belongs to; std::nullopt when WORLD_SIZE is
  /// not set. Throws std::runtime_error naming a malformed variable.
  static std::optional<LaunchEnvironment> read();
};

struct WorkerGroupOptions {
  /// "gloo" or "nccl"; empty: gloo on the CPU, nccl on a GPU.
  std::string backend;
  /// How long a collective or the rendezvous waits for the other workers.
  std::chrono::milliseconds timeout = std::chrono::minutes(10);
};

/// Worker `rank` of `size` draws rows [batchShareBegin, batchShareBegin +
/// batchShareSize) of a batch of `total`: contiguous shares in rank order,
/// the first total % size one row longer.
int64_t batchShareBegin(int64_t total, int rank, int size);
int64_t batchShareSize(int64_t total, int rank, int size);

/// True when this gfl-run was built with c10d (Gloo); the reason otherwise.
bool distributedAvailable(std::string *why = nullptr);

class WorkerGroup {
public:
  /// Joins the group described by `launch` (waits for every worker at the
  /// rendezvous). `device` picks the default backend.
  WorkerGroup(const LaunchEnvironment &launch,
              const WorkerGroupOptions &options, torch::Device device);
  ~WorkerGroup();
  WorkerGroup(const WorkerGroup &) = delete;
  WorkerGroup &operator=(const WorkerGroup &) = delete;

  int rank() const { return launch_.rank; }
  int size() const { return launch_.worldSize; }
  const std::string &backend() const { return backend_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  /// This worker's rows of `total` (batchShareBegin, batchShareSize).
  int64_t shareBegin(int64_t total) const {
    return batchShareBegin(total, rank(), size());
  }
  int64_t shareSize(int64_t total) const {
    return batchShareSize(total, rank(), size());
  }

  /// A collective started and not yet waited for.
  class Pending {
  public:
    Pending() = default;
    /// Waits; throws as the collectives do.
    void wait();

  private:
    friend class WorkerGroup;
    std::shared_ptr<void> impl_; // c10d's Work
    const WorkerGroup *group_ = nullptr;
  };

  /// Sums `t` (contiguous) over the workers in place.
  void allReduceSum(torch::Tensor &t) { allReduceSumAsync(t).wait(); }
  Pending allReduceSumAsync(torch::Tensor &t);
  /// The element-wise maximum over the workers, in place.
  void allReduceMax(torch::Tensor &t);
  /// Every worker's `t` ([n_r, ...], n_r may differ) concatenated in rank
  /// order.
  torch::Tensor allGather(const torch::Tensor &t);
  /// Copies rank 0's tensors into every worker's, in place.
  void broadcast(std::vector<torch::Tensor> &tensors);
  void barrier();

private:
  /// Runs a collective, turning c10d's and Gloo's exceptions into one line.
  template <typename F> auto guarded(const char *what, F &&f) const;
  [[noreturn]] void lost(const char *what, const std::string &reason) const;

  struct Impl;
  std::unique_ptr<Impl> impl_;
  LaunchEnvironment launch_;
  std::string backend_;
  std::chrono::milliseconds timeout_;
};

} // namespace gfl

#endif // GFL_RUNTIME_WORKERGROUP_H

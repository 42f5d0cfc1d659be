//===- CudaGraph.h - Record and replay GPU work -----------------*- C++ -*-===//
//
// A training iteration on a small model is hundreds of short kernel
// launches (one sampling step, the policy network's layers, ... per step of
// the rollout). CudaGraph records them once, LibTorch's kernels and the
// compiled ones launched through the CUDA driver alike, and replays them
// with one launch. It wraps at::cuda::CUDAGraph, so the tensors allocated
// while recording come from the graph's private memory pool and keep their
// addresses at every replay.
//
// Available only when the runtime is built against LibTorch with CUDA
// (GFL_TORCH_CUDA); elsewhere constructing either class throws.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_CUDAGRAPH_H
#define GFL_RUNTIME_CUDAGRAPH_H

#include <functional>
#include <memory>

namespace gfl {

/// Makes a new stream of LibTorch's pool the current CUDA stream for its
/// lifetime. Graphs cannot be recorded on the default stream, and the work
/// before a recording (its warm-up) and the replays belong on the same
/// stream.
class CudaSideStream {
public:
  CudaSideStream();
  ~CudaSideStream();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class CudaGraph {
public:
  CudaGraph();
  ~CudaGraph();

  /// Records the GPU work that `body` issues on the current stream (not the
  /// default one) without running it. Throws std::runtime_error when the
  /// recording fails; the graph is then empty.
  void capture(const std::function<void()> &body);
  /// Runs the recorded work on the current stream.
  void replay();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace gfl

#endif // GFL_RUNTIME_CUDAGRAPH_H

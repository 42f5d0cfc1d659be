//===- GradientSync.h - Gradients summed over the workers --------*- C++
//-*-===//
//
// After each backward pass of a data-parallel run, every worker must hold
// the gradient of the loss of the whole batch. Each worker scales its own
// gradient by its share of the batch's rows and the scaled gradients are
// summed with all-reduce, in buckets of parameters: a bucket is sent as
// soon as the backward pass has made all of its gradients (a hook on each
// parameter), so that communication overlaps the rest of the backward
// pass. Buckets are always sent in the same order on every worker (a ready
// bucket waits for those before it), as the collectives must match.
//
// The sums are bit-identical on every worker, so the optimizer steps keep
// the workers' parameters identical.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_GRADIENTSYNC_H
#define GFL_RUNTIME_GRADIENTSYNC_H

#include "gfl/Runtime/WorkerGroup.h"

#include <torch/torch.h>

#include <memory>
#include <vector>

namespace gfl {

class GradientSync {
public:
  /// Buckets of at most `bucketBytes` (one parameter at least) over
  /// `params`, filled from the last parameter (the backward pass makes the
  /// last layers' gradients first).
  GradientSync(WorkerGroup &group, std::vector<torch::Tensor> params,
               int64_t bucketBytes = 4 << 20);
  ~GradientSync();
  GradientSync(const GradientSync &) = delete;
  GradientSync &operator=(const GradientSync &) = delete;

  /// Before a backward pass whose gradients count with `weight` (this
  /// worker's share of the batch's rows).
  void begin(double weight);
  /// After it: sends the buckets still waiting (a parameter the pass did
  /// not reach counts as a zero gradient), waits for every sum and writes
  /// them into the parameters' gradients. `extra` (float64, any length) is
  /// summed over the workers in the same round, in place.
  void finish(torch::Tensor &extra);

  int64_t buckets() const { return static_cast<int64_t>(buckets_.size()); }
  /// Seconds finish() spent waiting for the sums, in total.
  double waitSeconds() const { return waitSeconds_; }

private:
  struct Bucket {
    std::vector<size_t> params; // indices into params_
    torch::Tensor flat;         // float32, the gradients side by side
    std::vector<int64_t> offsets;
    int64_t missing = 0; // gradients not yet copied in
    WorkerGroup::Pending sum;
  };
  /// The hook of parameter `index`: copies `grad` in.
  void arrived(size_t index, const torch::Tensor &grad);
  /// Sends the ready buckets that every earlier one precedes.
  void sendReady();

  WorkerGroup &group_;
  std::vector<torch::Tensor> params_;
  std::vector<std::pair<size_t, size_t>> place_; // param -> (bucket, slot)
  std::vector<Bucket> buckets_;
  std::vector<bool> got_; // per parameter, in this pass
  size_t next_ = 0;       // the first bucket not sent
  bool armed_ = false;
  std::shared_ptr<GradientSync *> self_; // what the hooks call
  double weight_ = 1;
  double waitSeconds_ = 0;
};

} // namespace gfl

#endif // GFL_RUNTIME_GRADIENTSYNC_H

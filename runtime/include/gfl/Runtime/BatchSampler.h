//===- BatchSampler.h - How a training batch is drawn ------------*- C++
//-*-===//
//
// The sampler a .gfl train block declares, as the manifest describes it:
// per-trajectory conditions, the on-policy share drawn with the behaviour
// policy (epsilon and temperature on their schedules), the shares replayed
// from buffers of terminal states (their trajectories drawn backward with
// P_B), and a local-search refinement of the whole batch. Each stage is its
// own piece; this class only composes them in the order the manifest says.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_BATCHSAMPLER_H
#define GFL_RUNTIME_BATCHSAMPLER_H

#include "gfl/Runtime/BackwardSampler.h"
#include "gfl/Runtime/Checkpoint.h"
#include "gfl/Runtime/ForwardSampler.h"
#include "gfl/Runtime/Loss.h"

#include <memory>
#include <vector>

namespace gfl {

class ConditionSampler;
class WorkerGroup;
class LocalSearch;
class ReplayBuffer;

class BatchSampler {
public:
  /// `loss` scores local-search proposals; end checks and the length guard
  /// as for ForwardSampler.
  /// `workers`: the workers of a data-parallel run, which shard the
  /// replay buffers (null in one process).
  BatchSampler(const Program &program, Model &model, const TrajectoryLoss &loss,
               int64_t endCheckEvery, int64_t maxSteps,
               WorkerGroup *workers = nullptr);
  ~BatchSampler();

  /// Writes the iteration and the exploration scheduled for it into the
  /// device buffers the kernels read (so that a CUDA graph replay sees
  /// them).
  void setIteration(int64_t iteration);

  /// The number, in the whole batch, of this process's row 0: a worker of a
  /// data-parallel run draws rows [first, first + its share) of every
  /// batch, with the random numbers one process drawing them all would use.
  void setFirstRow(int64_t first) { first_ = first; }
  int64_t firstRow() const { return first_; }

  /// The training batch at the iteration set last: `batch` trajectories
  /// (more with `keep_originals` local search). With `steps` > 0 the
  /// on-policy rollout is padded to that many steps (a CUDA graph's
  /// recording; on-policy samplers only), and `checkEnded` asks whether
  /// every trajectory ended. A batch drawn wholly on-policy keeps the
  /// policy's forward for the loss where the loss can use it
  /// (TrajectoryLoss::keepsRolloutPolicy).
  Rollout draw(int64_t batch, int64_t steps = 0, bool checkEnded = true);

  /// `batch` trajectories of the behaviour policy from s0 at the iteration
  /// set last, at conditions `cond` [B, C] (drawn where undefined);
  /// `keepPolicy`: see ForwardDraw.
  Rollout onPolicy(int64_t batch, int64_t steps = 0, bool checkEnded = true,
                   torch::Tensor cond = {}, bool keepPolicy = false);

  /// Conditions drawn for `batch` trajectories on `stream` at the current
  /// iteration; undefined when the environment declares none.
  torch::Tensor drawConditions(int64_t batch) const;

  const ForwardSampler &forward() const { return forward_; }
  const BackwardSampler &backward() const { return backward_; }
  /// The device buffer holding the iteration.
  const torch::Tensor &iteration() const { return iteration_; }

  /// The replay buffers' sizes and the local search's acceptance per round
  /// in the last batch, as JSON; empty for an on-policy sampler. In a
  /// data-parallel run, of the whole run after gatherStats().
  std::string statsJson() const;
  /// Sums the buffers' sizes and averages the acceptance over the workers,
  /// this one's weighted by `share` (its part of the batch's rows), for the
  /// next statsJson(). A collective.
  void gatherStats(WorkerGroup &workers, double share);

  /// Replay buffers (the rest of the sampler is a function of the seed and
  /// iteration).
  void save(Checkpoint &c) const;
  void load(const Checkpoint &c);

private:
  const Program &program_;
  const TrajectoryLoss &loss_;
  ForwardSampler forward_;
  BackwardSampler backward_;
  std::unique_ptr<ConditionSampler> conditions_;
  std::vector<std::unique_ptr<ReplayBuffer>> replay_;
  std::unique_ptr<LocalSearch> localSearch_;
  torch::Tensor iteration_, epsilon_, temperature_; // [1] on the device
  torch::Tensor acceptance_; // [rounds] of the last local search
  std::vector<int64_t> replaySizes_; // over every worker (gatherStats)
  int64_t first_ = 0;
};

} // namespace gfl

#endif // GFL_RUNTIME_BATCHSAMPLER_H

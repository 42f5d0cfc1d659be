//===- SampleMetrics.h - Metrics that need no enumeration -------*- C++ -*-===//
//
// Where the state space is too large to enumerate, the sampler is still
// measured from what it draws and from a few declared states:
//
// - the number of distinct terminal states sampled so far, and the mean
//   reward of the 10 best distinct ones (a 64-bit hash per state);
// - `reference_modes P(within D)`: how many of the declared modes some
//   sampled terminal state lies within Hamming distance D of;
// - `test_set P(samples K)`: log P_T(x) of each declared terminal state,
//   estimated by importance sampling with the backward policy,
//
//     log P_T(x) ~ log (1/K) sum_k P_F(tau_k) / P_B(tau_k | x),
//     tau_k ~ P_B(. | x),
//
//   and its Spearman and Pearson correlation with log R(x) over the set.
//
// Terminal states are recorded every iteration (observe); the rest is
// computed when metrics are written (fill). The records are part of the
// checkpoint, and a data-parallel run merges every worker's.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_SAMPLEMETRICS_H
#define GFL_RUNTIME_SAMPLEMETRICS_H

#include "gfl/Runtime/BackwardSampler.h"
#include "gfl/Runtime/Loss.h"
#include "gfl/Runtime/Metrics.h"

namespace gfl {

class Checkpoint;
class WorkerGroup;

class SampleMetrics {
public:
  SampleMetrics(const Program &program, Model &model,
                const TrajectoryLoss &scores, int64_t maxSteps);

  /// Records the terminal states of a batch and their log-rewards; keeps
  /// no reference to them (a CUDA graph's buffers may be passed).
  void observe(const State &terminal, const torch::Tensor &logReward);
  /// Merges the records of every worker (a collective).
  void gather(WorkerGroup &workers);
  /// Fills the sample-based fields of `m`; the importance-sampling
  /// estimates draw their backward walks keyed by `iteration`, at the
  /// condition `cond` [C] (the declared values where undefined).
  void fill(Metrics &m, int64_t iteration, const torch::Tensor &cond = {});

  /// log P_T(x) of each of the states `x` [M, ...], estimated from
  /// `samples` backward trajectories each (walks keyed by `iteration`).
  torch::Tensor estimateLogPt(const State &x, int64_t samples,
                              int64_t iteration,
                              const torch::Tensor &cond = {}) const;

  /// Folds the pending records in first.
  void save(Checkpoint &c);
  void load(const Checkpoint &c);

private:
  /// One 64-bit hash per state.
  torch::Tensor hash(const State &s) const;
  /// Folds the pending records into the sorted distinct hashes and the
  /// best distinct rewards.
  void merge();

  const Program &program_;
  Model &model_;
  const TrajectoryLoss &scores_;
  BackwardSampler backward_;
  torch::Tensor multipliers_;         // [S] int64: the hash's odd constants
  torch::Tensor seen_;                // [U] int64, sorted distinct hashes
  torch::Tensor bestHash_, bestLogR_; // the best distinct terminal states
  std::vector<torch::Tensor> pendingHash_, pendingLogR_;
  torch::Tensor modes_; // [M, S] float64 reference modes (undefined: none)
  torch::Tensor found_; // [M] bool
  State tests_;         // the test set (empty: none)
};

} // namespace gfl

#endif // GFL_RUNTIME_SAMPLEMETRICS_H

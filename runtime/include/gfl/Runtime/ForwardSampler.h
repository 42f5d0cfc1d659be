//===- ForwardSampler.h - Trajectories drawn with the forward policy -*- C++
//-*-===//
//
// The forward rollout: from a batch of start states (s0 for a fresh
// trajectory, any state for the reconstruction of local search), the
// policy network's logits and one call of the compiled sampling step per
// step (mask, tempered log-softmax, epsilon mixing, a Philox draw keyed by
// seed, iteration, trajectory, step and stream, the env step, features)
// until every trajectory has ended.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_FORWARDSAMPLER_H
#define GFL_RUNTIME_FORWARDSAMPLER_H

#include "gfl/Runtime/Model.h"
#include "gfl/Runtime/Rollout.h"

namespace gfl {

/// Random streams of the sampler's Philox draws: draws of different stages
/// for the same (trajectory, step, iteration) are independent.
namespace stream {
constexpr int64_t kForward = 0;
constexpr int64_t kBackward = 1; // gfl-run sample --backward
constexpr int64_t kCondition = 2;
/// Replay buffer i (at most 4) draws its states on kReplay + 2i and their
/// backward walks on kReplay + 2i + 1.
constexpr int64_t kReplay = 8;
/// Local search round r draws on kLocalSearch + 4r (+0 backtrack, +1
/// reconstruction, +2 acceptance).
constexpr int64_t kLocalSearch = 16;
/// The minibatch order of epoch e (update rules) is drawn on kMinibatch + e.
constexpr int64_t kMinibatch = 8192;
/// The backward walks of the importance-sampling estimates of log P_T.
constexpr int64_t kEstimate = 4096;
} // namespace stream

struct ForwardDraw {
  /// [1] int64 on the device: the iteration, read by the kernel at launch.
  torch::Tensor iteration;
  /// [1] float32 each on the device: exploration of the behaviour policy.
  torch::Tensor epsilon, temperature;
  int64_t stream = stream::kForward;
  /// The number of row 0 in the whole batch (the workers of a data-parallel
  /// run each draw a share): Philox is keyed by first + row.
  int64_t first = 0;
  /// > 0: take exactly this many steps and read nothing back (the padded
  /// rollout a CUDA graph records); it must cover the longest trajectory.
  int64_t steps = 0;
  /// With `steps`: check (a host read) that every trajectory has ended.
  bool checkEnded = true;
  /// [B, C]: the trajectories' conditions (undefined without conditions).
  torch::Tensor cond;
  /// Record the policy's evaluations in Rollout::policyTape, for a loss
  /// that differentiates them.
  bool keepPolicy = false;
};

class ForwardSampler {
public:
  /// `endCheckEvery`: sampling steps between checks that every trajectory
  /// has ended (a host round trip); 0: 1 on the CPU, 8 on a GPU.
  /// `maxSteps`: the trajectory length guard.
  ForwardSampler(const Program &program, Model &model, int64_t endCheckEvery,
                 int64_t maxSteps);

  /// Trajectories from `start` [B, ...] (no gradients).
  Rollout sample(const State &start, const ForwardDraw &draw) const;

private:
  /// Throws naming the first (step, row) of `outside` [steps, B] with its
  /// action and states, if any.
  void reportLeavingDomains(const std::vector<State> &states,
                            const std::vector<torch::Tensor> &actions,
                            const torch::Tensor &outside) const;
  const Program &program_;
  Model &model_;
  int64_t endCheckEvery_, maxSteps_;
  /// The rows the last kept policy forward recorded: the room the next
  /// one starts with.
  mutable int64_t keptRowsHint_ = 0;
  /// The steps the last rollout took: the room for step outputs the next
  /// one starts with.
  mutable int64_t stepsHint_ = 0;
};

} // namespace gfl

#endif // GFL_RUNTIME_FORWARDSAMPLER_H

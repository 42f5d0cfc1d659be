//===- Rollout.h - A batch of trajectories and what is done to it -*- C++
//-*-===//
//
// A Rollout is B trajectories s_0 -> ... -> s_n (-> exit) padded to the
// longest one. The samplers make them (ForwardSampler from start states,
// BackwardSampler from terminal states), the refinements recombine them
// row by row (reverse a backward walk, splice a prefix to a new suffix,
// choose between two rollouts per row, append rollouts), and the loss reads
// them. Nothing here knows an environment: the env's kernels are called
// through Program.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_ROLLOUT_H
#define GFL_RUNTIME_ROLLOUT_H

#include "gfl/Runtime/Model.h"
#include "gfl/Runtime/Program.h"

#include <torch/torch.h>

#include <memory>
#include <vector>

namespace gfl {

/// A batch of trajectories, padded to the longest one. After its end a
/// trajectory keeps its terminal state and takes action -1.
struct Rollout {
  int64_t batch = 0;
  int64_t steps = 0;         // T: the longest trajectory's action count
  std::vector<State> states; // s_0 .. s_T, each [B, ...]
  torch::Tensor features;    // [T+1, B, F]
  torch::Tensor actions;     // [B, T+1] int32, -1 after the end
  torch::Tensor n;           // [B] int32: non-exit transitions
  torch::Tensor exited;      // [B] bool: ended with the exit action
  State final;               // terminal states
  torch::Tensor logReward;   // [B] at the trajectory's condition
  /// [B, C] float: each trajectory's condition (undefined when the
  /// environment declares none).
  torch::Tensor cond;
  /// [B, T+1] float, aligned with the actions (0 after the end): the
  /// policy's and the behaviour's log-probability of each action when it
  /// was drawn (PPO's pi_old, importance weights). Undefined for
  /// trajectories drawn backward.
  torch::Tensor logPfOld, logQ;
  /// What the forward rollout's policy computed (ForwardDraw::keepPolicy),
  /// so that the loss of an on-policy batch does not run P_F again.
  /// Undefined otherwise; whatever recombines trajectories leaves it out.
  std::shared_ptr<const struct PolicyTape> policyTape;
};

/// The forward rollout's P_F evaluations: the states it evaluated (each
/// step's running trajectories) and the outputs of the policy's linear
/// layers there, for a replay (LinearTape) that builds the loss's graph
/// without computing them again.
struct PolicyTape {
  torch::Tensor rows;     // [M] int64: row b*(T+1)+k for s_k of trajectory b
  torch::Tensor features; // [M, F]
  torch::Tensor cond;     // [M, C], undefined without conditions
  LinearTape linears;     // each [M, width], recorded
};

/// When a walk (forward or backward) stops. Whether every trajectory has
/// ended is a host round trip, asked once per `every` steps (1 on the CPU,
/// 8 on a GPU unless set); the steps taken after the end are no-ops that
/// taken() trims. A padded walk takes exactly `padded` steps and reads
/// nothing back.
class WalkLength {
public:
  WalkLength(const Program &program, int64_t endCheckEvery, int64_t padded,
             int64_t maxSteps, const char *what);
  /// Whether to stop before step `step`; throws past maxSteps.
  bool stop(int64_t step, const torch::Tensor &ended);
  /// The steps taken while some trajectory was running, of `steps` taken.
  int64_t taken(int64_t steps) const;

private:
  int64_t every_, padded_, maxSteps_;
  const char *what_;
  std::vector<torch::Tensor> allEnded_; // per step, on the device
};

/// The per-step outputs of a walk, made into a Rollout: `states` s_0..s_T,
/// `features` of each, `actions` [B] per step (-1 once ended). Fills n,
/// exited, final, logReward (at `cond`).
Rollout assembleRollout(const Program &program, std::vector<State> states,
                        std::vector<torch::Tensor> features,
                        std::vector<torch::Tensor> actions,
                        const torch::Tensor &cond);

/// The trajectories `rows` (int64) of `r`, trimmed to the longest of them.
Rollout selectRows(const Rollout &r, const torch::Tensor &rows);

/// Each field of the states s_0..s_T stacked along a new leading step
/// dimension: [T+1, B, ...].
State stackSteps(const std::vector<State> &steps);

/// The number of actions each trajectory takes, the exit included: [B]
/// int64.
torch::Tensor actionCounts(const Rollout &r);

/// Row b of the result is state `index[b]` of trajectory b: [B, ...].
State statesAt(const Rollout &r, const torch::Tensor &index);

/// Per row b: the first `prefixLength[b]` transitions of `prefix`, then
/// `suffix` row b, which must start in state `prefixLength[b]` of the
/// prefix. The result ends as the suffix ends (final state, exit, reward).
Rollout splice(const Rollout &prefix, const torch::Tensor &prefixLength,
               const Rollout &suffix);

/// Per row b: row b of `a` where `takeA[b]`, else row b of `b`.
Rollout chooseRows(const Rollout &a, const Rollout &b,
                   const torch::Tensor &takeA);

/// The trajectories of `parts`, one batch after the other.
Rollout concatRollouts(const std::vector<Rollout> &parts);

/// The same trajectories padded to `steps` >= r.steps.
Rollout padRollout(const Rollout &r, int64_t steps);

} // namespace gfl

#endif // GFL_RUNTIME_ROLLOUT_H

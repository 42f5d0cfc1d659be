//===- LocalSearch.h - LS-GFN refinement of a batch ---------------*- C++
//-*-===//
//
// Local search (Kim et al., 2024, "Local Search GFlowNets"): for each
// trajectory s0 -> ... -> x, a full backward walk from x with P_B gives a
// trajectory tau; its last K transitions are undone (back to s, K steps
// from x, or s0 on a shorter path) and redrawn forward with P_F (no
// exploration) from s to a new terminal state x', giving tau' with the
// same prefix. The compiled acceptance kernel keeps x' greedily (log R(x')
// >= log R(x)) or by Metropolis-Hastings over trajectories (target R(x)
// P_B(tau | x)); rounds repeat this from the kept states.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_LOCALSEARCH_H
#define GFL_RUNTIME_LOCALSEARCH_H

#include "gfl/Runtime/BackwardSampler.h"
#include "gfl/Runtime/ForwardSampler.h"
#include "gfl/Runtime/Loss.h"

namespace gfl {

class LocalSearch {
public:
  LocalSearch(const Program &program, const LocalSearchSpec &spec,
              const ForwardSampler &forward, const BackwardSampler &backward,
              const TrajectoryLoss &scores);

  struct Result {
    Rollout refined; // the kept trajectories, one per input row
    State accepted;  // every accepted proposal's terminal state
    torch::Tensor acceptedLogReward;
    torch::Tensor acceptance; // [rounds] float: accepted share per round
  };
  /// Refines the trajectories of `batch` (their terminal states and
  /// conditions are what matters) at the iteration in `iteration`; `first`
  /// numbers its row 0 (ForwardDraw::first).
  Result refine(const Rollout &batch, const torch::Tensor &iteration,
                int64_t first = 0) const;

  /// One round's proposal and decision, exposed for tests: `tau` is a full
  /// trajectory per row; returns tau' and fills `accept` [B] bool and
  /// `logAccept` [B].
  Rollout propose(const Rollout &tau, const torch::Tensor &iteration,
                  int64_t round, int64_t first = 0) const;
  torch::Tensor accept(const Rollout &tau, const Rollout &proposal,
                       const torch::Tensor &iteration, int64_t round,
                       torch::Tensor *logAccept = nullptr,
                       int64_t first = 0) const;

private:
  const Program &program_;
  LocalSearchSpec spec_;
  const ForwardSampler &forward_;
  const BackwardSampler &backward_;
  const TrajectoryLoss &scores_;
  torch::Tensor noEpsilon_, unitTemperature_; // [1] on the device
};

} // namespace gfl

#endif // GFL_RUNTIME_LOCALSEARCH_H

//===- BackwardSampler.h - Trajectories drawn back from terminal states -*- C++
//-*-===//
//
// The backward rollout: from terminal states x, the backward policy's
// logits (a learned P_B or uniform) and one call of the compiled backward
// sampling step per step (backward mask, masked log-softmax draw keyed by
// seed, iteration, trajectory, step and stream, the undo of the drawn
// action) until every walk reaches s0. The walks come back reversed, as
// forward trajectories s0 -> ... -> x (-> exit): replayed terminal states
// and local search train on them like on any other trajectory.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_BACKWARDSAMPLER_H
#define GFL_RUNTIME_BACKWARDSAMPLER_H

#include "gfl/Runtime/Model.h"
#include "gfl/Runtime/Rollout.h"

namespace gfl {

struct BackwardDraw {
  torch::Tensor iteration; // [1] int64 on the device
  int64_t stream = 1;      // stream::kBackward
  int64_t first = 0;       // the number of row 0 (as ForwardDraw::first)
  torch::Tensor cond;      // [B, C] or undefined
};

class BackwardSampler {
public:
  /// As ForwardSampler: end checks every `endCheckEvery` steps (0: 1 on the
  /// CPU, 8 on a GPU), at most `maxSteps` steps.
  BackwardSampler(const Program &program, Model &model, int64_t endCheckEvery,
                  int64_t maxSteps);

  /// Trajectories s0 -> ... -> x for the terminal states `terminal` [B,
  /// ...]. A terminal state that is not `terminal when` ends with the exit.
  /// With `logPb`, also log P_B of each transition, [B, T+1] aligned with
  /// the actions (0 at the exit and after the end). Throws
  /// std::runtime_error naming the state when a walk finds no parent away
  /// from s0.
  Rollout sample(const State &terminal, const BackwardDraw &draw,
                 torch::Tensor *logPb = nullptr) const;

  /// True per row when `x` can end a trajectory: `terminal when` holds, or
  /// the exit is allowed there.
  torch::Tensor canEnd(const State &x) const;

private:
  const Program &program_;
  Model &model_;
  int64_t endCheckEvery_, maxSteps_;
};

} // namespace gfl

#endif // GFL_RUNTIME_BACKWARDSAMPLER_H

//===- Evaluator.h - Exact evaluation of the learned sampler ---*- C++ -*-===//
//
// For enumerable environments: the states reachable from s0 in topological
// order, and the exact terminating distribution of the learned forward
// policy by dynamic programming over that DAG, against the target R/Z
// (R(x | c)/Z(c) at a condition c where the env declares conditions).
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_EVALUATOR_H
#define GFL_RUNTIME_EVALUATOR_H

#include "gfl/Runtime/Metrics.h"
#include "gfl/Runtime/Model.h"

#include <set>
#include <utility>
#include <vector>

namespace gfl {

/// The most states exact evaluation enumerates.
constexpr int64_t kMaxEvaluatedStates = int64_t(1) << 24;

class Evaluator {
public:
  /// Why exact evaluation cannot run for `program`: not enumerable, more
  /// than kMaxEvaluatedStates states, or more host memory than is
  /// available. Empty when it can.
  static std::string cannotEvaluate(const Program &program);
  /// Host bytes the evaluator needs at its peak, estimated from the state
  /// count, the state layout, the actions and the networks.
  static int64_t memoryNeeded(const Program &program);

  /// Enumerates the states reachable from s0 (enumerable envs only).
  explicit Evaluator(const Program &program);

  /// Exact L1 / JSD / log Z of the model's sampler (fills `m`) at the
  /// condition `cond` [C] (the env's default where undefined).
  void evaluate(Model &model, Metrics &m, const torch::Tensor &cond = {}) const;
  /// Exact log P_T(x) of the model's sampler for each row of `x`: the
  /// probability that a trajectory ends in x (-inf where x is unreachable
  /// or never ends a trajectory), at the condition `cond` [C].
  torch::Tensor exactLogPt(Model &model, const State &x,
                           const torch::Tensor &cond = {}) const;
  /// Indices (state codes) of the modes: terminating states with the
  /// highest reward (at the default condition).
  const std::set<int64_t> &modes() const { return modes_; }
  /// Edges on the longest path from s0.
  int64_t longestPath() const { return longestPath_; }

private:
  /// The forward policy over every reachable state: the probability that
  /// a trajectory ends at each (topological order), and what log Z
  /// estimates read at s0.
  struct PolicyPass {
    std::vector<double> end;
    torch::Tensor logits0, lp0, feats0, logF0;
  };
  PolicyPass terminating(Model &model, const torch::Tensor &condRows) const;
  /// log R of every reachable state at `cond` (float64, on the host).
  torch::Tensor logRewards(const torch::Tensor &cond) const;

  const Program &program_;
  State states_; // reachable states, topological order
  // The children of the state at position i (topological order) are
  // child_[offset_[i] .. offset_[i + 1]), reached by action childAction_.
  std::vector<int64_t> offset_;
  std::vector<int32_t> child_, childAction_;
  torch::Tensor mask_; // forward masks [S, A] (on the device)
  // On the host:
  torch::Tensor terminal_; // [S] bool: `terminal when`
  torch::Tensor canEnd_;   // [S] bool: terminal or exit allowed
  std::set<int64_t> modes_;
  int64_t longestPath_ = 0;
  // What the training objective reads decides how log Z is estimated.
  bool readsLogZ_ = false, readsLogF_ = false, readsEnergy_ = false,
       readsExit_ = false, readsEdgeFlows_ = false;
};

} // namespace gfl

#endif // GFL_RUNTIME_EVALUATOR_H

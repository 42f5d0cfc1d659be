//===- Loss.h - The training loss of a batch of trajectories -----*- C++
//-*-===//
//
// One batched forward of the networks over every visited state (or a
// replay of the on-policy rollout's P_F forward), log P_F /
// log P_B through the compiled policy kernel, the edge flows of flow
// matching, and the loss through the compiled objective kernel: each a
// LibTorch autograd function whose backward is the compiled gradient
// kernel. What the objective reads is found in its kernels' argument
// lists, so nothing here is specific to one objective.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_LOSS_H
#define GFL_RUNTIME_LOSS_H

#include "gfl/Runtime/Model.h"
#include "gfl/Runtime/Rollout.h"

#include <set>
#include <string>

namespace gfl {

/// Per-step log-probabilities of a batch of trajectories, [B, T+1] each,
/// aligned with the actions (0 after the end; log P_B is 0 at the exit).
struct StepLogProbs {
  torch::Tensor forward, backward;
};

class TrajectoryLoss {
public:
  /// Throws std::runtime_error when the artifact lacks the objective's
  /// gradient kernel or the objective reads what the env cannot give.
  TrajectoryLoss(const Program &program, Model &model);

  /// The batch loss (mean over trajectories), differentiable.
  torch::Tensor operator()(const Rollout &r) const;

  /// log P_F and log P_B of every transition under the current networks
  /// (no gradients).
  StepLogProbs logProbs(const Rollout &r) const;

  /// The target networks update rules read (`t.*_target`).
  void setTarget(Model *target) { target_ = target; }

  /// Which visited rows the networks and the kernels run on. Padded: all
  /// B x (T+1) rows of the rollout (fixed shapes, which CUDA graphs need);
  /// packed: only the rows of states that exist (s_0 .. s_L of each
  /// trajectory). The objective kernel reads either through offsets.
  /// Auto: packed on the CPU, padded on a GPU.
  enum class Packing { Auto, Packed, Padded };
  void setPacking(Packing p) { packing_ = p; }
  /// The networks the loss runs on the visited states.
  const std::set<std::string> &networks() const { return onlineNets_; }

  /// Whether an on-policy batch should keep the rollout's P_F evaluations
  /// for this loss to replay (Rollout::policyTape): the objective reads
  /// P_F, which is a network, the networks see packed rows, and the batch
  /// takes one gradient step (later epochs and minibatches see changed
  /// parameters). The rollout computed the same logits, on the same states
  /// with the same parameters, that the loss would compute again.
  bool keepsRolloutPolicy() const;

private:
  bool reads(const std::string &name) const { return reads_.count(name); }
  bool packs() const;
  /// True when the objective kernel takes data input `name`.
  bool takes(const std::string &name) const;

  const Program &program_;
  Model &model_;
  Model *target_ = nullptr;
  Packing packing_ = Packing::Auto;
  bool needsStateRewards_ = false; // objective reads log_r_step / energy
  std::set<std::string> reads_;    // network outputs the objective reads
  bool readsEdgeFlows_ = false;    // log_in_flow, log_out_flow, log_exit_flow
  // The objective reads P_F's logits at a state where no action was taken
  // (log_pf_exit, statistics of the policy, edge flows), not only log_pf.
  bool readsPolicyAtEnd_ = false;
  // The objective reads a P_F network and the batch takes one step: the
  // rollout's evaluations can serve the loss (keepsRolloutPolicy).
  bool policyReplayable_ = false;
  // The networks run on the visited states, online and target: only those
  // whose outputs the objective reads.
  std::set<std::string> onlineNets_, targetNets_;
};

} // namespace gfl

#endif // GFL_RUNTIME_LOSS_H

//===- TargetNetworks.h - Frozen copies for update rules ---------*- C++
//-*-===//
//
// Target networks (Mnih et al. 2015): copies of some of the model's
// networks that update rules read as `t.logit_target`, `t.log_norm_target`
// and `t.value_target`. `target copy(every N)` copies the networks after
// every N-th iteration; `target polyak(tau X)` moves the copies towards the
// networks after every optimizer step: theta' <- (1 - tau) theta' + tau
// theta. They start equal to the networks and go into checkpoints.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_TARGETNETWORKS_H
#define GFL_RUNTIME_TARGETNETWORKS_H

#include "gfl/Runtime/Checkpoint.h"
#include "gfl/Runtime/Model.h"

namespace gfl {

class TargetNetworks {
public:
  /// A copy of `online`'s networks named in the train block's target (none
  /// without one).
  TargetNetworks(const Program &program, Model &online);

  bool active() const { return spec_.has_value(); }
  /// The copy (every network of the model; only the targeted ones are
  /// updated, the others keep their initial values).
  Model &model() { return target_; }

  /// After each optimizer step (Polyak averaging).
  void afterStep();
  /// After iteration `iteration` (copies every N-th).
  void afterIteration(int64_t iteration);

  void save(Checkpoint &c) const;
  void load(const Checkpoint &c);

private:
  /// (target, online) parameter pairs of the targeted networks.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> pairs_;
  std::optional<TargetSpec> spec_;
  Model target_{nullptr};
};

} // namespace gfl

#endif // GFL_RUNTIME_TARGETNETWORKS_H

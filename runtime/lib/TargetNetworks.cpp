//===- TargetNetworks.cpp - Frozen copies for update rules ----------------===//

#include "gfl/Runtime/TargetNetworks.h"

namespace gfl {

TargetNetworks::TargetNetworks(const Program &program, Model &online)
    : spec_(program.train().target) {
  if (!spec_)
    return;
  target_ = Model(program);
  target_->to(program.device());
  for (const std::string &net : spec_->nets) {
    std::vector<torch::Tensor> t = target_->parametersOf(net),
                               o = online->parametersOf(net);
    for (size_t i = 0; i < t.size() && i < o.size(); ++i) {
      t[i].requires_grad_(false);
      pairs_.emplace_back(t[i], o[i]);
    }
  }
  torch::NoGradGuard noGrad;
  for (auto &[t, o] : pairs_)
    t.copy_(o);
}

void TargetNetworks::afterStep() {
  if (!spec_ || !spec_->polyak)
    return;
  torch::NoGradGuard noGrad;
  for (auto &[t, o] : pairs_)
    t.mul_(1 - spec_->tau).add_(o, spec_->tau);
}

void TargetNetworks::afterIteration(int64_t iteration) {
  if (!spec_ || spec_->polyak || (iteration + 1) % spec_->every != 0)
    return;
  torch::NoGradGuard noGrad;
  for (auto &[t, o] : pairs_)
    t.copy_(o);
}

void TargetNetworks::save(Checkpoint &c) const {
  if (!spec_)
    return;
  c10::Dict<std::string, torch::Tensor> params;
  for (const auto &[name, p] : target_->namedParams())
    params.insert(name, p.detach().cpu().clone());
  c.put("target_params", params);
}

void TargetNetworks::load(const Checkpoint &c) {
  if (!spec_)
    return;
  torch::NoGradGuard noGrad;
  for (auto &[name, p] : target_->namedParams())
    p.copy_(c.tensor("target_params", name, p));
}

} // namespace gfl

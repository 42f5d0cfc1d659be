//===- FiniteCheck.cpp - Stop at the first non-finite loss or gradient ----===//

#include "gfl/Runtime/FiniteCheck.h"

#include "HostRows.h"

#include <sstream>

namespace gfl {

namespace {

std::string valueText(double v) {
  if (std::isnan(v))
    return "NaN";
  return v > 0 ? "+inf" : "-inf";
}

/// The first row of `bad` [N] that is true, or -1.
int64_t firstTrue(const torch::Tensor &bad) {
  torch::Tensor rows = bad.reshape({-1}).nonzero();
  return rows.size(0) ? rows[0][0].item<int64_t>() : -1;
}

/// Names the first non-finite quantity upstream of the loss; "" if none.
std::string diagnose(const Program &program, Model &model, const Rollout &r,
                     const torch::Tensor &loss) {
  torch::NoGradGuard noGrad;
  for (const auto &[name, p] : model->namedParams())
    if (!torch::isfinite(p).all().item<bool>())
      return "parameter " + name +
             " is not finite: the last step diverged (lower the learning "
             "rate?)";
  if (r.logReward.defined()) {
    int64_t b = firstTrue(torch::isfinite(r.logReward).logical_not());
    if (b >= 0) {
      double v = r.logReward[b].item<double>();
      std::string state = r.final.empty() ? "of row " + std::to_string(b)
                                          : program.describe(r.final, b);
      return "the log-reward of terminal state " + state + " is " +
             valueText(v) +
             (v < 0 && std::isinf(v) ? " (its reward is 0)" : "");
    }
  }
  // Features and network outputs, step by step, first trajectory first.
  if (r.features.defined() && !r.states.empty()) {
    int64_t steps = r.features.size(0), batch = r.features.size(1);
    auto stateAt = [&](int64_t flat) {
      return program.describe(r.states[flat / batch], flat % batch);
    };
    torch::Tensor feats = r.features.reshape({steps * batch, -1});
    int64_t at = firstTrue(torch::isfinite(feats).all(1).logical_not());
    if (at >= 0)
      return "the features of state " + stateAt(at) + " are not finite";
    torch::Tensor cond;
    if (r.cond.defined())
      cond = r.cond.unsqueeze(0)
                 .expand({steps, batch, r.cond.size(1)})
                 .reshape({steps * batch, -1});
    for (const auto &[name, out] : model->forward(feats, cond)) {
      torch::Tensor rows = out.reshape({steps * batch, -1});
      at = firstTrue(torch::isfinite(rows).all(1).logical_not());
      if (at >= 0)
        return "the output of network " + name + " at state " + stateAt(at) +
               " is not finite";
    }
  }
  if (!torch::isfinite(loss).all().item<bool>())
    return "the loss is " + valueText(loss.item<double>());
  for (const auto &[name, p] : model->namedParams())
    if (p.grad().defined() && !torch::isfinite(p.grad()).all().item<bool>())
      return "the gradient of " + name + " is not finite";
  return "";
}

} // namespace

void checkFinite(const Program &program, Model &model, const Rollout &r,
                 const torch::Tensor &loss, int64_t iteration) {
  std::vector<torch::Tensor> checked{loss.detach()};
  // parameters(), not namedParams(): no names are built on the hot path.
  for (const torch::Tensor &p : model->parameters())
    if (p.grad().defined())
      checked.push_back(p.grad());
  if (allFinite(checked))
    return;
  std::string why = diagnose(program, model, r, loss.detach());
  throw NonFiniteError("iteration " + std::to_string(iteration + 1) + ": " +
                       (why.empty() ? "the gradients overflow" : why) +
                       "; training stopped");
}

} // namespace gfl

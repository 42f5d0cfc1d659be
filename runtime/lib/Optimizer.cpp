//===- Optimizer.cpp - Adam over the model's parameter groups -------------===//

#include "gfl/Runtime/Optimizer.h"
#include "gfl/Runtime/TorchCompat.h"

#include <set>
#include <stdexcept>

namespace gfl {

Optimizer::Optimizer(const Program &program, Model &model)
    : program_(program), params_(model->namedParams()) {
  const TrainSpec &t = program.train();
  auto optionsOf = [&](const OptimizerSpec &o) {
    auto get = [&](const char *k, double d) {
      auto it = o.args.find(k);
      if (it != o.args.end())
        return it->second;
      auto base = t.optimizer.args.find(k);
      return base != t.optimizer.args.end() ? base->second : d;
    };
    auto opts = std::make_unique<torch::optim::AdamOptions>(get("lr", 1e-3));
    opts->betas(std::make_tuple(get("beta1", 0.9), get("beta2", 0.999)))
        .eps(get("eps", 1e-8))
        .weight_decay(get("weight_decay", 0.0));
    return opts;
  };
  if (t.optimizer.name != "adam")
    throw std::runtime_error("optimizer '" + t.optimizer.name +
                             "' is not supported by gfl-run yet (adam is)");
  std::vector<torch::optim::OptimizerParamGroup> groups;
  std::vector<torch::Tensor> rest;
  std::set<std::string> grouped;
  for (const auto &[net, spec] : t.groups) {
    grouped.insert(net);
    std::vector<torch::Tensor> ps = model->parametersOf(net);
    if (!ps.empty())
      groups.emplace_back(ps, optionsOf(spec));
  }
  for (const NetSpec &n : program.nets())
    if (!grouped.count(n.name))
      for (const torch::Tensor &p : model->parametersOf(n.name))
        rest.push_back(p);
  if (!rest.empty())
    groups.emplace_back(rest, optionsOf(t.optimizer));
  auto defaults = optionsOf(t.optimizer);
  adam_ = std::make_unique<torch::optim::Adam>(groups, *defaults);
  for (auto &g : adam_->param_groups())
    baseLr_.push_back(
        static_cast<torch::optim::AdamOptions &>(g.options()).lr());
}

void Optimizer::step(int64_t iteration) {
  const TrainSpec &t = program_.train();
  double factor = t.learningRate.factor(iteration, t.iterations);
  auto &groups = adam_->param_groups();
  for (size_t i = 0; i < groups.size(); ++i)
    static_cast<torch::optim::AdamOptions &>(groups[i].options())
        .lr(baseLr_[i] * factor);
  adam_->step();
}

double Optimizer::learningRate(size_t group) const {
  return static_cast<const torch::optim::AdamOptions &>(
             adam_->param_groups().at(group).options())
      .lr();
}

void Optimizer::save(Checkpoint &c) const {
  c10::Dict<std::string, torch::Tensor> params, expAvg, expAvgSq;
  c10::Dict<std::string, int64_t> steps;
  auto &state = adam_->state();
  for (const auto &[name, p] : params_) {
    params.insert(name, p.detach().cpu().clone());
    auto it = state.find(compat::optimizerStateKey(p));
    if (it == state.end())
      continue;
    auto &s = static_cast<torch::optim::AdamParamState &>(*it->second);
    expAvg.insert(name, s.exp_avg().cpu().clone());
    expAvgSq.insert(name, s.exp_avg_sq().cpu().clone());
    steps.insert(name, s.step());
  }
  c.put("params", params);
  c.put("adam_exp_avg", expAvg);
  c.put("adam_exp_avg_sq", expAvgSq);
  c.put("adam_step", steps);
}

void Optimizer::load(const Checkpoint &c) {
  auto expAvg = c.tensors("adam_exp_avg");
  c10::IValue steps = c.get("adam_step");
  if (!steps.isGenericDict())
    throw c.error("'adam_step' is not a dictionary");
  auto stepDict = steps.toGenericDict();
  torch::NoGradGuard noGrad;
  auto &state = adam_->state();
  for (const auto &[name, p] : params_) {
    p.copy_(c.tensor("params", name, p));
    if (!expAvg.contains(name))
      continue;
    auto s = std::make_unique<torch::optim::AdamParamState>();
    s->exp_avg(c.tensor("adam_exp_avg", name, p).to(p.device()).clone());
    s->exp_avg_sq(c.tensor("adam_exp_avg_sq", name, p).to(p.device()).clone());
    if (!stepDict.contains(name) || !stepDict.at(name).isInt())
      throw c.error("it lacks the Adam step of " + name);
    s->step(stepDict.at(name).toInt());
    state[compat::optimizerStateKey(p)] = std::move(s);
  }
}

} // namespace gfl

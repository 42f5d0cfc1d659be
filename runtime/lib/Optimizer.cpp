//===- Optimizer.cpp - Adam over the model's parameter groups -------------===//

#include "gfl/Runtime/Optimizer.h"

#include "AdamStep.h"

#include <cmath>
#include <set>
#include <stdexcept>

namespace gfl {

Optimizer::Optimizer(const Program &program, Model &model)
    : program_(program), params_(model->namedParams()) {
  const TrainSpec &t = program.train();
  if (t.optimizer.name != "adam")
    throw std::runtime_error("optimizer '" + t.optimizer.name +
                             "' is not supported by gfl-run yet (adam is)");
  auto optionsOf = [&](const OptimizerSpec &o) {
    auto get = [&](const char *k, double d) {
      auto it = o.args.find(k);
      if (it != o.args.end())
        return it->second;
      auto base = t.optimizer.args.find(k);
      return base != t.optimizer.args.end() ? base->second : d;
    };
    Options opts;
    opts.lr = get("lr", 1e-3);
    opts.beta1 = get("beta1", 0.9);
    opts.beta2 = get("beta2", 0.999);
    opts.eps = get("eps", 1e-8);
    opts.weightDecay = get("weight_decay", 0.0);
    return opts;
  };
  auto indexOf = [&](const torch::Tensor &p) {
    for (size_t i = 0; i < params_.size(); ++i)
      if (params_[i].second.unsafeGetTensorImpl() == p.unsafeGetTensorImpl())
        return i;
    throw std::logic_error("a network's parameter is not the model's");
  };
  std::vector<size_t> rest;
  std::set<std::string> grouped;
  for (const auto &[net, spec] : t.groups) {
    grouped.insert(net);
    Group g;
    g.options = optionsOf(spec);
    for (const torch::Tensor &p : model->parametersOf(net))
      g.members.push_back(indexOf(p));
    if (!g.members.empty())
      groups_.push_back(std::move(g));
  }
  for (const NetSpec &n : program.nets())
    if (!grouped.count(n.name))
      for (const torch::Tensor &p : model->parametersOf(n.name))
        rest.push_back(indexOf(p));
  if (!rest.empty()) {
    Group g;
    g.options = optionsOf(t.optimizer);
    g.members = rest;
    groups_.push_back(std::move(g));
  }
  // Each parameter becomes a view of its group's flat tensor.
  torch::NoGradGuard noGrad;
  expAvg_.resize(params_.size());
  expAvgSq_.resize(params_.size());
  gradSlot_.resize(params_.size());
  steps_.assign(params_.size(), 0);
  for (Group &g : groups_) {
    g.lr = g.options.lr;
    int64_t total = 0;
    for (size_t i : g.members)
      total += params_[i].second.numel();
    const torch::Tensor &first = params_[g.members.front()].second;
    g.values = torch::empty({total}, first.options());
    g.expAvg = torch::zeros({total}, first.options());
    g.expAvgSq = torch::zeros({total}, first.options());
    g.grads = torch::empty({total}, first.options());
    int64_t at = 0;
    for (size_t i : g.members) {
      torch::Tensor &p = params_[i].second;
      int64_t n = p.numel();
      torch::Tensor slot = g.values.slice(0, at, at + n).view(p.sizes());
      slot.copy_(p.detach());
      p.set_data(slot);
      expAvg_[i] = g.expAvg.slice(0, at, at + n).view(p.sizes());
      expAvgSq_[i] = g.expAvgSq.slice(0, at, at + n).view(p.sizes());
      gradSlot_[i] = g.grads.slice(0, at, at + n).view(p.sizes());
      at += n;
    }
  }
}

void Optimizer::update(const Options &o, double lr, int64_t step,
                       const torch::Tensor &value, torch::Tensor grad,
                       const torch::Tensor &expAvg,
                       const torch::Tensor &expAvgSq) {
  double correction1 = 1 - std::pow(o.beta1, double(step));
  double correction2 = 1 - std::pow(o.beta2, double(step));
  if (adamStep({lr, o.beta1, o.beta2, o.eps, o.weightDecay, correction1,
                correction2},
               value, grad, expAvg, expAvgSq))
    return;
  if (o.weightDecay != 0)
    grad = grad.add(value, o.weightDecay);
  expAvg.mul_(o.beta1).add_(grad, 1 - o.beta1);
  expAvgSq.mul_(o.beta2).addcmul_(grad, grad, 1 - o.beta2);
  torch::Tensor denom = (expAvgSq.sqrt() / std::sqrt(correction2)).add_(o.eps);
  value.addcdiv_(expAvg, denom, -lr / correction1);
}

void Optimizer::step(int64_t iteration) {
  const TrainSpec &t = program_.train();
  double factor = t.learningRate.factor(iteration, t.iterations);
  torch::NoGradGuard noGrad;
  for (Group &g : groups_) {
    g.lr = g.options.lr * factor;
    // The whole group at once when every member has a gradient and has
    // taken as many steps as the others (always, unless some network got
    // no gradient in some step).
    bool together = true;
    for (size_t i : g.members)
      together = together && params_[i].second.grad().defined() &&
                 steps_[i] == steps_[g.members.front()];
    if (together) {
      for (size_t i : g.members)
        gradSlot_[i].copy_(params_[i].second.grad());
      int64_t step = steps_[g.members.front()] + 1;
      update(g.options, g.lr, step, g.values, g.grads, g.expAvg, g.expAvgSq);
      for (size_t i : g.members)
        steps_[i] = step;
      continue;
    }
    for (size_t i : g.members) {
      torch::Tensor &p = params_[i].second;
      if (!p.grad().defined())
        continue;
      update(g.options, g.lr, ++steps_[i], p.detach(), p.grad(), expAvg_[i],
             expAvgSq_[i]);
    }
  }
}

void Optimizer::zeroGrad() {
  for (auto &[name, p] : params_)
    p.mutable_grad().reset();
}

double Optimizer::learningRate(size_t group) const {
  return groups_.at(group).lr;
}

void Optimizer::save(Checkpoint &c) const {
  c10::Dict<std::string, torch::Tensor> params, expAvg, expAvgSq;
  c10::Dict<std::string, int64_t> steps;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto &[name, p] = params_[i];
    params.insert(name, p.detach().cpu().clone());
    if (steps_[i] == 0)
      continue;
    expAvg.insert(name, expAvg_[i].cpu().clone());
    expAvgSq.insert(name, expAvgSq_[i].cpu().clone());
    steps.insert(name, steps_[i]);
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
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto &[name, p] = params_[i];
    p.copy_(c.tensor("params", name, p));
    if (!expAvg.contains(name)) {
      expAvg_[i].zero_();
      expAvgSq_[i].zero_();
      steps_[i] = 0;
      continue;
    }
    expAvg_[i].copy_(c.tensor("adam_exp_avg", name, p));
    expAvgSq_[i].copy_(c.tensor("adam_exp_avg_sq", name, p));
    if (!stepDict.contains(name) || !stepDict.at(name).isInt() ||
        stepDict.at(name).toInt() < 1)
      throw c.error("it lacks the Adam step of " + name);
    steps_[i] = stepDict.at(name).toInt();
  }
}

} // namespace gfl

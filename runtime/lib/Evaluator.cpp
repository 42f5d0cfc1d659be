//===- Evaluator.cpp - Exact evaluation by dynamic programming ------------===//

#include "gfl/Runtime/Evaluator.h"
#include "gfl/Runtime/StateGraph.h"

#include <cmath>
#include <stdexcept>

namespace gfl {

Evaluator::Evaluator(const Program &program) : program_(program) {
  torch::NoGradGuard noGrad;
  const EnvSpec &env = program.env();
  int64_t count = env.stateCount;
  if (!env.enumerable || count <= 0 || count > (int64_t(1) << 24))
    throw std::runtime_error("exact evaluation needs an enumerable "
                             "environment with at most 2^24 states");
  // Kernels run on the program's device; the graph walk is on the host.
  auto on = [&](torch::ScalarType d) { return program.options(d); };
  State all = program.stateDecode(torch::arange(count, on(torch::kInt64)));
  torch::Tensor mask = program.forwardMask(all);
  torch::Tensor maskHost = mask.cpu();
  auto maskA = maskHost.accessor<bool, 2>();
  // Edges of the state graph.
  std::vector<std::vector<std::pair<int64_t, int32_t>>> edges(count);
  std::vector<std::pair<int64_t, int64_t>> leaving; // (state, action)
  for (int64_t a = 0; a < env.numBackwardActions; ++a) {
    auto [next, done] =
        program.step(all, torch::full({count}, a, on(torch::kInt32)));
    torch::Tensor idx = program.stateIndex(next).cpu();
    auto idxA = idx.accessor<int64_t, 1>();
    for (int64_t i = 0; i < count; ++i) {
      if (!maskA[i][a])
        continue;
      // gfl_state_index gives -1 outside the domains: reported below if
      // the state is reachable.
      if (idxA[i] < 0 || idxA[i] >= count) {
        leaving.push_back({i, a});
        continue;
      }
      edges[i].push_back({idxA[i], static_cast<int32_t>(a)});
    }
  }
  // Reachable states in topological order (Kahn) from s0.
  int64_t s0 = program.stateIndex(program.init(1)).item<int64_t>();
  std::vector<char> reached(count, 0);
  std::vector<int64_t> stack{s0}, reachable;
  reached[s0] = 1;
  while (!stack.empty()) {
    int64_t i = stack.back();
    stack.pop_back();
    reachable.push_back(i);
    for (auto [c, a] : edges[i])
      if (!reached[c]) {
        reached[c] = 1;
        stack.push_back(c);
      }
  }
  // gflc refuses envs whose actions leave the domains up to 2^22 states;
  // past that, this is where it shows.
  for (auto [i, a] : leaving)
    if (reached[i])
      throw std::runtime_error(
          "action " + describeAction(*program.manifest().get("env"), a) +
          " from state " +
          program.describe(
              program.stateDecode(torch::full({1}, i, on(torch::kInt64))), 0) +
          " leads outside the state's domain; its guard must exclude the "
          "states where it would");
  std::vector<int64_t> indegree(count, 0);
  for (int64_t i : reachable)
    for (auto [c, a] : edges[i])
      ++indegree[c];
  std::vector<int64_t> order{s0}, position(count, -1);
  for (size_t head = 0; head < order.size(); ++head)
    for (auto [c, a] : edges[order[head]])
      if (--indegree[c] == 0)
        order.push_back(c);
  if (order.size() != reachable.size())
    throw std::runtime_error("the state graph has a cycle; exact evaluation "
                             "needs a DAG");
  for (size_t i = 0; i < order.size(); ++i)
    position[order[i]] = static_cast<int64_t>(i);
  int64_t S = static_cast<int64_t>(order.size());
  torch::Tensor rows =
      torch::from_blob(order.data(), {S}, torch::kInt64).to(on(torch::kInt64));
  states_ = Program::select(all, rows);
  children_.resize(S);
  std::vector<int64_t> depth(S, 0); // edges on the longest path from s0
  for (int64_t i = 0; i < S; ++i)
    for (auto [c, a] : edges[order[i]]) {
      children_[i].push_back({position[c], a});
      depth[position[c]] = std::max(depth[position[c]], depth[i] + 1);
      longestPath_ = std::max(longestPath_, depth[position[c]]);
    }
  mask_ = mask.index_select(0, rows);
  terminal_ = program.terminal(states_).cpu();
  canEnd_ = terminal_.clone();
  if (env.hasStop)
    canEnd_ = canEnd_.logical_or(mask_.select(1, env.numActions - 1).cpu());
  const std::string obj = "gfl_obj_" + program.train().objective;
  readsLogZ_ = program.kernelHasArg(obj + "_grad", "d_log_z");
  readsLogF_ = program.kernelHasArg(obj, "log_f");
  readsEnergy_ = program.kernelHasArg(obj, "energy");
  readsExit_ = program.kernelHasArg(obj, "log_pf_exit");
  readsEdgeFlows_ = program.kernelHasArg(obj, "log_out_flow") ||
                    program.kernelHasArg(obj, "log_exit_flow");
  torch::Tensor endLogR =
      logRewards(torch::Tensor()).masked_fill(canEnd_.logical_not(), -INFINITY);
  double best = endLogR.max().item<double>();
  auto endA = endLogR.accessor<double, 1>();
  for (int64_t i = 0; i < S; ++i)
    if (endA[i] >= best - 1e-6 * (1 + std::fabs(best)))
      modes_.insert(order[i]);
}

torch::Tensor Evaluator::logRewards(const torch::Tensor &cond) const {
  int64_t S = states_[0].size(0);
  torch::Tensor rows;
  if (cond.defined())
    rows = cond.reshape({1, -1}).expand({S, -1});
  return program_.logReward(states_, rows).cpu().to(torch::kFloat64);
}

void Evaluator::evaluate(Model &model, Metrics &m,
                         const torch::Tensor &cond) const {
  torch::NoGradGuard noGrad;
  const EnvSpec &env = program_.env();
  int64_t S = states_[0].size(0), A = env.numActions;
  torch::Tensor condRows;
  if (!env.conditions.empty())
    condRows = cond.defined() ? cond.to(program_.options(torch::kFloat32))
                                    .reshape({1, -1})
                                    .expand({S, -1})
                                    .contiguous()
                              : program_.defaultCondition(S);
  torch::Tensor logR = logRewards(condRows.defined() ? condRows[0] : cond);
  torch::Tensor endLogR = logR.masked_fill(canEnd_.logical_not(), -INFINITY);
  double logZTrue = torch::logsumexp(endLogR, 0).item<double>();
  torch::Tensor target = (endLogR - logZTrue).exp();
  double logR0 = logR[0].item<double>(); // s0 comes first in topological order

  torch::Tensor feats = program_.features(states_);
  std::set<std::string> nets{"pf"};
  if (readsLogF_)
    nets.insert("logF");
  auto outs = model->forward(feats, condRows, nets);
  torch::Tensor logits = model->logits(outs, "pf", S, feats.options());
  // log pi(a | s) for every (state, action) through the compiled kernel.
  torch::Tensor rep = logits.repeat_interleave(A, 0).contiguous();
  torch::Tensor repMask = mask_.repeat_interleave(A, 0).contiguous();
  torch::Tensor acts =
      torch::arange(A, program_.options(torch::kInt32)).repeat({S});
  auto lp = torch::empty({S * A}, program_.options(torch::kFloat32));
  program_.call(
      "gfl_policy_log_prob",
      {{"logits", rep}, {"mask", repMask}, {"action", acts}, {"log_prob", lp}});
  torch::Tensor prob = lp.view({S, A}).cpu().to(torch::kFloat64).exp();
  auto probA = prob.accessor<double, 2>();
  auto terminalA = terminal_.accessor<bool, 1>();
  std::vector<double> reach(S, 0.0), end(S, 0.0);
  reach[0] = 1.0;
  for (int64_t i = 0; i < S; ++i) {
    if (reach[i] == 0)
      continue;
    // A terminal state ends every trajectory that reaches it; elsewhere the
    // trajectory ends with the probability of the exit action.
    if (terminalA[i]) {
      end[i] = reach[i];
      continue;
    }
    for (auto [c, a] : children_[i])
      reach[c] += reach[i] * probA[i][a];
    if (env.hasStop)
      end[i] = reach[i] * probA[i][A - 1];
  }
  auto targetA = target.accessor<double, 1>();
  double l1 = 0, kl1 = 0, kl2 = 0;
  for (int64_t i = 0; i < S; ++i) {
    double p = end[i], q = targetA[i], mid = 0.5 * (p + q);
    l1 += std::fabs(p - q);
    if (p > 0)
      kl1 += p * std::log(p / mid);
    if (q > 0)
      kl2 += q * std::log(q / mid);
  }
  // R/Z is a distribution only when every log-reward is a number below
  // +inf (-inf: reward 0) and some reward is positive; otherwise the
  // distances to it are undefined (null), not 0.
  bool targetDefined = std::isfinite(logZTrue) &&
                       !endLogR.isnan().any().item<bool>() &&
                       !endLogR.eq(INFINITY).any().item<bool>();
  if (targetDefined) {
    m.l1 = l1;
    m.jsd = 0.5 * (kl1 + kl2);
    m.logzTrue = logZTrue;
  }
  // The learned log Z: what the objective reads, or else the state flow of
  // s0 (DB-style objectives).
  if (model->hasLogZ() && readsLogZ_) {
    m.logz =
        model
            ->logZ(1, condRows.defined() ? condRows.slice(0, 0, 1) : condRows,
                   feats.options())
            .item<double>();
  } else if (readsLogF_ && outs.count("logF")) {
    // With energies the head is the forward-looking F~ and
    // log F(s0) = log F~(s0) - E(s0) = log F~(s0) + log R(s0).
    double f0 = outs.at("logF")[0].item<double>();
    m.logz = readsEnergy_ ? f0 + logR0 : f0;
  } else if (readsExit_ && env.hasStop) {
    // Every state may terminate: F(s0) = R(s0) / P_F(exit | s0).
    m.logz = logR0 - lp[A - 1].item<double>();
  } else if (readsEdgeFlows_) {
    // Flow matching: Z is the flow out of s0.
    int64_t P = env.numBackwardActions;
    auto floats = program_.options(torch::kFloat32);
    torch::Tensor in = torch::empty({1}, floats),
                  out = torch::empty({1}, floats),
                  exit = torch::empty({1}, floats);
    program_.call(
        "gfl_edge_flows",
        {{"logits", logits.slice(0, 0, 1).contiguous()},
         {"mask", mask_.slice(0, 0, 1).contiguous()},
         {"parent_logits", torch::zeros({1, P, A}, floats)},
         {"parent_mask", torch::zeros({1, P}, program_.options(torch::kBool))},
         {"log_in_flow", in},
         {"log_out_flow", out},
         {"log_exit_flow", exit}});
    m.logz = out.item<double>();
  }
  m.modesTotal = static_cast<int64_t>(modes_.size());
}

} // namespace gfl

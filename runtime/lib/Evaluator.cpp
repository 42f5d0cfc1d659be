//===- Evaluator.cpp - Exact evaluation by dynamic programming ------------===//

#include "gfl/Runtime/Evaluator.h"
#include "gfl/Runtime/StateGraph.h"

#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <stdexcept>

namespace gfl {

namespace {

/// Rows of the networks and the policy log-prob kernel per call: bounds the
/// memory of evaluation whatever the number of states.
constexpr int64_t kRowsPerChunk = int64_t(1) << 15;

int64_t stateBytes(const EnvSpec &env) {
  int64_t bytes = 0;
  for (const FieldSpec &f : env.fields) {
    int64_t n = static_cast<int64_t>(c10::elementSize(f.dtype));
    for (int64_t d : f.shape)
      n *= d;
    bytes += n;
  }
  return bytes;
}

/// Host memory available to this process: MemAvailable, and the address
/// space left under RLIMIT_AS.
int64_t availableMemory() {
  int64_t available = std::numeric_limits<int64_t>::max();
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kb;
  while (meminfo >> key >> kb) {
    if (key == "MemAvailable:")
      available = kb * 1024;
    meminfo.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    int64_t used = 0;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmSize:", 0) == 0)
        used = std::atoll(line.c_str() + 7) * 1024;
    available = std::min<int64_t>(available,
                                  static_cast<int64_t>(limit.rlim_cur) - used);
  }
  return available;
}

std::string gib(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", bytes / double(1 << 30));
  return text;
}

} // namespace

int64_t Evaluator::memoryNeeded(const Program &program) {
  const EnvSpec &env = program.env();
  int64_t S = env.stateCount, A = env.numActions, M = env.numBackwardActions;
  // Per state: every state and its successor (with its code), the masks,
  // the successor table and first leaving action, the walk, the reachable
  // states again with their children, rewards, log-probabilities (float,
  // then double) and the dynamic programme.
  int64_t perState =
      3 * stateBytes(env) + 8 + A + 4 * M + 4 + 4 * 8 + M * 8 + 12 * A + 4 * 8;
  // Per row of a chunk: features, hidden activations (twice: before and
  // after the nonlinearity), logits repeated per action with their masks.
  int64_t hidden = 0;
  for (const NetSpec &n : program.nets())
    for (int64_t h : n.hidden)
      hidden += 2 * h;
  int64_t perRow = 4 * (env.featureSize + hidden + env.conditionSize) +
                   A * (4 * A + A + 4 + 4) + 4 * A;
  return S * perState + std::min(S, kRowsPerChunk) * perRow;
}

std::string Evaluator::cannotEvaluate(const Program &program) {
  const EnvSpec &env = program.env();
  if (!env.enumerable || env.stateCount <= 0)
    return "the environment is not enumerable";
  if (env.stateCount > kMaxEvaluatedStates)
    return "the environment has " + std::to_string(env.stateCount) +
           " states, more than the 2^24 exact evaluation enumerates";
  int64_t needed = memoryNeeded(program), available = availableMemory();
  if (needed > available)
    return "it needs about " + gib(needed) + " of memory and " +
           gib(std::max<int64_t>(available, 0)) + " is available";
  return "";
}

Evaluator::Evaluator(const Program &program) : program_(program) {
  torch::NoGradGuard noGrad;
  const EnvSpec &env = program.env();
  if (std::string why = cannotEvaluate(program); !why.empty())
    throw std::runtime_error("exact evaluation is not possible: " + why);
  int64_t count = env.stateCount, M = env.numBackwardActions;
  // Kernels run on the program's device; the graph walk is on the host.
  auto on = [&](torch::ScalarType d) { return program.options(d); };
  State all = program.stateDecode(torch::arange(count, on(torch::kInt64)));
  torch::Tensor mask = program.forwardMask(all);
  torch::Tensor maskHost = mask.cpu();
  auto maskA = maskHost.accessor<bool, 2>();
  // The successor of every state by every move: a code, or -1 where the
  // move is not allowed.
  std::vector<int32_t> next(static_cast<size_t>(count * M), -1);
  std::vector<int32_t> leaving(count, -1); // the first action leaving, if any
  for (int64_t a = 0; a < M; ++a) {
    auto [succ, done] =
        program.step(all, torch::full({count}, a, on(torch::kInt32)));
    torch::Tensor idx = program.stateIndex(succ).cpu();
    auto idxA = idx.accessor<int64_t, 1>();
    for (int64_t i = 0; i < count; ++i) {
      if (!maskA[i][a])
        continue;
      // gfl_state_index gives -1 outside the domains: reported below if
      // the state is reachable.
      if (idxA[i] < 0 || idxA[i] >= count) {
        if (leaving[i] < 0)
          leaving[i] = static_cast<int32_t>(a);
      } else
        next[i * M + a] = static_cast<int32_t>(idxA[i]);
    }
  }
  // Reachable states from s0.
  int64_t s0 = program.stateIndex(program.init(1)).item<int64_t>();
  std::vector<char> reached(count, 0);
  std::vector<int64_t> stack{s0};
  int64_t reachable = 0;
  reached[s0] = 1;
  while (!stack.empty()) {
    int64_t i = stack.back();
    stack.pop_back();
    ++reachable;
    for (int64_t a = 0; a < M; ++a)
      if (int32_t c = next[i * M + a]; c >= 0 && !reached[c]) {
        reached[c] = 1;
        stack.push_back(c);
      }
  }
  // gflc refuses envs whose actions leave the domains up to 2^22 states;
  // past that, this is where it shows.
  for (int64_t i = 0; i < count; ++i)
    if (reached[i] && leaving[i] >= 0)
      throw std::runtime_error(
          "action " +
          describeAction(*program.manifest().get("env"), leaving[i]) +
          " from state " +
          program.describe(
              program.stateDecode(torch::full({1}, i, on(torch::kInt64))), 0) +
          " leads outside the state's domain; its guard must exclude the "
          "states where it would");
  // Topological order (Kahn) of the reachable states.
  std::vector<int32_t> indegree(count, 0);
  for (int64_t i = 0; i < count; ++i)
    if (reached[i])
      for (int64_t a = 0; a < M; ++a)
        if (int32_t c = next[i * M + a]; c >= 0)
          ++indegree[c];
  std::vector<int64_t> order{s0};
  order.reserve(reachable);
  for (size_t head = 0; head < order.size(); ++head)
    for (int64_t a = 0; a < M; ++a)
      if (int32_t c = next[order[head] * M + a]; c >= 0 && --indegree[c] == 0)
        order.push_back(c);
  // s0 reached again, or a state never freed of its parents, is on a cycle.
  if (indegree[s0] != 0 || static_cast<int64_t>(order.size()) != reachable)
    throw std::runtime_error("the state graph has a cycle; exact evaluation "
                             "needs a DAG");
  std::vector<int32_t> position(count, -1);
  for (size_t i = 0; i < order.size(); ++i)
    position[order[i]] = static_cast<int32_t>(i);
  int64_t S = reachable;
  torch::Tensor rows =
      torch::from_blob(order.data(), {S}, torch::kInt64).to(on(torch::kInt64));
  states_ = Program::select(all, rows);
  all.clear();
  offset_.assign(1, 0);
  std::vector<int64_t> depth(S, 0); // edges on the longest path from s0
  for (int64_t i = 0; i < S; ++i) {
    for (int64_t a = 0; a < M; ++a) {
      int32_t c = next[order[i] * M + a];
      if (c < 0)
        continue;
      int32_t p = position[c];
      child_.push_back(p);
      childAction_.push_back(static_cast<int32_t>(a));
      depth[p] = std::max(depth[p], depth[i] + 1);
      longestPath_ = std::max(longestPath_, depth[p]);
    }
    offset_.push_back(static_cast<int64_t>(child_.size()));
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

Evaluator::PolicyPass
Evaluator::terminating(Model &model, const torch::Tensor &condRows) const {
  const EnvSpec &env = program_.env();
  int64_t S = states_[0].size(0), A = env.numActions;
  // log pi(a | s) for every (state, action) through the compiled kernel,
  // a chunk of states at a time. The first chunk starts with s0, whose
  // outputs give log Z below.
  std::set<std::string> nets{"pf"};
  if (readsLogF_)
    nets.insert("logF");
  torch::Tensor prob = torch::empty({S, A}, torch::kFloat32);
  PolicyPass pass;
  for (int64_t lo = 0; lo < S; lo += kRowsPerChunk) {
    int64_t hi = std::min(S, lo + kRowsPerChunk), C = hi - lo;
    State chunk;
    for (const torch::Tensor &t : states_)
      chunk.push_back(t.slice(0, lo, hi));
    torch::Tensor feats = program_.features(chunk);
    torch::Tensor condChunk =
        condRows.defined() ? condRows.slice(0, lo, hi) : condRows;
    auto outs = model->forward(feats, condChunk, nets);
    torch::Tensor logits = model->logits(outs, "pf", C, feats.options());
    torch::Tensor rep = logits.repeat_interleave(A, 0).contiguous();
    torch::Tensor repMask =
        mask_.slice(0, lo, hi).repeat_interleave(A, 0).contiguous();
    torch::Tensor acts =
        torch::arange(A, program_.options(torch::kInt32)).repeat({C});
    auto lp = torch::empty({C * A}, program_.options(torch::kFloat32));
    program_.call("gfl_policy_log_prob", {{"logits", rep},
                                          {"mask", repMask},
                                          {"action", acts},
                                          {"log_prob", lp}});
    prob.slice(0, lo, hi).copy_(lp.view({C, A}).cpu());
    if (lo == 0) {
      pass.logits0 = logits.slice(0, 0, 1).contiguous();
      pass.lp0 = lp.slice(0, 0, A).cpu();
      pass.feats0 = feats.slice(0, 0, 1);
      if (outs.count("logF"))
        pass.logF0 = outs.at("logF")[0].cpu();
    }
  }
  prob = prob.to(torch::kFloat64).exp_();
  auto probA = prob.accessor<double, 2>();
  auto terminalA = terminal_.accessor<bool, 1>();
  std::vector<double> reach(S, 0.0);
  std::vector<double> &end = pass.end;
  end.assign(S, 0.0);
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
    for (int64_t e = offset_[i]; e < offset_[i + 1]; ++e)
      reach[child_[e]] += reach[i] * probA[i][childAction_[e]];
    if (env.hasStop)
      end[i] = reach[i] * probA[i][A - 1];
  }
  return pass;
}

torch::Tensor Evaluator::exactLogPt(Model &model, const State &x,
                                    const torch::Tensor &cond) const {
  torch::NoGradGuard noGrad;
  int64_t S = states_[0].size(0);
  PolicyPass pass = terminating(model, program_.conditionRows(S, cond));
  // Positions of the rows of x among the reachable states, by state code.
  torch::Tensor codes = program_.stateIndex(states_).cpu();
  torch::Tensor wanted = program_.stateIndex(x).cpu();
  auto codeAt = codes.accessor<int64_t, 1>();
  auto wantedAt = wanted.accessor<int64_t, 1>();
  std::map<int64_t, int64_t> position;
  for (int64_t i = 0; i < S; ++i)
    position[codeAt[i]] = i;
  std::vector<double> out;
  for (int64_t r = 0; r < wanted.size(0); ++r) {
    auto it = position.find(wantedAt[r]);
    out.push_back(it == position.end() ? -INFINITY
                                       : std::log(pass.end[it->second]));
  }
  return torch::tensor(out, torch::kFloat64);
}

void Evaluator::evaluate(Model &model, Metrics &m,
                         const torch::Tensor &cond) const {
  torch::NoGradGuard noGrad;
  const EnvSpec &env = program_.env();
  int64_t S = states_[0].size(0), A = env.numActions;
  torch::Tensor condRows = program_.conditionRows(S, cond);
  torch::Tensor logR = logRewards(condRows.defined() ? condRows[0] : cond);
  torch::Tensor endLogR = logR.masked_fill(canEnd_.logical_not(), -INFINITY);
  double logZTrue = torch::logsumexp(endLogR, 0).item<double>();
  torch::Tensor target = (endLogR - logZTrue).exp();
  double logR0 = logR[0].item<double>(); // s0 comes first in topological order

  PolicyPass pass = terminating(model, condRows);
  const std::vector<double> &end = pass.end;
  const torch::Tensor &logits0 = pass.logits0, &lp0 = pass.lp0,
                      &feats0 = pass.feats0, &logF0 = pass.logF0;
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
                   feats0.options())
            .item<double>();
  } else if (readsLogF_ && logF0.defined()) {
    // With energies the head is the forward-looking F~ and
    // log F(s0) = log F~(s0) - E(s0) = log F~(s0) + log R(s0).
    double f0 = logF0.item<double>();
    m.logz = readsEnergy_ ? f0 + logR0 : f0;
  } else if (readsExit_ && env.hasStop) {
    // Every state may terminate: F(s0) = R(s0) / P_F(exit | s0).
    m.logz = logR0 - lp0[A - 1].item<double>();
  } else if (readsEdgeFlows_) {
    // Flow matching: Z is the flow out of s0.
    int64_t P = env.numBackwardActions;
    auto floats = program_.options(torch::kFloat32);
    torch::Tensor in = torch::empty({1}, floats),
                  out = torch::empty({1}, floats),
                  exit = torch::empty({1}, floats);
    program_.call(
        "gfl_edge_flows",
        {{"logits", logits0},
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

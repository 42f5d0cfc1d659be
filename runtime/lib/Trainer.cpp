//===- Trainer.cpp - Rollouts, compiled objectives and the training loop --===//

#include "gfl/Runtime/Trainer.h"
#include "gfl/Runtime/TorchCompat.h"

#include "CompiledFunctions.h"
#include "CudaGraph.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace gfl {

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string jsonNumber(const std::optional<double> &v) {
  if (!v || !std::isfinite(*v))
    return "null";
  std::ostringstream os;
  os.precision(9);
  os << *v;
  return os.str();
}

/// The logits of policy network `name` (contiguous), or zeros of `rows` x
/// `width` (a uniform policy) when the model has no such network.
torch::Tensor logitsOr(const std::map<std::string, torch::Tensor> &outs,
                       const char *name, int64_t rows, int64_t width,
                       const Program &program) {
  auto it = outs.find(name);
  return it != outs.end()
             ? it->second.contiguous()
             : torch::zeros({rows, width}, program.options(torch::kFloat32));
}

/// Writes `bytes` to `path` through a temporary file and a rename.
void writeAtomically(const std::string &path, const std::vector<char> &bytes) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out)
      throw std::runtime_error("cannot write '" + tmp + "'");
  }
  std::filesystem::rename(tmp, path);
}

} // namespace

std::string Metrics::json() const {
  std::ostringstream os;
  os << "{\"iteration\":" << iteration << ",\"loss\":" << jsonNumber(loss)
     << ",\"l1\":" << jsonNumber(l1) << ",\"jsd\":" << jsonNumber(jsd)
     << ",\"logz\":" << jsonNumber(logz)
     << ",\"logz_true\":" << jsonNumber(logzTrue)
     << ",\"modes_found\":" << modesFound << ",\"modes_total\":" << modesTotal
     << ",\"mean_reward\":" << jsonNumber(meanReward)
     << ",\"topk_reward\":" << jsonNumber(topkReward)
     << ",\"wall_s\":" << jsonNumber(wallSeconds) << "}";
  return os.str();
}

std::string Profile::json() const {
  double n = std::max<int64_t>(iterations, 1);
  double total = rollout + networks + objective + optimizer + graph;
  std::ostringstream os;
  os.precision(6);
  os << "{\"iterations\":" << iterations
     << ",\"ms_per_iteration\":" << 1e3 * total / n
     << ",\"trajectories_per_s\":" << trajectories / std::max(total, 1e-12)
     << ",\"split_ms\":{\"rollout\":" << 1e3 * rollout / n
     << ",\"networks\":" << 1e3 * networks / n
     << ",\"objective\":" << 1e3 * objective / n
     << ",\"optimizer\":" << 1e3 * optimizer / n
     << ",\"graph\":" << 1e3 * graph / n << "}}";
  return os.str();
}

//===----------------------------------------------------------------------===//
// Exact evaluation
//===----------------------------------------------------------------------===//

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
  for (int64_t a = 0; a < env.numBackwardActions; ++a) {
    auto [next, done] =
        program.step(all, torch::full({count}, a, on(torch::kInt32)));
    torch::Tensor idx = program.stateIndex(next).cpu();
    auto idxA = idx.accessor<int64_t, 1>();
    for (int64_t i = 0; i < count; ++i)
      if (maskA[i][a])
        edges[i].push_back({idxA[i], static_cast<int32_t>(a)});
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
  torch::Tensor logR = program.logReward(states_).cpu().to(torch::kFloat64);
  terminal_ = program.terminal(states_).cpu();
  canEnd_ = terminal_.clone();
  if (env.hasStop)
    canEnd_ = canEnd_.logical_or(mask_.select(1, env.numActions - 1).cpu());
  torch::Tensor endLogR = logR.masked_fill(canEnd_.logical_not(), -INFINITY);
  logZTrue_ = torch::logsumexp(endLogR, 0).item<double>();
  target_ = (endLogR - logZTrue_).exp();
  logR0_ = logR[0].item<double>(); // s0 comes first in topological order
  const std::string obj = "gfl_obj_" + program.train().objective;
  readsLogZ_ = program.kernelHasArg(obj + "_grad", "d_log_z");
  readsLogF_ = program.kernelHasArg(obj, "log_f");
  readsEnergy_ = program.kernelHasArg(obj, "energy");
  readsExit_ = program.kernelHasArg(obj, "log_pf_exit");
  readsEdgeFlows_ = program.kernelHasArg(obj, "log_out_flow") ||
                    program.kernelHasArg(obj, "log_exit_flow");
  double best = endLogR.max().item<double>();
  auto endA = endLogR.accessor<double, 1>();
  for (int64_t i = 0; i < S; ++i)
    if (endA[i] >= best - 1e-6 * (1 + std::fabs(best)))
      modes_.insert(order[i]);
}

void Evaluator::evaluate(Model &model, Metrics &m) const {
  torch::NoGradGuard noGrad;
  const EnvSpec &env = program_.env();
  int64_t S = states_[0].size(0), A = env.numActions;
  torch::Tensor feats = program_.features(states_);
  auto outs = model->forward(feats);
  torch::Tensor logits = logitsOr(outs, "pf", S, A, program_);
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
  auto target = target_.accessor<double, 1>();
  double l1 = 0, kl1 = 0, kl2 = 0;
  for (int64_t i = 0; i < S; ++i) {
    double p = end[i], q = target[i], mid = 0.5 * (p + q);
    l1 += std::fabs(p - q);
    if (p > 0)
      kl1 += p * std::log(p / mid);
    if (q > 0)
      kl2 += q * std::log(q / mid);
  }
  m.l1 = l1;
  m.jsd = 0.5 * (kl1 + kl2);
  m.logzTrue = logZTrue_;
  // The learned log Z: the scalar the objective reads, or else the state
  // flow of s0 (DB-style objectives).
  torch::Tensor z = model->scalar("logZ");
  if (z.defined() && readsLogZ_) {
    m.logz = z.item<double>();
  } else if (readsLogF_ && outs.count("logF")) {
    // With energies the head is the forward-looking F~ and
    // log F(s0) = log F~(s0) - E(s0) = log F~(s0) + log R(s0).
    double f0 = outs.at("logF")[0].item<double>();
    m.logz = readsEnergy_ ? f0 + logR0_ : f0;
  } else if (readsExit_ && env.hasStop) {
    // Every state may terminate: F(s0) = R(s0) / P_F(exit | s0).
    m.logz = logR0_ - lp[A - 1].item<double>();
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

//===----------------------------------------------------------------------===//
// Training
//===----------------------------------------------------------------------===//

Trainer::Trainer(Program &program, TrainerOptions options)
    : program_(program), options_(std::move(options)) {
  const TrainSpec &t = program.train();
  if (t.objective.empty())
    throw std::runtime_error("the artifact has no train block");
  if (!program.hasKernel("gfl_obj_" + t.objective + "_grad"))
    throw std::runtime_error("the artifact has no gradient kernel for "
                             "objective '" +
                             t.objective + "'");
  const std::string obj = "gfl_obj_" + t.objective;
  needsStateRewards_ = program.kernelHasArg(obj, "log_r_step") ||
                       program.kernelHasArg(obj, "energy");
  // The gradient kernel has an adjoint for each network output it reads.
  for (const char *name : kLearnedInputs)
    if (program.kernelHasArg(obj + "_grad", std::string("d_") + name))
      reads_.insert(name);
  readsEdgeFlows_ =
      reads("log_in_flow") || reads("log_out_flow") || reads("log_exit_flow");
  if (readsEdgeFlows_ && program.env().numBackwardActions == 0)
    throw std::runtime_error("the objective reads edge flows, which need "
                             "backward actions, but the environment has none");
  // Initialized on the CPU, so a seed gives the same networks everywhere.
  torch::manual_seed(static_cast<uint64_t>(t.seed));
  model_ = Model(program.nets());
  model_->to(program.device());
  params_ = model_->namedParams();
  buildOptimizer();
  if (program.env().enumerable) {
    evaluator_.emplace(program);
    seen_ =
        torch::zeros({program.env().stateCount}, program.options(torch::kBool));
    std::vector<int64_t> modes(evaluator_->modes().begin(),
                               evaluator_->modes().end());
    modeCodes_ =
        torch::tensor(modes, torch::kInt64).to(program.options(torch::kInt64));
    // The last step of the longest trajectory may be the exit (or the step
    // that finds a dead end).
    horizon_ = evaluator_->longestPath() + 1;
  }
  iteration_ = torch::zeros({1}, program.options(torch::kInt64));
}

Trainer::~Trainer() = default;

void Trainer::dropGradients() {
  for (auto &[name, p] : params_)
    p.mutable_grad().reset();
}

void Trainer::syncForProfile() const {
  if (options_.profile && program_.device().is_cuda())
    torch::cuda::synchronize();
}

void Trainer::buildOptimizer() {
  const TrainSpec &t = program_.train();
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
    std::vector<torch::Tensor> ps = model_->parametersOf(net);
    if (!ps.empty())
      groups.emplace_back(ps, optionsOf(spec));
  }
  for (const NetSpec &n : program_.nets())
    if (!grouped.count(n.name))
      for (const torch::Tensor &p : model_->parametersOf(n.name))
        rest.push_back(p);
  if (!rest.empty())
    groups.emplace_back(rest, optionsOf(t.optimizer));
  auto defaults = optionsOf(t.optimizer);
  optimizer_ = std::make_unique<torch::optim::Adam>(groups, *defaults);
}

Rollout Trainer::rollout(int64_t iteration, int64_t batch, int64_t steps) {
  iteration_.fill_(iteration);
  return sample(batch, steps, /*checkEnded=*/true);
}

Rollout Trainer::sample(int64_t batch, int64_t steps, bool checkEnded) {
  torch::NoGradGuard noGrad;
  const EnvSpec &env = program_.env();
  const TrainSpec &t = program_.train();
  auto opts = [&](torch::ScalarType d) { return program_.options(d); };
  Rollout r;
  r.batch = batch;
  State s = program_.init(batch);
  torch::Tensor feats = program_.features(s);
  torch::Tensor ended = torch::zeros({batch}, opts(torch::kBool));
  std::vector<torch::Tensor> featList{feats}, actList, allEnded;
  r.states.push_back(s);
  // Whether every trajectory has ended is a host round trip; on a GPU it is
  // asked once per `every` steps. Steps after the end are no-ops (action
  // -1, the state kept), and are trimmed below.
  int64_t every = steps > 0                     ? steps + 1
                  : options_.endCheckEvery > 0  ? options_.endCheckEvery
                  : program_.device().is_cuda() ? 8
                                                : 1;
  for (int64_t step = 0;; ++step) {
    if (steps > 0 ? step == steps
                  : step % every == 0 && ended.all().item<bool>())
      break;
    if (step >= options_.maxSteps)
      throw std::runtime_error("trajectories did not end within " +
                               std::to_string(options_.maxSteps) + " steps");
    if (steps == 0 && every > 1)
      allEnded.push_back(ended.all());
    auto outs = model_->forward(feats);
    torch::Tensor logits =
        logitsOr(outs, "pf", batch, env.numActions, program_);
    State next = program_.emptyState(batch);
    auto action = torch::empty({batch}, opts(torch::kInt32));
    auto logPf = torch::empty({batch}, opts(torch::kFloat32));
    auto logQ = torch::empty({batch}, opts(torch::kFloat32));
    auto done = torch::empty({batch}, opts(torch::kBool));
    auto nextFeats =
        torch::empty({batch, env.featureSize}, opts(torch::kFloat32));
    std::map<std::string, torch::Tensor> args{
        {"logits", logits},     {"ended", ended}, {"action", action},
        {"log_pf", logPf},      {"log_q", logQ},  {"done", done},
        {"features", nextFeats}};
    program_.bindState(args, "state", s);
    program_.bindState(args, "next", next);
    args["iteration"] = iteration_;
    program_.call("gfl_sample_step", args,
                  {{"seed", double(t.seed)},
                   {"step", double(step)},
                   {"epsilon", t.epsilon},
                   {"temperature", t.temperature}});
    actList.push_back(action);
    s = next;
    feats = nextFeats;
    ended = done;
    featList.push_back(feats);
    r.states.push_back(s);
  }
  // T: the steps taken while some trajectory was still running (all of
  // them for a padded rollout).
  int64_t T = static_cast<int64_t>(actList.size());
  if (steps > 0 && checkEnded && !ended.all().item<bool>())
    throw std::runtime_error("trajectories did not end within " +
                             std::to_string(steps) + " steps");
  if (steps == 0 && every > 1 && T > 0)
    T -= torch::stack(allEnded).sum().item<int64_t>();
  actList.resize(T);
  featList.resize(T + 1);
  r.states.resize(T + 1);
  s = r.states.back();
  r.steps = T;
  r.features = torch::stack(featList, 0);
  actList.push_back(torch::full({batch}, -1, opts(torch::kInt32)));
  r.actions = torch::stack(actList, 1).contiguous(); // [B, T+1]
  int64_t exitIndex = env.hasStop ? env.numActions - 1 : -2;
  torch::Tensor isExit = r.actions.eq(exitIndex);
  r.n = r.actions.ge(0)
            .logical_and(isExit.logical_not())
            .sum(1)
            .to(torch::kInt32);
  r.exited = isExit.any(1);
  r.final = s;
  r.logReward = program_.logReward(s);
  return r;
}

torch::Tensor Trainer::loss(const Rollout &r) {
  const EnvSpec &env = program_.env();
  int64_t B = r.batch, T1 = r.steps + 1, N = B * T1;
  // Every visited state, row-major in (trajectory, step).
  torch::Tensor feats =
      r.features.transpose(0, 1).reshape({N, env.featureSize}).contiguous();
  // Row b*T1+k of the visited states is s_k of trajectory b (k*B+b in the
  // concatenation of r.states); its successor's row is b*T1+min(k+1, T).
  auto longs = program_.options(torch::kInt64);
  torch::Tensor b = torch::arange(B, longs).unsqueeze(1);
  torch::Tensor k = torch::arange(T1, longs).unsqueeze(0);
  torch::Tensor permT = (k * B + b).reshape({N});
  torch::Tensor nextT = (b * T1 + (k + 1).clamp_max(T1 - 1)).reshape({N});
  State visited = Program::select(Program::cat(r.states), permT);
  torch::Tensor fmask = program_.forwardMask(visited);
  torch::Tensor actions = r.actions.reshape({N}).contiguous();

  auto outs = model_->forward(feats);
  torch::Tensor pfLogits = logitsOr(outs, "pf", N, env.numActions, program_);
  // The network outputs the objective reads, as [B, T+1] rows.
  std::map<std::string, torch::Tensor> learned, data;
  int64_t exitIndex = env.hasStop ? env.numActions - 1 : -2;
  if (reads("log_pf"))
    learned["log_pf"] =
        policyLogProb(program_, pfLogits, fmask, actions).view({B, T1});
  if (reads("log_pb") && env.numBackwardActions > 0) {
    torch::Tensor bactions =
        actions.masked_fill(actions.eq(exitIndex), -1).contiguous();
    torch::Tensor bmask =
        program_.backwardMask(visited).index_select(0, nextT).contiguous();
    torch::Tensor pbLogits =
        outs.count("pb") ? outs.at("pb").index_select(0, nextT)
                         : torch::zeros({N, env.numBackwardActions},
                                        program_.options(torch::kFloat32));
    learned["log_pb"] =
        policyLogProb(program_, pbLogits, bmask, bactions).view({B, T1});
  }
  if (reads("log_f") && outs.count("logF"))
    learned["log_f"] = outs.at("logF").reshape({B, T1});
  if (torch::Tensor logZ = model_->scalar("logZ"); logZ.defined())
    learned["log_z"] = logZ.expand({B});
  if (reads("log_pf_exit")) {
    if (!env.hasStop)
      throw std::runtime_error("the objective reads t.log_pf_exit but the "
                               "environment has no exit action");
    torch::Tensor exits = torch::full({N}, int32_t(env.numActions - 1),
                                      program_.options(torch::kInt32));
    learned["log_pf_exit"] =
        policyLogProb(program_, pfLogits, fmask, exits).view({B, T1});
  }
  if (readsEdgeFlows_) {
    // Flow matching reads the policy head as log edge flows; the in-flow
    // of a state needs the logits of every parent.
    int64_t P = env.numBackwardActions;
    // Row i repeated P times (repeat_interleave would read its size back).
    torch::Tensor rows = torch::arange(N, program_.options(torch::kInt64))
                             .unsqueeze(1)
                             .expand({N, P})
                             .reshape({N * P});
    torch::Tensor through =
        torch::arange(P, program_.options(torch::kInt32)).repeat({N});
    State parents =
        program_.backwardStep(Program::select(visited, rows), through);
    auto parentOuts = model_->forward(program_.features(parents), "pf");
    torch::Tensor parentLogits =
        logitsOr(parentOuts, "pf", N * P, env.numActions, program_);
    EdgeFlows flows = edgeFlows(program_, pfLogits, fmask,
                                parentLogits.view({N, P, env.numActions}),
                                program_.backwardMask(visited));
    learned["log_in_flow"] = flows.in.view({B, T1});
    learned["log_out_flow"] = flows.out.view({B, T1});
    learned["log_exit_flow"] = flows.exit.view({B, T1});
  }
  data["log_r"] = r.logReward;
  data["n"] = r.n;
  data["exited"] = r.exited;
  if (needsStateRewards_) {
    // Per-state log-rewards; the energies are their negatives.
    torch::Tensor logRStep = program_.logReward(visited).view({B, T1});
    data["log_r_step"] = logRStep;
    data["energy"] = -logRStep;
  }
  return objectiveLoss(program_, learned, data).mean();
}

Metrics Trainer::evaluate(int64_t iteration, double loss) {
  Metrics m;
  m.iteration = iteration;
  m.loss = loss;
  if (evaluator_) {
    evaluator_->evaluate(model_, m);
    m.modesFound = seen_.index_select(0, modeCodes_).sum().item<int64_t>();
  } else if (torch::Tensor z = model_->scalar("logZ"); z.defined()) {
    m.logz = z.item<double>();
  }
  return m;
}

Metrics Trainer::run() {
  const TrainSpec &t = program_.train();
  std::string ckpt = options_.checkpoint.empty()
                         ? options_.outDir + "/checkpoint.pt"
                         : options_.checkpoint;
  int64_t start = 0;
  if (options_.resume)
    start = loadCheckpoint(ckpt);
  std::filesystem::create_directories(options_.outDir);
  std::ofstream metrics(options_.outDir + "/metrics.jsonl",
                        start > 0 ? std::ios::app : std::ios::trunc);
  bool tty = options_.progress && isatty(STDERR_FILENO);
  auto begin = Clock::now(), lastDraw = Clock::now();
  auto elapsed = [&] { return wallOffset_ + seconds(begin); };
  int64_t rateStart = start; // iterations/s since the clock was last reset
  Metrics last;
  // Loss and rewards stay on the device; they are read (a host round trip)
  // only for progress output and evaluation.
  torch::Tensor loss, logReward;
  // CUDA graphs: the first iteration runs as it is (the warm-up, on the
  // stream the graph is recorded on), the second is recorded and every
  // one from then on replays it. Rollouts are padded to the horizon, so
  // every iteration has the same shapes.
  bool graphs = options_.cudaGraph && program_.device().is_cuda() &&
                horizon_ > 0 && horizon_ <= options_.maxSteps;
  std::optional<CudaSideStream> sideStream;
  if (graphs)
    sideStream.emplace();
  // A graph from an earlier run is recorded again; gradients left by its
  // replays must not be accumulated into.
  dropGradients();
  graph_.reset();
  for (int64_t it = start; it < t.iterations; ++it) {
    syncForProfile();
    // Iteration `start` is the warm-up; the next one records the graph.
    bool replayed = graphs && it > start && replayGraph(it);
    graphs = graphs && (replayed || it == start); // off if recording failed
    if (replayed) {
      loss = graphLoss_;
      logReward = graphLogReward_;
    } else {
      auto t0 = Clock::now();
      Rollout r = rollout(it, t.batch, graphs ? horizon_ : 0);
      if (seen_.defined())
        seen_.index_fill_(0, program_.stateIndex(r.final), true);
      logReward = r.logReward;
      syncForProfile();
      profile_.rollout += seconds(t0);
      double objectiveBefore = profile_.objective;
      kernelTimer() = &profile_.objective;
      auto t1 = Clock::now();
      torch::Tensor l = this->loss(r);
      l.backward();
      kernelTimer() = nullptr;
      syncForProfile();
      profile_.networks += seconds(t1) - (profile_.objective - objectiveBefore);
      loss = l.detach();
    }
    auto t2 = Clock::now();
    optimizer_->step();
    // A replay writes the gradients into the buffers it recorded.
    if (!graph_)
      optimizer_->zero_grad();
    syncForProfile();
    profile_.optimizer += seconds(t2);
    ++profile_.iterations;
    profile_.trajectories += t.batch;
    int64_t done = it + 1;
    bool evalNow =
        (t.evalEvery > 0 && done % t.evalEvery == 0) || done == t.iterations;
    // A terminal redraws the progress line at most 10 times a second.
    bool draw = tty && (evalNow || seconds(lastDraw) >= 0.1);
    if (draw || (options_.progress && evalNow)) {
      double lastLoss = loss.item<double>();
      double rate =
          (done - rateStart) / std::max(elapsed() - wallOffset_, 1e-9);
      double eta = (t.iterations - done) / std::max(rate, 1e-9);
      if (tty) {
        lastDraw = Clock::now();
        int width = 30,
            filled = int(width * done / std::max<int64_t>(t.iterations, 1));
        std::fprintf(stderr,
                     "\r[%s%s] %lld/%lld loss %.4g  %.1f it/s  ETA %.0fs ",
                     std::string(filled, '#').c_str(),
                     std::string(width - filled, '.').c_str(), (long long)done,
                     (long long)t.iterations, lastLoss, rate, eta);
      } else {
        std::fprintf(stderr, "iteration %lld/%lld loss %.4g %.1f it/s\n",
                     (long long)done, (long long)t.iterations, lastLoss, rate);
      }
    }
    if (evalNow) {
      last = evaluate(done, loss.item<double>());
      torch::Tensor rewards = logReward.exp();
      last.meanReward = rewards.mean().item<double>();
      int64_t k = std::min<int64_t>(10, rewards.size(0));
      last.topkReward = std::get<0>(rewards.topk(k)).mean().item<double>();
      last.wallSeconds = elapsed();
      metrics << last.json() << "\n" << std::flush;
      wallOffset_ = last.wallSeconds;
      begin = Clock::now();
      rateStart = done;
      saveCheckpoint(ckpt, done);
    }
  }
  if (tty)
    std::fprintf(stderr, "\n");
  if (start >= t.iterations) {
    last = evaluate(start, 0);
    last.wallSeconds = wallOffset_;
  }
  return last;
}

bool Trainer::replayGraph(int64_t it) {
  auto t0 = Clock::now();
  if (!graph_) {
    // Gradients recorded from no gradient are written, not accumulated, at
    // each replay, into buffers of the graph's pool.
    dropGradients();
    auto graph = std::make_unique<CudaGraph>();
    try {
      graph->capture([&] {
        Rollout r =
            sample(program_.train().batch, horizon_, /*checkEnded=*/false);
        if (seen_.defined())
          seen_.index_fill_(0, program_.stateIndex(r.final), true);
        torch::Tensor l = loss(r);
        l.backward();
        graphLoss_ = l.detach();
        graphLogReward_ = r.logReward;
      });
    } catch (const std::exception &e) {
      // Gradients made while recording point into the failed graph's pool
      // and hold nothing computed.
      dropGradients();
      std::fprintf(stderr,
                   "gfl: warning: recording the CUDA graph failed (%s); "
                   "training goes on without graphs\n",
                   e.what());
      graphLoss_ = graphLogReward_ = torch::Tensor();
      return false;
    }
    graph_ = std::move(graph);
  }
  iteration_.fill_(it);
  graph_->replay();
  syncForProfile();
  profile_.graph += seconds(t0);
  return true;
}

void Trainer::saveCheckpoint(const std::string &path, int64_t iteration) const {
  c10::Dict<std::string, torch::Tensor> params, expAvg, expAvgSq;
  c10::Dict<std::string, int64_t> steps;
  auto &state = optimizer_->state();
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
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("format", std::string("gfl-checkpoint-1"));
  dict.insert("env", program_.env().name);
  dict.insert("iteration", iteration);
  dict.insert("params", params);
  dict.insert("adam_exp_avg", expAvg);
  dict.insert("adam_exp_avg_sq", expAvgSq);
  dict.insert("adam_step", steps);
  // Every terminal state sampled so far, by code (the modes among them are
  // counted at evaluation).
  std::vector<int64_t> found;
  if (seen_.defined()) {
    torch::Tensor codes = seen_.nonzero().reshape({-1}).cpu();
    found.assign(codes.data_ptr<int64_t>(),
                 codes.data_ptr<int64_t>() + codes.numel());
  }
  dict.insert("modes_found", c10::List<int64_t>(found));
  dict.insert("wall_s", wallOffset_);
  writeAtomically(path, torch::pickle_save(c10::IValue(dict)));
}

int64_t Trainer::loadCheckpoint(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read checkpoint '" + path + "'");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const std::exception &) {
    throw std::runtime_error("'" + path + "' is not a gfl checkpoint");
  }
  if (!value.isGenericDict())
    throw std::runtime_error("'" + path + "' is not a gfl checkpoint");
  auto dict = value.toGenericDict();
  auto get = [&](const char *key) {
    if (!dict.contains(key))
      throw std::runtime_error("'" + path + "' is not a gfl checkpoint (no " +
                               key + ")");
    return dict.at(key);
  };
  if (!get("format").isString() ||
      get("format").toStringRef() != "gfl-checkpoint-1")
    throw std::runtime_error("'" + path + "' is not a gfl checkpoint");
  if (get("env").toStringRef() != program_.env().name)
    throw std::runtime_error("checkpoint '" + path + "' is for environment '" +
                             get("env").toStringRef() + "', not '" +
                             program_.env().name + "'");
  auto params = get("params").toGenericDict();
  auto expAvg = get("adam_exp_avg").toGenericDict();
  auto expAvgSq = get("adam_exp_avg_sq").toGenericDict();
  auto steps = get("adam_step").toGenericDict();
  torch::NoGradGuard noGrad;
  auto &state = optimizer_->state();
  for (const auto &[name, p] : params_) {
    if (!params.contains(name))
      throw std::runtime_error("checkpoint '" + path + "' lacks parameter " +
                               name);
    torch::Tensor v = params.at(name).toTensor();
    if (v.sizes() != p.sizes())
      throw std::runtime_error("checkpoint '" + path + "': parameter " + name +
                               " has another shape");
    p.copy_(v);
    if (expAvg.contains(name)) {
      auto s = std::make_unique<torch::optim::AdamParamState>();
      s->exp_avg(expAvg.at(name).toTensor().to(p.device()).clone());
      s->exp_avg_sq(expAvgSq.at(name).toTensor().to(p.device()).clone());
      s->step(steps.at(name).toInt());
      state[compat::optimizerStateKey(p)] = std::move(s);
    }
  }
  if (seen_.defined()) {
    seen_.zero_();
    std::vector<int64_t> codes;
    for (const c10::IValue &v : get("modes_found").toList()) {
      int64_t c = v.toInt();
      if (c < 0 || c >= seen_.size(0))
        throw std::runtime_error("checkpoint '" + path +
                                 "' has a state code out of range");
      codes.push_back(c);
    }
    seen_.index_fill_(0, torch::tensor(codes, torch::kInt64).to(seen_.device()),
                      true);
  }
  wallOffset_ = get("wall_s").toDouble();
  return get("iteration").toInt();
}

} // namespace gfl

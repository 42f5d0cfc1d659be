//===- Loss.cpp - The training loss of a batch of trajectories ------------===//

#include "gfl/Runtime/Loss.h"

#include "CompiledFunctions.h"
#include "HostRows.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace gfl {

namespace {

/// The visited states of a rollout, one row per state, in the order of
/// the [B, T+1] grid (trajectory-major). Padded: every row of the grid,
/// row b*(T+1)+k is s_k of trajectory b (the rows after a trajectory's end
/// repeat its last state). Packed: only the states of each trajectory,
/// s_0 .. s_L after L actions (the exit included); the networks, the
/// policy kernels and the state functions see only those rows.
struct Visited {
  int64_t batch = 0, width = 0; // B, T+1
  int64_t rows = 0;
  State states;
  torch::Tensor features; // [N, F]
  torch::Tensor actions;  // [N] int32
  torch::Tensor next;     // [N] int64: the row of the successor
  torch::Tensor cond;     // [N, C] or undefined
  torch::Tensor first;    // [B] int64: the row of each trajectory's s_0
  torch::Tensor ends;     // [B] int64: the row of each trajectory's last state
  /// [B+1] int32: trajectory b's rows are [offsets[b], offsets[b+1]), as
  /// the objective kernel reads its sequences.
  torch::Tensor offsets;
  /// [N] int64, packed: the place of each row in the grid; undefined:
  /// padded.
  torch::Tensor grid;
};

/// Whether every tensor of `r` that visit() reads can be read on the host
/// (HostRows.h), so that the packed layout can be built there.
bool readableOnHost(const Rollout &r) {
  if (!onHost(r.actions) || r.actions.scalar_type() != torch::kInt32 ||
      !onHost(r.features) || (r.cond.defined() && !onHost(r.cond)))
    return false;
  for (const State &s : r.states)
    for (const torch::Tensor &field : s)
      if (!onHost(field) || field.dim() == 0)
        return false;
  return true;
}

/// The packed rows of a CPU rollout, built in one pass over its actions
/// (the same tensors as the ops of visit() build, without their dozens of
/// dispatches and allocations). False, having set nothing, where packing
/// would leave no row out.
bool visitPackedOnHost(const Rollout &r, Visited &v) {
  int64_t B = r.batch, T1 = r.steps + 1;
  const int32_t *actions = r.actions.data_ptr<int32_t>();
  std::vector<int64_t> counts(B);
  int64_t N = 0;
  for (int64_t b = 0; b < B; ++b) {
    counts[b] = std::count_if(actions + b * T1, actions + (b + 1) * T1,
                              [](int32_t a) { return a >= 0; });
    N += counts[b] + 1;
  }
  if (N == B * T1)
    return false;
  auto longs = r.actions.options().dtype(torch::kInt64);
  v.grid = torch::empty({N}, longs);
  v.next = torch::empty({N}, longs);
  v.actions = torch::empty({N}, r.actions.options());
  v.first = torch::empty({B}, longs);
  v.ends = torch::empty({B}, longs);
  v.offsets = torch::empty({B + 1}, r.actions.options());
  torch::Tensor traj = torch::empty({N}, longs);
  torch::Tensor stepMajor = torch::empty({N}, longs);
  int64_t *grid = v.grid.data_ptr<int64_t>(),
          *next = v.next.data_ptr<int64_t>(),
          *first = v.first.data_ptr<int64_t>(),
          *ends = v.ends.data_ptr<int64_t>(), *tr = traj.data_ptr<int64_t>(),
          *major = stepMajor.data_ptr<int64_t>();
  int32_t *acts = v.actions.data_ptr<int32_t>(),
          *offsets = v.offsets.data_ptr<int32_t>();
  int64_t row = 0;
  for (int64_t b = 0; b < B; ++b) {
    offsets[b] = static_cast<int32_t>(row);
    first[b] = row;
    ends[b] = row + counts[b];
    for (int64_t k = 0; k <= counts[b]; ++k, ++row) {
      grid[row] = b * T1 + k;
      next[row] = row + (k < counts[b] ? 1 : 0);
      acts[row] = actions[b * T1 + k];
      tr[row] = b;
      major[row] = k * B + b;
    }
  }
  offsets[B] = static_cast<int32_t>(N);
  v.rows = N;
  // Field f of row (b, k) is row b of step k's field.
  for (size_t f = 0; f < r.states.front().size(); ++f) {
    const torch::Tensor &like = r.states.front()[f];
    std::vector<int64_t> shape = like.sizes().vec();
    shape[0] = N;
    torch::Tensor out = torch::empty(shape, like.options());
    int64_t bytes = like.numel() / B * like.element_size();
    char *to = static_cast<char *>(out.data_ptr());
    for (int64_t i = 0; i < N; ++i)
      std::memcpy(
          to + i * bytes,
          static_cast<const char *>(r.states[major[i] / B][f].data_ptr()) +
              tr[i] * bytes,
          bytes);
    v.states.push_back(out);
  }
  v.features = selectRows(r.features.flatten(0, 1), stepMajor);
  if (r.cond.defined())
    v.cond = selectRows(r.cond, traj);
  return true;
}

Visited visit(const Program &program, const Rollout &r, bool pack) {
  int64_t B = r.batch, T1 = r.steps + 1;
  auto longs = program.options(torch::kInt64);
  Visited v;
  v.batch = B;
  v.width = T1;
  if (pack && readableOnHost(r) && visitPackedOnHost(r, v))
    return v;
  torch::Tensor counts = actionCounts(r); // [B]: s_counts is the last state
  torch::Tensor b = torch::arange(B, longs).unsqueeze(1);
  torch::Tensor k = torch::arange(T1, longs).unsqueeze(0);
  if (pack) {
    v.grid = k.le(counts.unsqueeze(1)).reshape({-1}).nonzero().reshape({-1});
    if (v.grid.size(0) == B * T1)
      v.grid = torch::Tensor(); // nothing to leave out
  }
  torch::Tensor traj, step;
  if (v.grid.defined()) {
    traj = v.grid.div(T1, "floor");
    step = v.grid - traj * T1;
    v.first = (counts + 1).cumsum(0) - (counts + 1);
    // The successor is the next row while the trajectory runs, the row
    // itself at its end.
    v.next = torch::arange(v.grid.size(0), longs) +
             step.lt(counts.index_select(0, traj));
    v.actions = r.actions.reshape({-1}).index_select(0, v.grid);
  } else {
    traj = b.expand({B, T1}).reshape({-1});
    step = k.expand({B, T1}).reshape({-1});
    v.first = b.reshape({-1}) * T1;
    v.next = (b * T1 + (k + 1).clamp_max(T1 - 1)).reshape({-1});
    v.actions = r.actions.reshape({-1}).contiguous();
  }
  v.ends = v.first + counts;
  v.rows = traj.size(0);
  v.offsets =
      torch::cat({v.first, torch::full({1}, v.rows, longs)}).to(torch::kInt32);
  // Row s_k of trajectory b is row k*B+b of the steps' concatenation.
  torch::Tensor stepMajor = step * B + traj;
  v.states = Program::select(Program::cat(r.states), stepMajor);
  v.features = r.features.flatten(0, 1).index_select(0, stepMajor);
  if (r.cond.defined())
    v.cond = r.cond.index_select(0, traj);
  return v;
}

/// A per-row quantity `x` [N] as the [B, T+1] grid; 0 at the rows packing
/// left out.
torch::Tensor toGrid(const Visited &v, const torch::Tensor &x) {
  if (!v.grid.defined())
    return x.view({v.batch, v.width});
  return torch::zeros({v.batch * v.width}, x.options())
      .index_copy(0, v.grid, x)
      .view({v.batch, v.width});
}

/// The rows of a [B, T+1] grid `x` (what the sampler recorded per step).
torch::Tensor fromGrid(const Visited &v, const torch::Tensor &x) {
  torch::Tensor flat = x.reshape({-1});
  return v.grid.defined() ? flat.index_select(0, v.grid) : flat.contiguous();
}

/// P_F's logits on the visited states from the rollout's tape: its rows
/// replayed (the graph without the layers' products), zeros elsewhere. The
/// rollout did not evaluate the state where each trajectory ended; with
/// `atEnds` (the objective reads the policy there) those rows are computed
/// here.
torch::Tensor keptPolicyLogits(const Program &program, Model &model,
                               const Visited &v, const Rollout &r,
                               bool atEnds) {
  const PolicyTape &kept = *r.policyTape;
  LinearTape replay = kept.linears;
  replay.mode = LinearTape::Mode::Replay;
  // The tape's rows are places b*(T+1)+k in the grid.
  torch::Tensor traj = kept.rows.div(v.width, "floor");
  torch::Tensor rows =
      v.first.index_select(0, traj) + (kept.rows - traj * v.width);
  torch::Tensor logits =
      torch::zeros({v.rows, program.env().numActions},
                   v.features.options().dtype(torch::kFloat32))
          .index_copy(0, rows,
                      model->policyLogits(kept.features, kept.cond, &replay));
  if (!atEnds)
    return logits;
  torch::Tensor cond =
      v.cond.defined() ? v.cond.index_select(0, v.ends) : torch::Tensor();
  return logits.index_copy(
      0, v.ends, model->policyLogits(v.features.index_select(0, v.ends), cond));
}

/// log P_B of the transitions: the backward action of each non-exit
/// action, in the successor state.
torch::Tensor
backwardLogProb(const Program &program, Model &model, const Visited &v,
                const std::map<std::string, torch::Tensor> &outs) {
  const EnvSpec &env = program.env();
  int64_t exitIndex = env.hasStop ? env.numActions - 1 : -2;
  torch::Tensor bactions =
      v.actions.masked_fill(v.actions.eq(exitIndex), -1).contiguous();
  torch::Tensor bmask =
      program.backwardMask(v.states).index_select(0, v.next).contiguous();
  torch::Tensor pbLogits =
      model->logits(outs, "pb", v.rows, v.features.options())
          .index_select(0, v.next)
          .contiguous();
  return policyLogProb(program, pbLogits, bmask, bactions);
}

} // namespace

TrajectoryLoss::TrajectoryLoss(const Program &program, Model &model)
    : program_(program), model_(model) {
  const TrainSpec &t = program.train();
  if (t.objective.empty())
    throw std::runtime_error("the artifact has no train block");
  const std::string obj = "gfl_obj_" + t.objective;
  if (!program.hasKernel(obj + "_grad"))
    throw std::runtime_error("the artifact has no gradient kernel for "
                             "objective '" +
                             t.objective + "'");
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
  if (reads("log_pf_exit") && !program.env().hasStop)
    throw std::runtime_error("the objective reads t.log_pf_exit but the "
                             "environment has no exit action");
  if (reads("value") && !program.net("value"))
    throw std::runtime_error("the objective reads t.value but the model has "
                             "no 'value' network");
  readsPolicyAtEnd_ = readsEdgeFlows_ || reads("log_pf_exit") ||
                      reads("logit") || reads("log_norm") || reads("entropy");
  policyReplayable_ = (readsPolicyAtEnd_ || reads("log_pf")) &&
                      t.epochs * t.minibatches == 1 &&
                      !model->parametersOf("pf").empty();
  // P_F's logits serve every policy quantity (and the log-probabilities of
  // a backward-drawn batch); a head that no read needs is not run.
  onlineNets_.insert("pf");
  if (reads("log_pb"))
    onlineNets_.insert("pb");
  if (reads("log_f"))
    onlineNets_.insert("logF");
  if (reads("value"))
    onlineNets_.insert("value");
  if (takes("logit_target") || takes("log_norm_target"))
    targetNets_.insert("pf");
  if (takes("value_target"))
    targetNets_.insert("value");
}

bool TrajectoryLoss::packs() const {
  if (packing_ != Packing::Auto)
    return packing_ == Packing::Packed;
  // A GPU keeps fixed shapes, which CUDA graphs replay; the networks of a
  // CPU see only the rows of states that exist.
  return !program_.device().is_cuda();
}

bool TrajectoryLoss::keepsRolloutPolicy() const {
  return policyReplayable_ && packs();
}

bool TrajectoryLoss::takes(const std::string &name) const {
  return program_.kernelHasArg("gfl_obj_" + program_.train().objective, name);
}

StepLogProbs TrajectoryLoss::logProbs(const Rollout &r) const {
  torch::NoGradGuard noGrad;
  const EnvSpec &env = program_.env();
  Visited v = visit(program_, r, packs());
  auto outs = model_->forward(v.features, v.cond, {"pf", "pb"});
  torch::Tensor pf = model_->logits(outs, "pf", v.rows, v.features.options());
  StepLogProbs lp;
  lp.forward =
      toGrid(v, policyLogProb(program_, pf, program_.forwardMask(v.states),
                              v.actions));
  lp.backward = env.numBackwardActions > 0
                    ? toGrid(v, backwardLogProb(program_, model_, v, outs))
                    : torch::zeros({r.batch, r.steps + 1}, pf.options());
  return lp;
}

torch::Tensor TrajectoryLoss::operator()(const Rollout &r) const {
  const EnvSpec &env = program_.env();
  Visited v = visit(program_, r, packs());
  int64_t B = r.batch, N = v.rows;
  torch::Tensor fmask = program_.forwardMask(v.states);
  // An on-policy rollout may have kept P_F's forward (keepsRolloutPolicy).
  bool kept = r.policyTape != nullptr;
  std::set<std::string> nets = onlineNets_;
  if (kept)
    nets.erase("pf");
  auto outs = nets.empty() ? std::map<std::string, torch::Tensor>()
                           : model_->forward(v.features, v.cond, nets);
  torch::Tensor pfLogits =
      kept ? keptPolicyLogits(program_, model_, v, r, readsPolicyAtEnd_)
           : model_->logits(outs, "pf", N, v.features.options());
  // The per-state quantities the objective reads, as ragged rows: those of
  // trajectory b are [offsets[b], offsets[b+1]).
  std::map<std::string, torch::Tensor> learned, data;
  if (reads("log_pf"))
    learned["log_pf"] = policyLogProb(program_, pfLogits, fmask, v.actions);
  if (reads("log_pb") && env.numBackwardActions > 0)
    learned["log_pb"] = backwardLogProb(program_, model_, v, outs);
  if (reads("log_f") && outs.count("logF"))
    learned["log_f"] = outs.at("logF");
  if (model_->hasLogZ())
    learned["log_z"] = model_->logZ(B, r.cond, v.features.options());
  if (reads("log_pf_exit")) {
    torch::Tensor exits = torch::full({N}, int32_t(env.numActions - 1),
                                      program_.options(torch::kInt32));
    learned["log_pf_exit"] = policyLogProb(program_, pfLogits, fmask, exits);
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
        program_.backwardStep(Program::select(v.states, rows), through);
    torch::Tensor parentCond =
        v.cond.defined() ? v.cond.index_select(0, rows) : torch::Tensor();
    torch::Tensor parentLogits =
        model_->policyLogits(program_.features(parents), parentCond);
    EdgeFlows flows = edgeFlows(program_, pfLogits, fmask,
                                parentLogits.view({N, P, env.numActions}),
                                program_.backwardMask(v.states));
    learned["log_in_flow"] = flows.in;
    learned["log_out_flow"] = flows.out;
    learned["log_exit_flow"] = flows.exit;
  }
  // Update rules: statistics of the policy at every visited state, the
  // value head, what the sampler recorded, target networks, step rewards.
  if (reads("logit") || reads("log_norm") || reads("entropy")) {
    PolicyStats st = policyStats(program_, pfLogits, fmask, v.actions);
    for (auto [name, t] :
         {std::pair{"logit", st.logit}, std::pair{"log_norm", st.logNorm},
          std::pair{"entropy", st.entropy}})
      if (reads(name))
        learned[name] = t;
  }
  if (reads("value"))
    learned["value"] = outs.at("value");
  if (takes("log_pf_old") || takes("log_q")) {
    torch::Tensor current;
    if (!r.logPfOld.defined()) {
      // Drawn backward (replay, local search): the current policy stands
      // for the one that drew them (ratio 1).
      torch::NoGradGuard noGrad;
      current = policyLogProb(program_, pfLogits.detach(), fmask, v.actions);
    }
    data["log_pf_old"] =
        r.logPfOld.defined() ? fromGrid(v, r.logPfOld) : current;
    data["log_q"] = r.logQ.defined() ? fromGrid(v, r.logQ) : current;
  }
  if (takes("logit_target") || takes("log_norm_target") ||
      takes("value_target")) {
    if (!target_)
      throw std::runtime_error("the objective reads a target network, but "
                               "the train block declares none");
    torch::NoGradGuard noGrad;
    auto touts = (*target_)->forward(v.features, v.cond, targetNets_);
    if (targetNets_.count("pf")) {
      torch::Tensor tl =
          (*target_)->logits(touts, "pf", N, v.features.options());
      PolicyStats st = policyStats(program_, tl, fmask, v.actions);
      data["logit_target"] = st.logit;
      data["log_norm_target"] = st.logNorm;
    }
    if (takes("value_target"))
      data["value_target"] = touts.at("value");
  }
  if (takes("reward")) {
    // The reward of move k is that of the state it leads to; the exit and
    // the padding earn 0 (the terminal reward is log R).
    torch::Tensor moves = v.actions.ge(0);
    if (env.hasStop)
      moves = moves.logical_and(v.actions.ne(env.numActions - 1));
    torch::Tensor reward = torch::zeros({N}, pfLogits.options());
    if (env.hasStepReward) {
      auto at = torch::empty({N}, pfLogits.options());
      std::map<std::string, torch::Tensor> args{{"reward", at}};
      program_.bindState(args, "state", v.states);
      program_.call("gfl_step_reward", args);
      reward = torch::where(moves, at.index_select(0, v.next), reward);
    }
    data["reward"] = reward.contiguous();
  }
  data["offsets"] = v.offsets;
  data["log_r"] = r.logReward;
  data["n"] = r.n;
  data["exited"] = r.exited;
  if (needsStateRewards_) {
    // Per-state log-rewards; the energies are their negatives.
    torch::Tensor logRStep = program_.logReward(v.states, v.cond);
    data["log_r_step"] = logRStep;
    data["energy"] = -logRStep;
  }
  return objectiveLoss(program_, learned, data).mean();
}

} // namespace gfl

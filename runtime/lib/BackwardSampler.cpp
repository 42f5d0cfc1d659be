//===- BackwardSampler.cpp - The backward rollout -------------------------===//

#include "gfl/Runtime/BackwardSampler.h"

#include <stdexcept>

namespace gfl {

BackwardSampler::BackwardSampler(const Program &program, Model &model,
                                 int64_t endCheckEvery, int64_t maxSteps)
    : program_(program), model_(model), endCheckEvery_(endCheckEvery),
      maxSteps_(maxSteps) {}

torch::Tensor BackwardSampler::canEnd(const State &x) const {
  const EnvSpec &env = program_.env();
  torch::Tensor ok = program_.terminal(x);
  if (env.hasStop)
    ok = ok.logical_or(program_.forwardMask(x).select(1, env.numActions - 1));
  return ok;
}

Rollout BackwardSampler::sample(const State &terminal, const BackwardDraw &draw,
                                torch::Tensor *logPb) const {
  torch::NoGradGuard noGrad;
  const EnvSpec &env = program_.env();
  if (env.numBackwardActions == 0 ||
      !program_.hasKernel("gfl_sample_backward_step"))
    throw std::runtime_error("backward sampling needs backward actions and "
                             "the artifact's gfl_sample_backward_step");
  auto opts = [&](torch::ScalarType d) { return program_.options(d); };
  int64_t batch = terminal[0].size(0);
  State s = terminal;
  torch::Tensor feats = program_.features(s);
  torch::Tensor ended = torch::zeros({batch}, opts(torch::kBool));
  torch::Tensor stuck = torch::zeros({batch}, opts(torch::kBool));
  std::vector<State> walk{s};
  std::vector<torch::Tensor> featList{feats}, actList, logPbList;
  WalkLength length(program_, endCheckEvery_, 0, maxSteps_, "backward walks");
  for (int64_t step = 0; !length.stop(step, ended); ++step) {
    torch::Tensor logits = model_->backwardLogits(feats, draw.cond);
    State prev = program_.emptyState(batch);
    auto action = torch::empty({batch}, opts(torch::kInt32));
    auto lp = torch::empty({batch}, opts(torch::kFloat32));
    auto done = torch::empty({batch}, opts(torch::kBool));
    auto stuckNow = torch::empty({batch}, opts(torch::kBool));
    auto prevFeats =
        torch::empty({batch, env.featureSize}, opts(torch::kFloat32));
    std::map<std::string, torch::Tensor> args{
        {"logits", logits},      {"ended", ended},
        {"action", action},      {"log_pb", lp},
        {"done", done},          {"stuck", stuckNow},
        {"features", prevFeats}, {"iteration", draw.iteration}};
    program_.bindState(args, "state", s);
    program_.bindState(args, "prev", prev);
    program_.call("gfl_sample_backward_step", args,
                  {{"seed", double(program_.train().seed)},
                   {"step", double(step)},
                   {"stream", double(draw.stream)},
                   {"first", double(draw.first)}});
    stuck = stuck.logical_or(stuckNow);
    actList.push_back(action);
    logPbList.push_back(lp);
    s = prev;
    feats = prevFeats;
    ended = done;
    featList.push_back(feats);
    walk.push_back(s);
  }
  if (stuck.any().item<bool>()) {
    int64_t row = stuck.nonzero()[0][0].item<int64_t>();
    throw std::runtime_error("backward sampling from " +
                             program_.describe(terminal, row) + " reached " +
                             program_.describe(walk.back(), row) +
                             ", which has no parent and is not s0");
  }
  int64_t Tb = length.taken(static_cast<int64_t>(actList.size()));
  actList.resize(Tb);
  logPbList.resize(Tb);
  featList.resize(Tb + 1);
  walk.resize(Tb + 1);

  // Reverse: forward state k of row b is walk state m_b - k (x once past
  // the end), forward action k < m_b is the backward action of walk step
  // m_b - 1 - k, and a terminal state that is not `terminal when` exits.
  auto longs = opts(torch::kInt64);
  torch::Tensor m = Tb > 0 ? torch::stack(actList, 1).ge(0).sum(1)
                           : torch::zeros({batch}, longs);
  torch::Tensor exits = env.hasStop ? program_.terminal(terminal).logical_not()
                                    : torch::zeros({batch}, opts(torch::kBool));
  int64_t T = (m + exits.to(torch::kInt64)).max().item<int64_t>();
  torch::Tensor k = torch::arange(T + 1, longs).unsqueeze(1);  // [T+1, 1]
  torch::Tensor stepIndex = (m.unsqueeze(0) - k).clamp_min(0); // [T+1, B]
  torch::Tensor rows =
      (stepIndex * batch + torch::arange(batch, longs).unsqueeze(0))
          .reshape(-1);
  auto gather = [&](const std::vector<torch::Tensor> &steps) {
    torch::Tensor stacked = torch::stack(steps, 0);
    std::vector<int64_t> shape = stacked.sizes().vec();
    shape[0] = T + 1;
    return stacked.flatten(0, 1).index_select(0, rows).view(shape);
  };
  std::vector<State> states(T + 1);
  for (size_t f = 0; f < env.fields.size(); ++f) {
    std::vector<torch::Tensor> steps;
    for (const State &w : walk)
      steps.push_back(w[f]);
    torch::Tensor g = gather(steps);
    for (int64_t i = 0; i <= T; ++i)
      states[i].push_back(g[i].contiguous());
  }
  torch::Tensor features = gather(featList);
  // Columns of the backward actions (and log P_B) in forward order.
  torch::Tensor kt = k.t();                  // [1, T+1]
  torch::Tensor j = m.unsqueeze(1) - 1 - kt; // [B, T+1]
  torch::Tensor inWalk = j.ge(0);
  torch::Tensor column = j.clamp(0, std::max<int64_t>(Tb - 1, 0));
  torch::Tensor exitAt = kt.eq(m.unsqueeze(1)).logical_and(exits.unsqueeze(1));
  torch::Tensor none = torch::full({batch, T + 1}, -1, opts(torch::kInt32));
  torch::Tensor actions = none;
  torch::Tensor logPbF = torch::zeros({batch, T + 1}, opts(torch::kFloat32));
  if (Tb > 0) {
    torch::Tensor back = torch::stack(actList, 1).gather(1, column);
    actions = torch::where(inWalk, back, none);
    logPbF = torch::where(inWalk, torch::stack(logPbList, 1).gather(1, column),
                          logPbF);
  }
  actions = torch::where(exitAt,
                         torch::full_like(actions, int32_t(env.numActions - 1)),
                         actions)
                .contiguous();
  if (logPb)
    *logPb = logPbF.contiguous();
  Rollout r;
  r.batch = batch;
  r.steps = T;
  r.states = std::move(states);
  r.features = features.contiguous();
  r.actions = actions;
  r.n = m.to(torch::kInt32);
  r.exited = exits;
  r.final = terminal;
  r.cond = draw.cond;
  r.logReward = program_.logReward(terminal, draw.cond);
  return r;
}

} // namespace gfl

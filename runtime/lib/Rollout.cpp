//===- Rollout.cpp - Assembling and recombining batches of trajectories ---===//

#include "gfl/Runtime/Rollout.h"

#include "HostRows.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace gfl {

namespace {

/// `mask` [B] shaped to broadcast against `like` [B, ...].
torch::Tensor rowMask(const torch::Tensor &mask, const torch::Tensor &like) {
  std::vector<int64_t> shape(like.dim(), 1);
  shape[0] = mask.size(0);
  return mask.view(shape);
}

/// Rows `index[k, b] * B + b` of `stacked` [S, B, ...] as [K, B, ...].
torch::Tensor gatherSteps(const torch::Tensor &stacked,
                          const torch::Tensor &index) {
  int64_t B = stacked.size(1);
  torch::Tensor rows =
      (index * B + torch::arange(B, index.options()).unsqueeze(0)).reshape(-1);
  std::vector<int64_t> shape = stacked.sizes().vec();
  shape[0] = index.size(0);
  return stacked.flatten(0, 1).index_select(0, rows).view(shape);
}

/// Splits [K, B, ...] along the steps into K states.
void unstack(const State &stacked, std::vector<State> &out) {
  int64_t K = stacked[0].size(0);
  out.assign(K, State());
  for (const torch::Tensor &field : stacked)
    for (int64_t k = 0; k < K; ++k)
      out[k].push_back(field[k].contiguous());
}

/// The steps after which every trajectory has ended: the longest action
/// count (a host read).
int64_t longest(const torch::Tensor &actions) {
  return actions.numel() == 0 ? 0 : actions.ge(0).sum(1).max().item<int64_t>();
}

/// Fills n and exited from the actions; the exit is the last flat action.
void countTransitions(const Program &program, Rollout &r) {
  const EnvSpec &env = program.env();
  int64_t exitIndex = env.hasStop ? env.numActions - 1 : -2;
  if (onHost(r.actions) && r.actions.scalar_type() == torch::kInt32) {
    // One pass over [B, T+1] instead of seven LibTorch ops.
    int64_t B = r.actions.size(0), width = r.actions.size(1);
    r.n = torch::empty({B}, r.actions.options());
    r.exited = torch::empty({B}, r.actions.options().dtype(torch::kBool));
    const int32_t *a = r.actions.data_ptr<int32_t>();
    int32_t *n = r.n.data_ptr<int32_t>();
    bool *exited = r.exited.data_ptr<bool>();
    for (int64_t b = 0; b < B; ++b, a += width) {
      int32_t moves = 0;
      bool exit = false;
      for (int64_t k = 0; k < width; ++k) {
        exit = exit || a[k] == exitIndex;
        moves += a[k] >= 0 && a[k] != exitIndex;
      }
      n[b] = moves;
      exited[b] = exit;
    }
    return;
  }
  torch::Tensor isExit = r.actions.eq(exitIndex);
  r.n = r.actions.ge(0)
            .logical_and(isExit.logical_not())
            .sum(1)
            .to(torch::kInt32);
  r.exited = isExit.any(1);
}

/// Keeps steps 0..T of `r` (every trajectory has ended by then).
void trim(Rollout &r, int64_t T) {
  r.states.resize(T + 1);
  r.features = r.features.slice(0, 0, T + 1).contiguous();
  r.actions = r.actions.slice(1, 0, T + 1).contiguous();
  for (torch::Tensor *t : {&r.logPfOld, &r.logQ})
    if (t->defined())
      *t = t->slice(1, 0, T + 1).contiguous();
  r.steps = T;
}

} // namespace

WalkLength::WalkLength(const Program &program, int64_t endCheckEvery,
                       int64_t padded, int64_t maxSteps, const char *what)
    : every_(padded > 0                   ? padded + 1
             : endCheckEvery > 0          ? endCheckEvery
             : program.device().is_cuda() ? 8
                                          : 1),
      padded_(padded), maxSteps_(maxSteps), what_(what) {}

bool WalkLength::stop(int64_t step, const torch::Tensor &ended) {
  if (padded_ > 0 ? step == padded_ : step % every_ == 0 && allSet(ended))
    return true;
  if (step >= maxSteps_)
    throw std::runtime_error(std::string(what_) + " did not end within " +
                             std::to_string(maxSteps_) + " steps");
  if (padded_ == 0 && every_ > 1)
    allEnded_.push_back(ended.all());
  return false;
}

int64_t WalkLength::taken(int64_t steps) const {
  if (padded_ > 0 || every_ == 1 || steps == 0)
    return steps;
  return steps - torch::stack(allEnded_).sum().item<int64_t>();
}

Rollout assembleRollout(const Program &program, std::vector<State> states,
                        std::vector<torch::Tensor> features,
                        std::vector<torch::Tensor> actions,
                        const torch::Tensor &cond) {
  Rollout r;
  r.batch = states.front()[0].size(0);
  r.steps = static_cast<int64_t>(actions.size());
  r.states = std::move(states);
  r.features = torch::stack(features, 0);
  // The column after the last step: every trajectory has ended.
  actions.push_back(
      torch::full({r.batch}, -1, r.features.options().dtype(torch::kInt32)));
  r.actions = torch::stack(actions, 1).contiguous(); // [B, T+1]
  countTransitions(program, r);
  r.final = r.states.back();
  r.cond = cond;
  r.logReward = program.logReward(r.final, cond);
  return r;
}

State stackSteps(const std::vector<State> &steps) {
  State out;
  for (size_t f = 0; f < steps.front().size(); ++f) {
    std::vector<torch::Tensor> parts;
    parts.reserve(steps.size());
    for (const State &s : steps)
      parts.push_back(s[f]);
    out.push_back(torch::stack(parts, 0));
  }
  return out;
}

torch::Tensor actionCounts(const Rollout &r) { return r.actions.ge(0).sum(1); }

State statesAt(const Rollout &r, const torch::Tensor &index) {
  State out;
  for (const torch::Tensor &field : stackSteps(r.states))
    out.push_back(gatherSteps(field, index.clamp(0, r.steps).unsqueeze(0))
                      .select(0, 0)
                      .contiguous());
  return out;
}

Rollout splice(const Rollout &prefix, const torch::Tensor &prefixLength,
               const Rollout &suffix) {
  int64_t Tp = prefix.steps, Ts = suffix.steps, B = prefix.batch;
  auto longs = prefixLength.options().dtype(torch::kInt64);
  torch::Tensor p = prefixLength.to(torch::kInt64);
  torch::Tensor counts = actionCounts(suffix);
  int64_t T = (p + counts).max().item<int64_t>();
  // Step k of row b: prefix step k while k <= p_b, then suffix step
  // k - p_b (its last state once it has ended).
  torch::Tensor k = torch::arange(T + 1, longs).unsqueeze(1); // [T+1, 1]
  torch::Tensor fromPrefix = k.le(p.unsqueeze(0));            // [T+1, B]
  torch::Tensor stepIndex =
      torch::where(fromPrefix, k.expand({T + 1, B}),
                   (Tp + 1) + (k - p.unsqueeze(0)).clamp(0, Ts));
  State a = stackSteps(prefix.states), b = stackSteps(suffix.states), joined;
  for (size_t f = 0; f < a.size(); ++f)
    joined.push_back(gatherSteps(torch::cat({a[f], b[f]}, 0), stepIndex));
  Rollout r;
  r.batch = B;
  r.steps = T;
  unstack(joined, r.states);
  r.features =
      gatherSteps(torch::cat({prefix.features, suffix.features}, 0), stepIndex);
  // Action k of row b: the prefix's while k < p_b, then the suffix's
  // action k - p_b, then -1.
  torch::Tensor none = torch::full({B, 1}, -1, prefix.actions.options());
  torch::Tensor actions = torch::cat({prefix.actions, suffix.actions, none}, 1);
  torch::Tensor kt = k.t();                      // [1, T+1]
  torch::Tensor pb = p.unsqueeze(1);             // [B, 1]
  torch::Tensor afterEnd = (kt - pb).ge(Ts + 1); // past the suffix
  torch::Tensor column = torch::where(
      kt.lt(pb), kt.expand({B, T + 1}),
      torch::where(afterEnd, torch::full_like(kt - pb, Tp + 1 + Ts + 1),
                   (Tp + 1) + (kt - pb)));
  r.actions = actions.gather(1, column).contiguous();
  // The recorded log-probabilities follow their actions.
  auto spliceColumns = [&](const torch::Tensor &a, const torch::Tensor &b) {
    if (!a.defined() || !b.defined())
      return torch::Tensor();
    torch::Tensor zero = torch::zeros({B, 1}, a.options());
    return torch::cat({a, b, zero}, 1).gather(1, column).contiguous();
  };
  r.logPfOld = spliceColumns(prefix.logPfOld, suffix.logPfOld);
  r.logQ = spliceColumns(prefix.logQ, suffix.logQ);
  r.n = (p + suffix.n.to(torch::kInt64)).to(torch::kInt32);
  r.exited = suffix.exited;
  r.final = suffix.final;
  r.logReward = suffix.logReward;
  r.cond = suffix.cond.defined() ? suffix.cond : prefix.cond;
  return r;
}

Rollout selectRows(const Rollout &r, const torch::Tensor &rows) {
  Rollout out;
  out.batch = rows.size(0);
  out.steps = r.steps;
  for (const State &s : r.states)
    out.states.push_back(Program::select(s, rows));
  out.features = r.features.index_select(1, rows).contiguous();
  out.actions = r.actions.index_select(0, rows).contiguous();
  out.n = r.n.index_select(0, rows);
  out.exited = r.exited.index_select(0, rows);
  out.final = Program::select(r.final, rows);
  out.logReward = r.logReward.index_select(0, rows);
  for (auto [from, to] :
       {std::pair{&r.cond, &out.cond}, std::pair{&r.logPfOld, &out.logPfOld},
        std::pair{&r.logQ, &out.logQ}})
    if (from->defined())
      *to = from->index_select(0, rows).contiguous();
  trim(out, longest(out.actions));
  return out;
}

Rollout padRollout(const Rollout &r, int64_t steps) {
  if (steps <= r.steps)
    return r;
  Rollout out = r;
  out.policyTape.reset(); // rows of the unpadded grid
  for (int64_t k = r.steps; k < steps; ++k)
    out.states.push_back(r.states.back());
  torch::Tensor last = r.features.select(0, r.steps).unsqueeze(0);
  out.features =
      torch::cat({r.features, last.expand({steps - r.steps, -1, -1})}, 0);
  out.actions = torch::cat({r.actions, torch::full({r.batch, steps - r.steps},
                                                   -1, r.actions.options())},
                           1);
  for (torch::Tensor *t : {&out.logPfOld, &out.logQ})
    if (t->defined())
      *t = torch::cat(
          {*t, torch::zeros({r.batch, steps - r.steps}, t->options())}, 1);
  out.steps = steps;
  return out;
}

Rollout chooseRows(const Rollout &a, const Rollout &b,
                   const torch::Tensor &takeA) {
  int64_t T = std::max(a.steps, b.steps);
  Rollout pa = padRollout(a, T), pb = padRollout(b, T);
  auto pick = [&](const torch::Tensor &x, const torch::Tensor &y) {
    return torch::where(rowMask(takeA, x), x, y).contiguous();
  };
  Rollout r;
  r.batch = a.batch;
  r.steps = T;
  for (int64_t k = 0; k <= T; ++k) {
    State s;
    for (size_t f = 0; f < pa.states[k].size(); ++f)
      s.push_back(pick(pa.states[k][f], pb.states[k][f]));
    r.states.push_back(std::move(s));
  }
  r.features = torch::where(takeA.view({1, -1, 1}), pa.features, pb.features);
  r.actions = pick(pa.actions, pb.actions);
  r.n = pick(a.n, b.n);
  r.exited = pick(a.exited, b.exited);
  for (size_t f = 0; f < a.final.size(); ++f)
    r.final.push_back(pick(a.final[f], b.final[f]));
  r.logReward = pick(a.logReward, b.logReward);
  if (a.cond.defined())
    r.cond = pick(a.cond, b.cond);
  if (pa.logPfOld.defined() && pb.logPfOld.defined()) {
    r.logPfOld = pick(pa.logPfOld, pb.logPfOld);
    r.logQ = pick(pa.logQ, pb.logQ);
  }
  trim(r, longest(r.actions));
  return r;
}

Rollout concatRollouts(const std::vector<Rollout> &parts) {
  if (parts.size() == 1)
    return parts.front();
  int64_t T = 0;
  for (const Rollout &p : parts)
    T = std::max(T, p.steps);
  std::vector<Rollout> padded;
  for (const Rollout &p : parts)
    padded.push_back(padRollout(p, T));
  auto cat = [&](auto member) {
    std::vector<torch::Tensor> xs;
    for (const Rollout &p : padded)
      xs.push_back(member(p));
    return torch::cat(xs, 0).contiguous();
  };
  Rollout r;
  r.steps = T;
  for (const Rollout &p : padded)
    r.batch += p.batch;
  for (int64_t k = 0; k <= T; ++k) {
    std::vector<State> step;
    for (const Rollout &p : padded)
      step.push_back(p.states[k]);
    r.states.push_back(Program::cat(step));
  }
  std::vector<torch::Tensor> feats;
  for (const Rollout &p : padded)
    feats.push_back(p.features);
  r.features = torch::cat(feats, 1);
  r.actions = cat([](const Rollout &p) { return p.actions; });
  r.n = cat([](const Rollout &p) { return p.n; });
  r.exited = cat([](const Rollout &p) { return p.exited; });
  r.logReward = cat([](const Rollout &p) { return p.logReward; });
  if (parts.front().cond.defined())
    r.cond = cat([](const Rollout &p) { return p.cond; });
  bool recorded =
      std::all_of(padded.begin(), padded.end(),
                  [](const Rollout &p) { return p.logPfOld.defined(); });
  if (recorded) {
    r.logPfOld = cat([](const Rollout &p) { return p.logPfOld; });
    r.logQ = cat([](const Rollout &p) { return p.logQ; });
  }
  std::vector<State> finals;
  for (const Rollout &p : padded)
    finals.push_back(p.final);
  r.final = Program::cat(finals);
  return r;
}

} // namespace gfl

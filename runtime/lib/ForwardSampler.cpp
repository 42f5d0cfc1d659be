//===- ForwardSampler.cpp - The forward rollout ---------------------------===//

#include "gfl/Runtime/ForwardSampler.h"
#include "gfl/Runtime/StateGraph.h"

#include "HostRows.h"

#include <algorithm>
#include <stdexcept>

namespace gfl {

ForwardSampler::ForwardSampler(const Program &program, Model &model,
                               int64_t endCheckEvery, int64_t maxSteps)
    : program_(program), model_(model), endCheckEvery_(endCheckEvery),
      maxSteps_(maxSteps) {}

void ForwardSampler::reportLeavingDomains(
    const std::vector<State> &states, const std::vector<torch::Tensor> &actions,
    const torch::Tensor &outside) const {
  if (!outside.any().item<bool>())
    return;
  torch::Tensor first = outside.nonzero()[0].cpu(); // (step, row)
  int64_t step = first[0].item<int64_t>(), row = first[1].item<int64_t>();
  int64_t a = actions[step][row].item<int64_t>();
  throw std::runtime_error(
      "action " + describeAction(*program_.manifest().get("env"), a) +
      " from state " + program_.describe(states[step], row) + " leads to " +
      program_.describe(states[step + 1], row) +
      ", outside the state's domain; its guard must exclude the states "
      "where it would");
}

namespace {

/// The places b*(T+1)+k in the [B, T+1] grid of the rows `rows[k]` that
/// steps k = 0..T-1 evaluated, concatenated.
torch::Tensor gridPlaces(const std::vector<torch::Tensor> &rows, int64_t T) {
  if (T == 0)
    return torch::empty({0}, torch::kInt64);
  bool host = std::all_of(rows.begin(), rows.end(), [](const torch::Tensor &r) {
    return onHost(r) && r.scalar_type() == torch::kInt64;
  });
  if (!host) {
    std::vector<torch::Tensor> places;
    for (int64_t k = 0; k < T; ++k)
      places.push_back(rows[k] * (T + 1) + k);
    return torch::cat(places, 0);
  }
  int64_t M = 0;
  for (const torch::Tensor &r : rows)
    M += r.size(0);
  torch::Tensor out = torch::empty({M}, rows.front().options());
  int64_t *o = out.data_ptr<int64_t>();
  for (int64_t k = 0; k < T; ++k) {
    const int64_t *r = rows[k].data_ptr<int64_t>();
    for (int64_t i = 0; i < rows[k].size(0); ++i)
      *o++ = r[i] * (T + 1) + k;
  }
  return out;
}

/// The kept evaluations of steps 0..T-1 as one tape, row-major in steps.
std::shared_ptr<const PolicyTape> packPolicyTape(
    std::vector<torch::Tensor> &rows, std::vector<torch::Tensor> &features,
    std::vector<torch::Tensor> &cond, LinearTape &linears, int64_t T) {
  for (auto *perStep : {&rows, &features, &cond})
    perStep->resize(T);
  auto tape = std::make_shared<PolicyTape>();
  tape->rows = gridPlaces(rows, T);
  tape->features = torch::cat(features, 0);
  if (T > 0 && cond.front().defined())
    tape->cond = torch::cat(cond, 0);
  // The steps after T evaluated no row (every trajectory had ended).
  linears.trim();
  tape->linears = std::move(linears);
  return tape;
}

/// The outputs of one sampling step.
struct StepOutput {
  torch::Tensor action, logPf, logQ, done, features;
  State next;
};

/// Room for the outputs of a rollout's steps: step k writes row k of
/// buffers made for the rollout, `room` steps at a time (twice as many
/// each time the rollout outgrows them), not six or more tensors a step.
class StepOutputs {
public:
  StepOutputs(const Program &program, int64_t batch, int64_t room)
      : program_(program), batch_(batch), room_(std::max<int64_t>(room, 1)) {}

  StepOutput at(int64_t step) {
    if (step >= first_ + room_ || !action_.defined())
      makeRoom(step);
    int64_t k = step - first_;
    StepOutput out{rowOf(action_, k), rowOf(logPf_, k),    rowOf(logQ_, k),
                   rowOf(done_, k),   rowOf(features_, k), {}};
    for (const torch::Tensor &field : next_)
      out.next.push_back(rowOf(field, k));
    return out;
  }

private:
  void makeRoom(int64_t step) {
    const EnvSpec &env = program_.env();
    auto opts = [&](torch::ScalarType d) { return program_.options(d); };
    if (action_.defined())
      room_ *= 2; // a rollout longer than the last: fewer, larger buffers
    first_ = step;
    action_ = torch::empty({room_, batch_}, opts(torch::kInt32));
    logPf_ = torch::empty({room_, batch_}, opts(torch::kFloat32));
    logQ_ = torch::empty({room_, batch_}, opts(torch::kFloat32));
    done_ = torch::empty({room_, batch_}, opts(torch::kBool));
    features_ =
        torch::empty({room_, batch_, env.featureSize}, opts(torch::kFloat32));
    next_ = program_.emptyState({room_, batch_});
  }

  const Program &program_;
  int64_t batch_, room_, first_ = 0;
  torch::Tensor action_, logPf_, logQ_, done_, features_;
  State next_;
};

} // namespace

Rollout ForwardSampler::sample(const State &start,
                               const ForwardDraw &draw) const {
  torch::NoGradGuard noGrad;
  const EnvSpec &env = program_.env();
  auto opts = [&](torch::ScalarType d) { return program_.options(d); };
  int64_t batch = start[0].size(0), steps = draw.steps;
  State s = start;
  torch::Tensor feats = program_.features(s);
  torch::Tensor ended = torch::zeros({batch}, opts(torch::kBool));
  std::vector<State> states{s};
  std::vector<torch::Tensor> featList{feats}, actList, logPfList, logQList;
  // Steps after the end are no-ops (action -1, the state kept).
  WalkLength length(program_, endCheckEvery_, steps, maxSteps_, "trajectories");
  // Where gflc could not prove that actions stay in the domains: the rows
  // each step took outside them, checked once after the rollout.
  bool checkDomains = program_.stepsMayLeaveDomains();
  std::vector<torch::Tensor> outside;
  // On the CPU the policy runs only on the trajectories still running (the
  // kernel does not read an ended row's logits); a GPU keeps fixed shapes
  // (CUDA graphs) and reads nothing back per step.
  bool compact = !program_.device().is_cuda();
  // With draw.keepPolicy, per step: the rows evaluated, their inputs and
  // the policy's linear layers there.
  std::vector<torch::Tensor> keptRows, keptFeatures, keptCond;
  LinearTape kept;
  kept.reserve = keptRowsHint_ + keptRowsHint_ / 4 + batch;
  torch::Tensor everyRow;
  // Compacted steps scatter the policy's rows into one buffer for the
  // kernel, reused: it reads the rows of running trajectories only.
  torch::Tensor logitsBuffer;
  StepOutputs outputs(program_, batch, steps > 0 ? steps : stepsHint_ + 1);
  // The step kernel's arguments by position; those fixed for the rollout
  // are set here.
  BoundKernel stepKernel(program_, "gfl_sample_step");
  auto slot = [&](const std::string &name) { return stepKernel.slot(name); };
  size_t logitsAt = slot("logits"), endedAt = slot("ended"),
         actionAt = slot("action"), logPfAt = slot("log_pf"),
         logQAt = slot("log_q"), doneAt = slot("done"),
         featuresAt = slot("features"), stepAt = slot("step");
  std::vector<size_t> stateAt, nextAt;
  for (const FieldSpec &f : env.fields) {
    stateAt.push_back(slot("state." + f.name));
    nextAt.push_back(slot("next." + f.name));
  }
  stepKernel.set(slot("iteration"), draw.iteration);
  stepKernel.set(slot("epsilon"), draw.epsilon);
  stepKernel.set(slot("temperature"), draw.temperature);
  stepKernel.set(slot("seed"), double(program_.train().seed));
  stepKernel.set(slot("stream"), double(draw.stream));
  stepKernel.set(slot("first"), double(draw.first));
  for (int64_t step = 0; !length.stop(step, ended); ++step) {
    torch::Tensor running = compact ? unsetIndices(ended) : torch::Tensor();
    bool all = !compact || running.size(0) == batch;
    torch::Tensor in = all ? feats : selectRows(feats, running);
    torch::Tensor inCond = all || !draw.cond.defined()
                               ? draw.cond
                               : selectRows(draw.cond, running);
    torch::Tensor logits =
        model_->policyLogits(in, inCond, draw.keepPolicy ? &kept : nullptr);
    if (!all) {
      if (!logitsBuffer.defined())
        logitsBuffer =
            torch::empty({batch, env.numActions}, opts(torch::kFloat32));
      copyRows(logitsBuffer, running, logits);
      logits = logitsBuffer;
    }
    if (draw.keepPolicy) {
      if (all && !everyRow.defined())
        everyRow = torch::arange(batch, opts(torch::kInt64));
      keptRows.push_back(all ? everyRow : running);
      keptFeatures.push_back(in);
      keptCond.push_back(inCond);
    }
    auto [action, logPf, logQ, done, nextFeats, next] = outputs.at(step);
    stepKernel.set(logitsAt, logits);
    stepKernel.set(endedAt, ended);
    stepKernel.set(actionAt, action);
    stepKernel.set(logPfAt, logPf);
    stepKernel.set(logQAt, logQ);
    stepKernel.set(doneAt, done);
    stepKernel.set(featuresAt, nextFeats);
    stepKernel.set(stepAt, double(step));
    for (size_t f = 0; f < s.size(); ++f) {
      stepKernel.set(stateAt[f], s[f].contiguous());
      stepKernel.set(nextAt[f], next[f]);
    }
    stepKernel();
    if (checkDomains)
      outside.push_back(
          program_.outsideDomains(next).logical_and(ended.logical_not()));
    actList.push_back(action);
    logPfList.push_back(logPf);
    logQList.push_back(logQ);
    s = next;
    feats = nextFeats;
    ended = done;
    featList.push_back(feats);
    states.push_back(s);
  }
  if (!outside.empty())
    reportLeavingDomains(states, actList, torch::stack(outside));
  if (steps > 0 && draw.checkEnded && !ended.all().item<bool>())
    throw std::runtime_error("trajectories did not end within " +
                             std::to_string(steps) + " steps");
  // T: the steps taken while some trajectory was still running (all of
  // them for a padded rollout).
  int64_t T = length.taken(static_cast<int64_t>(actList.size()));
  stepsHint_ = static_cast<int64_t>(actList.size());
  actList.resize(T);
  featList.resize(T + 1);
  states.resize(T + 1);
  // The recorded log-probabilities, aligned with the actions (the kernel
  // writes 0 once a trajectory has ended).
  auto columns = [&](std::vector<torch::Tensor> &perStep) {
    perStep.resize(T);
    perStep.push_back(torch::zeros({batch}, opts(torch::kFloat32)));
    return torch::stack(perStep, 1).contiguous();
  };
  Rollout r = assembleRollout(program_, std::move(states), std::move(featList),
                              std::move(actList), draw.cond);
  r.logPfOld = columns(logPfList);
  r.logQ = columns(logQList);
  if (draw.keepPolicy) {
    keptRowsHint_ = kept.rows;
    r.policyTape = packPolicyTape(keptRows, keptFeatures, keptCond, kept, T);
  }
  return r;
}

} // namespace gfl

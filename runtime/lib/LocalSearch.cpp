//===- LocalSearch.cpp - LS-GFN refinement of a batch ---------------------===//

#include "gfl/Runtime/LocalSearch.h"

namespace gfl {

LocalSearch::LocalSearch(const Program &program, const LocalSearchSpec &spec,
                         const ForwardSampler &forward,
                         const BackwardSampler &backward,
                         const TrajectoryLoss &scores)
    : program_(program), spec_(spec), forward_(forward), backward_(backward),
      scores_(scores) {
  noEpsilon_ = torch::zeros({1}, program.options(torch::kFloat32));
  unitTemperature_ = torch::ones({1}, program.options(torch::kFloat32));
}

Rollout LocalSearch::propose(const Rollout &tau, const torch::Tensor &iteration,
                             int64_t round, int64_t first) const {
  // Keep the first p = n - min(K, n) transitions; redraw from s_p.
  torch::Tensor n = tau.n.to(torch::kInt64);
  torch::Tensor p = n - n.clamp_max(spec_.backtrack);
  ForwardDraw draw;
  draw.iteration = iteration;
  draw.epsilon = noEpsilon_;
  draw.temperature = unitTemperature_;
  draw.stream = stream::kLocalSearch + 4 * round + 1;
  draw.first = first;
  draw.cond = tau.cond;
  Rollout suffix = forward_.sample(statesAt(tau, p), draw);
  return splice(tau, p, suffix);
}

torch::Tensor LocalSearch::accept(const Rollout &tau, const Rollout &proposal,
                                  const torch::Tensor &iteration, int64_t round,
                                  torch::Tensor *logAccept,
                                  int64_t first) const {
  StepLogProbs old = scores_.logProbs(tau), fresh = scores_.logProbs(proposal);
  int64_t B = tau.batch;
  auto accepted = torch::empty({B}, program_.options(torch::kBool));
  auto logA = torch::empty({B}, program_.options(torch::kFloat32));
  program_.call("gfl_ls_accept",
                {{"log_r", tau.logReward.contiguous()},
                 {"log_r_new", proposal.logReward.contiguous()},
                 {"log_pf", old.forward.sum(1).contiguous()},
                 {"log_pf_new", fresh.forward.sum(1).contiguous()},
                 {"log_pb", old.backward.sum(1).contiguous()},
                 {"log_pb_new", fresh.backward.sum(1).contiguous()},
                 {"n", tau.n.contiguous()},
                 {"n_new", proposal.n.contiguous()},
                 {"iteration", iteration},
                 {"accept", accepted},
                 {"log_accept", logA}},
                {{"seed", double(program_.train().seed)},
                 {"stream", double(stream::kLocalSearch + 4 * round + 2)},
                 {"greedy", spec_.greedy ? 1.0 : 0.0},
                 {"backtrack", double(spec_.backtrack)},
                 {"first", double(first)}});
  if (logAccept)
    *logAccept = logA;
  return accepted;
}

LocalSearch::Result LocalSearch::refine(const Rollout &batch,
                                        const torch::Tensor &iteration,
                                        int64_t first) const {
  torch::NoGradGuard noGrad;
  Result result;
  State x = batch.final;
  std::vector<State> accepted;
  std::vector<torch::Tensor> acceptedLogR, shares;
  Rollout current;
  for (int64_t round = 0; round < spec_.rounds; ++round) {
    BackwardDraw back;
    back.iteration = iteration;
    back.stream = stream::kLocalSearch + 4 * round;
    back.first = first;
    back.cond = batch.cond;
    Rollout tau = backward_.sample(x, back);
    Rollout proposal = propose(tau, iteration, round, first);
    torch::Tensor take =
        accept(tau, proposal, iteration, round, nullptr, first);
    current = chooseRows(proposal, tau, take);
    x = current.final;
    torch::Tensor rows = take.nonzero().reshape({-1});
    accepted.push_back(Program::select(proposal.final, rows));
    acceptedLogR.push_back(proposal.logReward.index_select(0, rows));
    shares.push_back(take.to(torch::kFloat32).mean());
  }
  result.refined = current;
  result.accepted = Program::cat(accepted);
  result.acceptedLogReward = torch::cat(acceptedLogR, 0);
  result.acceptance = torch::stack(shares);
  return result;
}

} // namespace gfl

//===- BatchSampler.cpp - How a training batch is drawn -------------------===//

#include "gfl/Runtime/BatchSampler.h"
#include "gfl/Runtime/ConditionSampler.h"
#include "gfl/Runtime/LocalSearch.h"
#include "gfl/Runtime/Metrics.h"
#include "gfl/Runtime/ReplayBuffer.h"
#include "gfl/Runtime/WorkerGroup.h"

#include <cmath>
#include <sstream>

namespace gfl {

BatchSampler::BatchSampler(const Program &program, Model &model,
                           const TrajectoryLoss &loss, int64_t endCheckEvery,
                           int64_t maxSteps, WorkerGroup *workers)
    : program_(program), loss_(loss),
      forward_(program, model, endCheckEvery, maxSteps),
      backward_(program, model, endCheckEvery, maxSteps),
      conditions_(std::make_unique<ConditionSampler>(program)) {
  const SamplerSpec &spec = program.train().sampler;
  for (size_t i = 0; i < spec.replay.size(); ++i)
    replay_.push_back(
        std::make_unique<ReplayBuffer>(program, spec.replay[i], i, workers));
  if (spec.localSearch)
    localSearch_ = std::make_unique<LocalSearch>(program, *spec.localSearch,
                                                 forward_, backward_, loss);
  iteration_ = torch::zeros({1}, program.options(torch::kInt64));
  epsilon_ = torch::zeros({1}, program.options(torch::kFloat32));
  temperature_ = torch::ones({1}, program.options(torch::kFloat32));
}

BatchSampler::~BatchSampler() = default;

void BatchSampler::setIteration(int64_t iteration) {
  const SamplerSpec &spec = program_.train().sampler;
  iteration_.fill_(iteration);
  epsilon_.fill_(spec.epsilon.at(iteration));
  temperature_.fill_(spec.temperature.at(iteration));
}

torch::Tensor BatchSampler::drawConditions(int64_t batch) const {
  return conditions_->draw(batch, iteration_, first_);
}

Rollout BatchSampler::onPolicy(int64_t batch, int64_t steps, bool checkEnded,
                               torch::Tensor cond, bool keepPolicy) {
  ForwardDraw draw;
  draw.keepPolicy = keepPolicy;
  draw.iteration = iteration_;
  draw.epsilon = epsilon_;
  draw.temperature = temperature_;
  draw.steps = steps;
  draw.checkEnded = checkEnded;
  draw.first = first_;
  draw.cond = cond.defined() ? cond : drawConditions(batch);
  return forward_.sample(program_.init(batch), draw);
}

Rollout BatchSampler::draw(int64_t batch, int64_t steps, bool checkEnded) {
  torch::Tensor cond = drawConditions(batch);
  // Replay shares take the last rows of the batch, the on-policy share the
  // first; every row keeps its index (and so its random numbers).
  std::vector<int64_t> shares;
  int64_t replayed = 0;
  for (const auto &buffer : replay_) {
    int64_t k = std::min(buffer->share(batch), batch - replayed);
    shares.push_back(k);
    replayed += k;
  }
  int64_t fresh = batch - replayed;
  auto rowsOf = [&](torch::Tensor c, int64_t begin, int64_t count) {
    return c.defined() ? c.slice(0, begin, begin + count) : c;
  };
  std::vector<Rollout> parts;
  Rollout drawn;
  if (fresh > 0) {
    // Replay and local search make trajectories the rollout's forward did
    // not see: the loss then runs P_F on the whole batch.
    bool keepPolicy =
        fresh == batch && !localSearch_ && loss_.keepsRolloutPolicy();
    drawn =
        onPolicy(fresh, steps, checkEnded, rowsOf(cond, 0, fresh), keepPolicy);
    parts.push_back(drawn);
  }
  int64_t row = fresh;
  for (size_t i = 0; i < replay_.size(); ++i) {
    if (shares[i] == 0)
      continue;
    State x = replay_[i]->draw(shares[i], first_ + row, iteration_);
    BackwardDraw back;
    back.iteration = iteration_;
    back.first = first_ + row;
    back.stream = stream::kReplay + 2 * static_cast<int64_t>(i) + 1;
    back.cond = rowsOf(cond, row, shares[i]);
    Rollout r = backward_.sample(x, back);
    parts.push_back(r);
    row += shares[i];
  }
  Rollout batchRollout = concatRollouts(parts);
  // New terminal states: the on-policy draws and the accepted proposals.
  State inserted = fresh > 0 ? drawn.final : State();
  torch::Tensor insertedLogR = fresh > 0 ? drawn.logReward : torch::Tensor();
  if (localSearch_) {
    LocalSearch::Result ls =
        localSearch_->refine(batchRollout, iteration_, first_);
    acceptance_ = ls.acceptance;
    const LocalSearchSpec &spec = *program_.train().sampler.localSearch;
    batchRollout = spec.keepOriginals
                       ? concatRollouts({batchRollout, ls.refined})
                       : ls.refined;
    if (fresh > 0) {
      inserted = Program::cat({inserted, ls.accepted});
      insertedLogR = torch::cat({insertedLogR, ls.acceptedLogReward}, 0);
    } else {
      inserted = ls.accepted;
      insertedLogR = ls.acceptedLogReward;
    }
  }
  if (!inserted.empty())
    for (auto &buffer : replay_)
      buffer->insert(inserted, insertedLogR);
  return batchRollout;
}

void BatchSampler::gatherStats(WorkerGroup &workers, double share) {
  std::vector<double> values;
  for (const auto &buffer : replay_)
    values.push_back(double(buffer->size()));
  int64_t rounds = acceptance_.defined() ? acceptance_.size(0) : 0;
  for (int64_t r = 0; r < rounds; ++r)
    values.push_back(acceptance_[r].item<double>() * share);
  if (values.empty())
    return;
  torch::Tensor t =
      torch::tensor(values, torch::kFloat64).to(program_.device());
  workers.allReduceSum(t);
  t = t.cpu();
  replaySizes_.clear();
  for (size_t i = 0; i < replay_.size(); ++i)
    replaySizes_.push_back(std::llround(t[i].item<double>()));
  if (rounds)
    acceptance_ = t.slice(0, replay_.size()).to(torch::kFloat32);
}

std::string BatchSampler::statsJson() const {
  if (replay_.empty() && !localSearch_)
    return "";
  std::ostringstream os;
  os << "{";
  if (!replay_.empty()) {
    os << "\"replay_size\":[";
    for (size_t i = 0; i < replay_.size(); ++i)
      os << (i ? "," : "")
         << (replaySizes_.empty() ? replay_[i]->size() : replaySizes_[i]);
    os << "]";
  }
  if (acceptance_.defined()) {
    os << (replay_.empty() ? "" : ",") << "\"ls_acceptance\":[";
    torch::Tensor a = acceptance_.cpu().to(torch::kDouble);
    for (int64_t r = 0; r < a.size(0); ++r)
      os << (r ? "," : "") << jsonNumber(a[r].item<double>());
    os << "]";
  }
  os << "}";
  return os.str();
}

void BatchSampler::save(Checkpoint &c) const {
  for (const auto &buffer : replay_)
    buffer->save(c);
}

void BatchSampler::load(const Checkpoint &c) {
  for (auto &buffer : replay_)
    buffer->load(c);
}

} // namespace gfl

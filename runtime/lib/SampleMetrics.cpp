//===- SampleMetrics.cpp - Metrics that need no enumeration ---------------===//

#include "gfl/Runtime/SampleMetrics.h"
#include "gfl/Runtime/Checkpoint.h"
#include "gfl/Runtime/ForwardSampler.h"
#include "gfl/Runtime/WorkerGroup.h"

#include <cmath>
#include <set>

namespace gfl {

namespace {

/// The distinct states whose mean reward is reported.
constexpr int64_t kTopK = 10;

/// Ranks 1..n of `v`, ties sharing their mean rank.
std::vector<double> ranks(const std::vector<double> &v) {
  std::vector<size_t> order(v.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]])
      ++j;
    for (size_t k = i; k <= j; ++k)
      r[order[k]] = 0.5 * double(i + j) + 1.0;
    i = j + 1;
  }
  return r;
}

/// Pearson's correlation; nullopt when either side is constant.
std::optional<double> pearson(const std::vector<double> &a,
                              const std::vector<double> &b) {
  size_t n = a.size();
  if (n < 2)
    return std::nullopt;
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  if (saa <= 0 || sbb <= 0)
    return std::nullopt;
  return sab / std::sqrt(saa * sbb);
}

std::vector<double> toVector(const torch::Tensor &t) {
  torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(),
                             c.data_ptr<double>() + c.numel());
}

} // namespace

SampleMetrics::SampleMetrics(const Program &program, Model &model,
                             const TrajectoryLoss &scores, int64_t maxSteps)
    : program_(program), model_(model), scores_(scores),
      backward_(program, model, /*endCheckEvery=*/0, maxSteps) {
  torch::TensorOptions i64 = program.options(torch::kInt64);
  int64_t width = program.stateWidth();
  // Odd 64-bit multipliers from a fixed SplitMix64 sequence: the hash is
  // the same in every run, so it can be checkpointed.
  std::vector<int64_t> mult(width);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int64_t i = 0; i < width; ++i) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    mult[i] = static_cast<int64_t>((z ^ (z >> 31)) | 1);
  }
  multipliers_ = torch::tensor(mult, torch::kInt64).to(i64.device());
  seen_ = torch::empty({0}, i64);
  bestHash_ = torch::empty({0}, i64);
  bestLogR_ = torch::empty({0}, program.options(torch::kFloat64));
  const TrainSpec &t = program.train();
  if (t.referenceModes) {
    modes_ =
        program.flattenStates(program.paramStates(t.referenceModes->param));
    found_ = torch::zeros({modes_.size(0)}, program.options(torch::kBool));
  }
  if (t.testSet) {
    tests_ = program.paramStates(t.testSet->param);
    torch::Tensor ends = backward_.canEnd(tests_).cpu();
    for (int64_t i = 0; i < ends.size(0); ++i)
      if (!ends[i].item<bool>())
        throw std::runtime_error(
            "row " + std::to_string(i) + " of test_set '" + t.testSet->param +
            "' is not a terminal state: " + program.describe(tests_, i));
  }
}

torch::Tensor SampleMetrics::hash(const State &s) const {
  // Ints and bools enter by value, floats by their bits; the sum of value
  // times an odd constant per element wraps around 2^64.
  std::vector<torch::Tensor> cols;
  for (const torch::Tensor &f : s) {
    torch::Tensor v =
        f.reshape({f.size(0), f.numel() / std::max<int64_t>(f.size(0), 1)});
    cols.push_back(v.is_floating_point() ? v.to(torch::kFloat32)
                                               .contiguous()
                                               .view(torch::kInt32)
                                               .to(torch::kInt64)
                                         : v.to(torch::kInt64));
  }
  return (torch::cat(cols, 1) * multipliers_).sum(1);
}

void SampleMetrics::observe(const State &terminal,
                            const torch::Tensor &logReward) {
  torch::NoGradGuard noGrad;
  pendingHash_.push_back(hash(terminal));
  pendingLogR_.push_back(logReward.detach().to(
      torch::kFloat64, /*non_blocking=*/false, /*copy=*/true));
  if (modes_.defined()) {
    torch::Tensor flat = program_.flattenStates(terminal);
    torch::Tensor distance =
        flat.unsqueeze(1).ne(modes_.unsqueeze(0)).sum(2); // [B, M]
    found_.logical_or_(
        distance.le(program_.train().referenceModes->within).any(0));
  }
}

void SampleMetrics::merge() {
  if (pendingHash_.empty())
    return;
  torch::Tensor fresh = torch::cat(pendingHash_);
  seen_ = std::get<0>(torch::_unique(torch::cat({seen_, fresh}), true, false));
  // The best distinct states: the old best and the new, by reward; a state
  // drawn twice counts once.
  torch::Tensor hashes = torch::cat({bestHash_, fresh}).cpu();
  pendingLogR_.insert(pendingLogR_.begin(), bestLogR_);
  torch::Tensor logR = torch::cat(pendingLogR_);
  pendingHash_.clear();
  pendingLogR_.clear();
  torch::Tensor order = logR.argsort(0, /*descending=*/true).cpu();
  std::vector<double> r = toVector(logR);
  auto orderAt = order.accessor<int64_t, 1>();
  auto hashAt = hashes.accessor<int64_t, 1>();
  std::set<int64_t> taken;
  std::vector<int64_t> bestH;
  std::vector<double> bestR;
  for (int64_t i = 0; i < order.size(0) && int64_t(bestH.size()) < kTopK; ++i) {
    int64_t row = orderAt[i];
    int64_t key = hashAt[row];
    if (taken.insert(key).second) {
      bestH.push_back(key);
      bestR.push_back(r[row]);
    }
  }
  bestHash_ = torch::tensor(bestH, torch::kInt64).to(seen_.device());
  bestLogR_ = torch::tensor(bestR, torch::kFloat64).to(seen_.device());
}

void SampleMetrics::gather(WorkerGroup &workers) {
  merge();
  seen_ = std::get<0>(torch::_unique(workers.allGather(seen_), true, false));
  // Every worker's best states become pending and are merged again (their
  // hashes are in seen_ already).
  pendingHash_ = {workers.allGather(bestHash_)};
  pendingLogR_ = {workers.allGather(bestLogR_)};
  bestHash_ = bestHash_.slice(0, 0, 0);
  bestLogR_ = bestLogR_.slice(0, 0, 0);
  merge();
  if (found_.defined()) {
    torch::Tensor any = found_.to(torch::kUInt8);
    workers.allReduceMax(any);
    found_.copy_(any.to(torch::kBool));
  }
}

torch::Tensor SampleMetrics::estimateLogPt(const State &x, int64_t samples,
                                           int64_t iteration,
                                           const torch::Tensor &cond) const {
  torch::NoGradGuard noGrad;
  int64_t m = x.front().size(0);
  // Every state `samples` times (sample-major): one backward rollout.
  torch::Tensor rows =
      torch::arange(m, program_.options(torch::kInt64)).repeat({samples});
  State many = Program::select(x, rows);
  BackwardDraw draw;
  draw.iteration = torch::full({1}, iteration, program_.options(torch::kInt64));
  draw.stream = stream::kEstimate;
  draw.cond = program_.conditionRows(m * samples, cond);
  Rollout tau = backward_.sample(many, draw);
  StepLogProbs lp = scores_.logProbs(tau);
  torch::Tensor logW = (lp.forward.sum(1) - lp.backward.sum(1))
                           .to(torch::kFloat64)
                           .view({samples, m});
  return torch::logsumexp(logW, 0) - std::log(double(samples));
}

void SampleMetrics::fill(Metrics &m, int64_t iteration,
                         const torch::Tensor &cond) {
  merge();
  m.uniqueTerminal = seen_.size(0);
  if (bestLogR_.size(0) > 0)
    m.topkRewardUnique = bestLogR_.exp().mean().item<double>();
  if (found_.defined()) {
    m.referenceModesFound = found_.sum().item<int64_t>();
    m.referenceModesTotal = found_.size(0);
  }
  if (!tests_.empty()) {
    int64_t samples = program_.train().testSet->samples;
    torch::Tensor logPt = estimateLogPt(tests_, samples, iteration, cond);
    torch::Tensor logR = program_.logReward(
        tests_, program_.conditionRows(tests_.front().size(0), cond));
    std::vector<double> a = toVector(logPt), b = toVector(logR);
    m.estPearson = pearson(a, b);
    m.estSpearman = pearson(ranks(a), ranks(b));
    m.estSamples = samples;
  }
}

void SampleMetrics::save(Checkpoint &c) {
  merge();
  c.put("sampled_hashes", seen_.cpu());
  c.put("sampled_best_hashes", bestHash_.cpu());
  c.put("sampled_best_log_rewards", bestLogR_.cpu());
  if (found_.defined())
    c.put("reference_modes_found", found_.cpu());
}

void SampleMetrics::load(const Checkpoint &c) {
  pendingHash_.clear();
  pendingLogR_.clear();
  // Checkpoints from before these records restart them empty.
  if (!c.has("sampled_hashes"))
    return;
  auto tensorOf = [&](const char *key, torch::ScalarType dtype) {
    c10::IValue v = c.get(key);
    if (!v.isTensor() || v.toTensor().dim() != 1 ||
        v.toTensor().scalar_type() != dtype)
      throw c.error(std::string("'") + key +
                    "' is not a vector of the "
                    "right type");
    return v.toTensor().to(seen_.device());
  };
  seen_ = tensorOf("sampled_hashes", torch::kInt64);
  bestHash_ = tensorOf("sampled_best_hashes", torch::kInt64);
  bestLogR_ = tensorOf("sampled_best_log_rewards", torch::kFloat64);
  if (bestHash_.size(0) != bestLogR_.size(0))
    throw c.error("the best sampled states and their rewards differ in "
                  "number");
  if (found_.defined() && c.has("reference_modes_found")) {
    torch::Tensor f = tensorOf("reference_modes_found", torch::kBool);
    if (f.size(0) != found_.size(0))
      throw c.error("'reference_modes_found' has " + std::to_string(f.size(0)) +
                    " modes, the artifact " + std::to_string(found_.size(0)));
    found_.copy_(f);
  }
}

} // namespace gfl

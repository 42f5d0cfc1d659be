//===- Trainer.cpp - The training loop ------------------------------------===//

#include "gfl/Runtime/Trainer.h"
#include "gfl/Runtime/ConditionSampler.h"
#include "gfl/Runtime/FiniteCheck.h"
#include "gfl/Runtime/GradientSync.h"
#include "gfl/Runtime/WorkerGroup.h"

#include "CompiledFunctions.h"
#include "CoreTeam.h"
#include "CudaGraph.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace gfl {

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

} // namespace

Trainer::Trainer(Program &program, TrainerOptions options)
    : program_(program), options_(std::move(options)) {
  const TrainSpec &t = program.train();
  if (t.objective.empty())
    throw std::runtime_error("the artifact has no train block");
  // Initialized on the CPU, so a seed gives the same networks everywhere.
  torch::manual_seed(static_cast<uint64_t>(t.seed));
  model_ = Model(program);
  model_->to(program.device());
  loss_.emplace(program, model_);
  optimizer_ = std::make_unique<Optimizer>(program, model_);
  if (t.batch % t.minibatches != 0)
    throw std::runtime_error("the batch (" + std::to_string(t.batch) +
                             ") is not divisible into " +
                             std::to_string(t.minibatches) + " minibatches");
  targets_ = std::make_unique<TargetNetworks>(program, model_);
  if (targets_->active())
    loss_->setTarget(&targets_->model());
  workers_ = options_.workers;
  sampler_ = std::make_unique<BatchSampler>(program, model_, *loss_,
                                            options_.endCheckEvery,
                                            options_.maxSteps, workers_);
  sampleMetrics_ = std::make_unique<SampleMetrics>(program, model_, *loss_,
                                                   options_.maxSteps);
  localBatch_ = t.batch;
  if (workers_) {
    int64_t n = workers_->size();
    if (t.batch < n)
      throw std::runtime_error("the batch (" + std::to_string(t.batch) +
                               ") is smaller than the number of workers (" +
                               std::to_string(n) + ")");
    localBatch_ = workers_->shareSize(t.batch);
    if (localBatch_ % t.minibatches != 0)
      throw std::runtime_error(
          "a worker's share of the batch (" + std::to_string(localBatch_) +
          " of " + std::to_string(t.batch) + ") is not divisible into " +
          std::to_string(t.minibatches) + " minibatches");
    share_ = double(localBatch_) / double(t.batch);
    sampler_->setFirstRow(workers_->shareBegin(t.batch));
    program.setWorkers(workers_);
    std::vector<torch::Tensor> params;
    for (auto &[name, p] : model_->namedParams())
      params.push_back(p);
    gradSync_ = std::make_unique<GradientSync>(*workers_, params);
  }
  // Exact evaluation where the state space fits; otherwise training goes
  // on without the exact metrics, and says so once.
  if (program.env().enumerable)
    noExactEvaluation_ = Evaluator::cannotEvaluate(program);
  if (program.env().enumerable && noExactEvaluation_.empty()) {
    evaluator_.emplace(program);
    program.setDomainsProven(); // the evaluator refuses actions leaving them
    seen_ =
        torch::zeros({program.env().stateCount}, program.options(torch::kBool));
    std::vector<int64_t> modes(evaluator_->modes().begin(),
                               evaluator_->modes().end());
    modeCodes_ =
        torch::tensor(modes, torch::kInt64).to(program.options(torch::kInt64));
    // The last step of the longest trajectory may be the exit (or the step
    // that finds a dead end).
    horizon_ = evaluator_->longestPath() + 1;
    const auto &ls = t.sampler.localSearch;
    if (ls && ls->backtrack > evaluator_->longestPath())
      throw std::runtime_error(
          "local search backtracks " + std::to_string(ls->backtrack) +
          " moves, more than the longest trajectory of the environment (" +
          std::to_string(evaluator_->longestPath()) + ")");
  }
}

Trainer::~Trainer() {
  if (workers_)
    program_.setWorkers(nullptr);
}

bool Trainer::writesFiles() const { return !workers_ || workers_->rank() == 0; }

void Trainer::gatherSeen() {
  if (!workers_ || !seen_.defined())
    return;
  torch::Tensor any = seen_.to(torch::kUInt8);
  workers_->allReduceMax(any);
  seen_.copy_(any.to(torch::kBool));
}

void Trainer::checkReplicas(int64_t iteration) {
  if (!workers_)
    return;
  torch::NoGradGuard noGrad;
  // A fingerprint of the parameters' bits: equal on every worker unless
  // some step differed.
  torch::Tensor print = torch::zeros({1}, program_.options(torch::kInt64));
  for (auto &[name, p] : model_->namedParams()) {
    torch::Tensor bits = p.detach()
                             .contiguous()
                             .view(torch::kInt32)
                             .reshape({-1})
                             .to(torch::kInt64);
    torch::Tensor mix =
        torch::arange(bits.size(0), bits.options()) * int64_t(2654435761) + 1;
    print += (bits * mix).sum();
  }
  torch::Tensor all = workers_->allGather(print).cpu();
  for (int64_t r = 1; r < all.size(0); ++r)
    if (all[r].item<int64_t>() != all[0].item<int64_t>())
      throw std::runtime_error(
          "after iteration " + std::to_string(iteration) +
          ", the parameters of worker " + std::to_string(r) +
          " differ from worker 0's: the workers' steps diverged");
}

void Trainer::syncForProfile() const {
  if (options_.profile && program_.device().is_cuda())
    torch::cuda::synchronize();
}

Rollout Trainer::rollout(int64_t iteration, int64_t batch, int64_t steps,
                         const torch::Tensor &cond) {
  sampler_->setIteration(iteration);
  torch::Tensor rows;
  if (cond.defined())
    rows = cond.reshape({1, -1}).expand({batch, -1}).contiguous();
  return sampler_->onPolicy(batch, steps, /*checkEnded=*/true, rows);
}

Rollout Trainer::trainingBatch(int64_t iteration) {
  sampler_->setIteration(iteration);
  return sampler_->draw(program_.train().batch);
}

void Trainer::markSeen(const Rollout &r) {
  if (seen_.defined())
    seen_.index_fill_(0, program_.stateIndex(r.final), true);
}

Metrics Trainer::evaluate(int64_t iteration, double loss,
                          const torch::Tensor &cond) {
  Metrics m;
  m.iteration = iteration;
  m.loss = loss;
  if (!program_.env().conditions.empty())
    m.condition = ConditionSampler::json(
        program_, cond.defined() ? cond : program_.defaultCondition(1)[0]);
  m.sampler = sampler_->statsJson();
  if (evaluator_) {
    evaluator_->evaluate(model_, m, cond);
    m.modesFound = seen_.index_select(0, modeCodes_).sum().item<int64_t>();
  } else if (torch::Tensor z = model_->scalar("logZ"); z.defined()) {
    m.logz = z.item<double>();
  }
  sampleMetrics_->fill(m, iteration, cond);
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
  bool writes = writesFiles();
  std::string metricsPath = options_.outDir + "/metrics.jsonl";
  std::ofstream metrics;
  if (writes) {
    std::error_code dirError;
    std::filesystem::create_directories(options_.outDir, dirError);
    if (dirError)
      throw std::runtime_error("cannot create the output directory '" +
                               options_.outDir + "': " + dirError.message());
    // A kill between writing the checkpoint and renaming it leaves the
    // temporary file; a kill between the metrics line and the checkpoint
    // leaves lines past the checkpoint, which this run writes again.
    std::error_code ignored;
    std::filesystem::remove(ckpt + ".tmp", ignored);
    if (start > 0)
      keepMetricsUpTo(metricsPath, start);
    metrics.open(metricsPath, start > 0 ? std::ios::app : std::ios::trunc);
    // Fail at start, not after hours of training that writes nothing.
    if (!metrics)
      throw std::runtime_error("cannot write '" + metricsPath +
                               "': " + std::strerror(errno));
  }
  if (workers_) {
    // Every worker starts from worker 0's parameters (they agree already
    // when seeded alike; this makes sure).
    std::vector<torch::Tensor> params;
    for (auto &[name, p] : model_->namedParams())
      params.push_back(p.detach());
    workers_->broadcast(params);
  }
  if (!noExactEvaluation_.empty() && writes)
    std::fprintf(stderr,
                 "gfl-run: note: no exact evaluation (%s); training without "
                 "l1, jsd, logz_true and modes\n",
                 noExactEvaluation_.c_str());
  bool progress = options_.progress && writes;
  bool tty = progress && isatty(STDERR_FILENO);
  auto begin = Clock::now(), lastDraw = Clock::now();
  auto elapsed = [&] { return wallOffset_ + seconds(begin); };
  int64_t rateStart = start; // iterations/s since the clock was last reset
  Metrics last;
  // Loss and rewards stay on the device; they are read (a host round trip)
  // only for progress output and evaluation.
  torch::Tensor loss, logReward;
  int64_t trained = localBatch_; // trajectories in the last batch
  // CUDA graphs: the first iteration runs as it is (the warm-up, on the
  // stream the graph is recorded on), the second is recorded and every
  // one from then on replays it. Rollouts are padded to the horizon, so
  // every iteration has the same shapes; replay and local search change
  // shapes from one iteration to the next and train without graphs.
  // A data-parallel step sums gradients between the backward pass and the
  // optimizer: not in a graph.
  bool graphs = options_.cudaGraph && program_.device().is_cuda() &&
                !workers_ && horizon_ > 0 && horizon_ <= options_.maxSteps &&
                t.sampler.onPolicyOnly() && t.epochs * t.minibatches == 1;
  std::optional<CudaSideStream> sideStream;
  if (graphs)
    sideStream.emplace();
  // A graph from an earlier run is recorded again; gradients left by its
  // replays must not be accumulated into.
  optimizer_->zeroGrad();
  graph_.reset();
  int64_t end = options_.until > 0 ? std::min(options_.until, t.iterations)
                                   : t.iterations;
  for (int64_t it = start; it < end; ++it) {
    syncForProfile();
    // Iteration `start` is the warm-up; the next one records the graph.
    bool replayed = graphs && it > start && replayGraph(it);
    graphs = graphs && (replayed || it == start); // off if recording failed
    if (replayed) {
      loss = graphLoss_;
      logReward = graphLogReward_;
      // A replay writes the gradients into the buffers it recorded. The
      // replayed batch is not kept: a non-finite one is named without its
      // states.
      Rollout replayedBatch;
      replayedBatch.logReward = logReward;
      checkFinite(program_, model_, replayedBatch, loss, it);
      // Read now, before the next replay overwrites the graph's buffers.
      sampleMetrics_->observe(graphFinal_, logReward);
      step(it);
    } else {
      auto t0 = Clock::now();
      sampler_->setIteration(it);
      Rollout r = sampler_->draw(localBatch_, graphs ? horizon_ : 0);
      trained = r.batch; // more than the batch with keep_originals
      if (options_.profile) {
        profile_.liveRows += r.actions.ge(0).sum().item<int64_t>() + r.batch;
        profile_.paddedRows += r.batch * (r.steps + 1);
      }
      markSeen(r);
      sampleMetrics_->observe(r.final, r.logReward);
      logReward = r.logReward;
      syncForProfile();
      profile_.rollout += seconds(t0);
      loss = fit(r, it);
    }
    targets_->afterIteration(it);
    ++profile_.iterations;
    profile_.trajectories += trained;
    int64_t done = it + 1;
    bool evalNow =
        (t.evalEvery > 0 && done % t.evalEvery == 0) || done == t.iterations;
    // A terminal redraws the progress line at most 10 times a second.
    bool draw = tty && (evalNow || seconds(lastDraw) >= 0.1);
    if (draw || (progress && evalNow)) {
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
    if (evalNow || done == end) {
      gatherSeen();
      if (workers_)
        sampleMetrics_->gather(*workers_);
      checkReplicas(done);
      if (workers_)
        sampler_->gatherStats(*workers_, share_);
    }
    if (evalNow) {
      // The whole batch's rewards (every worker's share).
      torch::Tensor rewards =
          (workers_ ? workers_->allGather(logReward) : logReward).exp();
      if (writes) {
        last = evaluate(done, loss.item<double>(), options_.evalCondition);
        last.meanReward = rewards.mean().item<double>();
        int64_t k = std::min<int64_t>(10, rewards.size(0));
        last.topkReward = std::get<0>(rewards.topk(k)).mean().item<double>();
        last.wallSeconds = elapsed();
        metrics << last.json() << "\n" << std::flush;
      }
      wallOffset_ = writes ? last.wallSeconds : elapsed();
      begin = Clock::now();
      rateStart = done;
      saveCheckpoint(ckpt, done);
    } else if (done == end) {
      saveCheckpoint(ckpt, done); // stopped early (--until)
    }
  }
  if (tty)
    std::fprintf(stderr, "\n");
  if (start >= t.iterations && writes) {
    last = evaluate(start, 0, options_.evalCondition);
    last.wallSeconds = wallOffset_;
  }
  return last;
}

void Trainer::step(int64_t iteration) {
  auto t0 = Clock::now();
  optimizer_->step(iteration);
  if (!graph_)
    optimizer_->zeroGrad();
  targets_->afterStep();
  syncForProfile();
  profile_.optimizer += seconds(t0);
}

double Trainer::measureGemmFloor() {
  // LibTorch's products as they come, BLAS with its own threads.
  CoreTeam::LendToBlas lend;
  int64_t rows =
      profile_.iterations > 0
          ? std::max<int64_t>(1, profile_.liveRows / profile_.iterations)
          : localBatch_;
  torch::Tensor x = torch::rand({rows, program_.env().featureSize},
                                program_.options(torch::kFloat32));
  torch::Tensor cond;
  if (!program_.env().conditions.empty())
    cond = program_.defaultCondition(rows);
  auto once = [&] {
    torch::Tensor total = torch::zeros({}, x.options());
    for (auto &[name, out] : model_->forward(x, cond, loss_->networks()))
      total = total + out.sum();
    total.backward();
  };
  for (int k = 0; k < 3; ++k)
    once();
  syncForProfile();
  const int reps = 20;
  auto t0 = Clock::now();
  for (int k = 0; k < reps; ++k)
    once();
  if (program_.device().is_cuda())
    torch::cuda::synchronize();
  optimizer_->zeroGrad();
  profile_.gemmFloorMs = 1e3 * seconds(t0) / reps;
  return profile_.gemmFloorMs;
}

torch::Tensor Trainer::minibatchOrder(int64_t epoch, int64_t rows) const {
  auto u = torch::empty({rows}, program_.options(torch::kFloat32));
  program_.call("gfl_uniform", {{"iteration", sampler_->iteration()}, {"u", u}},
                {{"seed", double(program_.train().seed)},
                 {"stream", double(stream::kMinibatch + epoch)},
                 {"first", double(sampler_->firstRow())}});
  return std::get<1>(u.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
}

torch::Tensor Trainer::fit(const Rollout &r, int64_t iteration) {
  const TrainSpec &t = program_.train();
  std::vector<torch::Tensor> losses;
  int64_t size = r.batch / t.minibatches;
  for (int64_t epoch = 0; epoch < t.epochs; ++epoch) {
    torch::Tensor order =
        t.minibatches > 1 ? minibatchOrder(epoch, r.batch) : torch::Tensor();
    for (int64_t m = 0; m < t.minibatches; ++m) {
      Rollout part =
          t.minibatches > 1
              ? selectRows(r, order.slice(0, m * size, (m + 1) * size))
              : r;
      double objectiveBefore = profile_.objective;
      kernelTimer() = &profile_.objective;
      auto t0 = Clock::now();
      torch::Tensor l = loss(part);
      if (gradSync_)
        gradSync_->begin(share_);
      l.backward();
      kernelTimer() = nullptr;
      torch::Tensor total = l.detach();
      double waited = 0;
      if (gradSync_) {
        // The gradients and the loss of the whole batch: each worker's
        // weighted by its share of the rows.
        total = (total.to(torch::kFloat64) * share_).reshape({1});
        double before = gradSync_->waitSeconds();
        gradSync_->finish(total);
        waited = gradSync_->waitSeconds() - before;
        profile_.allreduce += waited;
        total = total[0].to(torch::kFloat32);
      }
      syncForProfile();
      profile_.networks +=
          seconds(t0) - waited - (profile_.objective - objectiveBefore);
      checkFinite(program_, model_, part, l, iteration);
      losses.push_back(total);
      step(iteration);
    }
  }
  return losses.size() == 1 ? losses.front() : torch::stack(losses).mean();
}

bool Trainer::replayGraph(int64_t it) {
  auto t0 = Clock::now();
  if (!graph_) {
    // Gradients recorded from no gradient are written, not accumulated, at
    // each replay, into buffers of the graph's pool.
    optimizer_->zeroGrad();
    auto graph = std::make_unique<CudaGraph>();
    try {
      graph->capture([&] {
        Rollout r = sampler_->draw(program_.train().batch, horizon_,
                                   /*checkEnded=*/false);
        markSeen(r);
        torch::Tensor l = loss(r);
        l.backward();
        graphLoss_ = l.detach();
        graphLogReward_ = r.logReward;
        graphFinal_ = r.final;
      });
    } catch (const std::exception &e) {
      // Gradients made while recording point into the failed graph's pool
      // and hold nothing computed.
      optimizer_->zeroGrad();
      std::fprintf(stderr,
                   "gfl: warning: recording the CUDA graph failed (%s); "
                   "training goes on without graphs\n",
                   e.what());
      graphLoss_ = graphLogReward_ = torch::Tensor();
      return false;
    }
    graph_ = std::move(graph);
  }
  sampler_->setIteration(it);
  graph_->replay();
  syncForProfile();
  profile_.graph += seconds(t0);
  return true;
}

void Trainer::saveCheckpoint(const std::string &path, int64_t iteration) const {
  Checkpoint c(program_);
  c.put("iteration", iteration);
  optimizer_->save(c);
  targets_->save(c);
  // Every terminal state sampled so far, by code (the modes among them are
  // counted at evaluation).
  std::vector<int64_t> found;
  if (seen_.defined()) {
    torch::Tensor codes = seen_.nonzero().reshape({-1}).cpu();
    found.assign(codes.data_ptr<int64_t>(),
                 codes.data_ptr<int64_t>() + codes.numel());
  }
  c.put("modes_found", c10::List<int64_t>(found));
  c.put("wall_s", wallOffset_);
  sampleMetrics_->save(c);
  sampler_->save(c); // a collective over the workers (replay shards)
  if (writesFiles())
    c.write(path);
}

int64_t Trainer::loadCheckpoint(const std::string &path) {
  Checkpoint c = Checkpoint::read(path, program_);
  optimizer_->load(c);
  targets_->load(c);
  sampler_->load(c);
  sampleMetrics_->load(c);
  if (seen_.defined()) {
    seen_.zero_();
    std::vector<int64_t> codes;
    c10::IValue found = c.get("modes_found");
    if (!found.isList())
      throw c.error("'modes_found' is not a list");
    for (const c10::IValue &v : found.toList()) {
      int64_t code = v.isInt() ? v.toInt() : -1;
      if (code < 0 || code >= seen_.size(0))
        throw std::runtime_error("checkpoint '" + path +
                                 "' has a state code out of range");
      codes.push_back(code);
    }
    seen_.index_fill_(0, torch::tensor(codes, torch::kInt64).to(seen_.device()),
                      true);
  }
  c10::IValue wall = c.get("wall_s"), iteration = c.get("iteration");
  if (!wall.isDouble() || !iteration.isInt())
    throw c.error("'wall_s' or 'iteration' has the wrong type");
  wallOffset_ = wall.toDouble();
  return iteration.toInt();
}

} // namespace gfl

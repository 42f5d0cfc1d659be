//===- Trainer.h - The training loop -----------------------------*- C++
//-*-===//
//
// gfl::Trainer trains the networks of a Program, one iteration at a time:
//
//   1. the batch (BatchSampler: conditions, on-policy rollout, replay,
//      local search, as the manifest declares);
//   2. the loss (TrajectoryLoss: one forward of the networks over the
//      visited states, compiled policy and objective kernels as autograd
//      functions) and its backward pass;
//   3. an optimizer step (Optimizer: Adam groups, learning-rate schedule);
//   4. every `eval every` iterations, exact metrics (Evaluator), metrics
//      from the sampled states (SampleMetrics) and a checkpoint
//      (Checkpoint).
//
// In a data-parallel run (TrainerOptions::workers) each worker draws its
// share of the batch (the rows a single process would number the same),
// gradients and the loss are summed over the workers (GradientSync), and
// worker 0 alone evaluates and writes metrics and checkpoints.
//
// Everything runs on the program's device (Program::useDevice). On a GPU an
// iteration reads nothing back to the host but one "have all trajectories
// ended?" per few sampling steps. Where the longest trajectory is known
// (enumerable environments) and every trajectory is drawn on-policy, steps
// 1-2 of every iteration are recorded once in a CUDA graph and replayed,
// the rollout padded to that length.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_TRAINER_H
#define GFL_RUNTIME_TRAINER_H

#include "gfl/Runtime/BatchSampler.h"
#include "gfl/Runtime/Evaluator.h"
#include "gfl/Runtime/Loss.h"
#include "gfl/Runtime/Metrics.h"
#include "gfl/Runtime/Optimizer.h"
#include "gfl/Runtime/SampleMetrics.h"
#include "gfl/Runtime/TargetNetworks.h"

#include <memory>
#include <optional>
#include <string>

namespace gfl {

struct TrainerOptions {
  std::string outDir;     // metrics.jsonl and checkpoint.pt
  std::string checkpoint; // overrides outDir/checkpoint.pt
  bool resume = false;
  /// > 0: stop after this iteration of the run (checkpoint written), as if
  /// interrupted there; schedules still span the whole run.
  int64_t until = 0;
  bool progress = true; // progress on stderr
  /// Phase times exact on a GPU: synchronizes at each phase's end.
  bool profile = false;
  int64_t maxSteps = 100000; // trajectory length guard
  /// Sampling steps between checks that every trajectory has ended (a
  /// host round trip); 0: 1 on the CPU, 8 on a GPU.
  int64_t endCheckEvery = 0;
  /// On a GPU, record an iteration's rollout, loss and backward pass in a
  /// CUDA graph and replay it (where the horizon is known).
  bool cudaGraph = true;
  /// The condition [C] exact metrics are computed at during training (the
  /// declared values where undefined).
  torch::Tensor evalCondition;
  /// The workers of a data-parallel run (null: one process).
  WorkerGroup *workers = nullptr;
};

class CudaGraph;
class GradientSync;

class Trainer {
public:
  Trainer(Program &program, TrainerOptions options);
  ~Trainer();

  /// Runs the remaining iterations (all, or from a resumed checkpoint).
  /// Returns the final metrics.
  Metrics run();

  /// Draws a batch of on-policy trajectories with the current networks and
  /// the behaviour policy of `iteration`, at conditions `cond` ([C] for
  /// every row, or drawn where undefined). With `steps` > 0 it takes
  /// exactly that many sampling steps (the padded rollout a CUDA graph
  /// records); it must cover the longest trajectory (horizon()).
  Rollout rollout(int64_t iteration, int64_t batch, int64_t steps = 0,
                  const torch::Tensor &cond = {});
  /// The training batch of `iteration` (replay and local search included).
  Rollout trainingBatch(int64_t iteration);
  /// The batch loss (mean over trajectories), differentiable.
  torch::Tensor loss(const Rollout &r) { return (*loss_)(r); }
  TrajectoryLoss &trajectoryLoss() { return *loss_; }
  /// log P_F and log P_B of every transition under the current networks.
  StepLogProbs logProbs(const Rollout &r) const { return loss_->logProbs(r); }

  /// Sampling steps that cover every trajectory: the longest path in the
  /// state graph plus the exit; 0 when unknown (not enumerable).
  int64_t horizon() const { return horizon_; }
  /// True when training replays a CUDA graph (set by run()).
  bool graphed() const { return graph_ != nullptr; }

  Model &model() { return model_; }
  BatchSampler &sampler() { return *sampler_; }
  const Optimizer &optimizer() const { return *optimizer_; }
  TargetNetworks &targets() { return *targets_; }
  /// Trains on one batch: `epochs` passes of `minibatches` optimizer steps
  /// (the minibatches a permutation of the rows drawn per epoch), each
  /// followed by the target networks' update. Returns the mean loss.
  torch::Tensor fit(const Rollout &r, int64_t iteration);
  /// The order of the batch's rows for minibatches in pass `epoch` of the
  /// iteration set last: a function of the seed and iteration.
  torch::Tensor minibatchOrder(int64_t epoch, int64_t rows) const;
  const Profile &profile() const { return profile_; }
  /// Times the networks the loss runs, forward and backward, over as many
  /// rows as an iteration's states that exist (the mean so far; the batch
  /// before training): the floor the networks' GEMMs set. Stores it in
  /// the profile and returns it, in ms.
  double measureGemmFloor();
  /// In a data-parallel run every worker calls it (the replay shards are
  /// gathered) and worker 0 writes the file.
  void saveCheckpoint(const std::string &path, int64_t iteration) const;
  /// Loads a checkpoint; returns the iteration it was written at.
  int64_t loadCheckpoint(const std::string &path);

  /// Exact metrics of the current networks (modes found so far included)
  /// at condition `cond` [C] (the declared values where undefined).
  Metrics evaluate(int64_t iteration, double loss,
                   const torch::Tensor &cond = {});

private:
  /// With options_.profile on a GPU, waits for the device.
  void syncForProfile() const;
  /// An optimizer step at `iteration` and the targets' update after it.
  void step(int64_t iteration);
  /// Marks the terminal states of `r` as sampled (for modes found).
  void markSeen(const Rollout &r);
  /// Worker 0 evaluates and writes files; every worker in one process.
  bool writesFiles() const;
  /// Makes every worker's sampled states the union of all of theirs.
  void gatherSeen();
  /// Throws when the workers' parameters are not bit-identical.
  void checkReplicas(int64_t iteration);
  /// Iteration `it` through the CUDA graph, recording it first; false when
  /// the recording fails (training goes on without graphs).
  bool replayGraph(int64_t it);

  Program &program_;
  TrainerOptions options_;
  Model model_{nullptr};
  std::optional<TrajectoryLoss> loss_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<BatchSampler> sampler_;
  std::unique_ptr<TargetNetworks> targets_;
  std::optional<Evaluator> evaluator_;
  std::unique_ptr<SampleMetrics> sampleMetrics_;
  std::string noExactEvaluation_; // why there is no evaluator_, if enumerable
  torch::Tensor seen_;      // [states] bool: sampled as a terminal state
  torch::Tensor modeCodes_; // the evaluator's modes, on the device
  int64_t horizon_ = 0;
  std::unique_ptr<CudaGraph> graph_;
  WorkerGroup *workers_ = nullptr;
  std::unique_ptr<GradientSync> gradSync_;
  int64_t localBatch_ = 0;                   // this worker's rows of each batch
  double share_ = 1;                         // localBatch_ / batch
  torch::Tensor graphLoss_, graphLogReward_; // written by each replay
  State graphFinal_;
  double wallOffset_ = 0;                    // seconds trained before a resume
  Profile profile_;
};

} // namespace gfl

#endif // GFL_RUNTIME_TRAINER_H

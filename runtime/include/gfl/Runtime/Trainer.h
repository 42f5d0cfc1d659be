//===- Trainer.h - Rollouts, compiled objectives, evaluation ----*- C++ -*-===//
//
// gfl::Trainer trains the networks of a Program:
//
//   1. rollout: the compiled sampling step, once per step, for the batch;
//   2. one batched forward of the networks over every visited state;
//   3. log P_F / log P_B through the compiled policy kernel, and the loss
//      through the compiled objective kernel, each a LibTorch autograd
//      function whose backward is the compiled gradient kernel;
//   4. backward through the networks and an optimizer step.
//
// Everything runs on the program's device (Program::useDevice). On a GPU an
// iteration reads nothing back to the host but one "have all trajectories
// ended?" per few sampling steps; losses and rewards are read only for
// progress output and evaluation. Where the longest trajectory is known
// (enumerable environments), steps 1-3 of every iteration are recorded once
// in a CUDA graph and replayed, the rollout padded to that length.
//
// gfl::Evaluator computes the exact terminating distribution of the learned
// sampler for enumerable environments by dynamic programming over the
// state DAG.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_TRAINER_H
#define GFL_RUNTIME_TRAINER_H

#include "gfl/Runtime/Model.h"
#include "gfl/Runtime/Program.h"

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <set>
#include <string>

namespace gfl {

/// A batch of trajectories, padded to the longest one.
struct Rollout {
  int64_t batch = 0;
  int64_t steps = 0;         // T: the longest trajectory's action count
  std::vector<State> states; // s_0 .. s_T, each [B, ...]
  torch::Tensor features;    // [T+1, B, F]
  torch::Tensor actions;     // [B, T+1] int32, -1 after the end
  torch::Tensor n;           // [B] int32: non-exit transitions
  torch::Tensor exited;      // [B] bool: ended with the exit action
  State final;               // terminal states
  torch::Tensor logReward;   // [B]
};

struct Metrics {
  int64_t iteration = 0;
  double loss = 0;
  std::optional<double> l1, jsd, logz, logzTrue;
  int64_t modesFound = 0, modesTotal = 0;
  double meanReward = 0; // over the last sampled batch
  double topkReward = 0; // mean of its 10 largest rewards
  double wallSeconds = 0;
  std::string json() const;
};

class Evaluator {
public:
  /// Enumerates the states reachable from s0 (enumerable envs only).
  explicit Evaluator(const Program &program);

  /// Exact L1 / JSD / log Z of the model's sampler (fills `m`).
  void evaluate(Model &model, Metrics &m) const;
  /// Indices (state codes) of the modes: terminating states with the
  /// highest reward.
  const std::set<int64_t> &modes() const { return modes_; }
  /// Edges on the longest path from s0.
  int64_t longestPath() const { return longestPath_; }
  double logZTrue() const { return logZTrue_; }

private:
  const Program &program_;
  State states_; // reachable states, topological order
  std::vector<std::vector<std::pair<int64_t, int32_t>>> children_;
  torch::Tensor mask_; // forward masks [S, A] (on the device)
  // On the host:
  torch::Tensor terminal_; // [S] bool: `terminal when`
  torch::Tensor canEnd_;   // [S] bool: terminal or exit allowed
  torch::Tensor target_;   // [S] p*(x), 0 where the state cannot end
  std::set<int64_t> modes_;
  double logZTrue_ = 0;
  double logR0_ = 0; // log R(s0)
  int64_t longestPath_ = 0;
  // What the training objective reads decides how log Z is estimated.
  bool readsLogZ_ = false, readsLogF_ = false, readsEnergy_ = false,
       readsExit_ = false, readsEdgeFlows_ = false;
};

/// Seconds spent per phase of training (summed over iterations).
struct Profile {
  double rollout = 0;   // sampling loop: compiled steps + policy forward
  double networks = 0;  // forward over visited states + backward through them
  double objective = 0; // compiled policy log-prob and objective kernels
  double optimizer = 0;
  double graph = 0; // replays of the recorded rollout, networks and objective
  int64_t iterations = 0;
  int64_t trajectories = 0;
  std::string json() const;
};

struct TrainerOptions {
  std::string outDir;     // metrics.jsonl and checkpoint.pt
  std::string checkpoint; // overrides outDir/checkpoint.pt
  bool resume = false;
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
};

class CudaGraph;

class Trainer {
public:
  Trainer(Program &program, TrainerOptions options);
  ~Trainer();

  /// Runs the remaining iterations (all, or from a resumed checkpoint).
  /// Returns the final metrics.
  Metrics run();

  /// Draws a batch of trajectories with the current networks. With `steps`
  /// > 0 it takes exactly that many sampling steps and reads nothing back
  /// (the padded rollout a CUDA graph records); it must cover the longest
  /// trajectory (horizon()).
  Rollout rollout(int64_t iteration, int64_t batch, int64_t steps = 0);
  /// The batch loss (mean over trajectories), differentiable.
  torch::Tensor loss(const Rollout &r);

  /// Sampling steps that cover every trajectory: the longest path in the
  /// state graph plus the exit; 0 when unknown (not enumerable).
  int64_t horizon() const { return horizon_; }
  /// True when training replays a CUDA graph (set by run()).
  bool graphed() const { return graph_ != nullptr; }

  Model &model() { return model_; }
  const Profile &profile() const { return profile_; }
  void saveCheckpoint(const std::string &path, int64_t iteration) const;
  /// Loads a checkpoint; returns the iteration it was written at.
  int64_t loadCheckpoint(const std::string &path);

  /// Exact metrics of the current networks (modes found so far included).
  Metrics evaluate(int64_t iteration, double loss);

private:
  void buildOptimizer();
  /// With options_.profile on a GPU, waits for the device.
  void syncForProfile() const;
  /// Draws at the iteration in iteration_ (see rollout()). `checkEnded`:
  /// a padded rollout checks that every trajectory ended (a host read,
  /// which a CUDA graph recording cannot make).
  Rollout sample(int64_t batch, int64_t steps, bool checkEnded);
  /// Makes every parameter's gradient undefined (not zero).
  void dropGradients();
  /// Iteration `it` through the CUDA graph, recording it first; false when
  /// the recording fails (training goes on without graphs).
  bool replayGraph(int64_t it);

  Program &program_;
  TrainerOptions options_;
  Model model_{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::optional<Evaluator> evaluator_;
  torch::Tensor seen_;      // [states] bool: sampled as a terminal state
  torch::Tensor modeCodes_; // the evaluator's modes, on the device
  torch::Tensor iteration_; // [1] int64: the sampler's iteration
  int64_t horizon_ = 0;
  std::unique_ptr<CudaGraph> graph_;
  torch::Tensor graphLoss_, graphLogReward_; // written by each replay
  double wallOffset_ = 0;                    // seconds trained before a resume
  bool needsStateRewards_ = false; // objective reads log_r_step / energy
  std::set<std::string> reads_;    // network outputs the objective reads
  bool readsEdgeFlows_ = false;    // log_in_flow, log_out_flow, log_exit_flow
  bool reads(const std::string &name) const { return reads_.count(name); }
  Profile profile_;
};

} // namespace gfl

#endif // GFL_RUNTIME_TRAINER_H

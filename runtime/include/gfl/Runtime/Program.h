//===- Program.h - A loaded artifact, its specs, kernel calls ---*- C++ -*-===//
//
// gfl::Program reads an artifact's manifest into the environment, network
// and training specs, and calls its kernels on LibTorch tensors by argument
// name: on the CPU entry points for CPU tensors, on the GPU through the CUDA
// driver for CUDA tensors. Nothing here knows a particular environment or
// objective.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_PROGRAM_H
#define GFL_RUNTIME_PROGRAM_H

#include "gfl/Runtime/Artifact.h"
#include "gfl/Runtime/CudaDriver.h"
#include "gfl/Runtime/RewardModel.h"

#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gfl {

struct FieldSpec {
  std::string name;
  torch::ScalarType dtype;
  std::vector<int64_t> shape; // per state
  /// The half-open domain [lo, hi) of an int field, if declared.
  std::optional<std::pair<int64_t, int64_t>> domain;
};

/// A variable drawn per trajectory that the reward and the networks see
/// (`condition beta ~ loguniform(1, 4)`): columns [offset, offset + size)
/// of the trajectories' condition rows.
struct ConditionSpec {
  std::string name;
  int64_t size = 1;
  int64_t offset = 0;
  std::string distribution; // uniform, loguniform, dirichlet
  std::vector<double> params;
  std::vector<double> value; // where none is drawn (evaluation)
};

struct EnvSpec {
  std::string name;
  std::vector<FieldSpec> fields;
  std::vector<ConditionSpec> conditions;
  int64_t conditionSize = 0; // columns of a condition row
  int64_t numActions = 0;
  int64_t numBackwardActions = 0;
  int64_t featureSize = 0;
  bool hasStop = false;
  bool hasTerminal = false;
  bool hasStepReward = false; // gfl_step_reward: t.reward of update rules
  bool enumerable = false;
  int64_t stateCount = 0;
  /// `reward model(...)`: a TorchScript module gives the reward.
  std::optional<RewardModelSpec> rewardModel;
};

struct NetSpec {
  std::string name;
  std::string kind; // mlp, uniform, scalar
  /// Concatenated: `features`, condition names, or one earlier network.
  std::vector<std::string> inputs;
  int64_t inputSize = 0;
  std::string output; // actions, backward_actions or a number
  int64_t outputSize = 0;
  std::vector<int64_t> hidden;
  std::string activation = "relu";
  double init = 0;
};

struct OptimizerSpec {
  std::string name = "adam";
  std::map<std::string, double> args; // lr, beta1, ...
};

/// A setting that moves linearly from `start` to `end` over the first
/// `over` iterations (constant when `over` is 0), then stays at `end`.
struct Schedule {
  double start = 0, end = 0;
  int64_t over = 0;
  static Schedule constant(double v) { return {v, v, 0}; }
  double at(int64_t iteration) const;
};

/// A replay source: a buffer of terminal states and their log-rewards.
struct ReplaySpec {
  int64_t capacity = 0;
  double fraction = 0;      // of each batch drawn from the buffer
  bool prioritized = false; // draws proportional to exp(log R / temperature)
  double temperature = 1;
  bool evictLowest = false; // a full buffer drops the lowest reward (else FIFO)
  bool insertNew = false;   // only states not in the buffer (else all)
};

/// LS-GFN: backtrack with P_B, reconstruct with P_F, accept.
struct LocalSearchSpec {
  int64_t backtrack = 1;
  int64_t rounds = 1;
  bool greedy = false;        // else Metropolis-Hastings
  bool keepOriginals = false; // train on the drawn trajectories too
};

/// How a batch is drawn: on-policy with a behaviour policy (epsilon and
/// temperature schedules), replay sources, and a local-search refinement.
struct SamplerSpec {
  Schedule epsilon = Schedule::constant(0);
  Schedule temperature = Schedule::constant(1);
  std::vector<ReplaySpec> replay;
  std::optional<LocalSearchSpec> localSearch;
  /// True when every trajectory is drawn on-policy and used as drawn.
  bool onPolicyOnly() const { return replay.empty() && !localSearch; }
};

/// The learning rate's factor over iterations: a linear warm-up, then
/// constant, linear or cosine decay to `min`, or steps of `gamma` every
/// `every` iterations.
struct LearningRateSpec {
  std::string kind = "constant"; // constant, linear, cosine, step
  int64_t warmup = 0;
  double min = 0;
  int64_t every = 0;
  double gamma = 1;
  double factor(int64_t iteration, int64_t iterations) const;
};

/// Target networks of update rules: frozen copies of `nets`, copied every
/// `every` iterations or moved towards the networks by Polyak averaging
/// with `tau` after every optimizer step.
struct TargetSpec {
  bool polyak = false;
  int64_t every = 1;
  double tau = 1;
  std::vector<std::string> nets;
};

/// A param of terminal states the metrics read (`test_set`,
/// `reference_modes`).
struct StateSetSpec {
  std::string param;
  int64_t samples = 16; // backward trajectories per state (test_set)
  double within = 0;    // Hamming distance that finds a mode
};

struct TrainSpec {
  std::string objective;
  std::vector<double> objectiveArgs;
  int64_t batch = 16;
  int64_t iterations = 1000;
  int64_t seed = 0;
  OptimizerSpec optimizer;
  std::map<std::string, OptimizerSpec> groups; // per network
  SamplerSpec sampler;
  LearningRateSpec learningRate;
  /// Optimizer passes over each batch, and minibatches per pass.
  int64_t epochs = 1, minibatches = 1;
  std::optional<TargetSpec> target;
  int64_t evalEvery = 0;
  std::vector<std::string> metrics;
  std::optional<StateSetSpec> testSet, referenceModes;
};

/// One state per field, each with the batch as its leading dimension.
using State = std::vector<torch::Tensor>;

/// Calls a kernel: buffer arguments by their manifest names (outputs
/// preallocated with the right shape and dtype, contiguous), scalars from
/// `scalars`. CPU tensors run the CPU entry; CUDA tensors run the kernel of
/// `gpu` on LibTorch's current stream, without waiting for it. Throws
/// std::runtime_error on a missing or mismatched argument, or on tensors
/// of two devices.
void callKernel(const Kernel &kernel,
                const std::map<std::string, torch::Tensor> &tensors,
                const std::map<std::string, double> &scalars = {},
                const cuda::Module *gpu = nullptr);

class Program;

/// One kernel of a program with its arguments set by position: bound once,
/// updated and called many times (the rollout's step kernel, once a step)
/// without looking names up in each call. Checks what callKernel checks.
class BoundKernel {
public:
  /// Throws std::runtime_error when the artifact has no kernel `kernel`.
  BoundKernel(const Program &program, const std::string &kernel);
  static constexpr size_t kAbsent = static_cast<size_t>(-1);
  /// The position of argument `name`, or kAbsent when the kernel has none.
  size_t slot(const std::string &name) const;
  /// Sets an argument; one at kAbsent is dropped (as callKernel drops names
  /// the kernel does not have).
  void set(size_t slot, torch::Tensor t);
  void set(size_t slot, double v);
  /// Calls the kernel with the arguments set so far.
  void operator()() const;

private:
  const Kernel *kernel_;
  const cuda::Module *gpu_;
  std::vector<torch::Tensor> tensors_;
  std::vector<double> scalars_;
  std::vector<const torch::Tensor *> tensorAt_; // null until set
  std::vector<const double *> scalarAt_;
};

class WorkerGroup;

class Program {
public:
  /// Loads and validates an artifact; nullptr with a one-line `error`.
  static std::unique_ptr<Program> load(const std::string &path,
                                       std::string &error);

  const EnvSpec &env() const { return env_; }
  const std::vector<NetSpec> &nets() const { return nets_; }
  const NetSpec *net(const std::string &name) const;
  const TrainSpec &train() const { return train_; }
  TrainSpec &train() { return train_; }
  const json::Value &manifest() const { return artifact_->manifest(); }
  const std::string &path() const { return artifact_->path(); }
  bool hasKernel(const std::string &name) const {
    return artifact_->kernel(name) != nullptr;
  }
  /// True when kernel `kernel` exists and has an argument named `arg`.
  bool kernelHasArg(const std::string &kernel, const std::string &arg) const;
  /// The kernel `name` with its argument list, or nullptr.
  const Kernel *kernel(const std::string &name) const {
    return artifact_->kernel(name);
  }
  /// Names of the params compiled into the artifact.
  std::vector<std::string> paramNames() const;

  /// Runs every kernel, and allocates every tensor this program makes, on
  /// `device`. For CUDA this loads the artifact's GPU module; throws
  /// std::runtime_error with a one-line reason when that cannot be done
  /// (LibTorch without CUDA, no GPU, an artifact without CUDA kernels).
  void useDevice(const torch::Device &device);
  const torch::Device &device() const { return device_; }
  /// Tensor options of `dtype` on the program's device.
  torch::TensorOptions options(torch::ScalarType dtype) const {
    return torch::TensorOptions().dtype(dtype).device(device_);
  }
  /// The loaded GPU module ("cubin sm_90", ...), or nullptr on the CPU.
  const cuda::Module *gpu() const { return gpu_.get(); }

  /// Calls kernel `name`. Buffer arguments come from `tensors` by their
  /// manifest names (outputs must be preallocated with the right shape and
  /// dtype); scalars from `scalars`. Throws std::runtime_error on a missing
  /// or mismatched argument.
  void call(const std::string &name,
            const std::map<std::string, torch::Tensor> &tensors,
            const std::map<std::string, double> &scalars = {}) const;

  // Environment helpers over whole batches.
  State init(int64_t batch) const;
  /// Uninitialized states: each field [leading..., field shape] ({batch}
  /// for a batch of states, {steps, batch} for steps of one).
  State emptyState(c10::IntArrayRef leading) const;
  /// Adds `prefix.FIELD` entries for a state.
  void bindState(std::map<std::string, torch::Tensor> &args,
                 const std::string &prefix, const State &s) const;
  torch::Tensor features(const State &s) const;
  torch::Tensor forwardMask(const State &s) const;
  torch::Tensor backwardMask(const State &s) const;
  /// log R of each state, at the conditions `cond` [B, C] where the env
  /// declares conditions (their default values when `cond` is undefined).
  torch::Tensor logReward(const State &s, const torch::Tensor &cond = {}) const;
  /// The env's default condition values as `rows` rows [rows, C]; undefined
  /// without conditions.
  torch::Tensor defaultCondition(int64_t rows) const;
  /// The condition `cond` [C] as `rows` rows [rows, C] on the device (the
  /// declared values where `cond` is undefined); undefined without
  /// conditions.
  torch::Tensor conditionRows(int64_t rows, const torch::Tensor &cond) const;
  torch::Tensor terminal(const State &s) const;
  /// Next states and `done` for flat actions.
  std::pair<State, torch::Tensor> step(const State &s,
                                       const torch::Tensor &actions) const;
  /// The parent of each state through its backward action.
  State backwardStep(const State &s, const torch::Tensor &actions) const;
  torch::Tensor stateIndex(const State &s) const;
  /// The rows of the param `name` as states (each row every field's
  /// elements, flattened in declaration order), on the device. Throws
  /// std::runtime_error when the param is missing or not such a table.
  State paramStates(const std::string &name) const;
  /// Elements of a state, every field flattened: S.
  int64_t stateWidth() const;
  /// Each state as one row of its elements, [B, S] float64 (as written in
  /// a param of states).
  torch::Tensor flattenStates(const State &s) const;
  State stateDecode(const torch::Tensor &index) const;
  /// Rows of one state batch selected by `rows` (int64, on its device).
  static State select(const State &s, const torch::Tensor &rows);
  /// Concatenates state batches along the batch dimension.
  static State cat(const std::vector<State> &states);
  /// Row `row` of a state batch as text: `x=[1, 3]` (for error messages).
  std::string describe(const State &s, int64_t row) const;
  /// Whether gflc could not prove that no allowed action leaves the
  /// fields' domains (it walks enumerable envs of up to 2^22 states), so
  /// that the samplers check the states they reach.
  bool stepsMayLeaveDomains() const;
  /// Exact evaluation enumerated the state graph and found no action
  /// leaving the domains: the samplers need not check.
  void setDomainsProven() { domainsProven_ = true; }
  /// [B] bool: the rows of `s` with a field value outside its domain.
  torch::Tensor outsideDomains(const State &s) const;

  /// The workers of a data-parallel run, each holding a share of every
  /// batch: batch collectives (batch_mean, batch_sum) reduce over all of
  /// them. Null in one process.
  void setWorkers(WorkerGroup *workers) { workers_ = workers; }
  WorkerGroup *workers() const { return workers_; }

private:
  Program() = default;
  /// Runs env kernel `kernel` on the states `s` into a new tensor, its
  /// argument `output`, of `perRow` elements per row (none: one scalar).
  torch::Tensor
  stateKernel(const char *kernel, const char *output,
              std::vector<int64_t> perRow, torch::ScalarType dtype,
              const State &s,
              const std::map<std::string, torch::Tensor> &extra = {}) const;
  std::unique_ptr<Artifact> artifact_;
  torch::Device device_{torch::kCPU};
  bool domainsProven_ = false;
  WorkerGroup *workers_ = nullptr;
  std::unique_ptr<cuda::Module> gpu_;
  std::unique_ptr<RewardModel> rewardModel_;
  EnvSpec env_;
  std::vector<NetSpec> nets_;
  TrainSpec train_;
};

} // namespace gfl

#endif // GFL_RUNTIME_PROGRAM_H

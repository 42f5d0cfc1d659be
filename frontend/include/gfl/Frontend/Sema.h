//===- Sema.h - Semantic analysis of .gfl programs ---------------*- C++ -*-===//
//
// Sema resolves names, computes the type of every expression (stored in the
// AST), evaluates `param` constants, shapes, domains and initial values, and
// summarizes each declaration in a CheckedProgram that MLIRGen and the
// artifact writer consume.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_FRONTEND_SEMA_H
#define GFL_FRONTEND_SEMA_H

#include "gfl/Frontend/AST.h"
#include "gfl/Frontend/Diagnostics.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gfl {

/// A compile-time constant: a scalar or a tensor in row-major order. Ints and
/// bools are stored exactly as doubles (Sema keeps ints within +-2^53).
struct ConstValue {
  Type type;
  std::vector<double> data;

  double scalar() const { return data.empty() ? 0.0 : data.front(); }
  std::string str() const;
};

struct ParamInfo {
  std::string name;
  ConstValue value;
  const ParamDecl *decl = nullptr;
  std::string file;       // load("file") as written; empty otherwise
  std::string loadedPath; // the path it was read from
};

struct StateInfo {
  std::string name;
  Type type;
  bool hasDomain = false;
  double lo = 0, hi = 0; // half-open [lo, hi)
  ConstValue init;
  const StateField *decl = nullptr;
};

struct ActionInfo {
  std::string name;
  std::vector<std::pair<int64_t, int64_t>> paramRanges; // half-open
  int64_t count = 1; // number of flat actions in this family
  const ActionDecl *decl = nullptr;
};

/// A checked `condition`: columns [offset, offset + size) of a trajectory's
/// condition row.
struct ConditionInfo {
  std::string name;
  Type type;                  // float or float[K]
  std::string distribution;   // uniform, loguniform, dirichlet
  std::vector<double> params; // lo, hi; or one alpha per component
  std::vector<double> value;  // where none is drawn (evaluation)
  int64_t offset = 0;
  const ConditionDecl *decl = nullptr;
  int64_t size() const { return type.numElements(); }
};

struct EnvInfo {
  std::string name;
  std::vector<StateInfo> states;
  std::vector<ConditionInfo> conditions;
  int64_t conditionSize = 0;
  std::vector<ActionInfo> actions;
  bool hasStop = false;
  bool hasTerminal = false;
  bool hasStepReward = false;
  /// Forward actions: every family's actions, then the exit action if any.
  int64_t numActions = 0;
  /// Backward actions: the non-exit ones.
  int64_t numBackwardActions = 0;
  int64_t featureSize = 0;
  /// `reward model("file", input EXPR)`: the module's path as read, and
  /// the elements of its input per state.
  std::string rewardModelPath;
  int64_t rewardModelInputs = 0;
  const EnvDecl *decl = nullptr;
};

enum class NetKind { Mlp, Uniform, Scalar };

struct NetInfo {
  std::string name;
  NetKind kind = NetKind::Mlp;
  /// Concatenated inputs: "features" and condition names, or the name of
  /// one earlier network (a shared trunk).
  std::vector<std::string> inputs;
  int64_t inputSize = 0;
  std::string output;     // "actions", "backward_actions" or a number
  int64_t outputSize = 0;
  std::vector<int64_t> hidden;
  std::string activation = "relu";
  double init = 0.0;      // Scalar: initial value
  const NetDecl *decl = nullptr;
};

struct ObjectiveInfo {
  std::string name;
  /// Scalar parameters after the trajectory, with their defaults if given.
  std::vector<std::pair<std::string, Type>> scalarParams;
  std::vector<std::optional<ConstValue>> defaults;
  const ObjectiveDecl *decl = nullptr;
};

/// Arguments of a configuration call such as `adam(lr 1e-3)`.
struct ConfigCall {
  std::string name;
  std::vector<std::pair<std::string, ConstValue>> args; // in source order
};

/// A setting that moves linearly from `start` to `end` over `over`
/// iterations (`epsilon 1.0 -> 0.1 over 500`); constant when `over` is 0.
struct ScheduleInfo {
  double start = 0, end = 0;
  int64_t over = 0;
};

/// `replay(capacity 10000, fraction 0.25, priority reward, ...)`.
struct ReplayInfo {
  int64_t capacity = 0;
  double fraction = 0;
  std::string priority = "uniform"; // uniform, reward
  double temperature = 1;           // of the reward priority
  std::string evict = "fifo";       // fifo, reward
  std::string insert = "all";       // all, new
};

/// `local_search(backtrack 4, rounds 2, accept mh, keep_originals false)`.
struct LocalSearchInfo {
  int64_t backtrack = 0;
  int64_t rounds = 1;
  std::string accept = "mh"; // mh, greedy
  bool keepOriginals = false;
  SourceRange backtrackRange; // where a backtrack too long is reported
};

/// The sampler of a train block: the on-policy source's behaviour policy,
/// replay sources and a local-search refinement.
struct SamplerInfo {
  ScheduleInfo epsilon{0, 0, 0};
  ScheduleInfo temperature{1, 1, 0};
  std::vector<ReplayInfo> replay;
  std::optional<LocalSearchInfo> localSearch;
};

/// `lr_schedule cosine(warmup 100, min 0.1)` and its kin.
struct LrScheduleInfo {
  std::string kind = "constant"; // constant, linear, cosine, step
  int64_t warmup = 0;
  double min = 0;
  int64_t every = 0;
  double gamma = 1;
};

/// `target copy(every N)` or `target polyak(tau X)`, optionally
/// `nets [pf, value]` (default: every network with parameters): frozen
/// copies the update rules read as `t.*_target`.
struct TargetInfo {
  std::string kind; // copy, polyak
  int64_t every = 1;
  double tau = 1;
  std::vector<std::string> nets;
};

/// `test_set P(samples K)` / `reference_modes P(within D)`: a param whose
/// rows are terminal states (every state field's elements, flattened in
/// declaration order).
struct StateSetInfo {
  std::string param;
  int64_t rows = 0;
  int64_t samples = 16; // test_set: backward trajectories per state
  double within = 0;    // reference_modes: Hamming distance that counts
};

struct TrainInfo {
  std::string objective;
  std::vector<ConstValue> objectiveArgs;
  int64_t batch = 16;
  int64_t iterations = 1000;
  int64_t seed = 0;
  ConfigCall optimizer{"adam", {}};
  std::map<std::string, ConfigCall> groupOverrides; // network -> options
  SamplerInfo sampler;
  LrScheduleInfo lrSchedule;
  /// Optimizer passes over each batch, and the minibatches of each pass.
  int64_t epochs = 1, minibatches = 1;
  std::optional<TargetInfo> target;
  int64_t evalEvery = 0; // 0: only at the end
  std::vector<std::string> evalMetrics;
  std::optional<StateSetInfo> testSet, referenceModes;
  const TrainDecl *decl = nullptr;
};

struct CheckedProgram {
  std::vector<ParamInfo> params;
  std::optional<EnvInfo> env;
  std::vector<NetInfo> nets;
  std::vector<ObjectiveInfo> objectives;
  std::optional<TrainInfo> train;
  /// A `--set` that names nothing or whose value does not fit: an option
  /// error (gflc exits 2), reported alone since analysis stops there.
  bool badOverride = false;

  const ParamInfo *findParam(const std::string &name) const;
  const NetInfo *findNet(const std::string &name) const;
  const ObjectiveInfo *findObjective(const std::string &name) const;
};

/// Command-line overrides (`gflc --set NAME=VALUE`): a param by name, or a
/// training setting as `train.batch`, `train.iterations`, `train.seed`,
/// `train.objective`.
using Overrides = std::map<std::string, std::string>;

/// Checks `program` (filling in expression types and bindings) and returns
/// its summary. On error, diagnostics are reported and the summary is
/// partial; callers must check diags.hasErrors().
CheckedProgram analyze(Program &program, DiagnosticEngine &diags,
                       const Overrides &overrides = {});

/// The largest tensor Sema accepts (elements of a state field, constant or
/// one-hot encoding), so that hostile inputs cannot exhaust memory.
constexpr int64_t kMaxTensorElements = int64_t(1) << 20;

} // namespace gfl

#endif // GFL_FRONTEND_SEMA_H

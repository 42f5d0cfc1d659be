//===- Program.cpp - A loaded artifact with typed specs and tensor calls --===//

#include "gfl/Runtime/Program.h"
#include "ManifestCheck.h"
#include "gfl/Runtime/MemRef.h"
#include "gfl/Runtime/StateGraph.h"
#include "gfl/Runtime/TorchCompat.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace gfl {

namespace {

const json::Value &need(const json::Value &obj, const char *key,
                        const std::string &where) {
  const json::Value *v = obj.get(key);
  if (!v)
    throw std::runtime_error("manifest: " + where + " has no '" + key + "'");
  return *v;
}

double number(const json::Value &v, double fallback = 0) {
  return v.isNumber() ? v.asNumber()
         : v.isBool() ? double(v.asBool())
                      : fallback;
}

/// LibTorch's type for a manifest's dtype, read as elementTypeOf reads it.
torch::ScalarType scalarTypeOf(ElementType element, const std::string &dtype) {
  switch (element) {
  case ElementType::Int32:
    return torch::kInt32;
  case ElementType::Int64:
    return torch::kInt64;
  case ElementType::Float32:
    return torch::kFloat32;
  case ElementType::Bool:
    return torch::kBool;
  case ElementType::Unknown:
    break;
  }
  throw std::runtime_error("manifest: unknown dtype '" + dtype + "'");
}

torch::ScalarType dtypeOf(const std::string &s) {
  return scalarTypeOf(elementTypeOf(s), s);
}

Schedule scheduleOf(const json::Value &v) {
  Schedule s;
  s.start = number(need(v, "start", "schedule"));
  s.end = number(need(v, "end", "schedule"));
  s.over = need(v, "over", "schedule").asInt();
  return s;
}

std::vector<double> numbers(const json::Value &v) {
  std::vector<double> out;
  for (const json::Value &x : v.asArray())
    out.push_back(number(x));
  return out;
}

SamplerSpec samplerOf(const json::Value &v) {
  SamplerSpec s;
  s.epsilon = scheduleOf(need(v, "epsilon", "sampler"));
  s.temperature = scheduleOf(need(v, "temperature", "sampler"));
  for (const json::Value &r : need(v, "replay", "sampler").asArray()) {
    ReplaySpec rs;
    rs.capacity = need(r, "capacity", "replay").asInt();
    rs.fraction = number(need(r, "fraction", "replay"));
    rs.prioritized = need(r, "priority", "replay").asString() == "reward";
    rs.temperature = number(need(r, "temperature", "replay"));
    rs.evictLowest = need(r, "evict", "replay").asString() == "reward";
    rs.insertNew = need(r, "insert", "replay").asString() == "new";
    s.replay.push_back(rs);
  }
  if (const json::Value *ls = v.get("local_search")) {
    LocalSearchSpec l;
    l.backtrack = need(*ls, "backtrack", "local_search").asInt();
    l.rounds = need(*ls, "rounds", "local_search").asInt();
    l.greedy = need(*ls, "accept", "local_search").asString() == "greedy";
    l.keepOriginals = need(*ls, "keep_originals", "local_search").asBool();
    s.localSearch = l;
  }
  return s;
}

LearningRateSpec learningRateOf(const json::Value &v) {
  LearningRateSpec l;
  l.kind = need(v, "kind", "lr_schedule").asString();
  l.warmup = need(v, "warmup", "lr_schedule").asInt();
  l.min = number(need(v, "min", "lr_schedule"));
  l.every = need(v, "every", "lr_schedule").asInt();
  l.gamma = number(need(v, "gamma", "lr_schedule"));
  return l;
}

OptimizerSpec optimizerOf(const json::Value &v) {
  OptimizerSpec o;
  if (const json::Value *n = v.get("name"))
    o.name = n->asString();
  if (const json::Value *args = v.get("args"))
    for (const auto &[k, x] : args->asObject())
      o.args[k] = number(x);
  return o;
}

} // namespace

std::unique_ptr<Program> Program::load(const std::string &path,
                                       std::string &error) {
  std::unique_ptr<Program> p(new Program());
  p->artifact_ = Artifact::open(path, error);
  if (!p->artifact_)
    return nullptr;
  try {
    const json::Value &m = p->artifact_->manifest();
    const json::Value *env = m.get("env");
    if (!env || !env->isObject())
      throw std::runtime_error("the artifact has no environment");
    EnvSpec &e = p->env_;
    e.name = need(*env, "name", "env").asString();
    for (const json::Value &f : need(*env, "states", "env").asArray()) {
      FieldSpec fs;
      fs.name = need(f, "name", "state").asString();
      fs.dtype = dtypeOf(need(f, "dtype", "state").asString());
      for (const json::Value &d : need(f, "shape", "state").asArray())
        fs.shape.push_back(d.asInt());
      if (const json::Value *d = f.get("domain");
          d && d->isArray() && d->asArray().size() == 2)
        fs.domain = {d->asArray()[0].asInt(), d->asArray()[1].asInt()};
      e.fields.push_back(std::move(fs));
    }
    if (const json::Value *cs = env->get("conditions"))
      for (const json::Value &c : cs->asArray()) {
        ConditionSpec spec;
        spec.name = need(c, "name", "condition").asString();
        spec.size = need(c, "size", "condition").asInt();
        spec.offset = need(c, "offset", "condition").asInt();
        spec.distribution = need(c, "distribution", "condition").asString();
        spec.params = numbers(need(c, "params", "condition"));
        spec.value = numbers(need(c, "value", "condition"));
        if (spec.size < 1 || spec.offset != e.conditionSize ||
            static_cast<int64_t>(spec.value.size()) != spec.size)
          throw std::runtime_error("manifest: condition '" + spec.name +
                                   "' has an inconsistent layout");
        e.conditionSize += spec.size;
        e.conditions.push_back(std::move(spec));
      }
    e.numActions = need(*env, "num_actions", "env").asInt();
    e.numBackwardActions = need(*env, "num_backward_actions", "env").asInt();
    e.featureSize = need(*env, "feature_size", "env").asInt();
    e.hasStop = need(*env, "has_stop", "env").asBool();
    e.hasTerminal = need(*env, "has_terminal", "env").asBool();
    e.hasStepReward = need(*env, "has_step_reward", "env").asBool();
    e.enumerable = need(*env, "enumerable", "env").asBool();
    if (const json::Value *c = env->get("state_count"))
      e.stateCount = c->asInt();
    if (const json::Value *r = env->get("reward_model")) {
      RewardModelSpec spec;
      spec.file = need(*r, "file", "reward_model").asString();
      spec.path = need(*r, "path", "reward_model").asString();
      spec.sha256 = need(*r, "sha256", "reward_model").asString();
      spec.where = need(*r, "where", "reward_model").asString();
      spec.inputs = need(*r, "inputs", "reward_model").asInt();
      spec.log = need(*r, "log", "reward_model").asBool();
      if (spec.inputs <= 0)
        throw std::runtime_error("manifest: the reward model has no inputs");
      e.rewardModel = spec;
    }

    for (const json::Value &n : need(m, "networks", "manifest").asArray()) {
      NetSpec s;
      s.name = need(n, "name", "network").asString();
      s.kind = need(n, "kind", "network").asString();
      if (const json::Value *v = n.get("inputs"))
        for (const json::Value &i : v->asArray())
          s.inputs.push_back(i.asString());
      if (const json::Value *v = n.get("input_size"))
        s.inputSize = v->asInt();
      if (const json::Value *v = n.get("output"))
        s.output = v->asString();
      if (const json::Value *v = n.get("output_size"))
        s.outputSize = v->asInt();
      if (const json::Value *v = n.get("hidden"))
        for (const json::Value &h : v->asArray())
          s.hidden.push_back(h.asInt());
      if (const json::Value *v = n.get("activation"))
        s.activation = v->asString();
      if (const json::Value *v = n.get("init"))
        s.init = number(*v);
      p->nets_.push_back(std::move(s));
    }

    if (const json::Value *t = m.get("train")) {
      TrainSpec &ts = p->train_;
      ts.objective = need(*t, "objective", "train").asString();
      for (const json::Value &a : need(*t, "objective_args", "train").asArray())
        ts.objectiveArgs.push_back(number(a));
      ts.batch = need(*t, "batch", "train").asInt();
      ts.iterations = need(*t, "iterations", "train").asInt();
      ts.seed = need(*t, "seed", "train").asInt();
      ts.optimizer = optimizerOf(need(*t, "optimizer", "train"));
      for (const auto &[k, v] :
           need(*t, "optimizer_groups", "train").asObject())
        ts.groups[k] = optimizerOf(v);
      ts.sampler = samplerOf(need(*t, "sampler", "train"));
      ts.learningRate = learningRateOf(need(*t, "lr_schedule", "train"));
      ts.epochs = need(*t, "epochs", "train").asInt();
      ts.minibatches = need(*t, "minibatches", "train").asInt();
      if (const json::Value *target = t->get("target")) {
        TargetSpec spec;
        spec.polyak = need(*target, "kind", "target").asString() == "polyak";
        spec.every = need(*target, "every", "target").asInt();
        spec.tau = number(need(*target, "tau", "target"));
        for (const json::Value &n : need(*target, "nets", "target").asArray())
          spec.nets.push_back(n.asString());
        ts.target = spec;
      }
      for (const char *key : {"test_set", "reference_modes"}) {
        const json::Value *set = t->get(key);
        if (!set)
          continue;
        StateSetSpec spec;
        spec.param = need(*set, "param", key).asString();
        spec.samples = need(*set, "samples", key).asInt();
        spec.within = number(need(*set, "within", key));
        (std::string(key) == "test_set" ? ts.testSet : ts.referenceModes) =
            spec;
      }
      ts.evalEvery = need(*t, "eval_every", "train").asInt();
      for (const json::Value &x : need(*t, "eval_metrics", "train").asArray())
        ts.metrics.push_back(x.asString());
    }
    for (const char *k :
         {"gfl_init", "gfl_features", "gfl_sample_step", "gfl_forward_mask",
          "gfl_step",
          p->env_.rewardModel ? "gfl_proxy_input" : "gfl_log_reward",
          "gfl_policy_log_prob", "gfl_policy_log_prob_grad"})
      if (!p->hasKernel(k))
        throw std::runtime_error(std::string("the artifact lacks kernel ") + k);
    checkManifestAgainstKernels(*p);
  } catch (const std::exception &ex) {
    error = "'" + path + "': " + ex.what();
    return nullptr;
  }
  // Its errors name the line of the .gfl file that declares it.
  if (p->env_.rewardModel) {
    try {
      p->rewardModel_ =
          std::make_unique<RewardModel>(*p->env_.rewardModel, path);
    } catch (const std::exception &ex) {
      error = ex.what();
      return nullptr;
    }
  }
  return p;
}

double Schedule::at(int64_t iteration) const {
  if (over <= 0 || iteration >= over)
    return over <= 0 ? start : end;
  return start + (end - start) * static_cast<double>(iteration) /
                     static_cast<double>(over);
}

double LearningRateSpec::factor(int64_t iteration, int64_t iterations) const {
  if (iteration < warmup)
    return static_cast<double>(iteration + 1) / static_cast<double>(warmup);
  // The last iteration reaches `min`.
  int64_t span = std::max<int64_t>(iterations - warmup - 1, 1);
  double progress =
      std::min(1.0, static_cast<double>(iteration - warmup) / span);
  if (kind == "linear")
    return 1.0 - (1.0 - min) * progress;
  if (kind == "cosine")
    return min + (1.0 - min) * 0.5 * (1.0 + std::cos(M_PI * progress));
  if (kind == "step" && every > 0)
    return std::pow(gamma, static_cast<double>((iteration - warmup) / every));
  return 1.0;
}

const NetSpec *Program::net(const std::string &name) const {
  for (const NetSpec &n : nets_)
    if (n.name == name)
      return &n;
  return nullptr;
}

bool Program::kernelHasArg(const std::string &kernel,
                           const std::string &arg) const {
  const Kernel *k = artifact_->kernel(kernel);
  if (!k)
    return false;
  for (const KernelArg &a : k->args)
    if (a.name == arg)
      return true;
  return false;
}

std::vector<std::string> Program::paramNames() const {
  std::vector<std::string> names;
  if (const json::Value *ps = manifest().get("params"))
    for (const auto &[k, v] : ps->asObject())
      names.push_back(k);
  return names;
}

void Program::useDevice(const torch::Device &device) {
  if (device.is_cpu()) {
    gpu_.reset();
    device_ = device;
    if (rewardModel_)
      rewardModel_->to(device_);
    return;
  }
  if (!device.is_cuda())
    throw std::runtime_error("unknown device '" + device.str() + "'");
  if (!compat::torchHasCuda())
    throw std::runtime_error(
        "this gfl-run was built against a LibTorch without CUDA; build the "
        "runtime against LibTorch with CUDA for --device cuda "
        "(docs/runtime.md)");
  if (!torch::cuda::is_available())
    throw std::runtime_error("--device cuda: LibTorch finds no CUDA device");
  if (device.has_index() && device.index() != 0)
    throw std::runtime_error("--device cuda: only device 0 is supported");
  // LibTorch makes the primary context first, so the driver module below
  // is loaded into the context LibTorch's tensors live in.
  torch::empty({1}, torch::TensorOptions().device(torch::kCUDA));
  std::string error;
  gpu_ = cuda::Module::load(*artifact_, error);
  if (!gpu_)
    throw std::runtime_error(error);
  device_ = torch::Device(torch::kCUDA, 0);
  if (rewardModel_)
    rewardModel_->to(device_);
}

void Program::call(const std::string &name,
                   const std::map<std::string, torch::Tensor> &tensors,
                   const std::map<std::string, double> &scalars) const {
  const Kernel *k = artifact_->kernel(name);
  if (!k)
    throw std::runtime_error("the artifact has no kernel " + name);
  callKernel(*k, tensors, scalars, gpu_.get());
}

namespace {

/// Calls `k` with `tensors[i]` for buffer argument i and `scalars[i]` for
/// scalar argument i (nullptr where the caller has none).
void callKernelAt(const Kernel &k,
                  const std::vector<const torch::Tensor *> &tensors,
                  const std::vector<const double *> &scalars,
                  const cuda::Module *gpu) {
  const std::string &name = k.name;
  const torch::Tensor *first = nullptr; // the first buffer fixes the device
  std::vector<AnyRankDescriptor> descs(k.args.size());
  std::vector<int64_t> ints(k.args.size());
  std::vector<float> floats(k.args.size());
  std::vector<void *> args;
  args.reserve(k.args.size());
  for (size_t i = 0; i < k.args.size(); ++i) {
    const KernelArg &a = k.args[i];
    if (!a.buffer) {
      if (!scalars[i])
        throw std::runtime_error(name + ": missing scalar '" + a.name + "'");
      if (a.element == ElementType::Float32) {
        floats[i] = static_cast<float>(*scalars[i]);
        args.push_back(&floats[i]);
      } else {
        ints[i] = static_cast<int64_t>(*scalars[i]);
        args.push_back(&ints[i]);
      }
      continue;
    }
    if (!tensors[i] || !tensors[i]->defined())
      throw std::runtime_error(name + ": missing buffer '" + a.name + "'");
    const torch::Tensor &t = *tensors[i];
    if (t.scalar_type() != scalarTypeOf(a.element, a.dtype) ||
        t.dim() != static_cast<int64_t>(a.shape.size()) || !t.is_contiguous())
      throw std::runtime_error(name + ": buffer '" + a.name +
                               "' has the wrong dtype, rank or layout");
    for (size_t d = 0; d < a.shape.size(); ++d)
      if (a.shape[d] >= 0 && a.shape[d] != t.size(d))
        throw std::runtime_error(name + ": buffer '" + a.name +
                                 "' has the wrong shape");
    if (!first)
      first = &t;
    else if (t.device() != first->device())
      throw std::runtime_error(name + ": buffer '" + a.name + "' is on " +
                               t.device().str() + ", the others on " +
                               first->device().str());
    AnyRankDescriptor &desc = descs[i];
    desc.allocated = t.data_ptr();
    desc.aligned = t.data_ptr();
    desc.offset = 0;
    int64_t rank = t.dim();
    for (int64_t d = 0; d < rank; ++d) {
      desc.shapeAndStrides[d] = t.size(d);
      desc.shapeAndStrides[rank + d] = t.stride(d);
    }
    args.push_back(&desc);
  }
  if (first && first->is_cuda()) {
    if (!gpu)
      throw std::runtime_error(name + ": CUDA tensors, but no GPU module "
                                      "is loaded");
    gpu->launch(k, args, compat::currentCudaStream());
    return;
  }
  k(args);
}

} // namespace

void callKernel(const Kernel &kernel,
                const std::map<std::string, torch::Tensor> &tensors,
                const std::map<std::string, double> &scalars,
                const cuda::Module *gpu) {
  std::vector<const torch::Tensor *> byArg(kernel.args.size(), nullptr);
  std::vector<const double *> scalarByArg(kernel.args.size(), nullptr);
  for (size_t i = 0; i < kernel.args.size(); ++i) {
    const KernelArg &a = kernel.args[i];
    if (a.buffer) {
      if (auto it = tensors.find(a.name); it != tensors.end())
        byArg[i] = &it->second;
    } else if (auto it = scalars.find(a.name); it != scalars.end()) {
      scalarByArg[i] = &it->second;
    }
  }
  callKernelAt(kernel, byArg, scalarByArg, gpu);
}

BoundKernel::BoundKernel(const Program &program, const std::string &kernel)
    : kernel_(program.kernel(kernel)), gpu_(program.gpu()) {
  if (!kernel_)
    throw std::runtime_error("the artifact has no kernel " + kernel);
  size_t n = kernel_->args.size();
  tensors_.resize(n);
  scalars_.resize(n);
  tensorAt_.assign(n, nullptr);
  scalarAt_.assign(n, nullptr);
}

size_t BoundKernel::slot(const std::string &name) const {
  for (size_t i = 0; i < kernel_->args.size(); ++i)
    if (kernel_->args[i].name == name)
      return i;
  return kAbsent;
}

void BoundKernel::set(size_t slot, torch::Tensor t) {
  if (slot == kAbsent)
    return;
  tensors_.at(slot) = std::move(t);
  tensorAt_[slot] = &tensors_[slot];
}

void BoundKernel::set(size_t slot, double v) {
  if (slot == kAbsent)
    return;
  scalars_.at(slot) = v;
  scalarAt_[slot] = &scalars_[slot];
}

void BoundKernel::operator()() const {
  callKernelAt(*kernel_, tensorAt_, scalarAt_, gpu_);
}

State Program::emptyState(c10::IntArrayRef leading) const {
  State s;
  for (const FieldSpec &f : env_.fields) {
    std::vector<int64_t> shape = leading.vec();
    shape.insert(shape.end(), f.shape.begin(), f.shape.end());
    s.push_back(torch::empty(shape, options(f.dtype)));
  }
  return s;
}

void Program::bindState(std::map<std::string, torch::Tensor> &args,
                        const std::string &prefix, const State &s) const {
  for (size_t i = 0; i < env_.fields.size(); ++i)
    args[prefix + "." + env_.fields[i].name] = s[i].contiguous();
}

State Program::init(int64_t batch) const {
  State s = emptyState(batch);
  std::map<std::string, torch::Tensor> args;
  bindState(args, "state", s);
  call("gfl_init", args);
  return s;
}

torch::Tensor
Program::stateKernel(const char *kernel, const char *output,
                     std::vector<int64_t> perRow, torch::ScalarType dtype,
                     const State &s,
                     const std::map<std::string, torch::Tensor> &extra) const {
  perRow.insert(perRow.begin(), s[0].size(0));
  auto out = torch::empty(perRow, options(dtype));
  std::map<std::string, torch::Tensor> args = extra;
  args[output] = out;
  bindState(args, "state", s);
  call(kernel, args);
  return out;
}

torch::Tensor Program::features(const State &s) const {
  return stateKernel("gfl_features", "features", {env_.featureSize},
                     torch::kFloat32, s);
}

torch::Tensor Program::forwardMask(const State &s) const {
  return stateKernel("gfl_forward_mask", "mask", {env_.numActions},
                     torch::kBool, s);
}

torch::Tensor Program::backwardMask(const State &s) const {
  return stateKernel("gfl_backward_mask", "mask", {env_.numBackwardActions},
                     torch::kBool, s);
}

torch::Tensor Program::logReward(const State &s,
                                 const torch::Tensor &cond) const {
  if (rewardModel_) {
    torch::Tensor input =
        stateKernel("gfl_proxy_input", "input", {env_.rewardModel->inputs},
                    torch::kFloat32, s);
    torch::Tensor logR = rewardModel_->logReward(input);
    torch::Tensor nan = logR.isnan();
    if (nan.any().item<bool>()) {
      int64_t row = nan.nonzero()[0][0].item<int64_t>();
      throw std::runtime_error(rewardModel_->named() +
                               " returned NaN for the terminal state " +
                               describe(s, row));
    }
    return logR;
  }
  if (env_.conditions.empty())
    return stateKernel("gfl_log_reward", "log_reward", {}, torch::kFloat32, s);
  torch::Tensor c = cond.defined() ? cond : defaultCondition(s[0].size(0));
  return stateKernel("gfl_log_reward", "log_reward", {}, torch::kFloat32, s,
                     {{"cond", c.to(options(torch::kFloat32)).contiguous()}});
}

torch::Tensor Program::defaultCondition(int64_t rows) const {
  if (env_.conditions.empty())
    return torch::Tensor();
  std::vector<float> row;
  for (const ConditionSpec &c : env_.conditions)
    row.insert(row.end(), c.value.begin(), c.value.end());
  return torch::tensor(row, torch::kFloat32)
      .to(options(torch::kFloat32))
      .unsqueeze(0)
      .expand({rows, env_.conditionSize})
      .contiguous();
}

torch::Tensor Program::conditionRows(int64_t rows,
                                     const torch::Tensor &cond) const {
  if (env_.conditions.empty() || !cond.defined())
    return defaultCondition(rows);
  return cond.to(options(torch::kFloat32))
      .reshape({1, -1})
      .expand({rows, -1})
      .contiguous();
}

torch::Tensor Program::terminal(const State &s) const {
  return stateKernel("gfl_terminal", "terminal", {}, torch::kBool, s);
}

std::pair<State, torch::Tensor>
Program::step(const State &s, const torch::Tensor &actions) const {
  State next = emptyState(s[0].size(0));
  auto done = torch::empty({s[0].size(0)}, options(torch::kBool));
  std::map<std::string, torch::Tensor> args{
      {"action", actions.to(options(torch::kInt32)).contiguous()},
      {"done", done}};
  bindState(args, "state", s);
  bindState(args, "next", next);
  call("gfl_step", args);
  return {next, done};
}

State Program::backwardStep(const State &s,
                            const torch::Tensor &actions) const {
  State prev = emptyState(s[0].size(0));
  std::map<std::string, torch::Tensor> args{
      {"action", actions.to(options(torch::kInt32)).contiguous()}};
  bindState(args, "state", s);
  bindState(args, "prev", prev);
  call("gfl_backward_step", args);
  return prev;
}

torch::Tensor Program::stateIndex(const State &s) const {
  return stateKernel("gfl_state_index", "index", {}, torch::kInt64, s);
}

State Program::stateDecode(const torch::Tensor &index) const {
  State s = emptyState(index.size(0));
  std::map<std::string, torch::Tensor> args{
      {"index", index.to(options(torch::kInt64)).contiguous()}};
  bindState(args, "state", s);
  call("gfl_state_decode", args);
  return s;
}

/// Elements of one state's field.
static int64_t fieldSize(const FieldSpec &f) {
  int64_t n = 1;
  for (int64_t d : f.shape)
    n *= d;
  return n;
}

State Program::paramStates(const std::string &name) const {
  const json::Value *params = manifest().get("params");
  const json::Value *p = params ? params->get(name) : nullptr;
  if (!p || !p->isObject())
    throw std::runtime_error("the artifact has no table param '" + name + "'");
  std::vector<double> data;
  for (const json::Value &v : need(*p, "data", name.c_str()).asArray())
    data.push_back(v.isBool() ? double(v.asBool()) : v.asNumber());
  int64_t width = stateWidth();
  if (width == 0 || data.empty() || data.size() % width != 0)
    throw std::runtime_error("param '" + name + "' does not hold rows of " +
                             std::to_string(width) + " state values");
  int64_t rows = static_cast<int64_t>(data.size()) / width;
  torch::Tensor table =
      torch::tensor(data, torch::kFloat64).view({rows, width});
  State out;
  int64_t col = 0;
  for (const FieldSpec &f : env_.fields) {
    int64_t n = fieldSize(f);
    std::vector<int64_t> shape{rows};
    shape.insert(shape.end(), f.shape.begin(), f.shape.end());
    out.push_back(table.slice(1, col, col + n)
                      .reshape(shape)
                      .to(options(f.dtype))
                      .contiguous());
    col += n;
  }
  return out;
}

int64_t Program::stateWidth() const {
  int64_t width = 0;
  for (const FieldSpec &f : env_.fields)
    width += fieldSize(f);
  return width;
}

torch::Tensor Program::flattenStates(const State &s) const {
  std::vector<torch::Tensor> cols;
  for (size_t i = 0; i < s.size(); ++i)
    cols.push_back(s[i].reshape({s[i].size(0), fieldSize(env_.fields[i])})
                       .to(torch::kFloat64));
  return torch::cat(cols, 1);
}

State Program::select(const State &s, const torch::Tensor &rows) {
  State out;
  for (const torch::Tensor &t : s)
    out.push_back(t.index_select(0, rows).contiguous());
  return out;
}

State Program::cat(const std::vector<State> &states) {
  State out;
  for (size_t f = 0; f < states.front().size(); ++f) {
    std::vector<torch::Tensor> parts;
    for (const State &s : states)
      parts.push_back(s[f]);
    out.push_back(torch::cat(parts, 0).contiguous());
  }
  return out;
}

std::string Program::describe(const State &s, int64_t row) const {
  std::ostringstream os;
  for (size_t f = 0; f < env_.fields.size(); ++f) {
    torch::Tensor v = s[f][row].reshape({-1}).cpu().to(torch::kDouble);
    os << (f ? " " : "") << env_.fields[f].name << "=";
    if (!env_.fields[f].shape.empty())
      os << "[";
    for (int64_t i = 0; i < v.size(0); ++i)
      os << (i ? ", " : "") << v[i].item<double>();
    if (!env_.fields[f].shape.empty())
      os << "]";
  }
  return os.str();
}

bool Program::stepsMayLeaveDomains() const {
  // gflc walks enumerable envs of up to 2^22 states with the CPU kernels;
  // an artifact without them (--target=cuda) was not walked.
  const Kernel *step = kernel("gfl_step");
  bool walked = env_.enumerable && env_.stateCount <= kMaxWalkedStates &&
                step && step->entry;
  bool proven = domainsProven_ || walked;
  return !proven && std::any_of(env_.fields.begin(), env_.fields.end(),
                                [](const FieldSpec &f) { return f.domain; });
}

torch::Tensor Program::outsideDomains(const State &s) const {
  torch::Tensor outside = torch::zeros({s[0].size(0)}, options(torch::kBool));
  for (size_t i = 0; i < env_.fields.size(); ++i) {
    const auto &domain = env_.fields[i].domain;
    if (!domain)
      continue;
    torch::Tensor v = s[i].reshape({s[i].size(0), -1});
    outside = outside.logical_or(
        v.lt(domain->first).logical_or(v.ge(domain->second)).any(1));
  }
  return outside;
}

} // namespace gfl

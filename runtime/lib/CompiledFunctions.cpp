//===- CompiledFunctions.cpp - Compiled kernels as autograd functions -----===//

#include "CompiledFunctions.h"
#include "gfl/Runtime/WorkerGroup.h"

#include <chrono>
#include <iterator>
#include <mutex>
#include <sstream>

namespace gfl {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

const char *const kLearnedInputs[12] = {
    "log_pf",      "log_pb",      "log_f",        "log_z",
    "log_pf_exit", "log_in_flow", "log_out_flow", "log_exit_flow",
    "entropy",     "value",       "logit",        "log_norm"};

std::atomic<double *> &kernelTimer() {
  // Process-wide: on a GPU, LibTorch runs backward passes on its own thread.
  static std::atomic<double *> timer{nullptr};
  return timer;
}

namespace {

constexpr size_t kNumLearned = std::size(kLearnedInputs);

/// Adds the time of its scope to kernelTimer().
struct KernelTiming {
  std::chrono::steady_clock::time_point start =
      std::chrono::steady_clock::now();
  ~KernelTiming() {
    static std::mutex lock;
    if (double *t = kernelTimer()) {
      std::lock_guard<std::mutex> guard(lock);
      *t += std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                          start)
                .count();
    }
  }
};

const Program *programOf(AutogradContext *ctx) {
  return reinterpret_cast<const Program *>(ctx->saved_data["program"].toInt());
}

void setProgram(AutogradContext *ctx, const Program *program) {
  ctx->saved_data["program"] = reinterpret_cast<int64_t>(program);
}

bool present(const torch::Tensor &t) { return t.defined() && t.numel() > 0; }

/// float32 on the device of `like`.
torch::TensorOptions floats(const torch::Tensor &like) {
  return like.options().dtype(torch::kFloat32);
}

struct PolicyLogProb : torch::autograd::Function<PolicyLogProb> {
  static torch::Tensor forward(AutogradContext *ctx, torch::Tensor logits,
                               torch::Tensor mask, torch::Tensor actions,
                               const Program *program) {
    logits = logits.contiguous();
    auto out = torch::empty({logits.size(0)}, logits.options());
    KernelTiming timing;
    program->call("gfl_policy_log_prob", {{"logits", logits},
                                          {"mask", mask},
                                          {"action", actions},
                                          {"log_prob", out}});
    ctx->save_for_backward({logits, mask, actions});
    setProgram(ctx, program);
    return out;
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto d = torch::empty_like(saved[0]);
    KernelTiming timing;
    programOf(ctx)->call("gfl_policy_log_prob_grad",
                         {{"logits", saved[0]},
                          {"mask", saved[1]},
                          {"action", saved[2]},
                          {"d_log_prob", grads[0].contiguous()},
                          {"d_logits", d}});
    return {d, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

struct PolicyStatsFn : torch::autograd::Function<PolicyStatsFn> {
  static variable_list forward(AutogradContext *ctx, torch::Tensor logits,
                               torch::Tensor mask, torch::Tensor actions,
                               const Program *program) {
    logits = logits.contiguous();
    int64_t n = logits.size(0);
    auto logit = torch::empty({n}, logits.options());
    auto logNorm = torch::empty({n}, logits.options());
    auto entropy = torch::empty({n}, logits.options());
    KernelTiming timing;
    program->call("gfl_policy_stats", {{"logits", logits},
                                       {"mask", mask},
                                       {"action", actions},
                                       {"logit", logit},
                                       {"log_norm", logNorm},
                                       {"entropy", entropy}});
    ctx->save_for_backward({logits, mask, actions});
    setProgram(ctx, program);
    return {logit, logNorm, entropy};
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto s = ctx->get_saved_variables();
    auto d = torch::empty_like(s[0]);
    auto adjoint = [&](size_t i) {
      return grads[i].defined() ? grads[i].contiguous()
                                : torch::zeros({s[0].size(0)}, s[0].options());
    };
    KernelTiming timing;
    programOf(ctx)->call("gfl_policy_stats_grad", {{"logits", s[0]},
                                                   {"mask", s[1]},
                                                   {"action", s[2]},
                                                   {"d_logit", adjoint(0)},
                                                   {"d_log_norm", adjoint(1)},
                                                   {"d_entropy", adjoint(2)},
                                                   {"d_logits", d}});
    return {d, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

struct EdgeFlowsFn : torch::autograd::Function<EdgeFlowsFn> {
  static variable_list forward(AutogradContext *ctx, torch::Tensor logits,
                               torch::Tensor mask, torch::Tensor parentLogits,
                               torch::Tensor parentMask,
                               const Program *program) {
    logits = logits.contiguous();
    parentLogits = parentLogits.contiguous();
    int64_t n = logits.size(0);
    auto in = torch::empty({n}, logits.options());
    auto out = torch::empty({n}, logits.options());
    auto exit = torch::empty({n}, logits.options());
    KernelTiming timing;
    program->call("gfl_edge_flows", {{"logits", logits},
                                     {"mask", mask},
                                     {"parent_logits", parentLogits},
                                     {"parent_mask", parentMask},
                                     {"log_in_flow", in},
                                     {"log_out_flow", out},
                                     {"log_exit_flow", exit}});
    ctx->save_for_backward({logits, mask, parentLogits, parentMask});
    setProgram(ctx, program);
    return {in, out, exit};
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto s = ctx->get_saved_variables();
    auto dLogits = torch::empty_like(s[0]);
    auto dParents = torch::empty_like(s[2]);
    KernelTiming timing;
    programOf(ctx)->call("gfl_edge_flows_grad",
                         {{"logits", s[0]},
                          {"mask", s[1]},
                          {"parent_logits", s[2]},
                          {"parent_mask", s[3]},
                          {"d_log_in_flow", grads[0].contiguous()},
                          {"d_log_out_flow", grads[1].contiguous()},
                          {"d_log_exit_flow", grads[2].contiguous()},
                          {"d_logits", dLogits},
                          {"d_parent_logits", dParents}});
    return {dLogits, torch::Tensor(), dParents, torch::Tensor(),
            torch::Tensor()};
  }
};

/// The per-trajectory loss of the compiled objective; the backward is the
/// compiled fused gradient kernel. Inputs: one tensor per kLearnedInputs
/// entry (empty when the objective does not read it), then the data.
struct ObjectiveLoss : torch::autograd::Function<ObjectiveLoss> {
  static torch::Tensor forward(AutogradContext *ctx, at::TensorList learned,
                               at::TensorList data,
                               std::vector<std::string> dataNames,
                               const Program *program) {
    int64_t batch = data[0].size(0);
    auto args = inputs(learned, data, dataNames);
    args["loss"] = torch::empty({batch}, floats(data[0]));
    {
      KernelTiming timing;
      addCollectives(*program, args);
      program->call("gfl_obj_" + program->train().objective, args,
                    scalars(*program));
    }
    std::vector<torch::Tensor> saved(learned.begin(), learned.end());
    saved.insert(saved.end(), data.begin(), data.end());
    ctx->save_for_backward(saved);
    std::string joined;
    for (const std::string &n : dataNames)
      joined += (joined.empty() ? "" : ",") + n;
    ctx->saved_data["data_names"] = joined;
    setProgram(ctx, program);
    return args["loss"];
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto s = ctx->get_saved_variables();
    const Program *program = programOf(ctx);
    at::TensorList learned(s.data(), kNumLearned);
    at::TensorList data(s.data() + kNumLearned, s.size() - kNumLearned);
    std::vector<std::string> dataNames;
    std::stringstream joined(ctx->saved_data["data_names"].toStringRef());
    for (std::string n; std::getline(joined, n, ',');)
      dataNames.push_back(n);
    auto args = inputs(learned, data, dataNames);
    int64_t batch = data[0].size(0);
    args["d_loss"] = grads[0].contiguous();
    args["loss"] = torch::empty({batch}, floats(data[0]));
    // One gradient per input tensor, then none for the names and program.
    variable_list out(s.size() + 2);
    std::vector<std::string> adjoints;
    for (size_t i = 0; i < kNumLearned; ++i)
      if (present(learned[i])) {
        std::string d = std::string("d_") + kLearnedInputs[i];
        args[d] = out[i] = torch::zeros_like(learned[i]);
        adjoints.push_back(d);
      }
    KernelTiming timing;
    const std::string base = "gfl_obj_" + program->train().objective;
    std::vector<std::string> collectives = addCollectives(*program, args);
    for (const std::string &c : collectives)
      args["d_" + c] = torch::empty({batch}, floats(data[0]));
    program->call(base + "_grad", args, scalars(*program));
    if (!collectives.empty() && program->hasKernel(base + "_batch_grad")) {
      // Each collective's result adjoint, summed over the batch (and
      // divided by B for a mean), is the upstream gradient of every row's
      // operand; the stage's gradients add to the loss kernel's.
      std::map<std::string, torch::Tensor> stage = args;
      for (const std::string &c : collectives) {
        torch::Tensor total = collectiveAdjoint(*program, args["d_" + c],
                                                c.rfind("batch_mean_", 0) == 0);
        stage["d_" + c] = total.expand({batch}).contiguous();
      }
      std::map<std::string, torch::Tensor> extra;
      for (const std::string &d : adjoints)
        stage[d] = extra[d] = torch::zeros_like(args[d]);
      program->call(base + "_batch_grad", stage, scalars(*program));
      for (auto &[d, t] : extra)
        args[d].add_(t);
    }
    return out;
  }

  /// For objectives with batch collectives: runs the stage kernel, reduces
  /// each collective over the batch and adds the results as inputs.
  /// Returns the collectives' names.
  static std::vector<std::string>
  addCollectives(const Program &program,
                 std::map<std::string, torch::Tensor> &args) {
    std::vector<std::string> names;
    const Kernel *stage =
        program.kernel("gfl_obj_" + program.train().objective + "_batch");
    if (!stage)
      return names;
    const torch::Tensor &logR = args.at("log_r");
    int64_t batch = logR.size(0);
    std::map<std::string, torch::Tensor> stageArgs = args;
    for (const KernelArg &a : stage->args)
      if (a.output) {
        names.push_back(a.name);
        stageArgs[a.name] = torch::empty({batch}, floats(logR));
      }
    program.call(stage->name, stageArgs, scalars(program));
    for (const std::string &n : names) {
      torch::Tensor v = stageArgs[n];
      bool mean = n.rfind("batch_mean_", 0) == 0;
      torch::Tensor r;
      if (WorkerGroup *w = program.workers()) {
        // Over every worker's rows: [sum, rows] summed.
        torch::Tensor t =
            torch::stack({v.sum().to(torch::kFloat64),
                          torch::full({}, double(batch),
                                      v.options().dtype(torch::kFloat64))});
        w->allReduceSum(t);
        r = (mean ? t[0] / t[1] : t[0]).to(v.scalar_type());
      } else {
        r = mean ? v.mean() : v.sum();
      }
      args[n] = r.expand({batch}).contiguous();
    }
    return names;
  }

  /// The upstream gradient of every row's operand of a collective, from
  /// the adjoints `d` [B] of its result. In one process: sum(d), divided
  /// by B for a mean. Over workers whose gradients are later summed, each
  /// weighted by its share b_r / B of the rows: the weighted total
  /// G = sum_r b_r sum(d_r) / B, divided by b_r (mean) or b_r / B (sum), so
  /// that the weighted sum over workers is the one-process gradient.
  static torch::Tensor collectiveAdjoint(const Program &program,
                                         const torch::Tensor &d, bool mean) {
    int64_t batch = d.size(0);
    WorkerGroup *w = program.workers();
    if (!w) {
      torch::Tensor total = d.sum();
      return mean ? total / static_cast<double>(batch) : total;
    }
    torch::Tensor t = torch::stack(
        {d.sum().to(torch::kFloat64) * double(batch),
         torch::full({}, double(batch), d.options().dtype(torch::kFloat64))});
    w->allReduceSum(t);
    torch::Tensor g = t[0] / t[1];
    torch::Tensor up = mean ? g / double(batch) : g * t[1] / double(batch);
    return up.to(d.scalar_type());
  }

  static std::map<std::string, torch::Tensor>
  inputs(at::TensorList learned, at::TensorList data,
         const std::vector<std::string> &dataNames) {
    std::map<std::string, torch::Tensor> m;
    for (size_t i = 0; i < data.size(); ++i)
      m[dataNames[i]] = data[i].contiguous();
    for (size_t i = 0; i < kNumLearned; ++i)
      if (present(learned[i]))
        m[kLearnedInputs[i]] = learned[i].contiguous();
    // Objectives without a learned log Z still take the argument.
    if (!m.count("log_z"))
      m["log_z"] = torch::zeros({data[0].size(0)}, floats(data[0]));
    return m;
  }

  static std::map<std::string, double> scalars(const Program &program) {
    std::map<std::string, double> m;
    const auto &args = program.train().objectiveArgs;
    for (size_t i = 0; i < args.size(); ++i)
      m["param" + std::to_string(i)] = args[i];
    return m;
  }
};

} // namespace

torch::Tensor policyLogProb(const Program &program, const torch::Tensor &logits,
                            const torch::Tensor &mask,
                            const torch::Tensor &actions) {
  return PolicyLogProb::apply(logits, mask, actions, &program);
}

PolicyStats policyStats(const Program &program, const torch::Tensor &logits,
                        const torch::Tensor &mask,
                        const torch::Tensor &actions) {
  variable_list r = PolicyStatsFn::apply(logits, mask, actions, &program);
  return {r[0], r[1], r[2]};
}

EdgeFlows edgeFlows(const Program &program, const torch::Tensor &logits,
                    const torch::Tensor &mask,
                    const torch::Tensor &parentLogits,
                    const torch::Tensor &parentMask) {
  variable_list r =
      EdgeFlowsFn::apply(logits, mask, parentLogits, parentMask, &program);
  return {r[0], r[1], r[2]};
}

torch::Tensor objectiveLoss(const Program &program,
                            const std::map<std::string, torch::Tensor> &learned,
                            const std::map<std::string, torch::Tensor> &data) {
  // Autograd functions take defined tensors only: absent quantities are
  // empty tensors.
  std::vector<torch::Tensor> learnedList;
  for (const char *name : kLearnedInputs) {
    auto it = learned.find(name);
    learnedList.push_back(it != learned.end() && it->second.defined()
                              ? it->second
                              : torch::empty({0}));
  }
  // log_r first: its size is the batch.
  std::vector<torch::Tensor> dataList{data.at("log_r")};
  std::vector<std::string> dataNames{"log_r"};
  for (const auto &[name, t] : data)
    if (name != "log_r") {
      dataList.push_back(t);
      dataNames.push_back(name);
    }
  return ObjectiveLoss::apply(at::TensorList(learnedList),
                              at::TensorList(dataList), dataNames, &program);
}

} // namespace gfl

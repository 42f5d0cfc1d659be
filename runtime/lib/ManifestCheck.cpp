//===- ManifestCheck.cpp - The manifest against its kernels ---------------===//

#include "ManifestCheck.h"

#include <stdexcept>

namespace gfl {

namespace {

[[noreturn]] void disagree(const std::string &what) {
  throw std::runtime_error("the manifest disagrees with its kernels: " + what);
}

std::string text(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string dtypeName(torch::ScalarType t) {
  return t == torch::kInt32   ? "int32"
         : t == torch::kInt64 ? "int64"
         : t == torch::kBool  ? "bool"
                              : "float32";
}

/// A kernel's dimension -1 is read from the buffer at run time; any other
/// is compiled in and must be what the runtime allocates.
bool fits(const std::vector<int64_t> &kernel,
          const std::vector<int64_t> &declared) {
  if (kernel.size() != declared.size())
    return false;
  for (size_t d = 0; d < kernel.size(); ++d)
    if (kernel[d] != -1 && kernel[d] != declared[d])
      return false;
  return true;
}

/// Every argument `name` of every kernel has `dtype` and `shape` (the batch
/// dimension first, as -1).
void expectArg(const Program &p, const std::string &name,
               const std::string &dtype, const std::vector<int64_t> &shape,
               const std::string &declared) {
  for (const json::Value &k : p.manifest().get("kernels")->asArray()) {
    const Kernel *kernel = p.kernel(k.get("name")->asString());
    if (!kernel)
      continue;
    for (const KernelArg &a : kernel->args)
      if (a.buffer && a.name == name &&
          (a.dtype != dtype || !fits(a.shape, shape)))
        disagree(kernel->name + " takes '" + name + "' as " + a.dtype + " " +
                 text(a.shape) + ", the manifest declares " + declared + " (" +
                 dtype + " " + text(shape) + ")");
  }
}

/// Argument `name` of kernel `kernel` only.
void expectKernelArg(const Program &p, const std::string &kernel,
                     const std::string &name, const std::vector<int64_t> &shape,
                     const std::string &declared) {
  const Kernel *k = p.kernel(kernel);
  if (!k)
    return;
  for (const KernelArg &a : k->args)
    if (a.buffer && a.name == name && !fits(a.shape, shape))
      disagree(kernel + " writes '" + name + "' as " + text(a.shape) +
               ", the manifest declares " + declared + " (" + text(shape) +
               ")");
}

/// The number of states of the fields' domains, or -1 past 2^62.
int64_t domainSize(const json::Value &env) {
  int64_t count = 1;
  for (const json::Value &f : env.get("states")->asArray()) {
    const json::Value *domain = f.get("domain");
    int64_t values = 2; // bool
    if (domain && domain->isArray() && domain->asArray().size() == 2)
      values = domain->asArray()[1].asInt() - domain->asArray()[0].asInt();
    else if (f.get("dtype")->asString() != "bool")
      return -1;
    int64_t numel = 1;
    for (const json::Value &d : f.get("shape")->asArray())
      numel *= d.asInt();
    for (int64_t i = 0; i < numel; ++i)
      if (values < 1 || __builtin_mul_overflow(count, values, &count) ||
          count > (int64_t(1) << 62))
        return -1;
  }
  return count;
}

} // namespace

void checkManifestAgainstKernels(const Program &p) {
  const EnvSpec &e = p.env();
  const json::Value &env = *p.manifest().get("env");
  for (const FieldSpec &f : e.fields) {
    std::vector<int64_t> shape{-1};
    shape.insert(shape.end(), f.shape.begin(), f.shape.end());
    for (const char *prefix : {"state.", "next.", "prev."})
      expectArg(p, prefix + f.name, dtypeName(f.dtype), shape,
                "state field '" + f.name + "'");
  }
  expectKernelArg(p, "gfl_features", "features", {-1, e.featureSize},
                  std::to_string(e.featureSize) + " features");
  expectKernelArg(p, "gfl_forward_mask", "mask", {-1, e.numActions},
                  std::to_string(e.numActions) + " actions");
  expectKernelArg(p, "gfl_backward_mask", "mask", {-1, e.numBackwardActions},
                  std::to_string(e.numBackwardActions) + " backward actions");
  expectKernelArg(p, "gfl_policy_log_prob", "logits", {-1, e.numActions},
                  std::to_string(e.numActions) + " actions");
  if (!e.conditions.empty())
    expectArg(p, "cond", "float32", {-1, e.conditionSize},
              std::to_string(e.conditionSize) + " condition values");
  // The action families cover the flat actions.
  int64_t flat = 0;
  if (const json::Value *families = env.get("actions"))
    for (const json::Value &f : families->asArray()) {
      const json::Value *offset = f.get("offset"), *count = f.get("count");
      if (!offset || !count || offset->asInt() != flat || count->asInt() < 1)
        disagree("the action families do not tile the flat actions");
      flat += count->asInt();
    }
  if (flat != e.numBackwardActions ||
      e.numActions != flat + (e.hasStop ? 1 : 0))
    disagree("the action families give " + std::to_string(flat) +
             " moves, the manifest declares " + std::to_string(e.numActions) +
             " actions and " + std::to_string(e.numBackwardActions) +
             " backward actions");
  // The state codes are the mixed-radix numbers of the fields' domains.
  // (gflc writes the count through a double: exact up to 2^53.)
  int64_t states = domainSize(env);
  if (e.enumerable && states != e.stateCount &&
      !(states > (int64_t(1) << 53) && double(states) == double(e.stateCount)))
    disagree("the fields' domains hold " + std::to_string(states) +
             " states, the manifest declares " + std::to_string(e.stateCount));
  // Networks read what the env gives and write what the policies need.
  for (const NetSpec &n : p.nets()) {
    if (n.kind != "mlp")
      continue;
    int64_t in = 0;
    for (const std::string &i : n.inputs) {
      if (i == "features")
        in += e.featureSize;
      else if (const NetSpec *src = p.net(i))
        in += src->outputSize;
      else
        for (const ConditionSpec &c : e.conditions)
          if (c.name == i)
            in += c.size;
    }
    if (in != n.inputSize)
      disagree("network " + n.name + " reads " + std::to_string(in) +
               " values, the manifest declares " + std::to_string(n.inputSize));
    int64_t out = n.output == "actions"            ? e.numActions
                  : n.output == "backward_actions" ? e.numBackwardActions
                                                   : n.outputSize;
    if (out != n.outputSize || out < 1)
      disagree("network " + n.name + " writes " + std::to_string(n.outputSize) +
               " outputs for '" + n.output + "' (" + std::to_string(out) + ")");
  }
}

} // namespace gfl

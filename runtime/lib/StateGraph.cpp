//===- StateGraph.cpp - The state graph of an enumerable environment ------===//

#include "gfl/Runtime/StateGraph.h"
#include "gfl/Runtime/MemRef.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <sstream>

namespace gfl {

namespace {

/// A batch of one state field: raw bytes with its element size.
struct FieldBuffer {
  std::string name;
  std::vector<int64_t> shape; // [batch, field shape...]
  size_t elementSize = 4;
  std::vector<uint8_t> bytes;
  AnyRankDescriptor desc{};
  void *descriptor() {
    desc = rowMajorDescriptor(bytes.data(), shape);
    return &desc;
  }
};

/// State `row` of `fields` as text: `x=[1, 3] done=1`.
std::string describeState(const std::vector<FieldBuffer> &fields, int64_t row) {
  std::ostringstream os;
  for (size_t f = 0; f < fields.size(); ++f) {
    const FieldBuffer &b = fields[f];
    int64_t numel = 1;
    for (size_t d = 1; d < b.shape.size(); ++d)
      numel *= b.shape[d];
    os << (f ? " " : "") << b.name << "=" << (b.shape.size() > 1 ? "[" : "");
    for (int64_t i = 0; i < numel; ++i) {
      const uint8_t *at =
          b.bytes.data() + static_cast<size_t>(row * numel + i) * b.elementSize;
      int64_t v = 0;
      if (b.elementSize == 1)
        v = *at;
      else if (b.elementSize == 8)
        std::memcpy(&v, at, 8);
      else {
        int32_t w;
        std::memcpy(&w, at, 4);
        v = w;
      }
      os << (i ? ", " : "") << v;
    }
    os << (b.shape.size() > 1 ? "]" : "");
  }
  return os.str();
}

size_t sizeOf(const std::string &dtype) {
  return dtype == "bool" ? 1 : dtype == "int64" ? 8 : 4;
}

/// Calls `kernel` with the descriptors of `buffers` by argument name.
bool call(const Kernel *kernel, const std::map<std::string, void *> &buffers,
          std::string &error) {
  if (!kernel || !kernel->entry) {
    error = std::string("the artifact has no CPU kernel ") +
            (kernel ? kernel->name : "it needs");
    return false;
  }
  std::vector<void *> args;
  for (const KernelArg &a : kernel->args) {
    auto it = buffers.find(a.name);
    if (it == buffers.end() || !a.buffer) {
      error = kernel->name + ": no buffer for argument '" + a.name + "'";
      return false;
    }
    args.push_back(it->second);
  }
  (*kernel)(args);
  return true;
}

} // namespace

std::string describeAction(const json::Value &env, int64_t action) {
  if (const json::Value *families = env.get("actions"))
    for (const json::Value &f : families->asArray()) {
      int64_t offset = f.get("offset")->asInt(),
              count = f.get("count")->asInt();
      if (action < offset || action >= offset + count)
        continue;
      // Mixed radix, the last parameter least significant (as the kernels
      // decode it).
      const auto &ranges = f.get("params")->asArray();
      std::vector<int64_t> params(ranges.size());
      int64_t rest = action - offset;
      for (size_t i = ranges.size(); i-- > 0;) {
        int64_t lo = ranges[i].asArray()[0].asInt(),
                hi = ranges[i].asArray()[1].asInt();
        params[i] = lo + rest % (hi - lo);
        rest /= hi - lo;
      }
      std::string text = f.get("name")->asString();
      if (!params.empty()) {
        text += "(";
        for (size_t i = 0; i < params.size(); ++i)
          text += (i ? ", " : "") + std::to_string(params[i]);
        text += ")";
      }
      return text;
    }
  return "stop";
}

std::optional<StateGraphReport> walkStateGraph(const Artifact &artifact,
                                               std::string &error) {
  const json::Value *env = artifact.manifest().get("env");
  const json::Value *enumerable = env ? env->get("enumerable") : nullptr;
  const json::Value *count = env ? env->get("state_count") : nullptr;
  if (!enumerable || !enumerable->asBool() || !count) {
    error = "the environment is not enumerable";
    return std::nullopt;
  }
  int64_t S = count->asInt();
  if (S <= 0 || S > kMaxWalkedStates) {
    error = "the environment has more than 2^22 states";
    return std::nullopt;
  }
  int64_t A = env->get("num_backward_actions")->asInt();
  // One buffer per field for every state, and for their successors.
  std::vector<FieldBuffer> states, next;
  for (const json::Value &f : env->get("states")->asArray()) {
    FieldBuffer b;
    b.name = f.get("name")->asString();
    b.elementSize = sizeOf(f.get("dtype")->asString());
    b.shape.push_back(S);
    int64_t numel = 1;
    for (const json::Value &d : f.get("shape")->asArray()) {
      b.shape.push_back(d.asInt());
      numel *= d.asInt();
    }
    b.bytes.assign(static_cast<size_t>(S * numel) * b.elementSize, 0);
    states.push_back(b);
    next.push_back(b);
  }
  Buffer<int64_t> codes({S}), nextCodes({S});
  for (int64_t i = 0; i < S; ++i)
    codes[i] = i;
  std::map<std::string, void *> args{{"index", codes.descriptor()}};
  for (FieldBuffer &b : states)
    args["state." + b.name] = b.descriptor();
  if (!call(artifact.kernel("gfl_state_decode"), args, error))
    return std::nullopt;
  Buffer<uint8_t> mask({S, A + (env->get("has_stop")->asBool() ? 1 : 0)});
  args = {{"mask", mask.descriptor()}};
  for (FieldBuffer &b : states)
    args["state." + b.name] = b.descriptor();
  if (!call(artifact.kernel("gfl_forward_mask"), args, error))
    return std::nullopt;
  int64_t width = mask.shape()[1];
  std::vector<std::vector<int64_t>> children(S);
  std::vector<int32_t> leaving(S, -1);
  Buffer<int32_t> action({S});
  Buffer<uint8_t> done({S});
  for (int64_t a = 0; a < A; ++a) {
    std::fill(action.vector().begin(), action.vector().end(),
              static_cast<int32_t>(a));
    args = {{"action", action.descriptor()}, {"done", done.descriptor()}};
    for (size_t f = 0; f < states.size(); ++f) {
      args["state." + states[f].name] = states[f].descriptor();
      args["next." + next[f].name] = next[f].descriptor();
    }
    if (!call(artifact.kernel("gfl_step"), args, error))
      return std::nullopt;
    args = {{"index", nextCodes.descriptor()}};
    for (FieldBuffer &b : next)
      args["state." + b.name] = b.descriptor();
    if (!call(artifact.kernel("gfl_state_index"), args, error))
      return std::nullopt;
    for (int64_t i = 0; i < S; ++i) {
      if (!mask[i * width + a])
        continue;
      if (nextCodes[i] >= 0 && nextCodes[i] < S)
        children[i].push_back(nextCodes[i]);
      else
        leaving[i] = static_cast<int32_t>(a); // reported if reachable
    }
  }
  // s0's code.
  std::vector<FieldBuffer> init = states;
  for (FieldBuffer &b : init) {
    b.shape[0] = 1;
    b.bytes.resize(b.bytes.size() / static_cast<size_t>(S));
  }
  Buffer<int64_t> initCode({1});
  args = {};
  for (FieldBuffer &b : init)
    args["state." + b.name] = b.descriptor();
  if (!call(artifact.kernel("gfl_init"), args, error))
    return std::nullopt;
  args = {{"index", initCode.descriptor()}};
  for (FieldBuffer &b : init)
    args["state." + b.name] = b.descriptor();
  if (!call(artifact.kernel("gfl_state_index"), args, error))
    return std::nullopt;
  int64_t s0 = initCode[0];
  // Longest path by an iterative depth-first search from s0; a state on the
  // current path reached again is on a cycle.
  StateGraphReport report;
  enum : uint8_t { kNew, kOpen, kDone };
  std::vector<uint8_t> mark(S, kNew);
  std::vector<int64_t> longest(S, 0);
  std::vector<std::pair<int64_t, size_t>> stack{{s0, 0}};
  mark[s0] = kOpen;
  while (!stack.empty()) {
    auto &[node, cursor] = stack.back();
    if (cursor == 0 && leaving[node] >= 0 && report.leavingAction < 0) {
      report.leavingAction = leaving[node];
      report.leaving = "action " + describeAction(*env, leaving[node]) +
                       " from state " + describeState(states, node);
    }
    if (cursor < children[node].size()) {
      int64_t c = children[node][cursor++];
      if (mark[c] == kOpen && report.cycle.empty())
        report.cycle = describeState(states, c);
      if (mark[c] == kNew) {
        mark[c] = kOpen;
        stack.push_back({c, 0});
      }
      continue;
    }
    for (int64_t c : children[node])
      longest[node] = std::max(longest[node], longest[c] + 1);
    mark[node] = kDone;
    stack.pop_back();
  }
  if (report.cycle.empty())
    report.longest = longest[s0];
  return report;
}

} // namespace gfl

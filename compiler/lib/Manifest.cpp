//===- Manifest.cpp - The JSON manifest of an artifact --------------------===//

#include "gfl/Compiler/Artifact.h"
#include "gfl/Dialect/GflOps.h"
#include "gfl/Runtime/Sha256.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"

#include <fstream>

namespace gfl {

using llvm::json::Array;
using llvm::json::Object;
using llvm::json::Value;

namespace {

std::string dtypeOf(mlir::Type t) {
  if (t.isF32())
    return "float32";
  if (t.isInteger(1))
    return "bool"; // one byte per element in memory
  if (t.isInteger(32))
    return "int32";
  if (t.isInteger(64))
    return "int64";
  if (t.isIndex())
    return "int64";
  return "unknown";
}

const char *scalarName(ScalarKind k) {
  switch (k) {
  case ScalarKind::Int:
    return "int32";
  case ScalarKind::Float:
    return "float32";
  case ScalarKind::Bool:
    return "bool";
  }
  return "unknown";
}

Value constJson(const ConstValue &v) {
  auto one = [&](double d) -> Value {
    switch (v.type.scalar) {
    case ScalarKind::Int:
      return static_cast<int64_t>(d);
    case ScalarKind::Bool:
      return d != 0.0;
    case ScalarKind::Float:
      return d;
    }
    return nullptr;
  };
  if (v.type.shape.empty())
    return one(v.scalar());
  Array flat;
  for (double d : v.data)
    flat.push_back(one(d));
  Array shape;
  for (int64_t s : v.type.shape)
    shape.push_back(s);
  return Object{{"shape", std::move(shape)}, {"data", std::move(flat)}};
}

Object configJson(const ConfigCall &c) {
  Object args;
  for (const auto &[k, v] : c.args)
    args[k] = constJson(v);
  return Object{{"name", c.name}, {"args", std::move(args)}};
}

Object scheduleJson(const ScheduleInfo &s) {
  return Object{{"start", s.start}, {"end", s.end}, {"over", s.over}};
}

Object samplerJson(const SamplerInfo &s) {
  Array replay;
  for (const ReplayInfo &r : s.replay)
    replay.push_back(Object{{"capacity", r.capacity},
                            {"fraction", r.fraction},
                            {"priority", r.priority},
                            {"temperature", r.temperature},
                            {"evict", r.evict},
                            {"insert", r.insert}});
  Object o{{"epsilon", scheduleJson(s.epsilon)},
           {"temperature", scheduleJson(s.temperature)},
           {"replay", std::move(replay)}};
  if (const auto &ls = s.localSearch)
    o["local_search"] = Object{{"backtrack", ls->backtrack},
                               {"rounds", ls->rounds},
                               {"accept", ls->accept},
                               {"keep_originals", ls->keepOriginals}};
  return o;
}

Object lrScheduleJson(const LrScheduleInfo &l) {
  return Object{{"kind", l.kind},
                {"warmup", l.warmup},
                {"min", l.min},
                {"every", l.every},
                {"gamma", l.gamma}};
}

Array shapeJson(const Type &t) {
  Array a;
  for (int64_t d : t.shape)
    a.push_back(d);
  return a;
}

} // namespace

Array kernelTable(mlir::ModuleOp lowered) {
  Array table;
  for (auto func : lowered.getOps<mlir::func::FuncOp>()) {
    if (!func->hasAttr("llvm.emit_c_interface"))
      continue;
    Array args;
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      mlir::Type t = func.getArgumentTypes()[i];
      Object arg;
      auto name = func.getArgAttrOfType<mlir::StringAttr>(i, "gfl.name");
      arg["name"] = name ? name.str() : "arg" + std::to_string(i);
      if (auto memref = llvm::dyn_cast<mlir::MemRefType>(t)) {
        arg["kind"] = "buffer";
        arg["dtype"] = dtypeOf(memref.getElementType());
        Array shape;
        for (int64_t d : memref.getShape())
          shape.push_back(mlir::ShapedType::isDynamic(d) ? int64_t(-1) : d);
        arg["shape"] = std::move(shape);
        arg["output"] = static_cast<bool>(func.getArgAttr(i, "gfl.output"));
      } else {
        arg["kind"] = "scalar";
        arg["dtype"] = dtypeOf(t);
      }
      args.push_back(std::move(arg));
    }
    table.push_back(Object{{"name", func.getSymName().str()},
                           {"symbol", func.getSymName().str() + "_packed"},
                           {"args", std::move(args)}});
  }
  return table;
}

std::string fileSha256(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  return Sha256::hex(Sha256::of(bytes.data(), bytes.size()));
}

Object buildManifest(const CheckedProgram &checked,
                     mlir::ModuleOp kernelsModule, Array kernels,
                     llvm::StringRef sourceName) {
  Object m;
  m["abi_version"] = kArtifactAbiVersion;
  m["source"] = sourceName.str();

  Object params, data;
  for (const ParamInfo &p : checked.params) {
    params[p.name] = constJson(p.value);
    if (!p.file.empty())
      data[p.name] =
          Object{{"file", p.file}, {"sha256", fileSha256(p.loadedPath)}};
  }
  m["params"] = std::move(params);
  if (!data.empty())
    m["data"] = std::move(data);

  if (checked.env) {
    const EnvInfo &env = *checked.env;
    Object e;
    e["name"] = env.name;
    Array states;
    for (const StateInfo &s : env.states) {
      Object st{{"name", s.name},
                {"dtype", scalarName(s.type.scalar)},
                {"shape", shapeJson(s.type)}};
      if (s.hasDomain)
        st["domain"] = Array{static_cast<int64_t>(s.lo),
                             static_cast<int64_t>(s.hi)};
      st["init"] = constJson(s.init);
      states.push_back(std::move(st));
    }
    e["states"] = std::move(states);
    Array conditions;
    for (const ConditionInfo &c : env.conditions) {
      Array params, value;
      for (double p : c.params)
        params.push_back(p);
      for (double v : c.value)
        value.push_back(v);
      conditions.push_back(Object{{"name", c.name},
                                  {"size", c.size()},
                                  {"offset", c.offset},
                                  {"distribution", c.distribution},
                                  {"params", std::move(params)},
                                  {"value", std::move(value)}});
    }
    e["conditions"] = std::move(conditions);
    Array actions;
    int64_t offset = 0;
    for (const ActionInfo &a : env.actions) {
      Array ranges;
      for (auto [lo, hi] : a.paramRanges)
        ranges.push_back(Array{lo, hi});
      actions.push_back(Object{{"name", a.name},
                               {"params", std::move(ranges)},
                               {"offset", offset},
                               {"count", a.count}});
      offset += a.count;
    }
    e["actions"] = std::move(actions);
    e["has_stop"] = env.hasStop;
    e["has_terminal"] = env.hasTerminal;
    e["has_step_reward"] = env.hasStepReward;
    e["num_actions"] = env.numActions;
    e["num_backward_actions"] = env.numBackwardActions;
    e["feature_size"] = env.featureSize;
    if (env.decl && env.decl->rewardModel) {
      const LoadSource &model = *env.decl->rewardModel;
      e["reward_model"] = Object{
          {"file", model.path},
          {"path", env.rewardModelPath},
          {"sha256", fileSha256(env.rewardModelPath)},
          {"inputs", env.rewardModelInputs},
          {"log", env.decl->rewardIsLog},
          {"where", (sourceName + ":" + llvm::Twine(model.range.begin.line) +
                     ":" + llvm::Twine(model.range.begin.col))
                        .str()}};
    }
    auto count =
        kernelsModule->getAttrOfType<mlir::IntegerAttr>("gfl.state_count");
    e["enumerable"] = static_cast<bool>(count);
    if (count)
      e["state_count"] = count.getInt();
    m["env"] = std::move(e);
  }

  Array nets;
  for (const NetInfo &n : checked.nets) {
    Object o{{"name", n.name}};
    switch (n.kind) {
    case NetKind::Mlp: {
      o["kind"] = "mlp";
      Array inputs;
      for (const std::string &in : n.inputs)
        inputs.push_back(in);
      o["inputs"] = std::move(inputs);
      o["input_size"] = n.inputSize;
      o["output"] = n.output;
      o["output_size"] = n.outputSize;
      Array hidden;
      for (int64_t h : n.hidden)
        hidden.push_back(h);
      o["hidden"] = std::move(hidden);
      o["activation"] = n.activation;
      break;
    }
    case NetKind::Uniform:
      o["kind"] = "uniform";
      o["output"] = n.output;
      o["output_size"] = n.outputSize;
      break;
    case NetKind::Scalar:
      o["kind"] = "scalar";
      o["init"] = n.init;
      break;
    }
    nets.push_back(std::move(o));
  }
  m["networks"] = std::move(nets);

  Array objectives;
  for (const ObjectiveInfo &o : checked.objectives) {
    Array ps;
    for (size_t i = 0; i < o.scalarParams.size(); ++i) {
      Object p{{"name", o.scalarParams[i].first},
               {"dtype", scalarName(o.scalarParams[i].second.scalar)}};
      if (o.defaults[i])
        p["default"] = constJson(*o.defaults[i]);
      ps.push_back(std::move(p));
    }
    objectives.push_back(Object{{"name", o.name}, {"params", std::move(ps)}});
  }
  m["objectives"] = std::move(objectives);

  if (checked.train) {
    const TrainInfo &t = *checked.train;
    Array objArgs;
    for (const ConstValue &v : t.objectiveArgs)
      objArgs.push_back(constJson(v));
    Object groups;
    for (const auto &[net, cfg] : t.groupOverrides)
      groups[net] = configJson(cfg);
    Array metrics;
    for (const std::string &s : t.evalMetrics)
      metrics.push_back(s);
    Object train{{"objective", t.objective},
                 {"objective_args", std::move(objArgs)},
                 {"batch", t.batch},
                 {"iterations", t.iterations},
                 {"seed", t.seed},
                 {"optimizer", configJson(t.optimizer)},
                 {"optimizer_groups", std::move(groups)},
                 {"sampler", samplerJson(t.sampler)},
                 {"lr_schedule", lrScheduleJson(t.lrSchedule)},
                 {"epochs", t.epochs},
                 {"minibatches", t.minibatches},
                 {"eval_every", t.evalEvery},
                 {"eval_metrics", std::move(metrics)}};
    if (t.target) {
      Array nets;
      for (const std::string &n : t.target->nets)
        nets.push_back(n);
      train["target"] = Object{{"kind", t.target->kind},
                               {"every", t.target->every},
                               {"tau", t.target->tau},
                               {"nets", std::move(nets)}};
    }
    auto stateSet = [](const StateSetInfo &set) {
      return Object{{"param", set.param},
                    {"rows", set.rows},
                    {"samples", set.samples},
                    {"within", set.within}};
    };
    if (t.testSet)
      train["test_set"] = stateSet(*t.testSet);
    if (t.referenceModes)
      train["reference_modes"] = stateSet(*t.referenceModes);
    m["train"] = std::move(train);
  }
  m["kernels"] = std::move(kernels);
  return m;
}

} // namespace gfl

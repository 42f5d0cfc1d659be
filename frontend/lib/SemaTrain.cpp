//===- SemaTrain.cpp - Semantic analysis of the train block ---------------===//
//
// The train block: objective and its arguments, batch, iterations, seed,
// optimizer with per-network groups and the learning-rate schedule, the
// sampler (on-policy behaviour policy with schedules, replay sources, local
// search), evaluation, and `--set train.*` overrides.
//
//===----------------------------------------------------------------------===//

#include "SemaImpl.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace gfl {

void SemaImpl::applyTrainOverrides(TrainInfo &info, bool &haveObjective) {
  struct IntSetting {
    const char *name;
    int64_t *field;
    int64_t min;
  };
  for (IntSetting s : {IntSetting{"batch", &info.batch, 1},
                       IntSetting{"iterations", &info.iterations, 0},
                       IntSetting{"seed", &info.seed, 0}}) {
    std::string key = std::string("train.") + s.name;
    ConstValue v{Type::intTy(), {static_cast<double>(*s.field)}};
    if (!overrides_.count(key) || !applyOverride(key, v))
      continue;
    if (v.scalar() < s.min) {
      diags_.error(SourceRange(),
                   fmt::format("--set {}: must be at least {}", key, s.min));
      result_.badOverride = true;
      continue;
    }
    *s.field = static_cast<int64_t>(v.scalar());
  }
  auto it = overrides_.find("train.objective");
  if (it == overrides_.end())
    return;
  usedOverrides_.insert(it->first);
  const ObjectiveInfo *obj = result_.findObjective(it->second);
  if (!obj) {
    diags_.error(
        SourceRange(),
        fmt::format("--set train.objective={}: unknown objective", it->second));
    result_.badOverride = true;
    return;
  }
  info.objective = obj->name;
  info.objectiveArgs.clear();
  for (size_t i = 0; i < obj->defaults.size(); ++i) {
    if (!obj->defaults[i]) {
      diags_.error(SourceRange(),
                   fmt::format("--set train.objective={}: objective needs a "
                               "value for '{}', which has no default",
                               obj->name, obj->scalarParams[i].first));
      return;
    }
    info.objectiveArgs.push_back(*obj->defaults[i]);
  }
  haveObjective = true;
}

//===----------------------------------------------------------------------===//
// Train
//===----------------------------------------------------------------------===//

bool SemaImpl::checkConfigArgs(std::vector<CallArg> &args, ConfigCall &out,
                               const std::vector<const char *> &keys) {
  std::set<std::string> seen;
  for (CallArg &a : args) {
    if (!a.keyword) {
      diags_.error(a.range, fmt::format("expected a named option such as "
                                        "'{} VALUE'",
                                        keys.empty() ? "name" : keys[0]));
      return false;
    }
    const std::string &k = a.keyword->name;
    if (std::find_if(keys.begin(), keys.end(),
                     [&](const char *x) { return k == x; }) == keys.end()) {
      std::string list;
      for (const char *x : keys)
        list += (list.empty() ? "" : ", ") + std::string(x);
      diags_.error(a.keyword->range,
                   fmt::format("unknown option '{}' for '{}'; expected {}", k,
                               out.name, list));
      return false;
    }
    if (!seen.insert(k).second) {
      diags_.error(a.keyword->range,
                   fmt::format("option '{}' is given twice", k));
      return false;
    }
    auto v = constant(*a.value, "an option value");
    if (!v)
      return false;
    if (!v->type.isScalar() || v->type.is(ScalarKind::Bool)) {
      diags_.error(a.value->range,
                   fmt::format("option '{}' must be a number", k));
      return false;
    }
    // Optimizer options and the values that make sense for them.
    struct Range {
      bool (*valid)(double);
      const char *text;
    };
    static const std::map<std::string, Range> kRanges = {
        {"lr",
         {[](double x) { return x > 0 && std::isfinite(x); },
          "positive and finite"}},
        {"beta1", {[](double x) { return x >= 0 && x < 1; }, "in [0, 1)"}},
        {"beta2", {[](double x) { return x >= 0 && x < 1; }, "in [0, 1)"}},
        {"momentum", {[](double x) { return x >= 0 && x < 1; }, "in [0, 1)"}},
        {"eps",
         {[](double x) { return x > 0 && std::isfinite(x); },
          "positive and finite"}},
        {"weight_decay",
         {[](double x) { return x >= 0 && std::isfinite(x); },
          "non-negative and finite"}}};
    if (auto r = kRanges.find(k);
        r != kRanges.end() && !r->second.valid(v->scalar())) {
      diags_.error(a.value->range,
                   fmt::format("option '{}' must be {}, got {:g}", k,
                               r->second.text, v->scalar()));
      return false;
    }
    out.args.emplace_back(k, std::move(*v));
  }
  return true;
}

std::optional<ConfigCall>
SemaImpl::checkConfigCall(Expr &e, const char *what,
                          const std::vector<const char *> &keys) {
  ConfigCall out;
  if (e.kind == ExprKind::Name) {
    out.name = static_cast<NameExpr &>(e).name;
    return out;
  }
  if (e.kind != ExprKind::Call) {
    diags_.error(e.range, fmt::format("expected {} such as 'name(option "
                                      "value)'",
                                      what));
    return std::nullopt;
  }
  auto &call = static_cast<CallExpr &>(e);
  out.name = call.callee.name;
  if (!checkConfigArgs(call.args, out, keys))
    return std::nullopt;
  return out;
}

void SemaImpl::checkTrain(TrainDecl &t) {
  if (firstTrain_) {
    diags_.error(SourceRange(t.range.begin), "a program may declare only one "
                                             "train block");
    diags_.note(SourceRange(firstTrain_->range.begin),
                "the train block is declared here");
    return;
  }
  firstTrain_ = &t;
  TrainInfo info;
  info.decl = &t;
  std::map<std::string, const TrainItem *> seen;
  bool haveObjective = false;
  const TrainItem *objectiveItem = nullptr, *minibatchItem = nullptr;
  for (TrainItem &item : t.items) {
    const std::string &key = item.key.name;
    auto [it, fresh] = seen.emplace(key, &item);
    if (!fresh) {
      diags_.error(item.key.range, fmt::format("duplicate setting '{}'", key));
      diags_.note(it->second->key.range, "previous setting is here");
      continue;
    }
    if (item.kind == TrainItemKind::EvalEvery) {
      auto n = constantInt(*item.value, "the evaluation period");
      if (!n)
        continue;
      if (*n <= 0) {
        diags_.error(item.value->range, "the evaluation period must be "
                                        "positive");
        continue;
      }
      info.evalEvery = *n;
      static const char *const kMetrics[] = {"l1",    "jsd",         "logz",
                                             "modes", "mean_reward", "topk"};
      for (const Ident &m : item.metrics) {
        if (std::find_if(std::begin(kMetrics), std::end(kMetrics),
                         [&](const char *x) { return m.name == x; }) ==
            std::end(kMetrics)) {
          diags_.error(m.range,
                       fmt::format("unknown metric '{}'; expected l1, jsd, "
                                   "logz, modes, mean_reward or topk",
                                   m.name));
          continue;
        }
        info.evalMetrics.push_back(m.name);
      }
      continue;
    }
    if (!item.overrides.empty() && key != "optimizer") {
      diags_.error(item.overrides.front().range,
                   "only 'optimizer' takes per-network overrides");
      continue;
    }
    if (key == "batch" || key == "iterations" || key == "seed" ||
        key == "epochs" || key == "minibatches") {
      auto n = constantInt(*item.value, fmt::format("'{}'", key).c_str());
      if (!n)
        continue;
      int64_t lo = key == "iterations" || key == "seed" ? 0 : 1;
      if (*n < lo) {
        diags_.error(item.value->range,
                     fmt::format("'{}' must be at least {}", key, lo));
        continue;
      }
      (key == "batch"         ? info.batch
       : key == "iterations"  ? info.iterations
       : key == "epochs"      ? info.epochs
       : key == "minibatches" ? info.minibatches
                              : info.seed) = *n;
      if (key == "minibatches")
        minibatchItem = &item;
    } else if (key == "objective") {
      haveObjective = true;
      objectiveItem = &item;
      // `--set train.objective=NAME` replaces the written objective.
      if (overrides_.count("train.objective"))
        continue;
      Expr &v = *item.value;
      std::string name;
      std::vector<CallArg> *args = nullptr;
      if (v.kind == ExprKind::Name) {
        name = static_cast<NameExpr &>(v).name;
      } else if (v.kind == ExprKind::Call) {
        name = static_cast<CallExpr &>(v).callee.name;
        args = &static_cast<CallExpr &>(v).args;
      } else {
        diags_.error(v.range, "expected an objective name");
        continue;
      }
      const ObjectiveInfo *obj = result_.findObjective(name);
      if (!obj) {
        if (!objectiveDecls_.count(name))
          diags_.error(v.range, fmt::format("unknown objective '{}'", name));
        continue;
      }
      info.objective = name;
      size_t given = args ? args->size() : 0;
      if (given > obj->scalarParams.size()) {
        diags_.error(v.range,
                     fmt::format("objective '{}' takes {} "
                                 "argument(s), got {}",
                                 name, obj->scalarParams.size(), given));
        continue;
      }
      for (size_t i = 0; i < obj->scalarParams.size(); ++i) {
        if (i < given) {
          CallArg &a = (*args)[i];
          if (a.keyword) {
            diags_.error(a.keyword->range, "objective arguments are "
                                           "positional");
            break;
          }
          auto c = constant(*a.value, "an objective argument");
          if (!c || !expectType(*a.value, obj->scalarParams[i].second,
                                "the objective argument", true))
            break;
          c->type = obj->scalarParams[i].second;
          info.objectiveArgs.push_back(std::move(*c));
        } else if (obj->defaults[i]) {
          info.objectiveArgs.push_back(*obj->defaults[i]);
        } else {
          diags_.error(v.range,
                       fmt::format("objective '{}' needs a value for '{}'",
                                   name, obj->scalarParams[i].first));
          break;
        }
      }
    } else if (key == "optimizer") {
      static const std::vector<const char *> kAdam = {"lr", "beta1", "beta2",
                                                      "eps", "weight_decay"};
      static const std::vector<const char *> kSgd = {"lr", "momentum",
                                                     "weight_decay"};
      std::string name = item.value->kind == ExprKind::Call
                             ? static_cast<CallExpr &>(*item.value).callee.name
                         : item.value->kind == ExprKind::Name
                             ? static_cast<NameExpr &>(*item.value).name
                             : "";
      if (name != "adam" && name != "sgd") {
        diags_.error(item.value->range,
                     "unknown optimizer; expected adam(...) or sgd(...)");
        continue;
      }
      const auto &keys = name == "adam" ? kAdam : kSgd;
      auto opt = checkConfigCall(*item.value, "an optimizer", keys);
      if (!opt)
        continue;
      info.optimizer = std::move(*opt);
      for (GroupOverride &g : item.overrides) {
        if (!result_.findNet(g.group.name)) {
          // A network in error was reported already.
          if (!declaresNet(firstModel_, g.group.name))
            diags_.error(g.group.range,
                         fmt::format("unknown network '{}' in optimizer "
                                     "overrides",
                                     g.group.name));
          continue;
        }
        ConfigCall oc{name, {}};
        if (checkConfigArgs(g.args, oc, keys))
          info.groupOverrides[g.group.name] = std::move(oc);
      }
    } else if (key == "sampler") {
      checkSampler(item, info.sampler);
    } else if (key == "lr_schedule") {
      checkLrSchedule(*item.value, info.lrSchedule);
    } else if (key == "target") {
      checkTarget(*item.value, info);
    } else if (key == "test_set" || key == "reference_modes") {
      if (auto set = checkStateSet(*item.value, key))
        (key == "test_set" ? info.testSet : info.referenceModes) = *set;
    } else {
      diags_.error(item.key.range,
                   fmt::format("unknown training setting '{}'; expected "
                               "objective, batch, iterations, optimizer, "
                               "lr_schedule, sampler, epochs, minibatches, "
                               "target, eval, test_set, reference_modes or "
                               "seed",
                               key));
    }
  }
  applyTrainOverrides(info, haveObjective);
  if (!haveObjective)
    diags_.error(SourceRange(t.range.begin),
                 "the train block must name an objective");
  if (info.batch % info.minibatches != 0)
    diags_.error(minibatchItem ? minibatchItem->value->range
                               : SourceRange(t.range.begin),
                 fmt::format("minibatches {} does not divide the batch ({})",
                             info.minibatches, info.batch));
  if (!info.objective.empty())
    checkObjectiveNeeds(info, objectiveItem ? objectiveItem->value->range
                                            : SourceRange(t.range.begin));
  if (!result_.env)
    diags_.error(SourceRange(t.range.begin),
                 "training needs an 'env' declaration");
  if (!firstModel_)
    diags_.error(SourceRange(t.range.begin),
                 "training needs a 'model' declaration");
  result_.train = std::move(info);
}

std::optional<StateSetInfo> SemaImpl::checkStateSet(Expr &e,
                                                    const std::string &key) {
  bool tests = key == "test_set";
  std::optional<ConfigCall> call =
      checkConfigCall(e, "a param of terminal states",
                      tests ? std::vector<const char *>{"samples"}
                            : std::vector<const char *>{"within"});
  if (!call)
    return std::nullopt;
  SourceRange at = e.kind == ExprKind::Call
                       ? static_cast<CallExpr &>(e).callee.range
                       : e.range;
  const ParamInfo *p = result_.findParam(call->name);
  if (!p) {
    diags_.error(at, fmt::format("'{}' takes a param whose rows are terminal "
                                 "states; '{}' is not a param",
                                 key, call->name));
    return std::nullopt;
  }
  if (!result_.env)
    return std::nullopt; // reported at the train block
  const EnvInfo &env = *result_.env;
  int64_t width = 0;
  for (const StateInfo &s : env.states)
    width += s.type.numElements();
  const Type &t = p->value.type;
  if (t.shape.size() != 2 || t.shape[1] != width) {
    diags_.error(at, fmt::format("the rows of '{}' must be states of {} "
                                 "values (every state field, flattened), "
                                 "but it is {}",
                                 p->name, width, t.str()));
    return std::nullopt;
  }
  // Every value must fit its field's kind and domain.
  int64_t rows = t.shape[0];
  for (int64_t r = 0; r < rows; ++r) {
    int64_t col = 0;
    for (const StateInfo &s : env.states) {
      for (int64_t i = 0; i < s.type.numElements(); ++i, ++col) {
        double v = p->value.data[r * width + col];
        if (s.type.is(ScalarKind::Float))
          continue; // a float field takes any value
        std::string why;
        if (std::trunc(v) != v)
          why = s.type.is(ScalarKind::Bool) ? ", not a bool" : ", not an int";
        else if (s.type.is(ScalarKind::Bool) && v != 0 && v != 1)
          why = ", not a bool (0 or 1)";
        else if (s.hasDomain && (v < s.lo || v >= s.hi))
          why = fmt::format(", outside {:g}..{:g}", s.lo, s.hi);
        else if (!s.hasDomain && std::fabs(v) >= 2147483648.0)
          why = ", outside the 32-bit ints";
        if (!why.empty()) {
          diags_.error(at, fmt::format("row {} of '{}' is not a state: "
                                       "field '{}'{} is {:g}{}",
                                       r, p->name, s.name,
                                       s.type.isScalar()
                                           ? ""
                                           : fmt::format(" element {}", i),
                                       v, why));
          return std::nullopt;
        }
      }
    }
  }
  StateSetInfo out;
  out.param = p->name;
  out.rows = rows;
  for (const auto &[k, v] : call->args) {
    double x = v.scalar();
    if (k == "samples") {
      if (!v.type.is(ScalarKind::Int) || x < 1 || x > 4096) {
        diags_.error(e.range, "'samples' must be an int in 1..4096");
        return std::nullopt;
      }
      out.samples = static_cast<int64_t>(x);
    } else if (k == "within") {
      if (x < 0 || !std::isfinite(x)) {
        diags_.error(e.range, "'within' must be a distance of at least 0");
        return std::nullopt;
      }
      out.within = x;
    }
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Sampler and schedules
//===----------------------------------------------------------------------===//

namespace {

/// The named options of one configuration call, each checked once.
struct StageOptions {
  std::map<std::string, CallArg *> args;
};

const char *joinedKeys(const std::vector<const char *> &keys,
                       std::string &buffer) {
  buffer.clear();
  for (const char *k : keys)
    buffer += (buffer.empty() ? "" : ", ") + std::string(k);
  return buffer.c_str();
}

} // namespace

/// The options of `call` (a name has none) by key; reports positional
/// arguments, unknown and repeated keys. nullopt after an error.
static std::optional<StageOptions>
collectOptions(DiagnosticEngine &diags, Expr &e, const std::string &name,
               const std::vector<const char *> &keys) {
  StageOptions out;
  if (e.kind != ExprKind::Call)
    return out;
  std::string list;
  for (CallArg &a : static_cast<CallExpr &>(e).args) {
    if (!a.keyword) {
      diags.error(a.range, fmt::format("expected a named option such as "
                                       "'{} VALUE'",
                                       keys.empty() ? "name" : keys[0]));
      return std::nullopt;
    }
    const std::string &k = a.keyword->name;
    if (std::find_if(keys.begin(), keys.end(),
                     [&](const char *x) { return k == x; }) == keys.end()) {
      diags.error(a.keyword->range,
                  fmt::format("unknown option '{}' for '{}'; expected {}", k,
                              name, joinedKeys(keys, list)));
      return std::nullopt;
    }
    if (!out.args.emplace(k, &a).second) {
      diags.error(a.keyword->range,
                  fmt::format("option '{}' is given twice", k));
      return std::nullopt;
    }
  }
  return out;
}

void SemaImpl::checkSampler(TrainItem &item, SamplerInfo &out) {
  std::set<std::string> seen;
  if (item.value) {
    checkSamplerStage(*item.value, out, seen);
  } else {
    for (ExprPtr &stage : item.stages)
      if (!checkSamplerStage(*stage, out, seen))
        return;
  }
}

bool SemaImpl::checkSamplerStage(Expr &stage, SamplerInfo &out,
                                 std::set<std::string> &seen) {
  std::string name;
  if (stage.kind == ExprKind::Name)
    name = static_cast<NameExpr &>(stage).name;
  else if (stage.kind == ExprKind::Call)
    name = static_cast<CallExpr &>(stage).callee.name;
  else {
    diags_.error(stage.range, "expected a sampler stage such as "
                              "'on_policy(epsilon 0.1)'");
    return false;
  }
  SourceRange nameRange = stage.kind == ExprKind::Call
                              ? static_cast<CallExpr &>(stage).callee.range
                              : stage.range;
  static const std::map<std::string, std::vector<const char *>> kStages = {
      {"on_policy", {"epsilon", "temperature"}},
      {"replay",
       {"capacity", "fraction", "priority", "temperature", "evict", "insert"}},
      {"local_search", {"backtrack", "rounds", "accept", "keep_originals"}}};
  auto stageIt = kStages.find(name);
  if (stageIt == kStages.end()) {
    diags_.error(nameRange, fmt::format("unknown sampler stage '{}'; expected "
                                        "on_policy, replay or local_search",
                                        name));
    return false;
  }
  if (name != "replay" && !seen.insert(name).second) {
    diags_.error(nameRange,
                 fmt::format("a sampler has at most one '{}' stage", name));
    return false;
  }
  auto opts = collectOptions(diags_, stage, name, stageIt->second);
  if (!opts)
    return false;
  bool ok = true;
  // Only the behaviour policy's settings change over iterations.
  for (auto &[key, a] : opts->args)
    if (a->over && name != "on_policy") {
      diags_.error(a->value->range,
                   fmt::format("'{}' cannot change over iterations", key));
      ok = false;
    }
  if (!ok)
    return false;
  auto arg = [&](const char *key) -> CallArg * {
    auto it = opts->args.find(key);
    return it == opts->args.end() ? nullptr : it->second;
  };
  // A number option, checked by `valid` (which describes the range).
  auto number = [&](const char *key, double &field, bool (*valid)(double),
                    const char *range) {
    CallArg *a = arg(key);
    if (!a)
      return;
    auto v = constantNumber(*a->value, fmt::format("'{}'", key).c_str());
    if (!v) {
      ok = false;
      return;
    }
    if (!valid(*v)) {
      diags_.error(a->value->range, fmt::format("{} must be {}", key, range));
      ok = false;
      return;
    }
    field = *v;
  };
  auto integer = [&](const char *key, int64_t &field, int64_t lo, int64_t hi) {
    CallArg *a = arg(key);
    if (!a)
      return;
    auto v = constantInt(*a->value, fmt::format("'{}'", key).c_str());
    if (!v) {
      ok = false;
      return;
    }
    if (*v < lo || *v > hi) {
      diags_.error(a->value->range,
                   fmt::format("{} must be between {} and {}", key, lo, hi));
      ok = false;
      return;
    }
    field = *v;
  };
  auto choice = [&](const char *key, std::string &field,
                    std::vector<const char *> names) {
    CallArg *a = arg(key);
    if (!a)
      return;
    std::string v = a->value->kind == ExprKind::Name
                        ? static_cast<NameExpr &>(*a->value).name
                        : "";
    if (std::find_if(names.begin(), names.end(),
                     [&](const char *x) { return v == x; }) == names.end()) {
      std::string list;
      diags_.error(a->value->range, fmt::format("{} must be one of {}", key,
                                                joinedKeys(names, list)));
      ok = false;
      return;
    }
    field = v;
  };
  // A number or a schedule `from -> to over N`.
  auto schedule = [&](const char *key, ScheduleInfo &field,
                      bool (*valid)(double), const char *range) {
    CallArg *a = arg(key);
    if (!a)
      return;
    Expr *from = a->value.get(), *to = nullptr;
    if (a->value->kind == ExprKind::Arrow) {
      from = static_cast<ArrowExpr &>(*a->value).from.get();
      to = static_cast<ArrowExpr &>(*a->value).to.get();
    }
    ScheduleInfo s;
    for (Expr *e : {from, to}) {
      if (!e)
        continue;
      auto v = constantNumber(*e, fmt::format("'{}'", key).c_str());
      if (!v) {
        ok = false;
        return;
      }
      if (!valid(*v)) {
        diags_.error(e->range, fmt::format("{} must be {}", key, range));
        ok = false;
        return;
      }
      (e == from ? s.start : s.end) = *v;
    }
    if (!to) {
      s.end = s.start;
    } else {
      auto n = constantInt(*a->over, "the schedule's iterations");
      if (!n) {
        ok = false;
        return;
      }
      if (*n < 1) {
        diags_.error(a->over->range,
                     "a schedule runs over at least 1 iteration");
        ok = false;
        return;
      }
      s.over = *n;
    }
    field = s;
  };
  static auto unit = [](double x) { return x >= 0 && x <= 1; };
  static auto positive = [](double x) { return x > 0 && std::isfinite(x); };
  const EnvInfo *env = result_.env ? &*result_.env : nullptr;
  bool backward = !env || env->numBackwardActions > 0;

  if (name == "on_policy") {
    schedule("epsilon", out.epsilon, unit, "in [0, 1]");
    schedule("temperature", out.temperature, positive, "positive");
    return ok;
  }
  if (!backward) {
    diags_.error(nameRange,
                 fmt::format("'{}' draws trajectories backward from terminal "
                             "states, but the environment has no backward "
                             "actions",
                             name));
    return false;
  }
  if (name == "replay") {
    if (out.replay.size() == 4) {
      diags_.error(nameRange, "a sampler has at most 4 replay stages");
      return false;
    }
    ReplayInfo r;
    for (const char *required : {"capacity", "fraction"})
      if (!arg(required)) {
        diags_.error(stage.range, fmt::format("replay needs '{}'", required));
        return false;
      }
    integer("capacity", r.capacity, 1, (int64_t(1) << 31) - 1);
    number(
        "fraction", r.fraction, [](double x) { return x > 0 && x <= 1; },
        "in (0, 1]");
    choice("priority", r.priority, {"uniform", "reward"});
    number("temperature", r.temperature, positive, "positive");
    choice("evict", r.evict, {"fifo", "reward"});
    choice("insert", r.insert, {"all", "new"});
    if (!ok)
      return false;
    double total = r.fraction;
    for (const ReplayInfo &x : out.replay)
      total += x.fraction;
    SourceRange at = arg("fraction")->value->range;
    if (total > 1 + 1e-9) {
      diags_.error(at, fmt::format("the replay fractions sum to {:g}, more "
                                   "than the whole batch",
                                   total));
      return false;
    }
    if (total > 1 - 1e-9) {
      diags_.error(at, "the replay fractions sum to 1, which leaves no "
                       "on-policy draws to fill the buffers");
      return false;
    }
    out.replay.push_back(std::move(r));
    return true;
  }
  // local_search
  LocalSearchInfo ls;
  if (!arg("backtrack")) {
    diags_.error(stage.range, "local_search needs 'backtrack'");
    return false;
  }
  integer("backtrack", ls.backtrack, 1, 1 << 20);
  integer("rounds", ls.rounds, 1, 1000);
  choice("accept", ls.accept, {"mh", "greedy"});
  if (CallArg *a = arg("keep_originals")) {
    auto v = constant(*a->value, "'keep_originals'");
    if (!v || !v->type.is(ScalarKind::Bool) || !v->type.isScalar()) {
      if (v)
        diags_.error(a->value->range, "keep_originals must be true or false");
      return false;
    }
    ls.keepOriginals = v->scalar() != 0;
  }
  if (!ok)
    return false;
  ls.backtrackRange = arg("backtrack")->value->range;
  out.localSearch = ls;
  return true;
}

void SemaImpl::checkLrSchedule(Expr &value, LrScheduleInfo &out) {
  std::string name =
      value.kind == ExprKind::Call ? static_cast<CallExpr &>(value).callee.name
      : value.kind == ExprKind::Name ? static_cast<NameExpr &>(value).name
                                     : "";
  static const std::map<std::string, std::vector<const char *>> kKinds = {
      {"constant", {"warmup"}},
      {"linear", {"warmup", "min"}},
      {"cosine", {"warmup", "min"}},
      {"step", {"warmup", "every", "gamma"}}};
  auto kind = kKinds.find(name);
  if (kind == kKinds.end()) {
    diags_.error(value.range, "unknown learning-rate schedule; expected "
                              "constant(...), linear(...), cosine(...) or "
                              "step(...)");
    return;
  }
  auto opts = collectOptions(diags_, value, name, kind->second);
  if (!opts)
    return;
  LrScheduleInfo s;
  s.kind = name;
  for (auto &[key, a] : opts->args) {
    auto v = constantNumber(*a->value, fmt::format("'{}'", key).c_str());
    if (!v)
      return;
    bool isInt = std::floor(*v) == *v;
    if (key == "warmup" || key == "every") {
      int64_t lo = key == "warmup" ? 0 : 1;
      if (!isInt || *v < lo || *v > 1e15) {
        diags_.error(
            a->value->range,
            fmt::format("{} must be an integer of at least {}", key, lo));
        return;
      }
      (key == "warmup" ? s.warmup : s.every) = static_cast<int64_t>(*v);
    } else if (key == "min") {
      if (!(*v >= 0 && *v <= 1)) {
        diags_.error(a->value->range, "min (a fraction of the learning rate) "
                                      "must be in [0, 1]");
        return;
      }
      s.min = *v;
    } else { // gamma
      if (!(*v > 0 && *v <= 1)) {
        diags_.error(a->value->range, "gamma must be in (0, 1]");
        return;
      }
      s.gamma = *v;
    }
  }
  if (s.kind == "step" && s.every == 0) {
    diags_.error(value.range, "step needs 'every'");
    return;
  }
  out = s;
}

//===----------------------------------------------------------------------===//
// Update rules: targets and what an objective needs
//===----------------------------------------------------------------------===//

void SemaImpl::requireRange(Expr &e, const char *what, double lo, bool loOpen,
                            double hi) {
  auto describe = [&] {
    return fmt::format("{} must be in {}{}, {}]", what, loOpen ? "(" : "[", lo,
                       hi);
  };
  if (e.kind == ExprKind::Name && e.binding.kind == BindingKind::ObjParam &&
      e.binding.index > 0) {
    paramRanges_[currentObjective_].push_back(
        {static_cast<size_t>(e.binding.index - 1), what, lo, hi, loOpen,
         e.range});
    return;
  }
  std::optional<ConstValue> v = evaluate(e);
  if (!v)
    return; // computed per trajectory: no compile-time value
  double x = v->scalar();
  if (!(loOpen ? x > lo : x >= lo) || !(x <= hi))
    diags_.error(e.range, fmt::format("{}, got {:g}", describe(), x));
}

void SemaImpl::checkTarget(Expr &value, TrainInfo &info) {
  std::string kind = value.kind == ExprKind::Call
                         ? static_cast<CallExpr &>(value).callee.name
                         : "";
  if (kind != "copy" && kind != "polyak") {
    diags_.error(value.range, "expected a target network: copy(every N) or "
                              "polyak(tau X), optionally with nets [...]");
    return;
  }
  std::vector<const char *> keys = {kind == "copy" ? "every" : "tau", "nets"};
  auto opts = collectOptions(diags_, value, kind, keys);
  if (!opts)
    return;
  TargetInfo target;
  target.kind = kind;
  const char *required = keys[0];
  auto it = opts->args.find(required);
  if (it == opts->args.end()) {
    diags_.error(value.range, fmt::format("{} needs '{}'", kind, required));
    return;
  }
  CallArg &a = *it->second;
  if (kind == "copy") {
    auto n = constantInt(*a.value, "'every'");
    if (!n)
      return;
    if (*n < 1) {
      diags_.error(a.value->range, "every must be at least 1");
      return;
    }
    target.every = *n;
  } else {
    auto x = constantNumber(*a.value, "'tau'");
    if (!x)
      return;
    if (!(*x > 0 && *x <= 1)) {
      diags_.error(a.value->range, "tau must be in (0, 1]");
      return;
    }
    target.tau = *x;
  }
  if (auto n = opts->args.find("nets"); n != opts->args.end()) {
    Expr &list = *n->second->value;
    std::vector<Expr *> names;
    if (list.kind == ExprKind::ArrayLit)
      for (ExprPtr &el : static_cast<ArrayLitExpr &>(list).elements)
        names.push_back(el.get());
    else
      names.push_back(&list);
    for (Expr *el : names) {
      const std::string name =
          el->kind == ExprKind::Name ? static_cast<NameExpr &>(*el).name : "";
      const NetInfo *net = result_.findNet(name);
      if (!net || net->kind == NetKind::Uniform) {
        if (!declaresNet(firstModel_, name))
          diags_.error(el->range,
                       fmt::format("a target network of '{}', which the "
                                   "model does not declare{}",
                                   name.empty() ? "?" : name,
                                   net ? " with parameters" : ""));
        return;
      }
      target.nets.push_back(name);
    }
  }
  if (target.nets.empty())
    for (const NetInfo &n : result_.nets)
      if (n.kind != NetKind::Uniform)
        target.nets.push_back(n.name);
  info.target = std::move(target);
}

void SemaImpl::checkObjectiveNeeds(const TrainInfo &info, SourceRange at) {
  const std::map<std::string, SourceRange> &reads =
      objectiveMembers_[info.objective];
  auto hasNet = [&](const char *name, bool withParams) {
    const NetInfo *n = result_.findNet(name);
    return n && (!withParams || n->kind != NetKind::Uniform);
  };
  auto targets = [&](const char *name) {
    return info.target &&
           std::find(info.target->nets.begin(), info.target->nets.end(),
                     name) != info.target->nets.end();
  };
  auto report = [&](const std::string &member, const std::string &why) {
    diags_.error(at, fmt::format("objective '{}' reads t.{}, but {}",
                                 info.objective, member, why));
    diags_.note(reads.at(member), fmt::format("t.{} is read here", member));
  };
  // The first missing requirement of each member.
  for (const auto &[member, use] : reads) {
    (void)use;
    if (member == "log_f" && !hasNet("logF", true))
      report(member, "the model declares no 'logF' network");
    else if ((member == "value" || member == "value_target") &&
             !hasNet("value", true))
      report(member, "the model declares no 'value' network");
    else if (member == "value_target" && !targets("value"))
      report(member, "the train block declares no target of 'value' "
                     "(target polyak(tau X) or copy(every N))");
    else if ((member == "logit_target" || member == "log_norm_target") &&
             !hasNet("pf", true))
      report(member, "'pf' is uniform: it has no target network");
    else if ((member == "logit_target" || member == "log_norm_target") &&
             !targets("pf"))
      report(member, "the train block declares no target of 'pf' "
                     "(target polyak(tau X) or copy(every N))");
    else if (member == "log_pf_exit" && result_.env && !result_.env->hasStop)
      report(member, "the environment has no exit ('stop')");
  }
  // Ranges of the objective's parameters (a discount in (0, 1]).
  const ObjectiveInfo *obj = result_.findObjective(info.objective);
  for (const ParamRange &r : paramRanges_[info.objective]) {
    if (!obj || r.param >= info.objectiveArgs.size())
      continue;
    double x = info.objectiveArgs[r.param].scalar();
    if ((r.loOpen ? x > r.lo : x >= r.lo) && x <= r.hi)
      continue;
    diags_.error(at, fmt::format("objective '{}': {} ('{}') must be in "
                                 "{}{}, {}], got {:g}",
                                 info.objective, r.what,
                                 obj->scalarParams[r.param].first,
                                 r.loOpen ? "(" : "[", r.lo, r.hi, x));
    diags_.note(r.use, fmt::format("{} is used here", r.what));
  }
}

} // namespace gfl

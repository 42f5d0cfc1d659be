//===- Sema.cpp - Semantic analysis of .gfl declarations ------------------===//

#include "SemaImpl.h"

#include "gfl/Frontend/DataFile.h"

#include <filesystem>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cassert>
#include <set>

namespace gfl {

const ParamInfo *CheckedProgram::findParam(const std::string &name) const {
  for (const ParamInfo &p : params)
    if (p.name == name)
      return &p;
  return nullptr;
}

const NetInfo *CheckedProgram::findNet(const std::string &name) const {
  for (const NetInfo &n : nets)
    if (n.name == name)
      return &n;
  return nullptr;
}

const ObjectiveInfo *
CheckedProgram::findObjective(const std::string &name) const {
  for (const ObjectiveInfo &o : objectives)
    if (o.name == name)
      return &o;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Scopes
//===----------------------------------------------------------------------===//

bool SemaImpl::declare(const Ident &name, Symbol sym) {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto found = it->find(name.name);
    if (found == it->end())
      continue;
    diags_.error(name.range, fmt::format("redefinition of '{}'", name.name));
    diags_.note(found->second.declRange, "previous definition is here");
    return false;
  }
  scopes_.back().emplace(name.name, sym);
  return true;
}

const Symbol *SemaImpl::lookup(const std::string &name) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto found = it->find(name);
    if (found != it->end())
      return &found->second;
  }
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

CheckedProgram SemaImpl::run() {
  scopes_.clear();
  pushScope(); // globals: params
  // Params first, in source order: a param may use earlier params only.
  for (auto &d : program_.decls)
    if (d->kind == DeclKind::Param)
      checkParam(static_cast<ParamDecl &>(*d));
  // A bad --set is an option error: the rest would only report its
  // consequences (a param without a value makes its uses undeclared).
  if (result_.badOverride) {
    reportUnusedOverrides();
    return std::move(result_);
  }
  for (auto &d : program_.decls) {
    if (diags_.tooManyErrors())
      break;
    switch (d->kind) {
    case DeclKind::Param:
      break;
    case DeclKind::Env:
      checkEnv(static_cast<EnvDecl &>(*d));
      break;
    case DeclKind::Model:
      checkModel(static_cast<ModelDecl &>(*d));
      break;
    case DeclKind::Objective:
      break; // after the model: objectives read log Z
    case DeclKind::Train:
      break; // after the objectives
    }
  }
  for (auto &d : program_.decls)
    if (d->kind == DeclKind::Objective && !diags_.tooManyErrors())
      checkObjective(static_cast<ObjectiveDecl &>(*d));
  for (auto &d : program_.decls)
    if (d->kind == DeclKind::Train && !diags_.tooManyErrors())
      checkTrain(static_cast<TrainDecl &>(*d));
  reportUnusedOverrides();
  return std::move(result_);
}

CheckedProgram analyze(Program &program, DiagnosticEngine &diags,
                       const Overrides &overrides) {
  return SemaImpl(program, diags, overrides).run();
}

//===----------------------------------------------------------------------===//
// Command-line overrides
//===----------------------------------------------------------------------===//

bool SemaImpl::applyOverride(const std::string &name, ConstValue &value) {
  auto it = overrides_.find(name);
  if (it == overrides_.end())
    return true;
  usedOverrides_.insert(name);
  const std::string &text = it->second;
  auto fail = [&](const std::string &why) {
    diags_.error(SourceRange(),
                 fmt::format("--set {}={}: {}", name, text, why));
    result_.badOverride = true;
    return false;
  };
  if (!value.type.isScalar())
    return fail("only scalar values can be set from the command line");
  double v = 0;
  ScalarKind kind;
  if (text == "true" || text == "false") {
    kind = ScalarKind::Bool;
    v = text == "true";
  } else {
    char *end = nullptr;
    errno = 0;
    v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
      return fail("not a number or bool");
    bool integral = text.find_first_of(".eE") == std::string::npos;
    kind = integral ? ScalarKind::Int : ScalarKind::Float;
    if (integral && std::fabs(v) > 9007199254740992.0)
      return fail("integer out of range");
  }
  ScalarKind want = value.type.scalar;
  bool ok = kind == want || (want == ScalarKind::Float && kind == ScalarKind::Int);
  if (!ok)
    return fail(fmt::format("expected {}", spelling(want)));
  value.data.assign(1, v);
  return true;
}

void SemaImpl::reportUnusedOverrides() {
  for (const auto &[name, text] : overrides_) {
    if (usedOverrides_.count(name))
      continue;
    diags_.error(SourceRange(),
                 fmt::format("--set {}={}: no param or training setting named "
                             "'{}'",
                             name, text, name));
    result_.badOverride = true;
  }
}

//===----------------------------------------------------------------------===//
// Params
//===----------------------------------------------------------------------===//

std::filesystem::path SemaImpl::besideSource(const LoadSource &file) const {
  std::filesystem::path path(file.path);
  if (path.is_relative())
    path = std::filesystem::path(diags_.bufferOf(file.range.begin).name())
               .parent_path() /
           path;
  return path;
}

std::optional<ConstValue> SemaImpl::loadParam(const ParamDecl &p,
                                              std::string &loadedPath) {
  std::string error;
  loadedPath = besideSource(*p.load).string();
  std::optional<ConstValue> value = loadDataFile(loadedPath, error);
  if (!value)
    diags_.error(p.load->range,
                 fmt::format("cannot load '{}': {}", p.load->path, error));
  return value;
}

/// A param with a written type: the value must have its shape, and its
/// kind or one that converts without loss (an int table for a float).
bool SemaImpl::conformParam(ParamDecl &p, ConstValue &value) {
  std::optional<Type> declared = resolveTypeSpec(*p.type);
  if (!declared)
    return false;
  if (declared->kind != TypeKind::Value) {
    diags_.error(p.type->range, "a param is an int, a float, a bool or a "
                                "tensor of them");
    return false;
  }
  const Type &got = value.type;
  bool kindOk = got.scalar == declared->scalar ||
                (declared->is(ScalarKind::Float) && got.is(ScalarKind::Int)) ||
                (declared->is(ScalarKind::Bool) && got.is(ScalarKind::Int) &&
                 std::all_of(value.data.begin(), value.data.end(),
                             [](double v) { return v == 0 || v == 1; }));
  if (got.shape != declared->shape || !kindOk) {
    diags_.error(p.load ? p.load->range : p.value->range,
                 fmt::format("'{}' is declared {} but {} {}", p.name.name,
                             declared->str(),
                             p.load ? "the file holds" : "its value is",
                             got.str()));
    diags_.note(p.type->range, "the declared type");
    return false;
  }
  value.type = *declared;
  if (declared->is(ScalarKind::Float))
    for (double &v : value.data)
      v = static_cast<double>(static_cast<float>(v));
  return true;
}

void SemaImpl::checkParam(ParamDecl &p) {
  std::string loadedPath;
  std::optional<ConstValue> value =
      p.load ? loadParam(p, loadedPath) : constant(*p.value, "a param value");
  if (value && p.type && !conformParam(p, *value))
    value.reset();
  Symbol sym;
  sym.binding = {BindingKind::Param, &p,
                 value ? static_cast<int>(result_.params.size()) : -1};
  sym.declRange = p.name.range;
  // A param whose value is in error is still declared, with no type, so
  // that its uses are not reported again as undeclared names.
  if (value && !applyOverride(p.name.name, *value))
    value.reset();
  if (value)
    sym.type = value->type;
  if (!declare(p.name, sym) || !value)
    return;
  result_.params.push_back({p.name.name, std::move(*value), &p,
                            p.load ? p.load->path : std::string(),
                            std::move(loadedPath)});
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

std::optional<Type> SemaImpl::resolveTypeSpec(TypeSpec &spec) {
  const std::string &b = spec.base.name;
  if (b == "trajectory") {
    if (!spec.dims.empty()) {
      diags_.error(spec.range, "'trajectory' takes no shape");
      return std::nullopt;
    }
    return Type::trajectory();
  }
  ScalarKind k;
  if (b == "int")
    k = ScalarKind::Int;
  else if (b == "float")
    k = ScalarKind::Float;
  else if (b == "bool")
    k = ScalarKind::Bool;
  else {
    diags_.error(spec.base.range,
                 fmt::format("unknown type '{}'; expected int, float, bool or "
                             "trajectory",
                             b));
    return std::nullopt;
  }
  std::vector<int64_t> shape;
  int64_t total = 1;
  for (auto &d : spec.dims) {
    auto n = constantInt(*d, "a dimension");
    if (!n)
      return std::nullopt;
    if (*n <= 0 || *n > kMaxTensorElements) {
      diags_.error(d->range, fmt::format("a dimension must be between 1 and "
                                         "{}, got {}",
                                         kMaxTensorElements, *n));
      return std::nullopt;
    }
    total *= *n;
    if (total > kMaxTensorElements) {
      diags_.error(spec.range, fmt::format("a tensor may have at most {} "
                                           "elements",
                                           kMaxTensorElements));
      return std::nullopt;
    }
    shape.push_back(*n);
  }
  return Type::tensorOf(k, shape);
}

bool SemaImpl::expectType(const Expr &e, const Type &t, const char *what,
                          bool allowIntToFloat) {
  if (!e.type.isValid())
    return false;
  if (e.type == t)
    return true;
  if (allowIntToFloat && e.type.shape == t.shape &&
      t.is(ScalarKind::Float) && e.type.isNumeric())
    return true;
  diags_.error(e.range, fmt::format("{} must be {}, got {}", what, t.str(),
                                    e.type.str()));
  return false;
}

//===----------------------------------------------------------------------===//
// Environment
//===----------------------------------------------------------------------===//

void SemaImpl::checkStateField(StateField &f, int index, EnvInfo &info) {
  StateInfo s;
  s.name = f.name.name;
  s.decl = &f;
  auto type = resolveTypeSpec(f.type);
  if (!type)
    return;
  if (!type->isValue()) {
    diags_.error(f.type.range, "a state field must be int, float or bool");
    return;
  }
  s.type = *type;
  bool ok = true;
  if (f.lo) {
    if (!s.type.is(ScalarKind::Int)) {
      diags_.error(SourceRange::merge(f.lo->range, f.hi->range),
                   fmt::format("only int state fields take a domain, not {}",
                               spelling(s.type.scalar)));
      ok = false;
    } else {
      auto lo = constantNumber(*f.lo, "a domain bound");
      auto hi = constantNumber(*f.hi, "a domain bound");
      if (lo && hi) {
        if (f.lo->type.is(ScalarKind::Float) ||
            f.hi->type.is(ScalarKind::Float)) {
          diags_.error(SourceRange::merge(f.lo->range, f.hi->range),
                       "the domain of an int field must have int bounds");
          ok = false;
        } else if (*lo >= *hi) {
          diags_.error(SourceRange::merge(f.lo->range, f.hi->range),
                       fmt::format("empty domain {}..{}: the upper bound is "
                                   "exclusive and must exceed the lower",
                                   *lo, *hi));
          ok = false;
        } else {
          s.hasDomain = true;
          s.lo = *lo;
          s.hi = *hi;
        }
      } else {
        ok = false;
      }
    }
  }
  // Initial value: a scalar broadcast to the shape, or a full array.
  s.init.type = s.type;
  // Without an explicit value a field starts at 0, or at the lower bound of
  // a domain that excludes 0.
  double zero = s.hasDomain && (s.lo > 0 || s.hi <= 0) ? s.lo : 0.0;
  s.init.data.assign(s.type.numElements(), zero);
  if (f.init) {
    auto v = constant(*f.init, "an initial value");
    if (!v) {
      ok = false;
    } else if (!(v->type.shape.empty() || v->type.shape == s.type.shape)) {
      diags_.error(f.init->range,
                   fmt::format("initial value of type {} does not match the "
                               "field type {}",
                               v->type.str(), s.type.str()));
      ok = false;
    } else if (v->type.is(ScalarKind::Bool) != s.type.is(ScalarKind::Bool) ||
               (v->type.is(ScalarKind::Float) && s.type.is(ScalarKind::Int))) {
      diags_.error(f.init->range,
                   fmt::format("initial value of type {} does not match the "
                               "field type {}",
                               v->type.str(), s.type.str()));
      ok = false;
    } else {
      for (size_t i = 0; i < s.init.data.size(); ++i)
        s.init.data[i] = v->data.size() == 1 ? v->data[0] : v->data[i];
    }
  }
  if (ok && s.hasDomain) {
    for (double v : s.init.data) {
      if (v < s.lo || v >= s.hi) {
        diags_.error(f.init ? f.init->range : f.range,
                     fmt::format("initial value {} is outside the domain "
                                 "{}..{}",
                                 v, s.lo, s.hi));
        ok = false;
        break;
      }
    }
  }
  if (!ok)
    return;
  Symbol sym;
  sym.binding = {BindingKind::StateField, &f, index};
  sym.type = s.type;
  sym.declRange = f.name.range;
  sym.assignable = true;
  if (!declare(f.name, sym))
    return;
  info.states.push_back(std::move(s));
}

void SemaImpl::checkCondition(ConditionDecl &c, EnvInfo &info) {
  ConditionInfo ci;
  ci.name = c.name.name;
  ci.decl = &c;
  conditionNames_.insert(ci.name);
  for (const ConditionInfo &o : info.conditions)
    if (o.name == ci.name) {
      diags_.error(c.name.range, fmt::format("redefinition of '{}'", ci.name));
      diags_.note(o.decl->name.range, "previous definition is here");
      return;
    }
  if (const Symbol *sym = lookup(ci.name)) {
    diags_.error(c.name.range, fmt::format("redefinition of '{}'", ci.name));
    diags_.note(sym->declRange, "previous definition is here");
    return;
  }
  std::optional<Type> declared;
  if (c.type) {
    declared = resolveTypeSpec(*c.type);
    if (!declared)
      return;
    if (!declared->is(ScalarKind::Float) || declared->shape.size() > 1) {
      diags_.error(c.type->range, "a condition is a float or a vector of "
                                  "floats (float[K])");
      return;
    }
  }
  Expr &d = *c.distribution;
  if (d.kind != ExprKind::Call) {
    diags_.error(d.range, "expected a distribution: uniform(lo, hi), "
                          "loguniform(lo, hi) or dirichlet(alpha)");
    return;
  }
  auto &call = static_cast<CallExpr &>(d);
  const std::string &dist = call.callee.name;
  ci.distribution = dist;
  std::vector<ConstValue> args;
  for (CallArg &a : call.args) {
    auto v = constant(*a.value, "a distribution parameter");
    if (!v)
      return;
    if (v->type.is(ScalarKind::Bool) || v->type.shape.size() > 1) {
      diags_.error(a.value->range, "a distribution parameter is a number or "
                                   "a list of numbers");
      return;
    }
    args.push_back(std::move(*v));
  }
  if (dist == "uniform" || dist == "loguniform") {
    if (args.size() != 2 || !args[0].type.isScalar() ||
        !args[1].type.isScalar()) {
      diags_.error(call.range,
                   fmt::format("{} takes two numbers: (lo, hi)", dist));
      return;
    }
    double lo = args[0].scalar(), hi = args[1].scalar();
    if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi)) {
      diags_.error(call.range, fmt::format("{}(lo, hi) needs lo < hi", dist));
      return;
    }
    if (dist == "loguniform" && !(lo > 0)) {
      diags_.error(call.range, "loguniform(lo, hi) needs 0 < lo");
      return;
    }
    if (declared && !declared->shape.empty()) {
      diags_.error(c.type->range,
                   fmt::format("a {} condition is a float", dist));
      return;
    }
    ci.type = Type::floatTy();
    ci.params = {lo, hi};
    ci.value = {dist == "uniform" ? 0.5 * (lo + hi) : std::sqrt(lo * hi)};
  } else if (dist == "dirichlet") {
    if (args.size() != 1) {
      diags_.error(call.range, "dirichlet takes one argument: alpha (a "
                               "number, or one per component)");
      return;
    }
    const ConstValue &alpha = args[0];
    int64_t k =
        alpha.type.isScalar()
            ? (declared && declared->shape.size() == 1 ? declared->shape[0] : 0)
            : static_cast<int64_t>(alpha.data.size());
    if (declared && !alpha.type.isScalar() &&
        (declared->shape.size() != 1 || declared->shape[0] != k)) {
      diags_.error(call.args[0].value->range,
                   fmt::format("{} alphas for a condition of type {}", k,
                               declared->str()));
      return;
    }
    if (k < 2 || k > 64) {
      diags_.error(c.name.range,
                   "a dirichlet condition has 2 to 64 components: declare "
                   "'NAME: float[K]' or give one alpha per component");
      return;
    }
    for (int64_t i = 0; i < k; ++i) {
      double a = alpha.data.size() == 1 ? alpha.data[0] : alpha.data[i];
      if (!(a > 0) || !std::isfinite(a)) {
        diags_.error(call.args[0].value->range,
                     "dirichlet concentrations must be positive");
        return;
      }
      ci.params.push_back(a);
    }
    ci.type = Type::tensorOf(ScalarKind::Float, {k});
    double total = 0;
    for (double a : ci.params)
      total += a;
    for (double a : ci.params)
      ci.value.push_back(a / total);
  } else {
    diags_.error(call.callee.range,
                 fmt::format("unknown distribution '{}'; expected uniform, "
                             "loguniform or dirichlet",
                             dist));
    return;
  }
  if (c.value) {
    auto v = constant(*c.value, "a condition value");
    if (!v)
      return;
    if (v->type.is(ScalarKind::Bool) || v->type.shape != ci.type.shape) {
      diags_.error(c.value->range,
                   fmt::format("the value of condition '{}' must be a {}",
                               ci.name, ci.type.str()));
      return;
    }
    double sum = 0;
    for (double x : v->data) {
      sum += x;
      bool bad = !std::isfinite(x) || (dist == "loguniform" && !(x > 0)) ||
                 (dist == "dirichlet" && x < 0);
      if (bad) {
        diags_.error(c.value->range,
                     fmt::format("{} is outside the support of {}", x, dist));
        return;
      }
    }
    if (dist == "dirichlet" && std::fabs(sum - 1) > 1e-5) {
      diags_.error(c.value->range, "preferences must sum to 1");
      return;
    }
    ci.value = v->data;
  }
  ci.offset = info.conditionSize;
  info.conditionSize += ci.size();
  info.conditions.push_back(std::move(ci));
}

void SemaImpl::checkEnv(EnvDecl &env) {
  if (firstEnv_) {
    diags_.error(env.name.range, "a program may declare only one environment");
    diags_.note(firstEnv_->name.range, "the environment is declared here");
    return;
  }
  firstEnv_ = &env;
  EnvInfo info;
  info.name = env.name.name;
  info.decl = &env;
  unsigned errorsBefore = diags_.errorCount();

  pushScope(); // state fields
  if (env.states.empty())
    diags_.error(env.name.range,
                 fmt::format("environment '{}' declares no state",
                             env.name.name));
  for (size_t i = 0; i < env.states.size(); ++i)
    checkStateField(env.states[i], static_cast<int>(i), info);
  bool statesOk = diags_.errorCount() == errorsBefore;
  for (ConditionDecl &c : env.conditions)
    checkCondition(c, info);
  bool conditionsOk = info.conditions.size() == env.conditions.size();

  std::map<std::string, const ActionDecl *> actionNames;
  for (ActionDecl &a : env.actions) {
    auto [it, fresh] = actionNames.emplace(a.name.name, &a);
    if (!fresh) {
      diags_.error(a.name.range,
                   fmt::format("duplicate action '{}'", a.name.name));
      diags_.note(it->second->name.range, "previous definition is here");
      continue;
    }
    if (statesOk)
      checkAction(a, info);
  }
  if (env.actions.empty() && !env.stop)
    diags_.error(env.name.range,
                 fmt::format("environment '{}' has no actions and no 'stop'",
                             env.name.name));

  context_ = ExprContext::Env;
  if (env.stop) {
    info.hasStop = true;
    if (env.stop->guard && statesOk) {
      check(*env.stop->guard);
      expectType(*env.stop->guard, Type::boolTy(), "a 'stop' guard", false);
    }
  }
  if (env.terminal && statesOk) {
    info.hasTerminal = true;
    check(*env.terminal);
    expectType(*env.terminal, Type::boolTy(), "a 'terminal when' condition",
               false);
  }
  if (!env.stop && !env.terminal)
    diags_.error(env.name.range,
                 fmt::format("environment '{}' has neither 'stop' nor "
                             "'terminal when': its trajectories never end",
                             env.name.name));
  if (!env.reward) {
    diags_.error(env.name.range,
                 fmt::format("environment '{}' has no reward; add 'reward' "
                             "or 'log_reward'",
                             env.name.name));
  } else if (statesOk) {
    // The reward alone reads the conditions.
    pushScope();
    for (size_t i = 0; i < info.conditions.size(); ++i) {
      const ConditionInfo &c = info.conditions[i];
      Symbol sym;
      sym.binding = {BindingKind::Condition, c.decl, static_cast<int>(i)};
      sym.type = c.type;
      sym.declRange = c.decl->name.range;
      scopes_.back().emplace(c.name, sym);
    }
    // Conditions in error are declared with no type, so that their uses
    // are not reported again.
    for (const ConditionDecl &c : env.conditions) {
      Symbol sym;
      sym.binding = {BindingKind::Condition, &c, -1};
      sym.declRange = c.name.range;
      scopes_.back().emplace(c.name.name, sym);
    }
    conditionsRead_.clear();
    Type t = check(*env.reward);
    popScope();
    if (env.rewardModel) {
      checkRewardModel(env, t, info);
      t = Type::invalid(); // the condition checks below are about formulas
    } else if (t.isValid() && (!t.isScalar() || !t.isNumeric())) {
      diags_.error(
          env.reward->range,
          fmt::format("a reward must be a numeric scalar, got {}", t.str()));
    }
    if (t.isValid() && conditionsOk)
      for (size_t i = 0; i < info.conditions.size(); ++i)
        if (!conditionsRead_.count(static_cast<int>(i)))
          diags_.error(info.conditions[i].decl->name.range,
                       fmt::format("condition '{}' is never read by the "
                                   "reward",
                                   info.conditions[i].name));
  }
  if (env.stepReward && statesOk) {
    info.hasStepReward = true;
    Type t = check(*env.stepReward);
    if (t.isValid() && (!t.isScalar() || !t.isNumeric()))
      diags_.error(env.stepReward->range,
                   fmt::format("a step reward must be a numeric scalar, got "
                               "{}",
                               t.str()));
  }
  if (env.features && statesOk) {
    Type t = check(*env.features);
    // Env expressions only produce plain values (no trajectories).
    if (t.isValid()) {
      assert(t.isValue() && "env expressions have value types");
      info.featureSize = t.numElements();
    }
  }
  context_ = ExprContext::Const;
  popScope();

  int64_t total = 0;
  for (const ActionInfo &a : info.actions)
    total += a.count;
  info.numBackwardActions = total;
  info.numActions = total + (info.hasStop ? 1 : 0);
  if (info.numActions > kMaxTensorElements)
    diags_.error(env.name.range,
                 fmt::format("environment has {} actions; at most {} are "
                             "supported",
                             info.numActions, kMaxTensorElements));
  result_.env = std::move(info);
}

void SemaImpl::checkAction(ActionDecl &a, EnvInfo &info) {
  ActionInfo ai;
  ai.name = a.name.name;
  ai.decl = &a;
  pushScope();
  bool ok = true;
  for (size_t i = 0; i < a.params.size(); ++i) {
    ActionParam &p = a.params[i];
    auto lo = constantInt(*p.lo, "an action parameter bound");
    auto hi = constantInt(*p.hi, "an action parameter bound");
    if (!lo || !hi) {
      ok = false;
      continue;
    }
    if (*lo >= *hi) {
      diags_.error(p.range, fmt::format("empty range {}..{} for action "
                                        "parameter '{}'",
                                        *lo, *hi, p.name.name));
      ok = false;
      continue;
    }
    if (*hi - *lo > kMaxTensorElements ||
        ai.count * (*hi - *lo) > kMaxTensorElements) {
      diags_.error(p.range, "action family is too large");
      ok = false;
      continue;
    }
    ai.count *= *hi - *lo;
    ai.paramRanges.emplace_back(*lo, *hi);
    Symbol sym;
    sym.binding = {BindingKind::ActionParam, &p, static_cast<int>(i)};
    sym.type = Type::intTy();
    sym.declRange = p.name.range;
    if (!declare(p.name, sym))
      ok = false;
  }
  context_ = ExprContext::Env;
  if (ok && a.guard) {
    check(*a.guard);
    expectType(*a.guard, Type::boolTy(), "an action guard", false);
  }
  if (ok) {
    pushScope();
    checkStmts(a.body);
    popScope();
    if (a.hasUndo) {
      pushScope();
      checkStmts(a.undo);
      popScope();
    }
  }
  context_ = ExprContext::Const;
  popScope();
  if (ok)
    info.actions.push_back(std::move(ai));
}

void SemaImpl::checkStmts(std::vector<StmtPtr> &stmts) {
  for (auto &s : stmts)
    checkStmt(*s);
}

void SemaImpl::checkStmt(Stmt &s) {
  switch (s.kind) {
  case StmtKind::Let: {
    Let &l = static_cast<LetStmt &>(s).let;
    // Declared even when its value is in error (with no type) so that its
    // uses are not reported again as undeclared names.
    Type t = check(*l.value);
    Symbol sym;
    sym.binding = {BindingKind::Let, &l, -1};
    sym.type = t;
    sym.declRange = l.name.range;
    declare(l.name, sym);
    return;
  }
  case StmtKind::If: {
    auto &i = static_cast<IfStmt &>(s);
    check(*i.cond);
    expectType(*i.cond, Type::boolTy(), "an 'if' condition", false);
    pushScope();
    checkStmts(i.thenBody);
    popScope();
    pushScope();
    checkStmts(i.elseBody);
    popScope();
    return;
  }
  case StmtKind::For:
    checkFor(static_cast<ForStmt &>(s));
    return;
  case StmtKind::Assign:
    break;
  }
  auto &a = static_cast<AssignStmt &>(s);
  // The target is a state field or an element/slice of one.
  Expr *root = a.target.get();
  while (root->kind == ExprKind::Index)
    root = static_cast<IndexExpr *>(root)->base.get();
  if (root->kind != ExprKind::Name) {
    diags_.error(a.target->range,
                 "only state fields and their elements can be assigned");
    return;
  }
  Type target = check(*a.target);
  Type value = check(*a.value);
  if (!target.isValid() || !value.isValid())
    return;
  const Symbol *sym = lookup(static_cast<NameExpr *>(root)->name);
  if (!sym || !sym->assignable) {
    diags_.error(a.target->range,
                 fmt::format("cannot assign to '{}': only state fields can be "
                             "assigned",
                             static_cast<NameExpr *>(root)->name));
    if (sym)
      diags_.note(sym->declRange, "declared here");
    return;
  }
  assert(value.isValue() && "statements only appear in env actions");
  if (!(value.shape.empty() || value.shape == target.shape)) {
    diags_.error(a.value->range,
                 fmt::format("cannot assign a value of type {} to a target of "
                             "type {}",
                             value.str(), target.str()));
    return;
  }
  bool targetBool = target.is(ScalarKind::Bool);
  if (a.op != AssignOp::Set && targetBool) {
    diags_.error(a.range, fmt::format("'{}' is not defined on bool fields",
                                      spelling(a.op)));
    return;
  }
  if (targetBool != value.is(ScalarKind::Bool) ||
      (target.is(ScalarKind::Int) && value.is(ScalarKind::Float))) {
    diags_.error(a.value->range,
                 fmt::format("cannot assign a value of type {} to a target of "
                             "type {}{}",
                             value.str(), target.str(),
                             target.is(ScalarKind::Int) &&
                                     value.is(ScalarKind::Float)
                                 ? "; convert with int(...)"
                                 : ""));
    return;
  }
  if (a.op == AssignOp::Div && target.is(ScalarKind::Int)) {
    diags_.error(a.range, "'/=' produces a float and cannot update an int "
                          "field");
  }
}

void SemaImpl::checkFor(ForStmt &f) {
  bool ok = true;
  std::optional<int64_t> bounds[2];
  for (int i = 0; i < 2; ++i) {
    Expr &bound = i == 0 ? *f.iter.lo : *f.iter.hi;
    Type t = check(bound);
    if (!t.isValid()) {
      ok = false;
      continue;
    }
    if (!t.isScalar() || !t.is(ScalarKind::Int)) {
      diags_.error(bound.range,
                   fmt::format("a loop bound must be an int, got {}", t.str()));
      ok = false;
      continue;
    }
    std::optional<ConstValue> v = evaluate(bound);
    if (!v) {
      diags_.error(bound.range,
                   "a loop bound must be a constant (literals and params)");
      ok = false;
      continue;
    }
    bounds[i] = static_cast<int64_t>(v->scalar());
  }
  if (ok && *bounds[1] - *bounds[0] > kMaxTensorElements) {
    diags_.error(f.range, "the loop runs too many times");
    ok = false;
  }
  pushScope();
  Symbol sym;
  sym.binding = {BindingKind::Iterator, &f.iter, -1};
  sym.type = Type::intTy();
  sym.declRange = f.iter.name.range;
  declare(f.iter.name, sym);
  if (ok)
    checkStmts(f.body);
  popScope();
}

void SemaImpl::checkRewardModel(const EnvDecl &env, const Type &input,
                                EnvInfo &info) {
  namespace fs = std::filesystem;
  const LoadSource &model = *env.rewardModel;
  if (!info.conditions.empty()) {
    diags_.error(model.range, "a reward given by a model cannot depend on "
                              "conditions; write the reward as a formula");
    return;
  }
  if (input.isValid() && (!input.isValue() || input.numElements() == 0)) {
    diags_.error(env.reward->range,
                 fmt::format("the input of a reward model must be numbers, "
                             "got {}",
                             input.str()));
    return;
  }
  fs::path path = besideSource(model);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    diags_.error(model.range,
                 fmt::format("cannot read the reward model '{}': {}",
                             model.path,
                             fs::exists(path, ec) ? "not a regular file"
                                                  : "no such file"));
    return;
  }
  if (!input.isValid())
    return;
  info.rewardModelPath = fs::absolute(path, ec).lexically_normal().string();
  info.rewardModelInputs = input.numElements();
}

//===----------------------------------------------------------------------===//
// Model
//===----------------------------------------------------------------------===//

void SemaImpl::checkModel(ModelDecl &m) {
  if (firstModel_) {
    diags_.error(SourceRange(m.range.begin), "a program may declare only one "
                                             "model block");
    diags_.note(SourceRange(firstModel_->range.begin),
                "the model is declared here");
    return;
  }
  firstModel_ = &m;
  std::map<std::string, const NetDecl *> names;
  for (NetDecl &net : m.nets) {
    auto [it, fresh] = names.emplace(net.name.name, &net);
    if (!fresh) {
      diags_.error(net.name.range,
                   fmt::format("duplicate network '{}'", net.name.name));
      diags_.note(it->second->name.range, "previous definition is here");
      continue;
    }
    checkNet(net);
  }
  if (!names.count("pf"))
    diags_.error(SourceRange(m.range.begin),
                 "the model must define the forward policy 'pf'");
  const NetInfo *pf = result_.findNet("pf");
  if (names.count("logit_scale") && pf && pf->kind != NetKind::Mlp)
    diags_.error(names["logit_scale"]->name.range,
                 "'logit_scale' scales the logits of 'pf', which has none "
                 "(it is uniform)");
}

/// Whether `m` declares a network `name` before `end` (all of them when
/// `end` is null), whether or not it checked without errors.
bool declaresNet(const ModelDecl *m, const std::string &name,
                 const NetDecl *end) {
  if (!m)
    return false;
  for (const NetDecl &n : m->nets) {
    if (&n == end)
      break;
    if (n.name.name == name)
      return true;
  }
  return false;
}

void SemaImpl::checkNet(NetDecl &net) {
  NetInfo info;
  info.name = net.name.name;
  info.decl = &net;
  const EnvInfo *env = result_.env ? &*result_.env : nullptr;
  Expr &def = *net.def;
  if (def.kind == ExprKind::Name &&
      static_cast<NameExpr &>(def).name == "uniform") {
    info.kind = NetKind::Uniform;
    if (info.name == "pf" || info.name == "pb") {
      info.output = info.name == "pf" ? "actions" : "backward_actions";
      if (env)
        info.outputSize =
            info.name == "pf" ? env->numActions : env->numBackwardActions;
    } else {
      diags_.error(def.range, "'uniform' is only meaningful for 'pf' or 'pb'");
      return;
    }
    result_.nets.push_back(std::move(info));
    return;
  }
  if (def.kind != ExprKind::Call) {
    diags_.error(def.range, "expected a network: mlp(...), scalar(...) or "
                            "uniform");
    return;
  }
  auto &call = static_cast<CallExpr &>(def);
  const std::string &kind = call.callee.name;
  if (kind == "scalar") {
    info.kind = NetKind::Scalar;
    info.outputSize = 1;
    info.output = "1";
    if (call.args.size() > 1 ||
        (call.args.size() == 1 && call.args[0].keyword)) {
      diags_.error(call.range, "'scalar' takes one optional initial value");
      return;
    }
    if (call.args.size() == 1) {
      auto v = constantNumber(*call.args[0].value, "the initial value");
      if (!v)
        return;
      info.init = *v;
    }
    result_.nets.push_back(std::move(info));
    return;
  }
  if (kind != "mlp") {
    diags_.error(call.callee.range,
                 fmt::format("unknown network kind '{}'; expected mlp, scalar "
                             "or uniform",
                             kind));
    return;
  }
  info.kind = NetKind::Mlp;
  bool sawSignature = false;
  for (CallArg &arg : call.args) {
    if (!arg.keyword) {
      if (arg.value->kind != ExprKind::Arrow || sawSignature) {
        diags_.error(arg.range, "expected the signature 'input -> output' "
                                "once, then keyword options");
        return;
      }
      sawSignature = true;
      auto &arrow = static_cast<ArrowExpr &>(*arg.value);
      // Inputs: `features` and conditions, concatenated, or the output of
      // one earlier network (a shared trunk).
      std::vector<Expr *> sources;
      if (arrow.from->kind == ExprKind::ArrayLit)
        for (ExprPtr &el : static_cast<ArrayLitExpr &>(*arrow.from).elements)
          sources.push_back(el.get());
      else
        sources.push_back(arrow.from.get());
      if (sources.empty()) {
        diags_.error(arrow.from->range, "a network needs at least one input");
        return;
      }
      for (Expr *src : sources) {
        if (src->kind != ExprKind::Name) {
          diags_.error(src->range, "a network input is 'features', a "
                                   "condition or another network");
          return;
        }
        const std::string &in = static_cast<NameExpr &>(*src).name;
        if (std::find(info.inputs.begin(), info.inputs.end(), in) !=
            info.inputs.end()) {
          diags_.error(src->range,
                       fmt::format("network input '{}' is given twice", in));
          return;
        }
        const ConditionInfo *cond = nullptr;
        if (env)
          for (const ConditionInfo &c : env->conditions)
            if (c.name == in)
              cond = &c;
        if (in == "features") {
          if (!env || !env->decl->features) {
            diags_.error(src->range, "the environment declares no 'features'");
            return;
          }
          info.inputSize += env->featureSize;
        } else if (cond) {
          info.inputSize += cond->size();
        } else if (const NetInfo *trunk = result_.findNet(in)) {
          if (trunk->kind != NetKind::Mlp) {
            diags_.error(
                src->range,
                fmt::format("network '{}' cannot feed another network", in));
            return;
          }
          if (sources.size() > 1) {
            diags_.error(src->range,
                         fmt::format("a shared trunk ('{}') must be the only "
                                     "input of a network",
                                     in));
            return;
          }
          info.inputSize += trunk->outputSize;
        } else {
          // An earlier network or a condition in error was reported
          // already.
          if (!declaresNet(firstModel_, in, &net) && !conditionNames_.count(in))
            diags_.error(src->range,
                         fmt::format("unknown network input '{}'; expected "
                                     "'features', a condition or an earlier "
                                     "network",
                                     in));
          return;
        }
        info.inputs.push_back(in);
      }
      // Output: `actions`, `backward_actions` or a size.
      if (arrow.to->kind == ExprKind::Name &&
          (static_cast<NameExpr &>(*arrow.to).name == "actions" ||
           static_cast<NameExpr &>(*arrow.to).name == "backward_actions")) {
        info.output = static_cast<NameExpr &>(*arrow.to).name;
        // An input (features, a condition or a trunk) required an env.
        assert(env && "network inputs need an environment");
        info.outputSize = info.output == "actions" ? env->numActions
                                                   : env->numBackwardActions;
      } else {
        auto n = constantInt(*arrow.to, "a network output size");
        if (!n)
          return;
        if (*n <= 0 || *n > kMaxTensorElements) {
          diags_.error(arrow.to->range, "network output size out of range");
          return;
        }
        info.outputSize = *n;
        info.output = std::to_string(*n);
      }
      continue;
    }
    const std::string &key = arg.keyword->name;
    if (key == "hidden") {
      // `hidden []` is a linear layer.
      if (arg.value->kind == ExprKind::ArrayLit &&
          static_cast<ArrayLitExpr &>(*arg.value).elements.empty()) {
        info.hidden.clear();
        continue;
      }
      auto v = constant(*arg.value, "hidden sizes");
      if (!v)
        return;
      if (!v->type.is(ScalarKind::Int) || v->type.shape.size() > 1) {
        diags_.error(arg.value->range,
                     "hidden sizes must be an int or a list of ints");
        return;
      }
      info.hidden.clear();
      for (double d : v->data) {
        if (d <= 0 || d > kMaxTensorElements) {
          diags_.error(arg.value->range, "hidden sizes must be positive");
          return;
        }
        info.hidden.push_back(static_cast<int64_t>(d));
      }
    } else if (key == "act" || key == "activation") {
      static const char *const kActs[] = {"relu", "tanh", "leaky_relu",
                                          "gelu", "elu",  "silu"};
      std::string act = arg.value->kind == ExprKind::Name
                            ? static_cast<NameExpr &>(*arg.value).name
                            : "";
      if (std::find_if(std::begin(kActs), std::end(kActs), [&](const char *a) {
            return act == a;
          }) == std::end(kActs)) {
        diags_.error(arg.value->range,
                     "unknown activation; expected relu, tanh, leaky_relu, "
                     "gelu, elu or silu");
        return;
      }
      info.activation = act;
    } else {
      diags_.error(arg.keyword->range,
                   fmt::format("unknown mlp option '{}'; expected hidden or "
                               "act",
                               key));
      return;
    }
  }
  if (!sawSignature) {
    diags_.error(call.range, "mlp needs a signature such as "
                             "'features -> actions'");
    return;
  }
  // log Z and the logit scale of Logit-GFN are functions of the
  // conditions, not of the state.
  bool conditionsOnly = std::all_of(
      info.inputs.begin(), info.inputs.end(), [&](const std::string &in) {
        return env && std::any_of(
                          env->conditions.begin(), env->conditions.end(),
                          [&](const ConditionInfo &c) { return c.name == in; });
      });
  if (info.name == "pf" && info.output != "actions")
    diags_.error(net.name.range, "'pf' must output 'actions'");
  else if (info.name == "pb" && info.output != "backward_actions")
    diags_.error(net.name.range, "'pb' must output 'backward_actions'");
  else if (info.name == "logF" && info.outputSize != 1)
    diags_.error(net.name.range, "'logF' must output 1 value per state");
  else if (info.name == "value" && info.outputSize != 1)
    diags_.error(net.name.range, "'value' must output 1 value per state");
  else if ((info.name == "logZ" || info.name == "logit_scale") &&
           (info.outputSize != 1 || !conditionsOnly))
    diags_.error(net.name.range,
                 fmt::format("'{}' as an mlp is a function of the conditions: "
                             "its inputs must be condition names and its "
                             "output 1",
                             info.name));
  result_.nets.push_back(std::move(info));
}

//===----------------------------------------------------------------------===//
// Objectives
//===----------------------------------------------------------------------===//

void SemaImpl::checkObjective(ObjectiveDecl &o) {
  auto [it, fresh] = objectiveDecls_.emplace(o.name.name, &o);
  if (!fresh) {
    diags_.error(o.name.range,
                 fmt::format("duplicate objective '{}'", o.name.name));
    diags_.note(it->second->name.range, "previous definition is here");
    return;
  }
  ObjectiveInfo info;
  info.name = o.name.name;
  info.decl = &o;
  pushScope(); // networks readable as values (log Z)
  for (const NetInfo &n : result_.nets) {
    // Scalars, and log Z as a function of the conditions.
    if (n.kind != NetKind::Scalar &&
        !(n.kind == NetKind::Mlp && n.name == "logZ"))
      continue;
    Symbol sym;
    sym.binding = {BindingKind::Network, n.decl, -1};
    sym.type = Type::floatTy();
    sym.declRange = n.decl->name.range;
    scopes_.back().emplace(n.name, sym);
  }
  // Scalars in error are declared with no type so that their uses are not
  // reported again as undeclared names.
  if (firstModel_) {
    for (const NetDecl &net : firstModel_->nets) {
      if (net.def->kind != ExprKind::Call ||
          static_cast<const CallExpr &>(*net.def).callee.name != "scalar" ||
          result_.findNet(net.name.name))
        continue;
      Symbol sym;
      sym.binding = {BindingKind::Network, &net, -1};
      sym.declRange = net.name.range;
      scopes_.back().emplace(net.name.name, sym);
    }
  }
  pushScope(); // parameters
  bool ok = true;
  if (o.params.empty()) {
    diags_.error(o.name.range, "an objective takes a trajectory parameter, "
                               "e.g. '(t: trajectory)'");
    ok = false;
  }
  for (size_t i = 0; i < o.params.size() && ok; ++i) {
    ObjParam &p = o.params[i];
    auto type = resolveTypeSpec(p.type);
    if (!type) {
      ok = false;
      break;
    }
    if (i == 0 && type->kind != TypeKind::Trajectory) {
      diags_.error(p.type.range, "the first objective parameter must be a "
                                 "trajectory");
      ok = false;
      break;
    }
    if (i > 0 && !type->isScalar()) {
      diags_.error(p.type.range, "objective parameters after the trajectory "
                                 "must be int, float or bool scalars");
      ok = false;
      break;
    }
    if (p.defaultValue) {
      if (i == 0) {
        diags_.error(p.defaultValue->range,
                     "the trajectory parameter takes no default");
        ok = false;
        break;
      }
      auto v = constant(*p.defaultValue, "a default value");
      if (!v || !expectType(*p.defaultValue, *type, "the default value",
                            true)) {
        ok = false;
        break;
      }
      v->type = *type;
      info.defaults.push_back(std::move(*v));
    } else if (i > 0) {
      info.defaults.push_back(std::nullopt);
    }
    if (i > 0)
      info.scalarParams.emplace_back(p.name.name, *type);
    Symbol sym;
    sym.binding = {BindingKind::ObjParam, &p, static_cast<int>(i)};
    sym.type = *type;
    sym.declRange = p.name.range;
    if (!declare(p.name, sym))
      ok = false;
  }
  if (ok) {
    context_ = ExprContext::Objective;
    currentObjective_ = info.name;
    Type t = check(*o.body);
    currentObjective_.clear();
    context_ = ExprContext::Const;
    if (t.isValid() && (!t.isScalar() || !t.isNumeric())) {
      diags_.error(o.body->range,
                   fmt::format("an objective must compute a numeric scalar "
                               "per trajectory, got {}",
                               t.str()));
      ok = false;
    }
    ok = ok && t.isValid();
  }
  popScope();
  popScope();
  if (ok)
    result_.objectives.push_back(std::move(info));
}

} // namespace gfl

//===- Sema.cpp - Semantic analysis of .gfl declarations ------------------===//

#include "SemaImpl.h"

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
      diags_.error(SourceRange(), fmt::format("--set {}: must be at least {}",
                                              key, s.min));
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
    diags_.error(SourceRange(),
                 fmt::format("--set train.objective={}: unknown objective",
                             it->second));
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

void SemaImpl::reportUnusedOverrides() {
  for (const auto &[name, text] : overrides_) {
    if (usedOverrides_.count(name))
      continue;
    diags_.error(SourceRange(),
                 fmt::format("--set {}={}: no param or training setting named "
                             "'{}'",
                             name, text, name));
  }
}

//===----------------------------------------------------------------------===//
// Params
//===----------------------------------------------------------------------===//

void SemaImpl::checkParam(ParamDecl &p) {
  auto value = constant(*p.value, "a param value");
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
  result_.params.push_back({p.name.name, std::move(*value), &p});
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
    Type t = check(*env.reward);
    if (t.isValid() && (!t.isScalar() || !t.isNumeric()))
      diags_.error(env.reward->range,
                   fmt::format("a reward must be a numeric scalar, got {}",
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
}

/// Whether `m` declares a network `name` before `end` (all of them when
/// `end` is null), whether or not it checked without errors.
static bool declaresNet(const ModelDecl *m, const std::string &name,
                        const NetDecl *end = nullptr) {
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
      // Input: `features` or the name of an earlier network (a shared trunk).
      if (arrow.from->kind != ExprKind::Name) {
        diags_.error(arrow.from->range,
                     "a network input is 'features' or another network");
        return;
      }
      info.input = static_cast<NameExpr &>(*arrow.from).name;
      if (info.input == "features") {
        if (!env || !env->decl->features) {
          diags_.error(arrow.from->range,
                       "the environment declares no 'features'");
          return;
        }
        info.inputSize = env->featureSize;
      } else if (const NetInfo *trunk = result_.findNet(info.input)) {
        if (trunk->kind != NetKind::Mlp) {
          diags_.error(arrow.from->range,
                       fmt::format("network '{}' cannot feed another network",
                                   info.input));
          return;
        }
        info.inputSize = trunk->outputSize;
      } else {
        // An earlier network in error was reported already.
        if (!declaresNet(firstModel_, info.input, &net))
          diags_.error(arrow.from->range,
                       fmt::format("unknown network input '{}'; expected "
                                   "'features' or an earlier network",
                                   info.input));
        return;
      }
      // Output: `actions`, `backward_actions` or a size.
      if (arrow.to->kind == ExprKind::Name &&
          (static_cast<NameExpr &>(*arrow.to).name == "actions" ||
           static_cast<NameExpr &>(*arrow.to).name == "backward_actions")) {
        info.output = static_cast<NameExpr &>(*arrow.to).name;
        // The input check above already required an env (via features).
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
  if (info.name == "pf" && info.output != "actions")
    diags_.error(net.name.range, "'pf' must output 'actions'");
  else if (info.name == "pb" && info.output != "backward_actions")
    diags_.error(net.name.range, "'pb' must output 'backward_actions'");
  else if (info.name == "logF" && info.outputSize != 1)
    diags_.error(net.name.range, "'logF' must output 1 value per state");
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
    if (n.kind != NetKind::Scalar)
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
    Type t = check(*o.body);
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
    if (std::find_if(keys.begin(), keys.end(), [&](const char *x) {
          return k == x;
        }) == keys.end()) {
      std::string list;
      for (const char *x : keys)
        list += (list.empty() ? "" : ", ") + std::string(x);
      diags_.error(a.keyword->range,
                   fmt::format("unknown option '{}' for '{}'; expected {}", k,
                               out.name, list));
      return false;
    }
    if (!seen.insert(k).second) {
      diags_.error(a.keyword->range, fmt::format("option '{}' is given twice",
                                                 k));
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
    if (key == "batch" || key == "iterations" || key == "seed") {
      auto n = constantInt(*item.value, fmt::format("'{}'", key).c_str());
      if (!n)
        continue;
      int64_t lo = key == "batch" ? 1 : 0;
      if (*n < lo) {
        diags_.error(item.value->range,
                     fmt::format("'{}' must be at least {}", key, lo));
        continue;
      }
      (key == "batch" ? info.batch
                      : key == "iterations" ? info.iterations : info.seed) = *n;
    } else if (key == "objective") {
      haveObjective = true;
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
        diags_.error(v.range, fmt::format("objective '{}' takes {} "
                                          "argument(s), got {}",
                                          name, obj->scalarParams.size(),
                                          given));
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
          if (!c ||
              !expectType(*a.value, obj->scalarParams[i].second,
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
      static const std::vector<const char *> kAdam = {
          "lr", "beta1", "beta2", "eps", "weight_decay"};
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
      static const std::vector<const char *> kSampler = {"epsilon",
                                                         "temperature"};
      auto s = checkConfigCall(*item.value, "a sampler", kSampler);
      if (!s)
        continue;
      if (s->name != "on_policy") {
        diags_.error(item.value->range,
                     fmt::format("unknown sampler '{}'; expected on_policy",
                                 s->name));
        continue;
      }
      for (auto &[k, v] : s->args) {
        double x = v.scalar();
        if (k == "epsilon" && (x < 0 || x > 1))
          diags_.error(item.value->range, "epsilon must be in [0, 1]");
        if (k == "temperature" && !(x > 0))
          diags_.error(item.value->range, "temperature must be positive");
      }
      info.sampler = std::move(*s);
    } else {
      diags_.error(item.key.range,
                   fmt::format("unknown training setting '{}'; expected "
                               "objective, batch, iterations, optimizer, "
                               "sampler, eval or seed",
                               key));
    }
  }
  applyTrainOverrides(info, haveObjective);
  if (!haveObjective)
    diags_.error(SourceRange(t.range.begin),
                 "the train block must name an objective");
  if (!result_.env)
    diags_.error(SourceRange(t.range.begin),
                 "training needs an 'env' declaration");
  if (!firstModel_)
    diags_.error(SourceRange(t.range.begin),
                 "training needs a 'model' declaration");
  result_.train = std::move(info);
}

} // namespace gfl

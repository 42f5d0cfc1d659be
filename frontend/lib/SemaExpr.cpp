//===- SemaExpr.cpp - Typing of .gfl expressions --------------------------===//

#include "SemaImpl.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace gfl {

std::optional<std::vector<int64_t>> broadcastShapes(const Type &a,
                                                    const Type &b) {
  if (a.shape.empty())
    return b.shape;
  if (b.shape.empty() || a.shape == b.shape)
    return a.shape;
  return std::nullopt;
}

static std::string shapeStr(const std::vector<int64_t> &s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

namespace {

/// Names of the trajectory quantities an objective may read.
struct TrajMember {
  const char *name;
  Type type;
};

const TrajMember kTrajMembers[] = {
    {"log_pf", Type::seqOf(ScalarKind::Float)},
    {"log_pb", Type::seqOf(ScalarKind::Float)},
    {"log_f", Type::seqOf(ScalarKind::Float)},
    {"log_r_step", Type::seqOf(ScalarKind::Float)},
    {"energy", Type::seqOf(ScalarKind::Float)},
    {"log_pf_exit", Type::seqOf(ScalarKind::Float)},
    {"log_in_flow", Type::seqOf(ScalarKind::Float)},
    {"log_out_flow", Type::seqOf(ScalarKind::Float)},
    {"log_exit_flow", Type::seqOf(ScalarKind::Float)},
    {"log_q", Type::seqOf(ScalarKind::Float)},
    {"log_pf_old", Type::seqOf(ScalarKind::Float)},
    {"entropy", Type::seqOf(ScalarKind::Float)},
    {"value", Type::seqOf(ScalarKind::Float)},
    {"value_target", Type::seqOf(ScalarKind::Float)},
    {"logit", Type::seqOf(ScalarKind::Float)},
    {"log_norm", Type::seqOf(ScalarKind::Float)},
    {"logit_target", Type::seqOf(ScalarKind::Float)},
    {"log_norm_target", Type::seqOf(ScalarKind::Float)},
    {"reward", Type::seqOf(ScalarKind::Float)},
    {"log_r", Type::floatTy()},
    {"n", Type::intTy()},
    {"exited", Type::boolTy()},
};

const char *const kReductions[] = {"sum", "prod", "min",      "max",
                                   "all", "any",  "logsumexp", "mean"};

bool isReduction(const std::string &name) {
  return std::find_if(std::begin(kReductions), std::end(kReductions),
                      [&](const char *r) { return name == r; }) !=
         std::end(kReductions);
}

} // namespace

class ExprChecker {
public:
  ExprChecker(SemaImpl &s) : s(s), diags(s.diags_) {}

  Type check(Expr &e);

private:
  Type checkName(NameExpr &e);
  Type checkUnary(UnaryExpr &e);
  Type checkBinary(BinaryExpr &e);
  Type checkCall(CallExpr &e);
  Type checkIndex(IndexExpr &e);
  Type checkMember(MemberExpr &e);
  Type checkArray(ArrayLitExpr &e);
  Type checkIf(IfExpr &e);
  Type checkBlock(BlockExpr &e);
  Type checkReduce(ReduceExpr &e);

  Type reduceResult(const std::string &func, const Type &elem, SourceRange r);
  bool requireValue(const Expr &e, const Type &t, const char *what);
  bool inObjective() const { return s.context_ == ExprContext::Objective; }

  SemaImpl &s;
  DiagnosticEngine &diags;
};

bool ExprChecker::requireValue(const Expr &e, const Type &t, const char *what) {
  if (t.isValue())
    return true;
  if (t.isValid())
    diags.error(e.range, fmt::format("{} must be a number, bool or tensor, "
                                     "not {}",
                                     what, t.str()));
  return false;
}

Type ExprChecker::check(Expr &e) {
  Type t;
  switch (e.kind) {
  case ExprKind::IntLit:
    t = Type::intTy();
    break;
  case ExprKind::FloatLit: {
    // `float` is 32-bit: a literal beyond its range would become infinity.
    double v = static_cast<FloatLitExpr &>(e).value;
    if (std::fabs(v) > std::numeric_limits<float>::max()) {
      diags.error(e.range, fmt::format("float literal {:g} is out of the "
                                       "range of a 32-bit float (about "
                                       "3.4e38)",
                                       v));
      break;
    }
    t = Type::floatTy();
    break;
  }
  case ExprKind::BoolLit:
    t = Type::boolTy();
    break;
  case ExprKind::Name:
    t = checkName(static_cast<NameExpr &>(e));
    break;
  case ExprKind::Unary:
    t = checkUnary(static_cast<UnaryExpr &>(e));
    break;
  case ExprKind::Binary:
    t = checkBinary(static_cast<BinaryExpr &>(e));
    break;
  case ExprKind::Call:
    t = checkCall(static_cast<CallExpr &>(e));
    break;
  case ExprKind::Index:
    t = checkIndex(static_cast<IndexExpr &>(e));
    break;
  case ExprKind::Member:
    t = checkMember(static_cast<MemberExpr &>(e));
    break;
  case ExprKind::ArrayLit:
    t = checkArray(static_cast<ArrayLitExpr &>(e));
    break;
  case ExprKind::If:
    t = checkIf(static_cast<IfExpr &>(e));
    break;
  case ExprKind::Block:
    t = checkBlock(static_cast<BlockExpr &>(e));
    break;
  case ExprKind::Reduce:
    t = checkReduce(static_cast<ReduceExpr &>(e));
    break;
  case ExprKind::Arrow:
    diags.error(e.range, "'->' is only allowed in network definitions");
    break;
  }
  e.type = t;
  return t;
}

Type ExprChecker::checkName(NameExpr &e) {
  const Symbol *sym = s.lookup(e.name);
  if (!sym) {
    if (s.context_ == ExprContext::Env && s.conditionNames_.count(e.name))
      diags.error(e.range, fmt::format("condition '{}' can only be read by "
                                       "the reward",
                                       e.name));
    else
      diags.error(e.range, fmt::format("use of undeclared name '{}'", e.name));
    return Type::invalid();
  }
  e.binding = sym->binding;
  if (sym->binding.kind == BindingKind::Condition)
    s.conditionsRead_.insert(sym->binding.index);
  return sym->type;
}

Type ExprChecker::checkUnary(UnaryExpr &e) {
  Type t = check(*e.operand);
  if (!requireValue(*e.operand, t, "the operand"))
    return Type::invalid();
  if (e.op == UnaryOp::Not) {
    if (!t.is(ScalarKind::Bool)) {
      diags.error(e.operand->range,
                  fmt::format("'not' expects a bool operand, got {}", t.str()));
      return Type::invalid();
    }
    return t;
  }
  if (t.is(ScalarKind::Bool)) {
    diags.error(e.operand->range, "cannot negate a bool; use 'not'");
    return Type::invalid();
  }
  return t;
}

Type ExprChecker::checkBinary(BinaryExpr &e) {
  Type l = check(*e.lhs);
  Type r = check(*e.rhs);
  if (!l.isValid() || !r.isValid())
    return Type::invalid();
  if (!requireValue(*e.lhs, l, "an operand") ||
      !requireValue(*e.rhs, r, "an operand"))
    return Type::invalid();
  auto shape = broadcastShapes(l, r);
  if (!shape) {
    diags.error(e.opRange,
                fmt::format("operands of '{}' have incompatible shapes {} "
                            "and {}",
                            spelling(e.op), shapeStr(l.shape),
                            shapeStr(r.shape)));
    return Type::invalid();
  }
  switch (e.op) {
  case BinaryOp::And:
  case BinaryOp::Or:
    if (!l.is(ScalarKind::Bool) || !r.is(ScalarKind::Bool)) {
      diags.error(e.opRange, fmt::format("'{}' expects bool operands, got {} "
                                         "and {}",
                                         spelling(e.op), l.str(), r.str()));
      return Type::invalid();
    }
    return Type::tensorOf(ScalarKind::Bool, *shape);
  case BinaryOp::Eq:
  case BinaryOp::Ne:
    if (l.is(ScalarKind::Bool) != r.is(ScalarKind::Bool)) {
      diags.error(e.opRange, fmt::format("cannot compare {} with {}", l.str(),
                                         r.str()));
      return Type::invalid();
    }
    return Type::tensorOf(ScalarKind::Bool, *shape);
  case BinaryOp::Lt:
  case BinaryOp::Le:
  case BinaryOp::Gt:
  case BinaryOp::Ge:
    if (l.is(ScalarKind::Bool) || r.is(ScalarKind::Bool)) {
      diags.error(e.opRange, fmt::format("'{}' expects numeric operands, got "
                                         "{} and {}",
                                         spelling(e.op), l.str(), r.str()));
      return Type::invalid();
    }
    return Type::tensorOf(ScalarKind::Bool, *shape);
  case BinaryOp::Div:
    // `/` is true division: `x / (H - 1)` on ints gives floats.
    return Type::tensorOf(ScalarKind::Float, *shape);
  case BinaryOp::Add:
  case BinaryOp::Sub:
  case BinaryOp::Mul:
  case BinaryOp::Mod:
  case BinaryOp::Pow:
    // Bools count as 0/1 in arithmetic: `R1 * all(a > 0.25)`.
    return Type::tensorOf(promote(l.scalar, r.scalar), *shape);
  }
  return Type::invalid();
}

Type ExprChecker::reduceResult(const std::string &func, const Type &elem,
                               SourceRange r) {
  if (func == "all" || func == "any") {
    if (!elem.is(ScalarKind::Bool)) {
      diags.error(r, fmt::format("'{}' expects bool values, got {}", func,
                                 elem.str()));
      return Type::invalid();
    }
    return Type::boolTy();
  }
  if (func == "logsumexp" || func == "mean")
    return Type::floatTy();
  if (func == "min" || func == "max") {
    if (elem.is(ScalarKind::Bool)) {
      diags.error(r, fmt::format("'{}' expects numeric values, got bool", func));
      return Type::invalid();
    }
    return Type::scalarOf(elem.scalar);
  }
  // sum, prod: bools count as 0/1.
  return Type::scalarOf(promote(elem.scalar, ScalarKind::Int));
}

Type ExprChecker::checkCall(CallExpr &e) {
  const std::string &f = e.callee.name;
  for (const CallArg &a : e.args) {
    if (a.keyword) {
      diags.error(a.keyword->range,
                  fmt::format("'{}' does not take keyword arguments", f));
      return Type::invalid();
    }
  }
  std::vector<Type> ts;
  for (CallArg &a : e.args) {
    Type t = check(*a.value);
    if (!t.isValid())
      return Type::invalid();
    ts.push_back(t);
  }
  size_t n = ts.size();
  auto arity = [&](size_t lo, size_t hi) {
    if (n >= lo && n <= hi)
      return true;
    std::string expected = lo == hi ? std::to_string(lo)
                                    : fmt::format("{} to {}", lo, hi);
    diags.error(e.range, fmt::format("'{}' takes {} argument{}, got {}", f,
                                     expected, hi == 1 ? "" : "s", n));
    return false;
  };
  auto valueArg = [&](size_t i) {
    return requireValue(*e.args[i].value, ts[i], "the argument");
  };
  auto objectiveOnly = [&]() {
    if (inObjective())
      return true;
    diags.error(e.callee.range,
                fmt::format("'{}' is only available in objectives", f));
    return false;
  };

  static const char *const kFloatMath[] = {"exp",  "log",     "sqrt",
                                           "log1p", "expm1",  "tanh",
                                           "sigmoid", "floor", "ceil",
                                           "softplus"};
  for (const char *m : kFloatMath) {
    if (f == m) {
      if (!arity(1, 1) || !valueArg(0))
        return Type::invalid();
      return ts[0].withScalar(ScalarKind::Float);
    }
  }
  if (f == "abs") {
    if (!arity(1, 1) || !valueArg(0))
      return Type::invalid();
    return ts[0].withScalar(promote(ts[0].scalar, ScalarKind::Int));
  }
  if (f == "float" || f == "int" || f == "bool") {
    if (!arity(1, 1) || !valueArg(0))
      return Type::invalid();
    ScalarKind k = f == "float" ? ScalarKind::Float
                   : f == "int" ? ScalarKind::Int
                                : ScalarKind::Bool;
    return ts[0].withScalar(k);
  }
  if (f == "clip") {
    if (!arity(3, 3) || !valueArg(0) || !valueArg(1) || !valueArg(2))
      return Type::invalid();
    for (size_t i = 1; i < 3; ++i) {
      if (!ts[i].isScalar()) {
        diags.error(e.args[i].value->range, "clip bounds must be scalars");
        return Type::invalid();
      }
    }
    ScalarKind k = promote(ts[0].scalar, promote(ts[1].scalar, ts[2].scalar));
    return ts[0].withScalar(k);
  }
  if (isReduction(f)) {
    if (n == 1) {
      // Reduce a tensor (or, in objectives, a per-step sequence).
      if (ts[0].kind == TypeKind::Seq) {
        if (f == "all" || f == "any" || f == "prod" || f == "mean") {
          diags.error(e.range,
                      fmt::format("'{}' is not defined on sequences", f));
          return Type::invalid();
        }
        return Type::floatTy();
      }
      if (!valueArg(0))
        return Type::invalid();
      return reduceResult(f, ts[0].elementType(), e.range);
    }
    if ((f == "min" || f == "max" || f == "logsumexp") && n >= 2) {
      // min and max also take one tensor (above).
      if (f != "logsumexp" && !arity(1, 2))
        return Type::invalid();
      Type acc = ts[0];
      for (size_t i = 0; i < n; ++i) {
        if (!valueArg(i))
          return Type::invalid();
        if (ts[i].is(ScalarKind::Bool)) {
          diags.error(e.args[i].value->range,
                      fmt::format("'{}' expects numeric values, got {}", f,
                                  ts[i].str()));
          return Type::invalid();
        }
        auto shape = broadcastShapes(acc, ts[i]);
        if (!shape) {
          diags.error(e.range, fmt::format("arguments of '{}' have "
                                           "incompatible shapes",
                                           f));
          return Type::invalid();
        }
        acc = Type::tensorOf(promote(acc.scalar, ts[i].scalar), *shape);
      }
      if (f == "logsumexp")
        acc.scalar = ScalarKind::Float;
      return acc;
    }
    arity(1, 1);
    return Type::invalid();
  }
  if (f == "onehot") {
    if (!arity(2, 2) || !valueArg(0))
      return Type::invalid();
    if (!ts[0].is(ScalarKind::Int)) {
      diags.error(e.args[0].value->range,
                  fmt::format("'onehot' expects int values, got {}",
                              ts[0].str()));
      return Type::invalid();
    }
    auto k = s.evaluate(*e.args[1].value);
    if (!k || !k->type.is(ScalarKind::Int) || !k->type.isScalar()) {
      diags.error(e.args[1].value->range,
                  "the class count of 'onehot' must be a constant int");
      return Type::invalid();
    }
    int64_t classes = static_cast<int64_t>(k->scalar());
    if (classes <= 0 || classes > kMaxTensorElements ||
        ts[0].numElements() * classes > kMaxTensorElements) {
      diags.error(e.args[1].value->range,
                  fmt::format("'onehot' class count {} is out of range",
                              classes));
      return Type::invalid();
    }
    std::vector<int64_t> shape = ts[0].shape;
    shape.push_back(classes);
    return Type::tensorOf(ScalarKind::Float, shape);
  }
  if (f == "closure") {
    if (!arity(1, 1) || !valueArg(0))
      return Type::invalid();
    if (inObjective()) {
      diags.error(e.callee.range,
                  "'closure' is only available in environments");
      return Type::invalid();
    }
    const Type &a = ts[0];
    if (a.shape.size() != 2 || a.shape[0] != a.shape[1] ||
        a.is(ScalarKind::Float)) {
      diags.error(e.args[0].value->range,
                  fmt::format("'closure' expects a square int or bool "
                              "adjacency matrix, got {}",
                              a.str()));
      return Type::invalid();
    }
    return a.withScalar(ScalarKind::Bool);
  }
  if (f == "concat") {
    if (n == 0) {
      diags.error(e.range, "'concat' needs at least one argument");
      return Type::invalid();
    }
    int64_t size = 0;
    ScalarKind k = ScalarKind::Bool;
    for (size_t i = 0; i < n; ++i) {
      if (!valueArg(i))
        return Type::invalid();
      size += ts[i].numElements();
      k = i == 0 ? ts[i].scalar : promote(k, ts[i].scalar);
      if (ts[i].scalar == ScalarKind::Bool && k == ScalarKind::Bool)
        k = ScalarKind::Bool;
    }
    if (size > kMaxTensorElements) {
      diags.error(e.range, "'concat' result is too large");
      return Type::invalid();
    }
    return Type::tensorOf(k, {size});
  }
  if (f == "cumsum") {
    if (!objectiveOnly() || !arity(1, 1))
      return Type::invalid();
    if (ts[0].kind != TypeKind::Seq) {
      diags.error(e.args[0].value->range,
                  fmt::format("'cumsum' expects a per-step sequence such as "
                              "t.log_pf, got {}",
                              ts[0].str()));
      return Type::invalid();
    }
    return ts[0];
  }
  if (f == "returns" || f == "gae") {
    // returns(rewards, gamma); gae(rewards, values, gamma, lambda).
    size_t numSeqs = f == "returns" ? 1 : 2, total = f == "returns" ? 2 : 4;
    if (!objectiveOnly() || !arity(total, total))
      return Type::invalid();
    for (size_t i = 0; i < total; ++i) {
      bool wantSeq = i < numSeqs;
      bool isSeq =
          ts[i].kind == TypeKind::Seq && ts[i].scalar == ScalarKind::Float;
      bool isNumber = ts[i].isScalar() && !ts[i].is(ScalarKind::Bool);
      if (wantSeq ? !isSeq : !isNumber) {
        diags.error(e.args[i].value->range,
                    fmt::format("argument {} of '{}' must be {}, got {}", i + 1,
                                f,
                                wantSeq ? "a float sequence such as "
                                          "t.reward or seq(k in 0..L: ...)"
                                        : "a number",
                                ts[i].str()));
        return Type::invalid();
      }
    }
    s.requireRange(*e.args[numSeqs].value, "gamma", 0.0, true, 1.0);
    if (f == "gae")
      s.requireRange(*e.args[3].value, "lambda", 0.0, false, 1.0);
    return Type::seqOf(ScalarKind::Float);
  }
  if (f == "stop_grad") {
    if (!objectiveOnly() || !arity(1, 1) || !valueArg(0))
      return Type::invalid();
    return ts[0];
  }
  if (f == "huber") {
    if (!objectiveOnly() || !arity(1, 2))
      return Type::invalid();
    for (size_t i = 0; i < n; ++i) {
      if (!valueArg(i))
        return Type::invalid();
      if (!ts[i].isScalar() || ts[i].is(ScalarKind::Bool)) {
        diags.error(e.args[i].value->range,
                    fmt::format("'huber' expects numeric scalars, got {}",
                                ts[i].str()));
        return Type::invalid();
      }
    }
    return Type::floatTy();
  }
  if (f == "residual") {
    // residual(x, kind, delta): kind 0 squared, 1 half-squared, 2 Huber.
    if (!objectiveOnly() || !arity(3, 3))
      return Type::invalid();
    for (size_t i = 0; i < n; ++i) {
      if (!valueArg(i))
        return Type::invalid();
      bool wantInt = i == 1;
      if (!ts[i].isScalar() || ts[i].is(ScalarKind::Bool) ||
          (wantInt && !ts[i].is(ScalarKind::Int))) {
        diags.error(e.args[i].value->range,
                    fmt::format("'residual' expects (float, int kind, float "
                                "delta), got {} for argument {}",
                                ts[i].str(), i + 1));
        return Type::invalid();
      }
    }
    return Type::floatTy();
  }
  if (f == "batch_mean" || f == "batch_sum") {
    if (!objectiveOnly() || !arity(1, 1) || !valueArg(0))
      return Type::invalid();
    if (!ts[0].isScalar() || ts[0].is(ScalarKind::Bool)) {
      diags.error(e.args[0].value->range,
                  fmt::format("'{}' expects a numeric scalar, got {}", f,
                              ts[0].str()));
      return Type::invalid();
    }
    return Type::floatTy();
  }
  diags.error(e.callee.range, fmt::format("unknown function '{}'", f));
  return Type::invalid();
}

Type ExprChecker::checkIndex(IndexExpr &e) {
  Type base = check(*e.base);
  if (!base.isValid())
    return Type::invalid();
  std::vector<Type> idx;
  for (auto &i : e.indices) {
    Type t = check(*i);
    if (!t.isValid())
      return Type::invalid();
    if (!t.isScalar() || !t.is(ScalarKind::Int)) {
      diags.error(i->range,
                  fmt::format("an index must be an int scalar, got {}",
                              t.str()));
      return Type::invalid();
    }
    idx.push_back(t);
  }
  if (base.kind == TypeKind::Seq) {
    if (e.indices.size() != 1) {
      diags.error(e.range, "a per-step sequence takes exactly one index");
      return Type::invalid();
    }
    return Type::scalarOf(base.scalar);
  }
  if (!base.isValue() || base.shape.size() < e.indices.size()) {
    diags.error(e.range,
                fmt::format("cannot index a value of type {} with {} "
                            "ind{}",
                            base.str(), e.indices.size(),
                            e.indices.size() == 1 ? "ex" : "ices"));
    return Type::invalid();
  }
  // Constant indices are checked against the shape now.
  for (size_t k = 0; k < e.indices.size(); ++k) {
    std::optional<ConstValue> c = s.evaluate(*e.indices[k]);
    if (c && (c->scalar() < 0 || c->scalar() >= base.shape[k])) {
      diags.error(e.indices[k]->range,
                  fmt::format("index {} is out of bounds for dimension {} of "
                              "size {}",
                              static_cast<int64_t>(c->scalar()), k,
                              base.shape[k]));
      return Type::invalid();
    }
  }
  std::vector<int64_t> rest(base.shape.begin() + e.indices.size(),
                            base.shape.end());
  return Type::tensorOf(base.scalar, rest);
}

Type ExprChecker::checkMember(MemberExpr &e) {
  Type base = check(*e.base);
  if (!base.isValid())
    return Type::invalid();
  if (base.kind != TypeKind::Trajectory) {
    diags.error(e.member.range,
                fmt::format("a value of type {} has no member '{}'",
                            base.str(), e.member.name));
    return Type::invalid();
  }
  for (const TrajMember &m : kTrajMembers)
    if (e.member.name == m.name) {
      // What a training objective reads decides what the model and the
      // train block must provide (checked with the train block).
      s.objectiveMembers_[s.currentObjective_].emplace(m.name, e.member.range);
      return m.type;
    }
  std::string names;
  for (const TrajMember &m : kTrajMembers)
    names += (names.empty() ? "" : ", ") + std::string(m.name);
  diags.error(e.member.range,
              fmt::format("a trajectory has no member '{}' (available: {})",
                          e.member.name, names));
  return Type::invalid();
}

Type ExprChecker::checkArray(ArrayLitExpr &e) {
  if (e.elements.empty()) {
    diags.error(e.range, "an array literal needs at least one element");
    return Type::invalid();
  }
  Type first;
  ScalarKind k = ScalarKind::Bool;
  for (size_t i = 0; i < e.elements.size(); ++i) {
    Type t = check(*e.elements[i]);
    if (!t.isValid())
      return Type::invalid();
    if (!requireValue(*e.elements[i], t, "an array element"))
      return Type::invalid();
    if (i == 0) {
      first = t;
      k = t.scalar;
    } else if (t.shape != first.shape ||
               (t.is(ScalarKind::Bool) != first.is(ScalarKind::Bool))) {
      diags.error(e.elements[i]->range,
                  fmt::format("array elements must have the same type: {} "
                              "vs {}",
                              first.str(), t.str()));
      return Type::invalid();
    } else if (k != ScalarKind::Bool) {
      k = promote(k, t.scalar);
    }
  }
  std::vector<int64_t> shape{static_cast<int64_t>(e.elements.size())};
  shape.insert(shape.end(), first.shape.begin(), first.shape.end());
  Type result = Type::tensorOf(k, shape);
  if (result.numElements() > kMaxTensorElements) {
    diags.error(e.range, "array literal is too large");
    return Type::invalid();
  }
  return result;
}

Type ExprChecker::checkIf(IfExpr &e) {
  Type c = check(*e.cond);
  Type a = check(*e.thenExpr);
  Type b = check(*e.elseExpr);
  if (!c.isValid() || !a.isValid() || !b.isValid())
    return Type::invalid();
  if (!c.isScalar() || !c.is(ScalarKind::Bool)) {
    diags.error(e.cond->range,
                fmt::format("an 'if' condition must be a bool, got {}",
                            c.str()));
    return Type::invalid();
  }
  if (!requireValue(*e.thenExpr, a, "an 'if' branch") ||
      !requireValue(*e.elseExpr, b, "an 'if' branch"))
    return Type::invalid();
  bool bools = a.is(ScalarKind::Bool) && b.is(ScalarKind::Bool);
  if (a.shape != b.shape ||
      (!bools && (a.is(ScalarKind::Bool) || b.is(ScalarKind::Bool)))) {
    diags.error(e.range, fmt::format("'if' branches have different types {} "
                                     "and {}",
                                     a.str(), b.str()));
    return Type::invalid();
  }
  return bools ? a : a.withScalar(promote(a.scalar, b.scalar));
}

Type ExprChecker::checkBlock(BlockExpr &e) {
  s.pushScope();
  bool ok = true;
  for (Let &l : e.lets) {
    // Declared even when its value is in error (with no type) so that its
    // uses are not reported again as undeclared names.
    Type t = check(*l.value);
    if (!t.isValid())
      ok = false;
    Symbol sym;
    sym.binding = {BindingKind::Let, &l, -1};
    sym.type = t;
    sym.declRange = l.name.range;
    if (!s.declare(l.name, sym))
      ok = false;
  }
  Type r = check(*e.result);
  s.popScope();
  return ok ? r : Type::invalid();
}

Type ExprChecker::checkReduce(ReduceExpr &e) {
  const std::string &f = e.func.name;
  bool sequence = f == "seq";
  if (sequence) {
    // seq(k in 0..L: e): a sequence of L entries.
    if (!inObjective()) {
      diags.error(e.func.range, "'seq' is only available in objectives");
      return Type::invalid();
    }
    if (e.iters.size() != 1) {
      diags.error(e.func.range, "'seq' takes one index: seq(k in 0..L: e)");
      return Type::invalid();
    }
    std::optional<ConstValue> lo;
    if (check(*e.iters[0].lo).isValid())
      lo = s.evaluate(*e.iters[0].lo);
    if (!lo || lo->scalar() != 0) {
      diags.error(e.iters[0].lo->range,
                  "a sequence starts at index 0: seq(k in 0..L: e)");
      return Type::invalid();
    }
  } else if (!isReduction(f)) {
    diags.error(e.func.range,
                fmt::format("'{}' is not a reduction; use sum, prod, min, "
                            "max, all, any, logsumexp or mean",
                            f));
    return Type::invalid();
  }
  s.pushScope();
  bool ok = true;
  for (ReduceIter &it : e.iters) {
    for (Expr *bound : {it.lo.get(), it.hi.get()}) {
      Type t = check(*bound);
      if (!t.isValid()) {
        ok = false;
        continue;
      }
      if (!t.isScalar() || !t.is(ScalarKind::Int)) {
        diags.error(bound->range,
                    fmt::format("a range bound must be an int, got {}",
                                t.str()));
        ok = false;
        continue;
      }
      // Environment kernels have static loop bounds; objectives may use the
      // trajectory length.
      if (!inObjective() && !s.evaluate(*bound)) {
        diags.error(bound->range,
                    "a range bound in an environment must be a constant");
        ok = false;
      }
    }
    Symbol sym;
    sym.binding = {BindingKind::Iterator, &it, -1};
    sym.type = Type::intTy();
    sym.declRange = it.name.range;
    if (!s.declare(it.name, sym))
      ok = false;
  }
  Type body = ok ? check(*e.body) : Type::invalid();
  s.popScope();
  if (!body.isValid())
    return Type::invalid();
  if (!body.isScalar()) {
    diags.error(e.body->range,
                fmt::format("the body of '{}' must be a scalar, got {}", f,
                            body.str()));
    return Type::invalid();
  }
  if (sequence) {
    if (body.is(ScalarKind::Bool)) {
      diags.error(e.body->range, "the entries of 'seq' must be numbers");
      return Type::invalid();
    }
    return Type::seqOf(ScalarKind::Float);
  }
  return reduceResult(f, body, e.range);
}

Type SemaImpl::check(Expr &e) { return ExprChecker(*this).check(e); }

} // namespace gfl

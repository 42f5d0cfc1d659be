//===- ConstEval.cpp - Compile-time evaluation of .gfl expressions --------===//
//
// Evaluates checked expressions built from literals, params and pure math.
// Values are doubles; ints stay exact because results beyond 2^53 are
// rejected as overflow.
//
//===----------------------------------------------------------------------===//

#include "SemaImpl.h"

#include <fmt/format.h>

#include <cmath>

namespace gfl {

namespace {

constexpr double kMaxExactInt = 9007199254740992.0; // 2^53

/// Converts to the representation of kind `k`; nullopt if an int overflows.
std::optional<double> normalize(double v, ScalarKind k) {
  switch (k) {
  case ScalarKind::Bool:
    return v != 0.0 ? 1.0 : 0.0;
  case ScalarKind::Int:
    if (!std::isfinite(v) || std::fabs(v) > kMaxExactInt)
      return std::nullopt;
    return std::trunc(v);
  case ScalarKind::Float:
    return static_cast<double>(static_cast<float>(v));
  }
  return v;
}

/// Applies `fn` elementwise over operands broadcast to `result.shape`.
template <typename Fn>
std::optional<ConstValue> mapN(const Type &result,
                               const std::vector<const ConstValue *> &args,
                               Fn fn) {
  ConstValue out;
  out.type = result;
  int64_t n = result.numElements();
  out.data.reserve(n);
  std::vector<double> xs(args.size());
  for (int64_t i = 0; i < n; ++i) {
    for (size_t a = 0; a < args.size(); ++a)
      xs[a] = args[a]->data.size() == 1 ? args[a]->data[0] : args[a]->data[i];
    std::optional<double> v = fn(xs);
    if (!v)
      return std::nullopt;
    std::optional<double> norm = normalize(*v, result.scalar);
    if (!norm)
      return std::nullopt;
    out.data.push_back(*norm);
  }
  return out;
}

class Evaluator {
public:
  explicit Evaluator(const CheckedProgram &p) : program(p) {}

  std::optional<ConstValue> eval(const Expr &e) {
    if (!e.type.isValue())
      return std::nullopt;
    switch (e.kind) {
    case ExprKind::IntLit:
      return scalar(e.type,
                    static_cast<double>(static_cast<const IntLitExpr &>(e).value));
    case ExprKind::FloatLit:
      return scalar(e.type, static_cast<const FloatLitExpr &>(e).value);
    case ExprKind::BoolLit:
      return scalar(e.type, static_cast<const BoolLitExpr &>(e).value);
    case ExprKind::Name: {
      if (e.binding.kind != BindingKind::Param || e.binding.index < 0 ||
          e.binding.index >= static_cast<int>(program.params.size()))
        return std::nullopt;
      return program.params[e.binding.index].value;
    }
    case ExprKind::Unary: {
      auto &u = static_cast<const UnaryExpr &>(e);
      auto v = eval(*u.operand);
      if (!v)
        return std::nullopt;
      bool isNot = u.op == UnaryOp::Not;
      return mapN(e.type, {&*v}, [&](const std::vector<double> &x) {
        return std::optional<double>(isNot ? (x[0] == 0.0) : -x[0]);
      });
    }
    case ExprKind::Binary:
      return binary(static_cast<const BinaryExpr &>(e));
    case ExprKind::Call:
      return call(static_cast<const CallExpr &>(e));
    case ExprKind::Index:
      return index(static_cast<const IndexExpr &>(e));
    case ExprKind::ArrayLit: {
      auto &a = static_cast<const ArrayLitExpr &>(e);
      ConstValue out;
      out.type = e.type;
      for (const auto &el : a.elements) {
        auto v = eval(*el);
        if (!v)
          return std::nullopt;
        for (double d : v->data) {
          auto norm = normalize(d, e.type.scalar);
          if (!norm)
            return std::nullopt;
          out.data.push_back(*norm);
        }
      }
      return out;
    }
    case ExprKind::If: {
      auto &i = static_cast<const IfExpr &>(e);
      auto c = eval(*i.cond);
      if (!c)
        return std::nullopt;
      auto v = eval(c->scalar() != 0.0 ? *i.thenExpr : *i.elseExpr);
      if (!v)
        return std::nullopt;
      return mapN(e.type, {&*v}, [](const std::vector<double> &x) {
        return std::optional<double>(x[0]);
      });
    }
    case ExprKind::Block: {
      auto &b = static_cast<const BlockExpr &>(e);
      if (!b.lets.empty())
        return std::nullopt;
      return eval(*b.result);
    }
    default:
      return std::nullopt;
    }
  }

private:
  static ConstValue scalar(const Type &t, double v) {
    return ConstValue{t, {v}};
  }

  std::optional<ConstValue> binary(const BinaryExpr &b) {
    auto l = eval(*b.lhs);
    auto r = eval(*b.rhs);
    if (!l || !r)
      return std::nullopt;
    BinaryOp op = b.op;
    bool intPow = op == BinaryOp::Pow && b.type.is(ScalarKind::Int);
    return mapN(b.type, {&*l, &*r},
                [&](const std::vector<double> &x) -> std::optional<double> {
                  double a = x[0], c = x[1];
                  switch (op) {
                  case BinaryOp::Add:
                    return a + c;
                  case BinaryOp::Sub:
                    return a - c;
                  case BinaryOp::Mul:
                    return a * c;
                  case BinaryOp::Div:
                    if (c == 0.0)
                      return std::nullopt;
                    return a / c;
                  case BinaryOp::Mod:
                    if (c == 0.0)
                      return std::nullopt;
                    return a - c * std::floor(a / c);
                  case BinaryOp::Pow:
                    if (intPow && c < 0)
                      return std::nullopt;
                    return std::pow(a, c);
                  case BinaryOp::Eq:
                    return a == c;
                  case BinaryOp::Ne:
                    return a != c;
                  case BinaryOp::Lt:
                    return a < c;
                  case BinaryOp::Le:
                    return a <= c;
                  case BinaryOp::Gt:
                    return a > c;
                  case BinaryOp::Ge:
                    return a >= c;
                  case BinaryOp::And:
                    return (a != 0.0) && (c != 0.0);
                  case BinaryOp::Or:
                    return (a != 0.0) || (c != 0.0);
                  }
                  return std::nullopt;
                });
  }

  std::optional<ConstValue> call(const CallExpr &c) {
    const std::string &f = c.callee.name;
    std::vector<ConstValue> vals;
    for (const CallArg &a : c.args) {
      auto v = eval(*a.value);
      if (!v)
        return std::nullopt;
      vals.push_back(std::move(*v));
    }
    std::vector<const ConstValue *> ptrs;
    for (const ConstValue &v : vals)
      ptrs.push_back(&v);
    using Fn = double (*)(double);
    static const std::pair<const char *, Fn> unary[] = {
        {"exp", [](double x) { return std::exp(x); }},
        {"log", [](double x) { return std::log(x); }},
        {"sqrt", [](double x) { return std::sqrt(x); }},
        {"log1p", [](double x) { return std::log1p(x); }},
        {"expm1", [](double x) { return std::expm1(x); }},
        {"tanh", [](double x) { return std::tanh(x); }},
        {"sigmoid", [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
        {"softplus", [](double x) { return std::log1p(std::exp(x)); }},
        {"floor", [](double x) { return std::floor(x); }},
        {"ceil", [](double x) { return std::ceil(x); }},
        {"abs", [](double x) { return std::fabs(x); }},
        {"float", [](double x) { return x; }},
        {"int", [](double x) { return std::trunc(x); }},
        {"bool", [](double x) { return x != 0.0 ? 1.0 : 0.0; }},
    };
    for (const auto &[name, fn] : unary) {
      if (f == name && vals.size() == 1) {
        Fn g = fn;
        return mapN(c.type, ptrs, [g](const std::vector<double> &x) {
          return std::optional<double>(g(x[0]));
        });
      }
    }
    if ((f == "min" || f == "max") && vals.size() == 2) {
      bool isMin = f == "min";
      return mapN(c.type, ptrs, [isMin](const std::vector<double> &x) {
        return std::optional<double>(isMin ? std::fmin(x[0], x[1])
                                           : std::fmax(x[0], x[1]));
      });
    }
    if (f == "clip" && vals.size() == 3) {
      return mapN(c.type, ptrs, [](const std::vector<double> &x) {
        return std::optional<double>(std::fmin(std::fmax(x[0], x[1]), x[2]));
      });
    }
    if (vals.size() == 1 && c.type.isScalar() &&
        (f == "sum" || f == "prod" || f == "min" || f == "max" ||
         f == "all" || f == "any" || f == "mean" || f == "logsumexp")) {
      const std::vector<double> &d = vals[0].data;
      double acc = 0;
      if (f == "sum" || f == "mean") {
        for (double x : d)
          acc += x;
        if (f == "mean")
          acc /= static_cast<double>(d.size());
      } else if (f == "prod") {
        acc = 1;
        for (double x : d)
          acc *= x;
      } else if (f == "min" || f == "max") {
        acc = d.front();
        for (double x : d)
          acc = f == "min" ? std::fmin(acc, x) : std::fmax(acc, x);
      } else if (f == "all" || f == "any") {
        bool all = true, any = false;
        for (double x : d) {
          all = all && x != 0.0;
          any = any || x != 0.0;
        }
        acc = f == "all" ? all : any;
      } else {
        double m = -INFINITY;
        for (double x : d)
          m = std::fmax(m, x);
        double s = 0;
        for (double x : d)
          s += std::exp(x - m);
        acc = std::isfinite(m) ? m + std::log(s) : m;
      }
      auto norm = normalize(acc, c.type.scalar);
      if (!norm)
        return std::nullopt;
      return scalar(c.type, *norm);
    }
    return std::nullopt;
  }

  std::optional<ConstValue> index(const IndexExpr &ix) {
    auto base = eval(*ix.base);
    if (!base)
      return std::nullopt;
    const std::vector<int64_t> &shape = base->type.shape;
    int64_t offset = 0;
    for (size_t k = 0; k < ix.indices.size(); ++k) {
      auto i = eval(*ix.indices[k]);
      if (!i)
        return std::nullopt;
      double v = i->scalar();
      if (v < 0 || v >= static_cast<double>(shape[k]))
        return std::nullopt;
      offset = offset * shape[k] + static_cast<int64_t>(v);
    }
    int64_t inner = 1;
    for (size_t k = ix.indices.size(); k < shape.size(); ++k) {
      inner *= shape[k];
      offset *= shape[k];
    }
    ConstValue out;
    out.type = ix.type;
    out.data.assign(base->data.begin() + offset,
                    base->data.begin() + offset + inner);
    return out;
  }

  const CheckedProgram &program;
};

} // namespace

std::string ConstValue::str() const {
  auto one = [&](double v) -> std::string {
    switch (type.scalar) {
    case ScalarKind::Bool:
      return v != 0.0 ? "true" : "false";
    case ScalarKind::Int:
      return fmt::format("{}", static_cast<int64_t>(v));
    case ScalarKind::Float:
      return fmt::format("{}", v);
    }
    return "?";
  };
  if (type.shape.empty())
    return data.empty() ? "?" : one(data[0]);
  std::string s = "[";
  for (size_t i = 0; i < data.size(); ++i)
    s += (i ? ", " : "") + one(data[i]);
  return s + "]";
}

std::optional<ConstValue> SemaImpl::evaluate(const Expr &e) {
  return Evaluator(result_).eval(e);
}

std::optional<ConstValue> SemaImpl::constant(Expr &e, const char *what) {
  ExprContext save = context_;
  context_ = ExprContext::Const;
  Type t = check(e);
  context_ = save;
  if (!t.isValid())
    return std::nullopt;
  if (!t.isValue()) {
    diags_.error(e.range, fmt::format("{} must be a constant number, bool or "
                                      "array, not {}",
                                      what, t.str()));
    return std::nullopt;
  }
  auto v = evaluate(e);
  if (!v)
    diags_.error(e.range,
                 fmt::format("{} must be a compile-time constant (literals, "
                             "params and pure math; integer results within "
                             "+-2^53, no division by zero)",
                             what));
  return v;
}

std::optional<int64_t> SemaImpl::constantInt(Expr &e, const char *what) {
  auto v = constant(e, what);
  if (!v)
    return std::nullopt;
  if (!v->type.isScalar() || !v->type.is(ScalarKind::Int)) {
    diags_.error(e.range, fmt::format("{} must be an int, got {}", what,
                                      v->type.str()));
    return std::nullopt;
  }
  return static_cast<int64_t>(v->scalar());
}

std::optional<double> SemaImpl::constantNumber(Expr &e, const char *what) {
  auto v = constant(e, what);
  if (!v)
    return std::nullopt;
  if (!v->type.isScalar() || v->type.is(ScalarKind::Bool)) {
    diags_.error(e.range, fmt::format("{} must be a number, got {}", what,
                                      v->type.str()));
    return std::nullopt;
  }
  return v->scalar();
}

} // namespace gfl

//===- MLIRGenExpr.cpp - Expressions to gfl / arith / math / tensor -------===//
//
// Values keep their .gfl types: int -> i32, float -> f32, bool -> i1, and
// tensors of them. Mixed operands are converted to the result kind first and
// scalars are splatted against tensors, so every arith/math op sees operands
// of one type.
//
//===----------------------------------------------------------------------===//

#include "MLIRGenImpl.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>
#include <functional>

namespace gfl {

using namespace mlir;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

Value MLIRGenImpl::constant(const ConstValue &v, Location l) {
  return b_.create<arith::ConstantOp>(l, cast<TypedAttr>(constAttr(v)));
}

Value MLIRGenImpl::scalarConst(ScalarKind k, double v, Location l) {
  return constant(ConstValue{::gfl::Type::scalarOf(k), {v}}, l);
}

Value MLIRGenImpl::indexConst(int64_t v, Location l) {
  return b_.create<arith::ConstantIndexOp>(l, v);
}

Value MLIRGenImpl::toIndex(Value i32, Location l) {
  return b_.create<arith::IndexCastOp>(l, b_.getIndexType(), i32);
}

Value MLIRGenImpl::broadcast(Value v, const std::vector<int64_t> &shape,
                             Location l) {
  if (shape.empty() || isa<RankedTensorType>(v.getType()))
    return v;
  return b_.create<tensor::SplatOp>(l, v,
                                    RankedTensorType::get(shape, v.getType()));
}

Value MLIRGenImpl::convert(Value v, const ::gfl::Type &from, ScalarKind to,
                           Location l) {
  if (!from.isValue() || from.scalar == to)
    return v;
  mlir::Type target = mlirType(from.withScalar(to));
  switch (from.scalar) {
  case ScalarKind::Bool:
    if (to == ScalarKind::Int)
      return b_.create<arith::ExtUIOp>(l, target, v);
    return b_.create<arith::UIToFPOp>(l, target, v);
  case ScalarKind::Int:
    if (to == ScalarKind::Float)
      return b_.create<arith::SIToFPOp>(l, target, v);
    return b_.create<arith::CmpIOp>(
        l, arith::CmpIPredicate::ne, v,
        broadcast(scalarConst(ScalarKind::Int, 0, l), from.shape, l));
  case ScalarKind::Float:
    if (to == ScalarKind::Int)
      return b_.create<arith::FPToSIOp>(l, target, v);
    return b_.create<arith::CmpFOp>(
        l, arith::CmpFPredicate::UNE, v,
        broadcast(scalarConst(ScalarKind::Float, 0, l), from.shape, l));
  }
  return v;
}

Value MLIRGenImpl::genFloatVector(const Expr &e) {
  Location l = loc(e.range);
  Value v = convert(gen(e), e.type, ScalarKind::Float, l);
  return flatten(v, e.type.withScalar(ScalarKind::Float), l);
}

Value MLIRGenImpl::flatten(Value v, const ::gfl::Type &t, Location l) {
  if (t.shape.empty())
    return b_.create<tensor::FromElementsOp>(
        l, RankedTensorType::get({1}, v.getType()), ValueRange{v});
  if (t.shape.size() == 1)
    return v;
  ReassociationIndices all;
  for (size_t d = 0; d < t.shape.size(); ++d)
    all.push_back(static_cast<int64_t>(d));
  auto type = RankedTensorType::get({t.numElements()}, elemType(t.scalar));
  return b_.create<tensor::CollapseShapeOp>(l, type, v,
                                            ArrayRef<ReassociationIndices>{all});
}

//===----------------------------------------------------------------------===//
// Dispatch
//===----------------------------------------------------------------------===//

Value MLIRGenImpl::gen(const Expr &e) {
  Location l = loc(e.range);
  switch (e.kind) {
  case ExprKind::IntLit:
    return scalarConst(ScalarKind::Int,
                       static_cast<double>(static_cast<const IntLitExpr &>(e).value),
                       l);
  case ExprKind::FloatLit:
    return scalarConst(ScalarKind::Float,
                       static_cast<const FloatLitExpr &>(e).value, l);
  case ExprKind::BoolLit:
    return scalarConst(ScalarKind::Bool,
                       static_cast<const BoolLitExpr &>(e).value, l);
  case ExprKind::Name:
    return genName(static_cast<const NameExpr &>(e));
  case ExprKind::Unary:
    return genUnary(static_cast<const UnaryExpr &>(e));
  case ExprKind::Binary:
    return genBinary(static_cast<const BinaryExpr &>(e));
  case ExprKind::Call:
    return genCall(static_cast<const CallExpr &>(e));
  case ExprKind::Index:
    return genIndex(static_cast<const IndexExpr &>(e));
  case ExprKind::Member:
    return genMember(static_cast<const MemberExpr &>(e));
  case ExprKind::ArrayLit:
    return genArray(static_cast<const ArrayLitExpr &>(e));
  case ExprKind::If:
    return genIf(static_cast<const IfExpr &>(e));
  case ExprKind::Block:
    return genBlock(static_cast<const BlockExpr &>(e));
  case ExprKind::Reduce:
    return genReduce(static_cast<const ReduceExpr &>(e));
  case ExprKind::Arrow:
    break; // Sema rejects arrows outside network signatures.
  }
  llvm_unreachable("expression kind not allowed after Sema");
}

Value MLIRGenImpl::genName(const NameExpr &e) {
  Location l = loc(e.range);
  const Binding &bd = e.binding;
  switch (bd.kind) {
  case BindingKind::Param:
    return constant(checked_.params[bd.index].value, l);
  case BindingKind::StateField:
    return state_[bd.index];
  case BindingKind::ActionParam:
    return actionArgs_[bd.index];
  case BindingKind::ObjParam:
    return objectiveArgs_[bd.index];
  case BindingKind::Let:
  case BindingKind::Iterator:
    return locals_.at(bd.decl);
  case BindingKind::Condition:
    return conditionArgs_.at(bd.index);
  case BindingKind::Network:
    // A scalar network read in an objective: the learned log Z.
    return b_.create<mlir::gfl::TrajScalarOp>(l, b_.getF32Type(),
                                        mlir::gfl::TrajScalarField::LogZ,
                                        objectiveArgs_.at(0));
  case BindingKind::Builtin:
  case BindingKind::Unresolved:
    break;
  }
  llvm_unreachable("unresolved name after Sema");
}

Value MLIRGenImpl::genUnary(const UnaryExpr &e) {
  Location l = loc(e.range);
  Value v = gen(*e.operand);
  const ::gfl::Type &t = e.operand->type;
  if (e.op == UnaryOp::Not) {
    Value one = broadcast(scalarConst(ScalarKind::Bool, 1, l), t.shape, l);
    return b_.create<arith::XOrIOp>(l, v, one);
  }
  if (t.is(ScalarKind::Float))
    return b_.create<arith::NegFOp>(l, v);
  Value zero = broadcast(scalarConst(ScalarKind::Int, 0, l), t.shape, l);
  return b_.create<arith::SubIOp>(l, zero, v);
}

Value MLIRGenImpl::genBinary(const BinaryExpr &e) {
  Location l = loc(e.range);
  const ::gfl::Type &lt = e.lhs->type, &rt = e.rhs->type;
  Value lhs = gen(*e.lhs);
  // x^2, the usual squared residual, is a single multiply.
  if (e.op == BinaryOp::Pow && e.rhs->kind == ExprKind::IntLit &&
      static_cast<const IntLitExpr &>(*e.rhs).value == 2) {
    Value base = convert(lhs, lt, e.type.scalar, l);
    return e.type.is(ScalarKind::Float)
               ? b_.create<arith::MulFOp>(l, base, base).getResult()
               : b_.create<arith::MulIOp>(l, base, base).getResult();
  }
  Value rhs = gen(*e.rhs);
  const std::vector<int64_t> &shape = e.type.shape;

  // Operand kind: the result kind for arithmetic; for comparisons the
  // promotion of the operands (bools compare as bools).
  ScalarKind k;
  switch (e.op) {
  case BinaryOp::Eq:
  case BinaryOp::Ne:
    k = lt.is(ScalarKind::Bool) ? ScalarKind::Bool
                                : promote(lt.scalar, rt.scalar);
    break;
  case BinaryOp::Lt:
  case BinaryOp::Le:
  case BinaryOp::Gt:
  case BinaryOp::Ge:
    k = promote(lt.scalar, rt.scalar);
    break;
  case BinaryOp::Pow:
    k = e.type.scalar;
    break;
  default:
    k = e.type.scalar;
  }

  if (e.op == BinaryOp::Pow) {
    Value base = broadcast(convert(lhs, lt, k, l), shape, l);
    if (rt.is(ScalarKind::Float)) {
      Value exp = broadcast(rhs, shape, l);
      return b_.create<math::PowFOp>(l, base, exp);
    }
    Value exp = broadcast(convert(rhs, rt, ScalarKind::Int, l), shape, l);
    if (k == ScalarKind::Float)
      return b_.create<math::FPowIOp>(l, base, exp);
    return b_.create<math::IPowIOp>(l, base, exp);
  }

  lhs = broadcast(convert(lhs, lt, k, l), shape, l);
  rhs = broadcast(convert(rhs, rt, k, l), shape, l);
  bool f = k == ScalarKind::Float;
  switch (e.op) {
  case BinaryOp::Add:
    return f ? b_.create<arith::AddFOp>(l, lhs, rhs).getResult()
             : b_.create<arith::AddIOp>(l, lhs, rhs).getResult();
  case BinaryOp::Sub:
    return f ? b_.create<arith::SubFOp>(l, lhs, rhs).getResult()
             : b_.create<arith::SubIOp>(l, lhs, rhs).getResult();
  case BinaryOp::Mul:
    return f ? b_.create<arith::MulFOp>(l, lhs, rhs).getResult()
             : b_.create<arith::MulIOp>(l, lhs, rhs).getResult();
  case BinaryOp::Div:
    return b_.create<arith::DivFOp>(l, lhs, rhs);
  case BinaryOp::Mod: {
    // Floored modulo, as in Python: (-1) % 3 == 2.
    if (f) {
      Value q = b_.create<math::FloorOp>(l, b_.create<arith::DivFOp>(l, lhs, rhs));
      return b_.create<arith::SubFOp>(l, lhs,
                                      b_.create<arith::MulFOp>(l, rhs, q));
    }
    // Total on every input (a division must never trap in a kernel):
    // x % 0 == x, and x % -1 == 0 also for INT_MIN. The quotient is taken
    // with divisor 1 in both cases, which gives 0 for -1.
    Value zero = b_.create<arith::ConstantOp>(l, b_.getZeroAttr(rhs.getType()));
    Value one = b_.create<arith::ConstantOp>(l, b_.getOneAttr(rhs.getType()));
    Value minusOne = b_.create<arith::SubIOp>(l, zero, one);
    Value byZero =
        b_.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, rhs, zero);
    Value byMinusOne =
        b_.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, rhs, minusOne);
    Value divisor = b_.create<arith::SelectOp>(
        l, b_.create<arith::OrIOp>(l, byZero, byMinusOne), one, rhs);
    Value q = b_.create<arith::FloorDivSIOp>(l, lhs, divisor);
    Value r = b_.create<arith::SubIOp>(l, lhs,
                                       b_.create<arith::MulIOp>(l, divisor, q));
    return b_.create<arith::SelectOp>(l, byZero, lhs, r);
  }
  case BinaryOp::And:
    return b_.create<arith::AndIOp>(l, lhs, rhs);
  case BinaryOp::Or:
    return b_.create<arith::OrIOp>(l, lhs, rhs);
  case BinaryOp::Eq:
  case BinaryOp::Ne:
  case BinaryOp::Lt:
  case BinaryOp::Le:
  case BinaryOp::Gt:
  case BinaryOp::Ge:
    break;
  case BinaryOp::Pow:
    llvm_unreachable("handled above");
  }
  if (f) {
    arith::CmpFPredicate p;
    switch (e.op) {
    case BinaryOp::Eq:
      p = arith::CmpFPredicate::OEQ;
      break;
    case BinaryOp::Ne:
      p = arith::CmpFPredicate::UNE;
      break;
    case BinaryOp::Lt:
      p = arith::CmpFPredicate::OLT;
      break;
    case BinaryOp::Le:
      p = arith::CmpFPredicate::OLE;
      break;
    case BinaryOp::Gt:
      p = arith::CmpFPredicate::OGT;
      break;
    default:
      p = arith::CmpFPredicate::OGE;
      break;
    }
    return b_.create<arith::CmpFOp>(l, p, lhs, rhs);
  }
  arith::CmpIPredicate p;
  switch (e.op) {
  case BinaryOp::Eq:
    p = arith::CmpIPredicate::eq;
    break;
  case BinaryOp::Ne:
    p = arith::CmpIPredicate::ne;
    break;
  case BinaryOp::Lt:
    p = arith::CmpIPredicate::slt;
    break;
  case BinaryOp::Le:
    p = arith::CmpIPredicate::sle;
    break;
  case BinaryOp::Gt:
    p = arith::CmpIPredicate::sgt;
    break;
  default:
    p = arith::CmpIPredicate::sge;
    break;
  }
  return b_.create<arith::CmpIOp>(l, p, lhs, rhs);
}

//===----------------------------------------------------------------------===//
// Calls
//===----------------------------------------------------------------------===//

static std::optional<mlir::gfl::ReduceKind> reduceKind(const std::string &f) {
  if (f == "sum" || f == "mean")
    return mlir::gfl::ReduceKind::Sum;
  if (f == "prod")
    return mlir::gfl::ReduceKind::Prod;
  if (f == "min")
    return mlir::gfl::ReduceKind::Min;
  if (f == "max")
    return mlir::gfl::ReduceKind::Max;
  if (f == "all")
    return mlir::gfl::ReduceKind::All;
  if (f == "any")
    return mlir::gfl::ReduceKind::Any;
  if (f == "logsumexp")
    return mlir::gfl::ReduceKind::LogSumExp;
  return std::nullopt;
}

/// The element kind a reduction works in: bools count as ints for sum and
/// prod, logsumexp and mean work in floats.
static ScalarKind reduceElementKind(const std::string &f, ScalarKind k) {
  if (f == "logsumexp" || f == "mean")
    return ScalarKind::Float;
  if ((f == "sum" || f == "prod") && k == ScalarKind::Bool)
    return ScalarKind::Int;
  return k;
}

Value MLIRGenImpl::genReduceTensor(const std::string &f, Value v,
                                   const ::gfl::Type &t, Location l) {
  ScalarKind k = reduceElementKind(f, t.scalar);
  v = convert(v, t, k, l);
  Value r = b_.create<mlir::gfl::ReduceOp>(l, *reduceKind(f), v);
  if (f == "mean")
    r = b_.create<arith::DivFOp>(
        l, r,
        scalarConst(ScalarKind::Float, static_cast<double>(t.numElements()),
                    l));
  return r;
}

Value MLIRGenImpl::genCall(const CallExpr &e) {
  Location l = loc(e.range);
  const std::string &f = e.callee.name;
  if (f == "onehot") {
    // The class count is a constant that Sema folded into the result type.
    auto classes = cast<RankedTensorType>(mlirType(e.type)).getShape().back();
    return b_.create<mlir::gfl::OnehotOp>(l, gen(*e.args[0].value), classes);
  }
  if (f == "closure") {
    // Nonzero entries are edges.
    const ::gfl::Type &at = e.args[0].value->type;
    Value adj = gen(*e.args[0].value);
    if (at.is(ScalarKind::Int))
      adj = b_.create<arith::CmpIOp>(
          l, arith::CmpIPredicate::ne, adj,
          broadcast(scalarConst(ScalarKind::Int, 0, l), at.shape, l));
    return b_.create<mlir::gfl::ClosureOp>(l, adj.getType(), adj);
  }
  std::vector<Value> args;
  for (const CallArg &a : e.args)
    args.push_back(gen(*a.value));
  auto argType = [&](size_t i) -> const ::gfl::Type & {
    return e.args[i].value->type;
  };
  const ::gfl::Type &rt = e.type;
  auto asFloat = [&](size_t i) {
    return convert(args[i], argType(i), ScalarKind::Float, l);
  };

  if (f == "exp")
    return b_.create<math::ExpOp>(l, asFloat(0));
  if (f == "log")
    return b_.create<math::LogOp>(l, asFloat(0));
  if (f == "sqrt")
    return b_.create<math::SqrtOp>(l, asFloat(0));
  if (f == "log1p")
    return b_.create<math::Log1pOp>(l, asFloat(0));
  if (f == "expm1")
    return b_.create<math::ExpM1Op>(l, asFloat(0));
  if (f == "tanh")
    return b_.create<math::TanhOp>(l, asFloat(0));
  if (f == "floor")
    return b_.create<math::FloorOp>(l, asFloat(0));
  if (f == "ceil")
    return b_.create<math::CeilOp>(l, asFloat(0));
  if (f == "sigmoid") {
    Value x = asFloat(0);
    Value one = broadcast(scalarConst(ScalarKind::Float, 1, l), rt.shape, l);
    Value ex = b_.create<math::ExpOp>(l, b_.create<arith::NegFOp>(l, x));
    return b_.create<arith::DivFOp>(l, one,
                                    b_.create<arith::AddFOp>(l, one, ex));
  }
  if (f == "softplus") {
    // max(x, 0) + log1p(exp(-|x|)), stable for large |x|.
    Value x = asFloat(0);
    Value zero = broadcast(scalarConst(ScalarKind::Float, 0, l), rt.shape, l);
    Value pos = b_.create<arith::MaximumFOp>(l, x, zero);
    Value negAbs = b_.create<arith::NegFOp>(l, b_.create<math::AbsFOp>(l, x));
    return b_.create<arith::AddFOp>(
        l, pos, b_.create<math::Log1pOp>(l, b_.create<math::ExpOp>(l, negAbs)));
  }
  if (f == "abs") {
    Value x = convert(args[0], argType(0), rt.scalar, l);
    if (rt.is(ScalarKind::Float))
      return b_.create<math::AbsFOp>(l, x);
    return b_.create<math::AbsIOp>(l, x);
  }
  if (f == "float" || f == "int" || f == "bool")
    return convert(args[0], argType(0), rt.scalar, l);
  if (f == "clip") {
    Value x = convert(args[0], argType(0), rt.scalar, l);
    Value lo = broadcast(convert(args[1], argType(1), rt.scalar, l), rt.shape, l);
    Value hi = broadcast(convert(args[2], argType(2), rt.scalar, l), rt.shape, l);
    if (rt.is(ScalarKind::Float))
      return b_.create<arith::MinimumFOp>(
          l, b_.create<arith::MaximumFOp>(l, x, lo), hi);
    return b_.create<arith::MinSIOp>(l, b_.create<arith::MaxSIOp>(l, x, lo),
                                     hi);
  }
  if ((f == "min" || f == "max") && args.size() == 2) {
    Value a = broadcast(convert(args[0], argType(0), rt.scalar, l), rt.shape, l);
    Value c = broadcast(convert(args[1], argType(1), rt.scalar, l), rt.shape, l);
    bool isMin = f == "min";
    if (rt.is(ScalarKind::Float))
      return isMin ? b_.create<arith::MinimumFOp>(l, a, c).getResult()
                   : b_.create<arith::MaximumFOp>(l, a, c).getResult();
    return isMin ? b_.create<arith::MinSIOp>(l, a, c).getResult()
                 : b_.create<arith::MaxSIOp>(l, a, c).getResult();
  }
  if (f == "logsumexp" && args.size() >= 2) {
    SmallVector<Value> xs;
    for (size_t i = 0; i < args.size(); ++i)
      xs.push_back(asFloat(i));
    return b_.create<mlir::gfl::LogsumexpOp>(l, b_.getF32Type(), xs);
  }
  if (reduceKind(f) && args.size() == 1) {
    const ::gfl::Type &t = argType(0);
    if (t.kind == TypeKind::Seq)
      return b_.create<mlir::gfl::SeqReduceOp>(l, *reduceKind(f), args[0]);
    if (t.shape.empty()) {
      // Reducing a scalar is the scalar itself (mean / logsumexp as float).
      return convert(args[0], t, rt.scalar, l);
    }
    return genReduceTensor(f, args[0], t, l);
  }
  if (f == "concat") {
    SmallVector<Value> parts;
    for (size_t i = 0; i < args.size(); ++i) {
      Value v = convert(args[i], argType(i), rt.scalar, l);
      parts.push_back(flatten(v, argType(i).withScalar(rt.scalar), l));
    }
    return b_.create<mlir::gfl::ConcatOp>(l, parts);
  }
  if (f == "cumsum")
    return b_.create<mlir::gfl::SeqCumsumOp>(l, args[0].getType(), args[0]);
  if (f == "returns")
    return b_.create<mlir::gfl::SeqReturnsOp>(l, args[0].getType(), args[0],
                                              asFloat(1));
  if (f == "gae")
    return b_.create<mlir::gfl::SeqGaeOp>(l, args[0].getType(), args[0],
                                          args[1], asFloat(2), asFloat(3));
  if (f == "stop_grad") {
    Value x = asFloat(0);
    return b_.create<mlir::gfl::StopGradOp>(l, x.getType(), x);
  }
  if (f == "huber") {
    Value x = asFloat(0);
    Value delta = args.size() > 1 ? asFloat(1)
                                  : scalarConst(ScalarKind::Float, 1.0, l);
    return b_.create<mlir::gfl::HuberOp>(l, b_.getF32Type(), x, delta);
  }
  if (f == "residual") {
    // kind 0: x^2, 1: x^2 / 2, 2: huber(x, delta); the choice is a select
    // so that it stays differentiable in every branch.
    Value x = asFloat(0);
    Value kind = convert(args[1], argType(1), ScalarKind::Int, l);
    Value delta = asFloat(2);
    Value sq = b_.create<arith::MulFOp>(l, x, x);
    Value half = b_.create<arith::MulFOp>(
        l, scalarConst(ScalarKind::Float, 0.5, l), sq);
    Value hub = b_.create<mlir::gfl::HuberOp>(l, b_.getF32Type(), x, delta);
    auto is = [&](int64_t k) {
      return b_.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, kind,
                                      scalarConst(ScalarKind::Int, k, l));
    };
    Value notSquared = b_.create<arith::SelectOp>(l, is(1), half, hub);
    return b_.create<arith::SelectOp>(l, is(0), sq, notSquared);
  }
  if (f == "batch_mean" || f == "batch_sum") {
    auto kind = f == "batch_mean" ? mlir::gfl::BatchReduceKind::Mean
                                  : mlir::gfl::BatchReduceKind::Sum;
    return b_.create<mlir::gfl::BatchReduceOp>(l, b_.getF32Type(), kind, asFloat(0));
  }
  llvm_unreachable("builtin accepted by Sema but not emitted");
}

//===----------------------------------------------------------------------===//
// Indexing, members, literals, control flow
//===----------------------------------------------------------------------===//

Value MLIRGenImpl::genIndex(const IndexExpr &e) {
  Location l = loc(e.range);
  Value base = gen(*e.base);
  SmallVector<Value> indices;
  for (const ExprPtr &i : e.indices)
    indices.push_back(toIndex(gen(*i), l));
  if (e.base->type.kind == TypeKind::Seq)
    return b_.create<mlir::gfl::SeqAtOp>(l, elemType(e.type.scalar), base,
                                         indices[0]);
  auto type = cast<RankedTensorType>(base.getType());
  if (indices.size() == static_cast<size_t>(type.getRank()))
    return b_.create<tensor::ExtractOp>(l, base, indices);
  // Partial indexing takes a rank-reduced slice.
  SmallVector<OpFoldResult> offsets, sizes, strides;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    bool indexed = d < static_cast<int64_t>(indices.size());
    offsets.push_back(indexed ? OpFoldResult(indices[d])
                              : OpFoldResult(b_.getIndexAttr(0)));
    sizes.push_back(b_.getIndexAttr(indexed ? 1 : type.getDimSize(d)));
    strides.push_back(b_.getIndexAttr(1));
  }
  auto resultType = cast<RankedTensorType>(mlirType(e.type));
  return b_.create<tensor::ExtractSliceOp>(l, resultType, base, offsets, sizes,
                                           strides);
}

Value MLIRGenImpl::genMember(const MemberExpr &e) {
  Location l = loc(e.range);
  Value t = gen(*e.base);
  const std::string &m = e.member.name;
  if (m == "n") {
    Value n = b_.create<mlir::gfl::TrajLenOp>(l, b_.getIndexType(), t);
    return b_.create<arith::IndexCastOp>(l, b_.getI32Type(), n);
  }
  if (m == "log_r")
    return b_.create<mlir::gfl::TrajScalarOp>(l, b_.getF32Type(),
                                        mlir::gfl::TrajScalarField::LogR, t);
  if (m == "exited") {
    Value x = b_.create<mlir::gfl::TrajScalarOp>(
        l, b_.getF32Type(), mlir::gfl::TrajScalarField::Exited, t);
    return b_.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNE, x,
                                    scalarConst(ScalarKind::Float, 0, l));
  }
  // Every other member is a per-step sequence named like its enum case.
  std::optional<mlir::gfl::TrajSeqField> field =
      mlir::gfl::symbolizeTrajSeqField(m);
  assert(field && "Sema admits trajectory members only");
  return b_.create<mlir::gfl::TrajSeqOp>(l, *field, t);
}

Value MLIRGenImpl::genArray(const ArrayLitExpr &e) {
  Location l = loc(e.range);
  // Row-major scalars of every element, converted to the array's kind.
  SmallVector<Value> scalars;
  for (const ExprPtr &el : e.elements) {
    Value v = convert(gen(*el), el->type, e.type.scalar, l);
    const ::gfl::Type &t = el->type;
    if (t.shape.empty()) {
      scalars.push_back(v);
      continue;
    }
    Value flat = flatten(v, t.withScalar(e.type.scalar), l);
    for (int64_t i = 0; i < t.numElements(); ++i)
      scalars.push_back(
          b_.create<tensor::ExtractOp>(l, flat, ValueRange{indexConst(i, l)}));
  }
  return b_.create<tensor::FromElementsOp>(l, mlirType(e.type), scalars);
}

Value MLIRGenImpl::genIf(const IfExpr &e) {
  Location l = loc(e.range);
  Value cond = gen(*e.cond);
  mlir::Type type = mlirType(e.type);
  auto ifOp = b_.create<scf::IfOp>(l, TypeRange{type}, cond,
                                   /*withElseRegion=*/true);
  OpBuilder::InsertionGuard g(b_);
  b_.setInsertionPointToStart(ifOp.thenBlock());
  Value a = convert(gen(*e.thenExpr), e.thenExpr->type, e.type.scalar, l);
  b_.create<scf::YieldOp>(l, a);
  b_.setInsertionPointToStart(ifOp.elseBlock());
  Value c = convert(gen(*e.elseExpr), e.elseExpr->type, e.type.scalar, l);
  b_.create<scf::YieldOp>(l, c);
  return ifOp.getResult(0);
}

Value MLIRGenImpl::genBlock(const BlockExpr &e) {
  for (const Let &let : e.lets)
    locals_[&let] = gen(*let.value);
  return gen(*e.result);
}

Value MLIRGenImpl::genReduce(const ReduceExpr &e) {
  Location l = loc(e.range);
  const std::string &f = e.func.name;
  if (f == "seq") {
    // seq(k in 0..L: e): entry k is the body at k.
    const ReduceIter &it = e.iters.front();
    Location il = loc(it.name.range);
    Value len = b_.create<arith::MaxSIOp>(
        il, toIndex(gen(*it.hi), il), b_.create<arith::ConstantIndexOp>(il, 0));
    auto op = b_.create<mlir::gfl::SeqBuildOp>(
        l, mlir::gfl::SeqType::get(b_.getF32Type()), len,
        [&](OpBuilder &nb, Location bl, Value iv) {
          OpBuilder::InsertionGuard g(b_);
          b_.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          locals_[&it] = b_.create<arith::IndexCastOp>(il, b_.getI32Type(), iv);
          b_.create<mlir::gfl::YieldOp>(
              bl, convert(gen(*e.body), e.body->type, ScalarKind::Float, bl));
        });
    return op.getResult();
  }
  ScalarKind k = reduceElementKind(f, e.body->type.scalar);
  mlir::Type resultType = elemType(k);
  mlir::gfl::ReduceKind kind = *reduceKind(f);

  // One range_reduce per iterator, nested; the innermost evaluates the body.
  std::function<Value(size_t)> level = [&](size_t i) -> Value {
    const ReduceIter &it = e.iters[i];
    Location il = loc(it.name.range);
    Value lo = toIndex(gen(*it.lo), il);
    Value hi = toIndex(gen(*it.hi), il);
    auto op = b_.create<mlir::gfl::RangeReduceOp>(
        l, resultType, kind, lo, hi,
        [&](OpBuilder &nb, Location bl, Value iv) {
          OpBuilder::InsertionGuard g(b_);
          b_.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          locals_[&it] = b_.create<arith::IndexCastOp>(il, b_.getI32Type(), iv);
          Value v = i + 1 < e.iters.size()
                        ? level(i + 1)
                        : convert(gen(*e.body), e.body->type, k, bl);
          b_.create<mlir::gfl::YieldOp>(bl, v);
        });
    return op.getResult();
  };
  Value r = level(0);
  if (f != "mean")
    return r;
  // mean = sum / number of index tuples (0 / 0 = nan for empty ranges).
  Value count = scalarConst(ScalarKind::Float, 1, l);
  for (const ReduceIter &it : e.iters) {
    Value span = b_.create<arith::SubIOp>(l, gen(*it.hi), gen(*it.lo));
    span = b_.create<arith::MaxSIOp>(l, span,
                                     scalarConst(ScalarKind::Int, 0, l));
    count = b_.create<arith::MulFOp>(
        l, count, b_.create<arith::SIToFPOp>(l, b_.getF32Type(), span));
  }
  return b_.create<arith::DivFOp>(l, r, count);
}

} // namespace gfl

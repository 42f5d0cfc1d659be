//===- LoweringUtils.cpp - Shared helpers of the gfl lowerings ------------===//

#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

namespace mlir::gfl {

Value reductionIdentity(OpBuilder &b, Location loc, ReduceKind kind,
                        Type type) {
  auto floatConst = [&](double v) -> Value {
    return b.create<arith::ConstantOp>(loc, b.getFloatAttr(type, v));
  };
  auto intConst = [&](int64_t v) -> Value {
    return b.create<arith::ConstantOp>(loc, b.getIntegerAttr(type, v));
  };
  bool isFloat = isa<FloatType>(type);
  switch (kind) {
  case ReduceKind::Sum:
    return isFloat ? floatConst(0) : intConst(0);
  case ReduceKind::Prod:
    return isFloat ? floatConst(1) : intConst(1);
  case ReduceKind::All:
    return intConst(1);
  case ReduceKind::Any:
    return intConst(0);
  case ReduceKind::Min:
    return isFloat ? floatConst(std::numeric_limits<double>::infinity())
                   : intConst(std::numeric_limits<int32_t>::max());
  case ReduceKind::Max:
  case ReduceKind::LogSumExp:
    return isFloat ? floatConst(-std::numeric_limits<double>::infinity())
                   : intConst(std::numeric_limits<int32_t>::min());
  }
  llvm_unreachable("unknown reduction kind");
}

Value reductionCombine(OpBuilder &b, Location loc, ReduceKind kind, Value acc,
                       Value v) {
  bool isFloat = isa<FloatType>(v.getType());
  switch (kind) {
  case ReduceKind::Sum:
    return isFloat ? b.create<arith::AddFOp>(loc, acc, v).getResult()
                   : b.create<arith::AddIOp>(loc, acc, v).getResult();
  case ReduceKind::Prod:
    return isFloat ? b.create<arith::MulFOp>(loc, acc, v).getResult()
                   : b.create<arith::MulIOp>(loc, acc, v).getResult();
  case ReduceKind::All:
    return b.create<arith::AndIOp>(loc, acc, v);
  case ReduceKind::Any:
    return b.create<arith::OrIOp>(loc, acc, v);
  case ReduceKind::Min:
    return isFloat ? b.create<arith::MinimumFOp>(loc, acc, v).getResult()
                   : b.create<arith::MinSIOp>(loc, acc, v).getResult();
  case ReduceKind::Max:
    return isFloat ? b.create<arith::MaximumFOp>(loc, acc, v).getResult()
                   : b.create<arith::MaxSIOp>(loc, acc, v).getResult();
  case ReduceKind::LogSumExp:
    break;
  }
  llvm_unreachable("logsumexp has no single-value combine");
}

Value safeMax(OpBuilder &b, Location loc, Value m) {
  Type t = m.getType();
  Value negInf = b.create<arith::ConstantOp>(
      loc, b.getFloatAttr(t, -std::numeric_limits<double>::infinity()));
  Value zero = b.create<arith::ConstantOp>(loc, b.getFloatAttr(t, 0.0));
  Value isNegInf =
      b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, m, negInf);
  return b.create<arith::SelectOp>(loc, isNegInf, zero, m);
}

std::pair<Value, Value> logSumExpStep(OpBuilder &b, Location loc, Value max,
                                      Value sum, Value v) {
  Value next = b.create<arith::MaximumFOp>(loc, max, v);
  Value shift = safeMax(b, loc, next);
  Value rescaled = b.create<arith::MulFOp>(
      loc, sum,
      b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, max, shift)));
  Value added =
      b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, v, shift));
  return {next, b.create<arith::AddFOp>(loc, rescaled, added)};
}

Value logSumExpFinish(OpBuilder &b, Location loc, Value max, Value sum) {
  Value shift = safeMax(b, loc, max);
  Value lse =
      b.create<arith::AddFOp>(loc, shift, b.create<math::LogOp>(loc, sum));
  // With every value -inf, sum is 0 and log(0) = -inf: the result is -inf.
  return lse;
}

} // namespace mlir::gfl

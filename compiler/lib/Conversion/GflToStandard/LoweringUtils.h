//===- LoweringUtils.h - Shared helpers of the gfl lowerings ----*- C++ -*-===//

#ifndef GFL_CONVERSION_GFLTOSTANDARD_LOWERINGUTILS_H
#define GFL_CONVERSION_GFLTOSTANDARD_LOWERINGUTILS_H

#include "gfl/Dialect/GflOps.h"

#include "mlir/IR/Builders.h"

namespace mlir::gfl {

/// The neutral element of `kind` for element type `type` (not used for
/// logsumexp, which keeps a running max and sum instead).
Value reductionIdentity(OpBuilder &b, Location loc, ReduceKind kind,
                        Type type);

/// acc (+) v for `kind` (not logsumexp).
Value reductionCombine(OpBuilder &b, Location loc, ReduceKind kind, Value acc,
                       Value v);

/// `m` with -inf replaced by 0, so that `x - safeMax(m)` stays finite when
/// every value is -inf.
Value safeMax(OpBuilder &b, Location loc, Value m);

/// One step of the online logsumexp: from the running (max, scaled sum) and
/// a new value `v`, the next pair.
std::pair<Value, Value> logSumExpStep(OpBuilder &b, Location loc, Value max,
                                      Value sum, Value v);

/// max + log(sum): -inf when every value was -inf.
Value logSumExpFinish(OpBuilder &b, Location loc, Value max, Value sum);

} // namespace mlir::gfl

#endif // GFL_CONVERSION_GFLTOSTANDARD_LOWERINGUTILS_H

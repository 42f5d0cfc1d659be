//===- GflOpsCommon.h - helpers shared by the gfl op verifiers --*- C++ -*-===//
//
// Private to the dialect library.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_DIALECT_LIB_GFLOPSCOMMON_H
#define GFL_DIALECT_LIB_GFLOPSCOMMON_H

#include "gfl/Dialect/GflOps.h"

namespace mlir::gfl::common {

/// True for the scalar types of the language: i32, f32 and i1.
bool isScalarType(Type type);

/// Checks that a `kind` reduction is defined on `elemType` values: all/any on
/// i1; sum/prod/min/max on i32 and f32 (prod only when `allowFloatProd`);
/// logsumexp on f32.
LogicalResult verifyReduceKind(Operation *op, ReduceKind kind, Type elemType,
                               bool allowFloatProd = true);

/// Checks that `region` (if not empty) ends with a gfl.yield of exactly the
/// `expected` types. `regionName` names the region in the message.
LogicalResult verifyYieldTypes(Operation *op, Region &region,
                               StringRef regionName, ArrayRef<Type> expected);

} // namespace mlir::gfl::common

#endif // GFL_DIALECT_LIB_GFLOPSCOMMON_H

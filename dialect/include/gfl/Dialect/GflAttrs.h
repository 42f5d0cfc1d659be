//===- GflAttrs.h - gfl dialect enum attributes -----------------*- C++ -*-===//
//
// ReduceKind, TrajSeqField, TrajScalarField, BatchReduceKind and their
// attributes (#gfl.reduce_kind<sum>, ...).
//
//===----------------------------------------------------------------------===//

#ifndef GFL_DIALECT_GFLATTRS_H
#define GFL_DIALECT_GFLATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "gfl/Dialect/GflEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "gfl/Dialect/GflAttrs.h.inc"

#endif // GFL_DIALECT_GFLATTRS_H

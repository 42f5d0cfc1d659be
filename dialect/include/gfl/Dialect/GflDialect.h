//===- GflDialect.h - gfl dialect -------------------------------*- C++ -*-===//
//
// The `gfl` MLIR dialect (namespace mlir::gfl).
//
//===----------------------------------------------------------------------===//

#ifndef GFL_DIALECT_GFLDIALECT_H
#define GFL_DIALECT_GFLDIALECT_H

#include "mlir/IR/Dialect.h"

#include "gfl/Dialect/GflDialect.h.inc"

#endif // GFL_DIALECT_GFLDIALECT_H

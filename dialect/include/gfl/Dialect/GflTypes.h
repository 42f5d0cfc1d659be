//===- GflTypes.h - gfl dialect types ---------------------------*- C++ -*-===//
//
// !gfl.traj and !gfl.seq<T>.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_DIALECT_GFLTYPES_H
#define GFL_DIALECT_GFLTYPES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"

#define GET_TYPEDEF_CLASSES
#include "gfl/Dialect/GflTypes.h.inc"

#endif // GFL_DIALECT_GFLTYPES_H

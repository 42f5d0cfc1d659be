//===- GflOps.h - gfl dialect operations ------------------------*- C++ -*-===//
//
// Operations of the gfl dialect. Include this header to use the dialect; it
// brings in the dialect, its types and its enum attributes.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_DIALECT_GFLOPS_H
#define GFL_DIALECT_GFLOPS_H

#include "gfl/Dialect/GflAttrs.h"
#include "gfl/Dialect/GflDialect.h"
#include "gfl/Dialect/GflTypes.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "gfl/Dialect/GflOps.h.inc"

#endif // GFL_DIALECT_GFLOPS_H

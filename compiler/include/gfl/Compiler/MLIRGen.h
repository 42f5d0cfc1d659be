//===- MLIRGen.h - AST to gfl dialect ----------------------------*- C++ -*-===//
//
// Emits a checked .gfl program as a module of gfl dialect ops (with upstream
// arith, math, tensor and scf ops for elementwise math). Every op carries the
// file:line:col location of the source it came from.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_COMPILER_MLIRGEN_H
#define GFL_COMPILER_MLIRGEN_H

#include "gfl/Frontend/Sema.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace gfl {

/// Builds the module for a program that Sema checked without errors
/// (`checked` is its summary and points into its AST). Loads the dialects it
/// uses into `context`.
/// `library` is the standard library's buffer when the program uses one of
/// its objectives (their locations point into it).
mlir::OwningOpRef<mlir::ModuleOp>
mlirGen(mlir::MLIRContext &context, const SourceBuffer &buffer,
        const CheckedProgram &checked, const SourceBuffer *library = nullptr);

} // namespace gfl

#endif // GFL_COMPILER_MLIRGEN_H

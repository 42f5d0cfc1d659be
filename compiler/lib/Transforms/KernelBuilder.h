//===- KernelBuilder.h - Batched kernels from per-state env regions -*- C++ -*-===//
//
// A kernel is a func.func over batch tensors: every input and output has the
// batch as its leading dimension (a state field `tensor<2xi32>` becomes
// `tensor<?x2xi32>`, an `i32` becomes `tensor<?xi32>`). Its body is an
// scf.forall over the batch that extracts the rows of the inputs, computes
// the output rows, and inserts them into the destination tensors, which the
// kernel returns. After bufferization the destinations are the output
// buffers (docs/artifact.md). Ragged rows (KernelSpec::raggedInputs) are
// the exception: their rows lie one after another in one flat tensor.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_TRANSFORMS_KERNELBUILDER_H
#define GFL_TRANSFORMS_KERNELBUILDER_H

#include "gfl/Dialect/GflOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Builders.h"

#include <functional>
#include <optional>
#include <string>

namespace mlir::gfl {

/// Computes the output rows of batch element `b` from the input rows and the
/// kernel's scalar arguments.
using RowBody = std::function<SmallVector<Value>(
    OpBuilder &b, Location loc, Value index, ValueRange inputRows,
    ValueRange scalars)>;

struct KernelSpec {
  std::string name;
  SmallVector<Type> inputRows;  // per-row types of the batch inputs
  SmallVector<Type> scalars;    // non-batched arguments (seed, epsilon...)
  SmallVector<Type> outputRows; // per-row types of the batch outputs
  RowBody body;
  /// Names of all arguments (inputs, scalars, outputs), recorded as the
  /// `gfl.name` argument attribute for the artifact's kernel table.
  SmallVector<std::string> argNames;
  /// Indices of the scalars passed as one-element buffers (`tensor<1xT>`)
  /// instead of by value: a launch recorded in a CUDA graph then reads the
  /// value current at replay (the sampler's iteration).
  SmallVector<unsigned> bufferedScalars;
  /// Ragged rows. The inputs and outputs listed here (each with a row type
  /// tensor<?xT>) hold the rows of all batch elements one after another
  /// in a flat tensor<?xT>; input `offsetsInput` (per-row type i32, B+1
  /// entries) says where: row b is [offsets[b], offsets[b+1]). The batch
  /// size is then the offsets' size - 1.
  SmallVector<unsigned> raggedInputs, raggedOutputs;
  std::optional<unsigned> offsetsInput;
};

/// Batch type of a per-row type: T -> tensor<?xT>, tensor<SxT> -> tensor<?xSxT>.
RankedTensorType batchType(Type rowType);

/// Creates the kernel function at the end of `module`.
func::FuncOp buildKernel(OpBuilder &b, ModuleOp module, Location loc,
                         const KernelSpec &spec);

/// Clones the single block of the isolated `region` at the insertion point
/// with its arguments replaced by `args`; returns the yielded values.
SmallVector<Value> inlineRegion(OpBuilder &b, Region &region, ValueRange args);

/// The action parameters (i32) of flat index `local` in [0, count) of a
/// family with the given half-open ranges, row-major (last fastest).
SmallVector<Value> decodeActionParams(OpBuilder &b, Location loc, Value local,
                                      ActionOp action);

/// Structure of the flat forward action space of `env`.
struct ActionLayout {
  SmallVector<ActionOp> families;
  SmallVector<int64_t> offsets; // first flat index of each family
  int64_t numBackward = 0;      // all family actions
  int64_t numForward = 0;       // plus the exit, if any
  bool hasStop = false;
};
ActionLayout getActionLayout(EnvOp env);

/// Helpers for constants.
Value constI32(OpBuilder &b, Location loc, int64_t v);
Value constIndex(OpBuilder &b, Location loc, int64_t v);
Value constF32(OpBuilder &b, Location loc, double v);
Value constBool(OpBuilder &b, Location loc, bool v);

/// Equality of two state values (scalars or tensors) as an i1.
Value statesEqual(OpBuilder &b, Location loc, Value x, Value y);

/// True when every element lies in the field's domain (true without one).
Value inDomain(OpBuilder &b, Location loc, StateOp state, Value v);

} // namespace mlir::gfl

#endif // GFL_TRANSFORMS_KERNELBUILDER_H

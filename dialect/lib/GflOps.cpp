//===- GflOps.cpp - gfl op definitions and shared verifier helpers --------===//
//
// Includes the ODS-generated op definitions. The hand-written parts of the
// ops live in EnvOps.cpp, ExprOps.cpp and ObjectiveOps.cpp.
//
//===----------------------------------------------------------------------===//

#include "GflOpsCommon.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::gfl;

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

bool common::isScalarType(Type type) {
  return type.isF32() || type.isSignlessInteger(32) ||
         type.isSignlessInteger(1);
}

LogicalResult common::verifyReduceKind(Operation *op, ReduceKind kind,
                                       Type elemType, bool allowFloatProd) {
  bool isF32 = elemType.isF32();
  bool isI32 = elemType.isSignlessInteger(32);
  bool isI1 = elemType.isSignlessInteger(1);
  bool ok = false;
  StringRef allowed;
  switch (kind) {
  case ReduceKind::All:
  case ReduceKind::Any:
    ok = isI1;
    allowed = "i1";
    break;
  case ReduceKind::Sum:
  case ReduceKind::Min:
  case ReduceKind::Max:
    ok = isI32 || isF32;
    allowed = "i32 or f32";
    break;
  case ReduceKind::Prod:
    ok = isI32 || (isF32 && allowFloatProd);
    allowed = allowFloatProd ? "i32 or f32" : "i32";
    break;
  case ReduceKind::LogSumExp:
    ok = isF32;
    allowed = "f32";
    break;
  }
  if (ok)
    return success();
  return op->emitOpError() << "'" << stringifyReduceKind(kind)
                           << "' reduction needs " << allowed << " values, got "
                           << elemType;
}

LogicalResult common::verifyYieldTypes(Operation *op, Region &region,
                                       StringRef regionName,
                                       ArrayRef<Type> expected) {
  if (region.empty())
    return success();
  Block &block = region.front();
  auto yield = block.empty() ? YieldOp() : dyn_cast<YieldOp>(block.back());
  if (!yield)
    return op->emitOpError()
           << "region '" << regionName << "' must end with 'gfl.yield'";
  TypeRange actual = yield.getValues().getTypes();
  if (llvm::equal(actual, expected))
    return success();
  InFlightDiagnostic diag = op->emitOpError()
                            << "region '" << regionName << "' must yield (";
  llvm::interleaveComma(expected, diag);
  diag << "), got (";
  llvm::interleaveComma(actual, diag);
  diag << ")";
  return diag;
}

//===----------------------------------------------------------------------===//
// Custom directives
//===----------------------------------------------------------------------===//

/// Parses the optional action parameter ranges: `params [lo, hi), ...`.
static ParseResult parseParamRanges(OpAsmParser &parser,
                                    DenseI64ArrayAttr &ranges) {
  SmallVector<int64_t> values;
  if (succeeded(parser.parseOptionalKeyword("params"))) {
    do {
      int64_t lo = 0, hi = 0;
      if (parser.parseLSquare() || parser.parseInteger(lo) ||
          parser.parseComma() || parser.parseInteger(hi) ||
          parser.parseRParen())
        return failure();
      values.push_back(lo);
      values.push_back(hi);
    } while (succeeded(parser.parseOptionalComma()));
  }
  ranges = parser.getBuilder().getDenseI64ArrayAttr(values);
  return success();
}

/// Prints ` params [lo, hi), ...`, or nothing for a family without
/// parameters.
static void printParamRanges(OpAsmPrinter &printer, Operation *,
                             DenseI64ArrayAttr ranges) {
  ArrayRef<int64_t> values = ranges.asArrayRef();
  if (values.empty())
    return;
  printer << " params ";
  for (size_t i = 0; i + 1 < values.size(); i += 2) {
    if (i != 0)
      printer << ", ";
    printer << '[' << values[i] << ", " << values[i + 1] << ')';
  }
}

#define GET_OP_CLASSES
#include "gfl/Dialect/GflOps.cpp.inc"

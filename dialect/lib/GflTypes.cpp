//===- GflTypes.cpp - gfl dialect types -----------------------------------===//

#include "gfl/Dialect/GflTypes.h"
#include "gfl/Dialect/GflDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::gfl;

#define GET_TYPEDEF_CLASSES
#include "gfl/Dialect/GflTypes.cpp.inc"

LogicalResult SeqType::verify(function_ref<InFlightDiagnostic()> emitError,
                              Type elementType) {
  if (elementType.isF32() || elementType.isSignlessInteger(32) ||
      elementType.isSignlessInteger(1))
    return success();
  return emitError() << "!gfl.seq element type must be f32, i32 or i1, got "
                     << elementType;
}

void GflDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "gfl/Dialect/GflTypes.cpp.inc"
      >();
}

//===- GflAttrs.cpp - gfl dialect enum attributes -------------------------===//

#include "gfl/Dialect/GflAttrs.h"
#include "gfl/Dialect/GflDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::gfl;

#include "gfl/Dialect/GflEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "gfl/Dialect/GflAttrs.cpp.inc"

void GflDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "gfl/Dialect/GflAttrs.cpp.inc"
      >();
}

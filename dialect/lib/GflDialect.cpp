//===- GflDialect.cpp - gfl dialect registration --------------------------===//

#include "gfl/Dialect/GflDialect.h"
#include "gfl/Dialect/GflOps.h"

using namespace mlir;
using namespace mlir::gfl;

#include "gfl/Dialect/GflDialect.cpp.inc"

void GflDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "gfl/Dialect/GflOps.cpp.inc"
      >();
  registerTypes();
  registerAttributes();
}

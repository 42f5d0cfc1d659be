//===- gfl-opt.cpp - mlir-opt driver with the gfl dialect -----------------===//
//
// Parses, verifies, transforms and prints MLIR containing the gfl dialect
// alongside all upstream dialects and passes; used by the lit tests of every
// compiler stage.
//
//===----------------------------------------------------------------------===//

#include "gfl/Conversion/Passes.h"
#include "gfl/Dialect/GflDialect.h"
#include "gfl/Pipeline/Pipeline.h"
#include "gfl/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::gfl::registerGflPassesAndPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<mlir::gfl::GflDialect>();

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "gfl optimizer driver\n", registry));
}

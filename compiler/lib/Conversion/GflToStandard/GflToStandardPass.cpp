//===- GflToStandardPass.cpp - The convert-gfl-to-standard pass -----------===//

#include "gfl/Conversion/Passes.h"
#include "gfl/Dialect/GflOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::gfl {

#define GEN_PASS_DEF_CONVERTGFLTOSTANDARD
#include "gfl/Conversion/Passes.h.inc"

namespace {

struct ConvertGflToStandardPass
    : impl::ConvertGflToStandardBase<ConvertGflToStandardPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateGflReductionLoweringPatterns(patterns);
    populateGflTensorOpLoweringPatterns(patterns);
    populateGflScalarOpLoweringPatterns(patterns);
    GreedyRewriteConfig config;
    config.enableRegionSimplification = GreedySimplifyRegionLevel::Disabled;
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns),
                                            config)))
      signalPassFailure();
  }
};

} // namespace

} // namespace mlir::gfl

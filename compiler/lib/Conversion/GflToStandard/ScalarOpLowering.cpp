//===- ScalarOpLowering.cpp - gfl.stop_grad and gfl.huber to arith --------===//

#include "gfl/Conversion/Passes.h"
#include "gfl/Dialect/GflOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::gfl {

namespace {

/// Values only: gradients are formed before this lowering runs.
struct LowerStopGrad : OpRewritePattern<StopGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(StopGradOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, op.getInput());
    return success();
  }
};

/// 0.5 x^2 if |x| <= delta, else delta (|x| - 0.5 delta).
struct LowerHuber : OpRewritePattern<HuberOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(HuberOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput(), delta = op.getDelta();
    Value half = rewriter.create<arith::ConstantOp>(
        loc, rewriter.getFloatAttr(x.getType(), 0.5));
    Value a = rewriter.create<math::AbsFOp>(loc, x);
    Value quad = rewriter.create<arith::MulFOp>(
        loc, half, rewriter.create<arith::MulFOp>(loc, x, x));
    Value lin = rewriter.create<arith::MulFOp>(
        loc, delta,
        rewriter.create<arith::SubFOp>(
            loc, a, rewriter.create<arith::MulFOp>(loc, half, delta)));
    Value inside =
        rewriter.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLE, a, delta);
    rewriter.replaceOpWithNewOp<arith::SelectOp>(op, inside, quad, lin);
    return success();
  }
};

} // namespace

void populateGflScalarOpLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerStopGrad, LowerHuber>(patterns.getContext());
}

} // namespace mlir::gfl

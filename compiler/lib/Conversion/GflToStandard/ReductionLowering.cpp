//===- ReductionLowering.cpp - gfl reductions to linalg / scf -------------===//

#include "LoweringUtils.h"
#include "gfl/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::gfl {

namespace {

/// Reduces every dimension of `input` with `combine` into a scalar starting
/// from `init`.
Value reduceAll(OpBuilder &b, Location loc, Value input, Value init,
                function_ref<Value(OpBuilder &, Location, Value, Value)>
                    combine) {
  auto type = cast<RankedTensorType>(input.getType());
  Value initTensor = b.create<tensor::FromElementsOp>(
      loc, RankedTensorType::get({}, init.getType()), ValueRange{init});
  SmallVector<int64_t> dims;
  for (int64_t d = 0; d < type.getRank(); ++d)
    dims.push_back(d);
  auto reduce = b.create<linalg::ReduceOp>(
      loc, ValueRange{input}, ValueRange{initTensor}, dims,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        nb.create<linalg::YieldOp>(nl, combine(nb, nl, args[1], args[0]));
      });
  return b.create<tensor::ExtractOp>(loc, reduce.getResult(0), ValueRange{});
}

/// gfl.reduce -> linalg.reduce (max, then sum of shifted exps, for
/// logsumexp).
struct LowerReduce : OpRewritePattern<ReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReduceOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type elem = op.getType();
    ReduceKind kind = op.getKind();
    if (kind != ReduceKind::LogSumExp) {
      Value init = reductionIdentity(rewriter, loc, kind, elem);
      Value r = reduceAll(rewriter, loc, op.getInput(), init,
                          [&](OpBuilder &b, Location l, Value acc, Value v) {
                            return reductionCombine(b, l, kind, acc, v);
                          });
      rewriter.replaceOp(op, r);
      return success();
    }
    Value negInf = reductionIdentity(rewriter, loc, ReduceKind::Max, elem);
    Value max = reduceAll(rewriter, loc, op.getInput(), negInf,
                          [&](OpBuilder &b, Location l, Value acc, Value v) {
                            return reductionCombine(b, l, ReduceKind::Max, acc,
                                                    v);
                          });
    Value shift = safeMax(rewriter, loc, max);
    Value zero = reductionIdentity(rewriter, loc, ReduceKind::Sum, elem);
    Value sum = reduceAll(
        rewriter, loc, op.getInput(), zero,
        [&](OpBuilder &b, Location l, Value acc, Value v) -> Value {
          Value e =
              b.create<math::ExpOp>(l, b.create<arith::SubFOp>(l, v, shift));
          return b.create<arith::AddFOp>(l, acc, e);
        });
    rewriter.replaceOp(op, logSumExpFinish(rewriter, loc, max, sum));
    return success();
  }
};

/// gfl.range_reduce -> scf.for carrying the accumulator.
struct LowerRangeReduce : OpRewritePattern<RangeReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RangeReduceOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type type = op.getType();
    ReduceKind kind = op.getKind();
    bool isLse = kind == ReduceKind::LogSumExp;
    SmallVector<Value> inits;
    if (isLse) {
      inits.push_back(reductionIdentity(rewriter, loc, ReduceKind::Max, type));
      inits.push_back(reductionIdentity(rewriter, loc, ReduceKind::Sum, type));
    } else {
      inits.push_back(reductionIdentity(rewriter, loc, kind, type));
    }
    Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
    auto loop =
        rewriter.create<scf::ForOp>(loc, op.getLo(), op.getHi(), one, inits);
    Block *body = loop.getBody();
    rewriter.setInsertionPointToStart(body);
    // Move the reduction body into the loop; its yield gives the value.
    Block &src = op.getBody().front();
    auto yield = cast<YieldOp>(src.getTerminator());
    Value v = yield.getValues().front();
    rewriter.inlineBlockBefore(&src, body, body->end(),
                               ValueRange{loop.getInductionVar()});
    rewriter.setInsertionPoint(yield);
    SmallVector<Value> next;
    if (isLse) {
      auto [m, s] = logSumExpStep(rewriter, loc, body->getArgument(1),
                                  body->getArgument(2), v);
      next = {m, s};
    } else {
      next.push_back(
          reductionCombine(rewriter, loc, kind, body->getArgument(1), v));
    }
    rewriter.replaceOpWithNewOp<scf::YieldOp>(yield, next);
    rewriter.setInsertionPointAfter(loop);
    Value result = isLse ? logSumExpFinish(rewriter, loc, loop.getResult(0),
                                           loop.getResult(1))
                         : loop.getResult(0);
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// gfl.logsumexp of scalars: max, then the shifted sum of exps.
struct LowerLogsumexp : OpRewritePattern<LogsumexpOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LogsumexpOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    ValueRange xs = op.getInputs();
    Value max = xs.front();
    for (Value x : xs.drop_front())
      max = rewriter.create<arith::MaximumFOp>(loc, max, x);
    Value shift = safeMax(rewriter, loc, max);
    Value sum;
    for (Value x : xs) {
      Value e = rewriter.create<math::ExpOp>(
          loc, rewriter.create<arith::SubFOp>(loc, x, shift));
      sum = sum ? rewriter.create<arith::AddFOp>(loc, sum, e).getResult() : e;
    }
    rewriter.replaceOp(op, logSumExpFinish(rewriter, loc, max, sum));
    return success();
  }
};

} // namespace

void populateGflReductionLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerReduce, LowerRangeReduce, LowerLogsumexp>(
      patterns.getContext());
}

} // namespace mlir::gfl

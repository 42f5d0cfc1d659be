//===- TensorOpLowering.cpp - gfl tensor ops to linalg / tensor -----------===//

#include "LoweringUtils.h"
#include "gfl/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace mlir::gfl {

namespace {

/// gfl.closure -> Warshall's algorithm as three scf.for loops over the
/// matrix: for k, i, j: r[i, j] |= r[i, k] & r[k, j]. Updating in place is
/// exact because round k leaves row k and column k unchanged.
struct LowerClosure : OpRewritePattern<ClosureOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ClosureOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t n = cast<RankedTensorType>(op.getType()).getDimSize(0);
    Value zero = rewriter.create<arith::ConstantIndexOp>(loc, 0);
    Value size = rewriter.create<arith::ConstantIndexOp>(loc, n);
    Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
    auto loopOver = [&](OpBuilder &b, Value init,
                        function_ref<Value(OpBuilder &, Value, Value)> body) {
      return b
          .create<scf::ForOp>(
              loc, zero, size, one, ValueRange{init},
              [&](OpBuilder &nb, Location, Value iv, ValueRange carried) {
                nb.create<scf::YieldOp>(loc, body(nb, iv, carried.front()));
              })
          .getResult(0);
    };
    Value result = loopOver(
        rewriter, op.getInput(), [&](OpBuilder &bk, Value k, Value rk) {
          return loopOver(bk, rk, [&](OpBuilder &bi, Value i, Value ri) {
            Value ik = bi.create<tensor::ExtractOp>(loc, ri, ValueRange{i, k});
            return loopOver(bi, ri, [&](OpBuilder &bj, Value j, Value rj) {
              Value kj =
                  bj.create<tensor::ExtractOp>(loc, rj, ValueRange{k, j});
              Value ij =
                  bj.create<tensor::ExtractOp>(loc, rj, ValueRange{i, j});
              Value path = bj.create<arith::AndIOp>(loc, ik, kj);
              Value next = bj.create<arith::OrIOp>(loc, ij, path);
              return bj
                  .create<tensor::InsertOp>(loc, next, rj, ValueRange{i, j})
                  .getResult();
            });
          });
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// gfl.onehot -> linalg.generic over the result: 1.0 where the class index
/// (the last loop) equals the input value.
struct LowerOnehot : OpRewritePattern<OnehotOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(OnehotOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    unsigned rank = resultType.getRank();
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineExpr> inputDims;
    for (unsigned d = 0; d + 1 < rank; ++d)
      inputDims.push_back(getAffineDimExpr(d, ctx));
    AffineMap inputMap = AffineMap::get(rank, 0, inputDims, ctx);
    AffineMap outputMap = AffineMap::getMultiDimIdentityMap(rank, ctx);
    Value init = rewriter.create<tensor::EmptyOp>(
        loc, resultType.getShape(), resultType.getElementType());
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    auto generic = rewriter.create<linalg::GenericOp>(
        loc, resultType, ValueRange{op.getInput()}, ValueRange{init},
        ArrayRef<AffineMap>{inputMap, outputMap}, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value k = b.create<linalg::IndexOp>(l, rank - 1);
          Value kv = b.create<arith::IndexCastOp>(l, b.getI32Type(), k);
          Value hit =
              b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, kv, args[0]);
          Value one = b.create<arith::ConstantOp>(l, b.getF32FloatAttr(1.0f));
          Value zero = b.create<arith::ConstantOp>(l, b.getF32FloatAttr(0.0f));
          b.create<linalg::YieldOp>(
              l, ValueRange{b.create<arith::SelectOp>(l, hit, one, zero)});
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// gfl.concat -> tensor.empty plus one tensor.insert_slice per operand.
struct LowerConcat : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Value acc = rewriter.create<tensor::EmptyOp>(loc, type.getShape(),
                                                 type.getElementType());
    int64_t offset = 0;
    for (Value in : op.getInputs()) {
      int64_t size = cast<RankedTensorType>(in.getType()).getDimSize(0);
      acc = rewriter.create<tensor::InsertSliceOp>(
          loc, in, acc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(offset)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(size)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
      offset += size;
    }
    rewriter.replaceOp(op, acc);
    return success();
  }
};

/// gfl.masked_log_softmax -> select / max / sum over the unmasked entries.
struct LowerMaskedLogSoftmax : OpRewritePattern<MaskedLogSoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MaskedLogSoftmaxOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Type f32 = type.getElementType();
    MLIRContext *ctx = rewriter.getContext();
    Value logits = op.getLogits(), mask = op.getMask();
    Value negInf = rewriter.create<arith::ConstantOp>(
        loc, rewriter.getFloatAttr(f32, -std::numeric_limits<double>::infinity()));
    Value zero = rewriter.create<arith::ConstantOp>(
        loc, rewriter.getFloatAttr(f32, 0.0));

    auto scalarTensor = RankedTensorType::get({}, f32);
    AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
    AffineMap toScalar = AffineMap::get(1, 0, {}, ctx);
    auto reduceMasked = [&](Value init,
                            function_ref<Value(OpBuilder &, Location, Value,
                                               Value)>
                                combine) -> Value {
      Value initT = rewriter.create<tensor::FromElementsOp>(
          loc, scalarTensor, ValueRange{init});
      auto g = rewriter.create<linalg::GenericOp>(
          loc, TypeRange{scalarTensor}, ValueRange{logits, mask},
          ValueRange{initT}, ArrayRef<AffineMap>{id, id, toScalar},
          ArrayRef<utils::IteratorType>{utils::IteratorType::reduction},
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value next = combine(b, l, args[2], args[0]);
            b.create<linalg::YieldOp>(
                l, ValueRange{b.create<arith::SelectOp>(l, args[1], next,
                                                        args[2])});
          });
      return rewriter.create<tensor::ExtractOp>(loc, g.getResult(0),
                                                ValueRange{});
    };
    Value max = reduceMasked(negInf, [](OpBuilder &b, Location l, Value acc,
                                        Value x) -> Value {
      return b.create<arith::MaximumFOp>(l, acc, x);
    });
    Value shift = safeMax(rewriter, loc, max);
    Value sum = reduceMasked(zero, [&](OpBuilder &b, Location l, Value acc,
                                       Value x) -> Value {
      Value e = b.create<math::ExpOp>(l, b.create<arith::SubFOp>(l, x, shift));
      return b.create<arith::AddFOp>(l, acc, e);
    });
    Value lse = logSumExpFinish(rewriter, loc, max, sum);
    SmallVector<Value> dynSizes;
    if (type.isDynamicDim(0))
      dynSizes.push_back(rewriter.create<tensor::DimOp>(loc, logits, 0));
    Value init = rewriter.create<tensor::EmptyOp>(loc, type, dynSizes);
    auto out = rewriter.create<linalg::GenericOp>(
        loc, TypeRange{type}, ValueRange{logits, mask}, ValueRange{init},
        ArrayRef<AffineMap>{id, id, id},
        ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value lp = b.create<arith::SubFOp>(l, args[0], lse);
          b.create<linalg::YieldOp>(
              l, ValueRange{b.create<arith::SelectOp>(l, args[1], lp, negInf)});
        });
    rewriter.replaceOp(op, out.getResult(0));
    return success();
  }
};

} // namespace

void populateGflTensorOpLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerOnehot, LowerConcat, LowerMaskedLogSoftmax, LowerClosure>(
      patterns.getContext());
}

} // namespace mlir::gfl

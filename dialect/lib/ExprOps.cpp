//===- ExprOps.cpp - gfl expression ops -----------------------------------===//
//
// gfl.reduce, gfl.range_reduce, gfl.onehot, gfl.concat and
// gfl.masked_log_softmax.
//
//===----------------------------------------------------------------------===//

#include "GflOpsCommon.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::gfl;

//===----------------------------------------------------------------------===//
// ReduceOp
//===----------------------------------------------------------------------===//

void ReduceOp::build(OpBuilder &builder, OperationState &state, ReduceKind kind,
                     Value input) {
  build(builder, state, cast<ShapedType>(input.getType()).getElementType(),
        kind, input);
}

LogicalResult ReduceOp::verify() {
  Type elemType = getInput().getType().getElementType();
  if (getType() != elemType)
    return emitOpError() << "result type " << getType()
                         << " must be the input element type " << elemType;
  return common::verifyReduceKind(*this, getKind(), elemType);
}

//===----------------------------------------------------------------------===//
// RangeReduceOp
//===----------------------------------------------------------------------===//

void RangeReduceOp::build(
    OpBuilder &builder, OperationState &state, Type resultType, ReduceKind kind,
    Value lo, Value hi,
    function_ref<void(OpBuilder &, Location, Value)> bodyBuilder) {
  build(builder, state, resultType, kind, lo, hi);
  OpBuilder::InsertionGuard guard(builder);
  Block *body = builder.createBlock(state.regions.front().get(), {},
                                    {builder.getIndexType()}, {state.location});
  if (bodyBuilder)
    bodyBuilder(builder, state.location, body->getArgument(0));
}

LogicalResult RangeReduceOp::verifyRegions() {
  Block &body = getBody().front();
  if (body.getNumArguments() != 1 || !body.getArgument(0).getType().isIndex())
    return emitOpError() << "body must have exactly one 'index' argument";
  if (failed(common::verifyYieldTypes(*this, getBody(), "body", getType())))
    return failure();
  return common::verifyReduceKind(*this, getKind(), getType());
}

void SeqBuildOp::build(
    OpBuilder &builder, OperationState &state, Type resultType, Value len,
    function_ref<void(OpBuilder &, Location, Value)> bodyBuilder) {
  build(builder, state, resultType, len);
  OpBuilder::InsertionGuard guard(builder);
  Block *body = builder.createBlock(state.regions.front().get(), {},
                                    {builder.getIndexType()}, {state.location});
  if (bodyBuilder)
    bodyBuilder(builder, state.location, body->getArgument(0));
}

LogicalResult SeqBuildOp::verifyRegions() {
  Block &body = getBody().front();
  if (body.getNumArguments() != 1 || !body.getArgument(0).getType().isIndex())
    return emitOpError() << "body must have exactly one 'index' argument";
  return common::verifyYieldTypes(*this, getBody(), "body",
                                  Float32Type::get(getContext()));
}

namespace {
/// Replaces a range_reduce over a constant single-element range [c, c + 1)
/// by its body evaluated at %i = c.
struct InlineSingleIterationRangeReduce
    : public OpRewritePattern<RangeReduceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RangeReduceOp op,
                                PatternRewriter &rewriter) const override {
    APInt lo, hi;
    if (!matchPattern(op.getLo(), m_ConstantInt(&lo)) ||
        !matchPattern(op.getHi(), m_ConstantInt(&hi)))
      return failure();
    if (hi.getSExtValue() != lo.getSExtValue() + 1)
      return failure();
    Block *body = &op.getBody().front();
    auto yield = cast<YieldOp>(body->getTerminator());
    rewriter.inlineBlockBefore(body, op, op.getLo());
    Value result = yield.getValues().front();
    rewriter.replaceOp(op, result);
    rewriter.eraseOp(yield);
    return success();
  }
};
} // namespace

void RangeReduceOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                                MLIRContext *context) {
  patterns.add<InlineSingleIterationRangeReduce>(context);
}

//===----------------------------------------------------------------------===//
// OnehotOp
//===----------------------------------------------------------------------===//

/// Shape of the one-hot encoding of a value of type `inputType`.
static SmallVector<int64_t> getOnehotShape(Type inputType, int64_t classes) {
  SmallVector<int64_t> shape;
  if (auto tensorType = dyn_cast<RankedTensorType>(inputType))
    llvm::append_range(shape, tensorType.getShape());
  shape.push_back(classes);
  return shape;
}

void OnehotOp::build(OpBuilder &builder, OperationState &state, Value input,
                     int64_t classes) {
  auto resultType = RankedTensorType::get(
      getOnehotShape(input.getType(), classes), builder.getF32Type());
  build(builder, state, resultType, input, builder.getI64IntegerAttr(classes));
}

LogicalResult OnehotOp::verify() {
  SmallVector<int64_t> shape =
      getOnehotShape(getInput().getType(), getClassesAttr().getInt());
  if (getType().getShape() != ArrayRef<int64_t>(shape)) {
    auto expected =
        RankedTensorType::get(shape, Float32Type::get(getContext()));
    return emitOpError() << "result type must be " << expected << ", got "
                         << getType();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ClosureOp
//===----------------------------------------------------------------------===//

LogicalResult ClosureOp::verify() {
  auto type = cast<RankedTensorType>(getInput().getType());
  if (!type.hasStaticShape() || type.getDimSize(0) != type.getDimSize(1))
    return emitOpError() << "expects a square matrix with a static shape, got "
                         << type;
  return success();
}

//===----------------------------------------------------------------------===//
// ConcatOp
//===----------------------------------------------------------------------===//

void ConcatOp::build(OpBuilder &builder, OperationState &state,
                     ValueRange inputs) {
  assert(!inputs.empty() && "gfl.concat needs at least one operand");
  int64_t size = 0;
  for (Value input : inputs)
    size += cast<RankedTensorType>(input.getType()).getDimSize(0);
  Type elemType = cast<RankedTensorType>(inputs[0].getType()).getElementType();
  build(builder, state, RankedTensorType::get({size}, elemType), inputs);
}

LogicalResult ConcatOp::verify() {
  // At least one operand: checked by SameOperandsAndResultElementType.
  int64_t size = 0;
  for (Type type : getInputs().getTypes())
    size += cast<RankedTensorType>(type).getDimSize(0);
  if (getType().getDimSize(0) != size)
    return emitOpError() << "result size " << getType().getDimSize(0)
                         << " must equal the sum of the operand sizes (" << size
                         << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// MaskedLogSoftmaxOp
//===----------------------------------------------------------------------===//

void MaskedLogSoftmaxOp::build(OpBuilder &builder, OperationState &state,
                               Value logits, Value mask) {
  build(builder, state, logits.getType(), logits, mask);
}

LogicalResult MaskedLogSoftmaxOp::verify() {
  if (failed(verifyCompatibleShape(getLogits().getType(), getMask().getType())))
    return emitOpError() << "mask type " << getMask().getType()
                         << " is not shape-compatible with logits type "
                         << getLogits().getType();
  if (failed(verifyCompatibleShape(getLogits().getType(), getType())))
    return emitOpError() << "result type " << getType()
                         << " is not shape-compatible with logits type "
                         << getLogits().getType();
  return success();
}

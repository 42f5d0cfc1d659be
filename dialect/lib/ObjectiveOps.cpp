//===- ObjectiveOps.cpp - gfl objective ops -------------------------------===//
//
// gfl.objective, the trajectory/sequence ops and the scalar loss helpers
// (gfl.logsumexp, gfl.stop_grad).
//
//===----------------------------------------------------------------------===//

#include "GflOpsCommon.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mlir::gfl;

//===----------------------------------------------------------------------===//
// ObjectiveOp
//===----------------------------------------------------------------------===//

void ObjectiveOp::build(OpBuilder &builder, OperationState &state,
                        StringRef name, TypeRange extraArgTypes,
                        ArrayAttr defaults) {
  build(builder, state, builder.getStringAttr(name), defaults);
  Block *body = new Block();
  state.regions.front()->push_back(body);
  body->addArgument(TrajType::get(builder.getContext()), state.location);
  for (Type type : extraArgTypes)
    body->addArgument(type, state.location);
}

LogicalResult ObjectiveOp::verifyRegions() {
  Block *body = getBody();
  if (body->getNumArguments() == 0 ||
      !isa<TrajType>(body->getArgument(0).getType()))
    return emitOpError() << "expects a first body argument of type !gfl.traj";
  for (BlockArgument arg : getExtraArgs())
    if (!common::isScalarType(arg.getType()))
      return emitOpError() << "body argument #" << arg.getArgNumber()
                           << " must be an f32, i32 or i1 scalar, got "
                           << arg.getType();
  if (failed(common::verifyYieldTypes(*this, getBodyRegion(), "body",
                                      Float32Type::get(getContext()))))
    return failure();

  std::optional<ArrayAttr> defaults = getDefaults();
  if (!defaults)
    return success();
  size_t numExtra = body->getNumArguments() - 1;
  if (defaults->size() != numExtra)
    return emitOpError() << "has " << defaults->size()
                         << " default value(s) for " << numExtra
                         << " extra argument(s)";
  for (auto [i, value] : llvm::enumerate(defaults->getValue())) {
    Type argType = body->getArgument(i + 1).getType();
    auto typed = dyn_cast<TypedAttr>(value);
    if (!typed || typed.getType() != argType)
      return emitOpError() << "default value #" << i << " (" << value
                           << ") must be a typed attribute of type " << argType
                           << ", the type of body argument #" << i + 1;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// TrajSeqOp, SeqReduceOp
//===----------------------------------------------------------------------===//

void TrajSeqOp::build(OpBuilder &builder, OperationState &state,
                      TrajSeqField field, Value traj) {
  build(builder, state, SeqType::get(builder.getF32Type()), field, traj);
}

void SeqReduceOp::build(OpBuilder &builder, OperationState &state,
                        ReduceKind kind, Value seq) {
  build(builder, state, cast<SeqType>(seq.getType()).getElementType(), kind,
        seq);
}

LogicalResult SeqReduceOp::verify() {
  Type elemType = cast<SeqType>(getSeq().getType()).getElementType();
  if (getType() != elemType)
    return emitOpError() << "result type " << getType()
                         << " must be the sequence element type " << elemType;
  return common::verifyReduceKind(*this, getKind(), elemType,
                                  /*allowFloatProd=*/false);
}

//===----------------------------------------------------------------------===//
// LogsumexpOp, StopGradOp
//===----------------------------------------------------------------------===//

LogicalResult LogsumexpOp::verify() {
  if (getInputs().empty())
    return emitOpError() << "expects at least one operand";
  return success();
}

OpFoldResult LogsumexpOp::fold(FoldAdaptor) {
  if (getInputs().size() == 1)
    return getInputs().front();
  return {};
}

OpFoldResult StopGradOp::fold(FoldAdaptor) {
  // stop_grad(stop_grad(x)) == stop_grad(x).
  if (getInput().getDefiningOp<StopGradOp>())
    return getInput();
  return {};
}

//===- DeriveBackward.cpp - Undo regions from invertible updates ----------===//
//
// The update region of an action yields the next value of every state field.
// Each yielded value is matched against the invertible forms below and the
// inverse is built in the undo region, whose block arguments are the state
// *after* the action followed by the same action parameters.
//
//===----------------------------------------------------------------------===//

#include "gfl/Dialect/GflOps.h"
#include "gfl/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::gfl {

#define GEN_PASS_DEF_DERIVEBACKWARD
#include "gfl/Transforms/Passes.h.inc"

namespace {

/// True when `v`, defined in the single-block region whose first
/// `numStates` arguments are the state, does not depend on the state.
bool isStateIndependent(Value v, unsigned numStates) {
  if (auto arg = dyn_cast<BlockArgument>(v))
    return arg.getArgNumber() >= numStates;
  Operation *op = v.getDefiningOp();
  if (!op || op->getNumRegions() != 0 || !isPure(op))
    return false;
  return llvm::all_of(op->getOperands(), [&](Value o) {
    return isStateIndependent(o, numStates);
  });
}

/// Same computation of the same block arguments, possibly in two regions
/// with the same argument layout.
bool structurallyEqual(Value a, Value b) {
  if (a == b)
    return true;
  auto argA = dyn_cast<BlockArgument>(a), argB = dyn_cast<BlockArgument>(b);
  if (argA || argB)
    return argA && argB && argA.getArgNumber() == argB.getArgNumber();
  Operation *opA = a.getDefiningOp(), *opB = b.getDefiningOp();
  if (opA->getName() != opB->getName() ||
      opA->getNumOperands() != opB->getNumOperands() ||
      opA->getNumRegions() != 0 || opB->getNumRegions() != 0 ||
      cast<OpResult>(a).getResultNumber() !=
          cast<OpResult>(b).getResultNumber() ||
      opA->getAttrDictionary() != opB->getAttrDictionary())
    return false;
  for (auto [x, y] : llvm::zip(opA->getOperands(), opB->getOperands()))
    if (!structurallyEqual(x, y))
      return false;
  return true;
}

/// The leaves of an `arith.andi` tree.
void collectConjuncts(Value v, SmallVectorImpl<Value> &out) {
  if (auto andOp = v.getDefiningOp<arith::AndIOp>()) {
    collectConjuncts(andOp.getLhs(), out);
    collectConjuncts(andOp.getRhs(), out);
    return;
  }
  out.push_back(v);
}

class ActionInverter {
public:
  ActionInverter(ActionOp action, unsigned numStates)
      : action(action), numStates(numStates) {}

  /// Builds the undo region; on failure reports which field is the problem.
  LogicalResult run() {
    Block &update = action.getUpdate().front();
    Block &guard = action.getGuard().front();
    OpBuilder b(action.getContext());
    Block *undo = b.createBlock(&action.getUndo(), {},
                                update.getArgumentTypes(),
                                SmallVector<Location>(update.getNumArguments(),
                                                      action.getLoc()));
    for (unsigned i = 0; i < update.getNumArguments(); ++i) {
      fromUpdate.map(update.getArgument(i), undo->getArgument(i));
      fromGuard.map(guard.getArgument(i), undo->getArgument(i));
    }
    guardConjuncts.clear();
    collectConjuncts(cast<YieldOp>(guard.getTerminator()).getValues().front(),
                     guardConjuncts);

    auto yield = cast<YieldOp>(update.getTerminator());
    SmallVector<Value> previous;
    for (unsigned i = 0; i < numStates; ++i) {
      failedInLoop =
          yield.getValues()[i].getDefiningOp<scf::ForOp>() != nullptr;
      FailureOr<Value> inv =
          invertField(b, yield.getValues()[i], update.getArgument(i),
                      undo->getArgument(i), i);
      if (failed(inv)) {
        action.getUndo().getBlocks().clear();
        return failure();
      }
      previous.push_back(*inv);
    }
    b.create<YieldOp>(action.getLoc(), previous);
    return success();
  }

  unsigned failedField = 0;
  /// The failed field's last update is a `for` loop.
  bool failedInLoop = false;

private:
  /// Clones the state-independent computation of `v` into the undo block.
  Value cloneIndependent(OpBuilder &b, Value v, IRMapping &mapping) {
    if (Value mapped = mapping.lookupOrNull(v))
      return mapped;
    Operation *op = v.getDefiningOp();
    for (Value o : op->getOperands())
      cloneIndependent(b, o, mapping);
    Operation *clone = b.clone(*op, mapping);
    return clone->getResult(cast<OpResult>(v).getResultNumber());
  }

  /// The value the guard requires `read` to equal, when it says so with a
  /// state-independent `k` (`read == k` or `k == read`); for bools also
  /// `read` (true) and `not read` (false). Returns a value from the guard
  /// region, or a constant created in `b`.
  Value guardedOldValue(OpBuilder &b, function_ref<bool(Value)> isRead) {
    for (Value c : guardConjuncts) {
      if (c.getType().isInteger(1) && isRead(c))
        return b.create<arith::ConstantOp>(action.getLoc(), b.getBoolAttr(true));
      if (auto x = c.getDefiningOp<arith::XOrIOp>()) {
        auto isTrue = [](Value v) {
          auto cst = v.getDefiningOp<arith::ConstantOp>();
          auto attr = cst ? dyn_cast<BoolAttr>(cst.getValue()) : BoolAttr();
          if (auto i = cst ? dyn_cast<IntegerAttr>(cst.getValue()) : IntegerAttr())
            return i.getType().isInteger(1) && i.getValue().isAllOnes();
          return attr && attr.getValue();
        };
        if ((isRead(x.getLhs()) && isTrue(x.getRhs())) ||
            (isRead(x.getRhs()) && isTrue(x.getLhs())))
          return b.create<arith::ConstantOp>(action.getLoc(),
                                             b.getBoolAttr(false));
      }
    }
    for (Value c : guardConjuncts) {
      auto cmp = c.getDefiningOp<arith::CmpIOp>();
      if (!cmp || cmp.getPredicate() != arith::CmpIPredicate::eq)
        continue;
      if (isRead(cmp.getLhs()) && isStateIndependent(cmp.getRhs(), numStates))
        return cmp.getRhs();
      if (isRead(cmp.getRhs()) && isStateIndependent(cmp.getLhs(), numStates))
        return cmp.getLhs();
    }
    return {};
  }

  /// `next = old + c` or `old - c`: returns (c, isAdd) when `next` has that
  /// form with `old` satisfying `isOld`.
  std::optional<std::pair<Value, bool>>
  matchOffset(Value next, function_ref<bool(Value)> isOld) {
    Operation *op = next.getDefiningOp();
    if (!op)
      return std::nullopt;
    bool isAdd = isa<arith::AddIOp, arith::AddFOp>(op);
    bool isSub = isa<arith::SubIOp, arith::SubFOp>(op);
    if (!isAdd && !isSub)
      return std::nullopt;
    Value lhs = op->getOperand(0), rhs = op->getOperand(1);
    if (isOld(lhs) && isStateIndependent(rhs, numStates))
      return std::make_pair(rhs, isAdd);
    if (isAdd && isOld(rhs) && isStateIndependent(lhs, numStates))
      return std::make_pair(lhs, true);
    return std::nullopt;
  }

  Value applyOffset(OpBuilder &b, Location loc, Value v, Value c, bool add) {
    bool isFloat = isa<FloatType>(v.getType());
    if (add)
      return isFloat ? b.create<arith::AddFOp>(loc, v, c).getResult()
                     : b.create<arith::AddIOp>(loc, v, c).getResult();
    return isFloat ? b.create<arith::SubFOp>(loc, v, c).getResult()
                   : b.create<arith::SubIOp>(loc, v, c).getResult();
  }

  FailureOr<Value> invertField(OpBuilder &b, Value next, Value old,
                               Value after, unsigned field) {
    failedField = field;
    Location loc = action.getLoc();
    if (next == old)
      return after;
    auto isOld = [&](Value v) { return v == old; };
    // Scalar field: x + c, x - c, or x = v with the guard x == k.
    if (auto off = matchOffset(next, isOld)) {
      Value c = cloneIndependent(b, off->first, fromUpdate);
      return applyOffset(b, loc, after, c, !off->second);
    }
    if (!isa<RankedTensorType>(old.getType())) {
      if (!isStateIndependent(next, numStates))
        return failure();
      Block &guard = action.getGuard().front();
      Value k = guardedOldValue(
          b, [&](Value v) { return v == guard.getArgument(field); });
      if (!k)
        return failure();
      return k.getParentBlock() == &guard ? cloneIndependent(b, k, fromGuard)
                                          : k;
    }
    // Tensor field: x[i] = x[i] +- c, or x[i] = v with the guard x[i] == k.
    auto insert = next.getDefiningOp<tensor::InsertOp>();
    if (!insert || insert.getDest() != old ||
        !llvm::all_of(insert.getIndices(), [&](Value i) {
          return isStateIndependent(i, numStates);
        }))
      return failure();
    auto readsSameElement = [&](Value v, Value tensor) {
      auto extract = v.getDefiningOp<tensor::ExtractOp>();
      if (!extract || extract.getTensor() != tensor ||
          extract.getIndices().size() != insert.getIndices().size())
        return false;
      for (auto [a, c] : llvm::zip(extract.getIndices(), insert.getIndices()))
        if (!structurallyEqual(a, c))
          return false;
      return true;
    };
    SmallVector<Value> indices;
    for (Value i : insert.getIndices())
      indices.push_back(cloneIndependent(b, i, fromUpdate));
    Value scalar = insert.getScalar();
    if (auto off = matchOffset(
            scalar, [&](Value v) { return readsSameElement(v, old); })) {
      Value c = cloneIndependent(b, off->first, fromUpdate);
      Value cur = b.create<tensor::ExtractOp>(loc, after, indices);
      Value prev = applyOffset(b, loc, cur, c, !off->second);
      return b.create<tensor::InsertOp>(loc, prev, after, indices).getResult();
    }
    if (!isStateIndependent(scalar, numStates))
      return failure();
    Block &guard = action.getGuard().front();
    Value k = guardedOldValue(b, [&](Value v) {
      return readsSameElement(v, guard.getArgument(field));
    });
    if (!k)
      return failure();
    Value prev =
        k.getParentBlock() == &guard ? cloneIndependent(b, k, fromGuard) : k;
    return b.create<tensor::InsertOp>(loc, prev, after, indices).getResult();
  }

  ActionOp action;
  unsigned numStates;
  IRMapping fromUpdate, fromGuard;
  SmallVector<Value> guardConjuncts;
};

struct DeriveBackwardPass : impl::DeriveBackwardBase<DeriveBackwardPass> {
  void runOnOperation() override {
    bool failedAny = false;
    getOperation().walk([&](EnvOp env) {
      SmallVector<StateOp, 4> states = env.getStates();
      for (ActionOp action : env.getActions()) {
        if (action.hasUndo())
          continue;
        ActionInverter inverter(action, states.size());
        if (succeeded(inverter.run()))
          continue;
        failedAny = true;
        InFlightDiagnostic diag = action.emitError();
        diag << "cannot derive the backward action of '" << action.getName()
             << "': its update of state '"
             << states[inverter.failedField].getName() << "' ";
        if (inverter.failedInLoop)
          diag << "is made in a 'for' loop, which is not inverted "
               << "automatically";
        else
          diag << "is not an invertible form (x += c, x -= c, or x = v "
               << "where the guard requires x == k)";
        diag << "; write an explicit 'undo { ... }'";
      }
    });
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace

} // namespace mlir::gfl

//===- MLIRGenStmt.cpp - Action bodies to value-semantic state updates ----===//
//
// Statements rewrite the current state values: `x[d] += 1` becomes a
// tensor.extract, an add and a tensor.insert producing the next value of x;
// `if` becomes an scf.if that yields every state field.
//
//===----------------------------------------------------------------------===//

#include "MLIRGenImpl.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <set>

namespace gfl {

using namespace mlir;

void MLIRGenImpl::genStmts(const std::vector<StmtPtr> &stmts) {
  for (const StmtPtr &s : stmts)
    genStmt(*s);
}

void MLIRGenImpl::genStmt(const Stmt &s) {
  switch (s.kind) {
  case StmtKind::Let: {
    const Let &l = static_cast<const LetStmt &>(s).let;
    locals_[&l] = gen(*l.value);
    return;
  }
  case StmtKind::Assign:
    genAssign(static_cast<const AssignStmt &>(s));
    return;
  case StmtKind::If: {
    auto &i = static_cast<const IfStmt &>(s);
    Location l = loc(s.range);
    Value cond = gen(*i.cond);
    SmallVector<mlir::Type> types;
    for (Value v : state_)
      types.push_back(v.getType());
    auto ifOp = b_.create<scf::IfOp>(l, types, cond, /*withElseRegion=*/true);
    std::vector<Value> before = state_;
    {
      OpBuilder::InsertionGuard g(b_);
      b_.setInsertionPointToStart(ifOp.thenBlock());
      genStmts(i.thenBody);
      b_.create<scf::YieldOp>(l, state_);
      state_ = before;
      b_.setInsertionPointToStart(ifOp.elseBlock());
      genStmts(i.elseBody);
      b_.create<scf::YieldOp>(l, state_);
    }
    state_.assign(ifOp.getResults().begin(), ifOp.getResults().end());
    return;
  }
  case StmtKind::For:
    genFor(static_cast<const ForStmt &>(s));
    return;
  }
}

/// The state fields that `stmts` assign, in field order.
static void collectAssignedFields(const std::vector<StmtPtr> &stmts,
                                  std::set<int> &fields) {
  for (const StmtPtr &s : stmts) {
    switch (s->kind) {
    case StmtKind::Let:
      break;
    case StmtKind::Assign: {
      const Expr *root = static_cast<const AssignStmt &>(*s).target.get();
      while (root->kind == ExprKind::Index)
        root = static_cast<const IndexExpr *>(root)->base.get();
      fields.insert(static_cast<const NameExpr *>(root)->binding.index);
      break;
    }
    case StmtKind::If: {
      auto &i = static_cast<const IfStmt &>(*s);
      collectAssignedFields(i.thenBody, fields);
      collectAssignedFields(i.elseBody, fields);
      break;
    }
    case StmtKind::For:
      collectAssignedFields(static_cast<const ForStmt &>(*s).body, fields);
      break;
    }
  }
}

void MLIRGenImpl::genFor(const ForStmt &f) {
  // An scf.for that carries the fields the body assigns; the others are
  // read from outside the loop, so the backward derivation still sees
  // them unchanged.
  Location l = loc(f.range);
  std::set<int> assigned;
  collectAssignedFields(f.body, assigned);
  std::vector<int> carried(assigned.begin(), assigned.end());
  SmallVector<Value> inits;
  for (int field : carried)
    inits.push_back(state_[field]);
  Location il = loc(f.iter.name.range);
  Value lo = toIndex(gen(*f.iter.lo), il);
  Value hi = toIndex(gen(*f.iter.hi), il);
  Value one = b_.create<arith::ConstantIndexOp>(il, 1);
  auto loop = b_.create<scf::ForOp>(l, lo, hi, one, inits);
  std::vector<Value> before = state_;
  {
    OpBuilder::InsertionGuard g(b_);
    b_.setInsertionPointToStart(loop.getBody());
    locals_[&f.iter] = b_.create<arith::IndexCastOp>(il, b_.getI32Type(),
                                                     loop.getInductionVar());
    for (auto [i, field] : llvm::enumerate(carried))
      state_[field] = loop.getRegionIterArg(i);
    genStmts(f.body);
    SmallVector<Value> next;
    for (int field : carried)
      next.push_back(state_[field]);
    b_.create<scf::YieldOp>(l, next);
  }
  // An `if` in the body yields every field; those the loop does not carry
  // keep their values from before it.
  state_ = before;
  for (auto [i, field] : llvm::enumerate(carried))
    state_[field] = loop.getResult(i);
}

void MLIRGenImpl::genAssign(const AssignStmt &a) {
  Location l = loc(a.range);
  // Collect the indices from the root state field outwards: x[i][j] = x[i, j].
  std::vector<const Expr *> indexExprs;
  const Expr *root = a.target.get();
  std::vector<const IndexExpr *> chain;
  while (root->kind == ExprKind::Index) {
    chain.push_back(static_cast<const IndexExpr *>(root));
    root = static_cast<const IndexExpr *>(root)->base.get();
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it)
    for (const ExprPtr &i : (*it)->indices)
      indexExprs.push_back(i.get());
  int field = static_cast<const NameExpr *>(root)->binding.index;
  const ::gfl::Type &targetType = a.target->type;

  Value value = gen(*a.value);
  if (a.op != AssignOp::Set) {
    Value current = gen(*a.target);
    ScalarKind k = targetType.scalar;
    Value rhs = broadcast(convert(value, a.value->type, k, l),
                          targetType.shape, l);
    bool f = k == ScalarKind::Float;
    switch (a.op) {
    case AssignOp::Add:
      value = f ? b_.create<arith::AddFOp>(l, current, rhs).getResult()
                : b_.create<arith::AddIOp>(l, current, rhs).getResult();
      break;
    case AssignOp::Sub:
      value = f ? b_.create<arith::SubFOp>(l, current, rhs).getResult()
                : b_.create<arith::SubIOp>(l, current, rhs).getResult();
      break;
    case AssignOp::Mul:
      value = f ? b_.create<arith::MulFOp>(l, current, rhs).getResult()
                : b_.create<arith::MulIOp>(l, current, rhs).getResult();
      break;
    case AssignOp::Div:
      value = b_.create<arith::DivFOp>(l, current, rhs).getResult();
      break;
    case AssignOp::Set:
      break;
    }
  } else {
    value = broadcast(convert(value, a.value->type, targetType.scalar, l),
                      targetType.shape, l);
  }

  if (indexExprs.empty()) {
    state_[field] = value;
    return;
  }
  SmallVector<Value> indices;
  for (const Expr *i : indexExprs)
    indices.push_back(toIndex(gen(*i), l));
  Value dest = state_[field];
  auto destType = cast<RankedTensorType>(dest.getType());
  if (indices.size() == static_cast<size_t>(destType.getRank())) {
    state_[field] = b_.create<tensor::InsertOp>(l, value, dest, indices);
    return;
  }
  // A partial index writes a slice: offsets [i..., 0...], sizes [1..., rest].
  SmallVector<OpFoldResult> offsets, sizes, strides;
  for (int64_t d = 0; d < destType.getRank(); ++d) {
    bool indexed = d < static_cast<int64_t>(indices.size());
    offsets.push_back(indexed ? OpFoldResult(indices[d])
                              : OpFoldResult(b_.getIndexAttr(0)));
    sizes.push_back(b_.getIndexAttr(indexed ? 1 : destType.getDimSize(d)));
    strides.push_back(b_.getIndexAttr(1));
  }
  state_[field] = b_.create<tensor::InsertSliceOp>(l, value, dest, offsets,
                                                   sizes, strides);
}

} // namespace gfl

//===- KernelBuilder.cpp - Batched kernels from per-state env regions -----===//

#include "KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::gfl {

RankedTensorType batchType(Type rowType) {
  if (auto t = dyn_cast<RankedTensorType>(rowType)) {
    SmallVector<int64_t> shape{ShapedType::kDynamic};
    shape.append(t.getShape().begin(), t.getShape().end());
    return RankedTensorType::get(shape, t.getElementType());
  }
  return RankedTensorType::get({ShapedType::kDynamic}, rowType);
}

Value constI32(OpBuilder &b, Location loc, int64_t v) {
  return b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(v));
}
Value constIndex(OpBuilder &b, Location loc, int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}
Value constF32(OpBuilder &b, Location loc, double v) {
  return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(v));
}
Value constBool(OpBuilder &b, Location loc, bool v) {
  return b.create<arith::ConstantOp>(loc, b.getBoolAttr(v));
}

/// Offsets [b, 0, ...], sizes [1, shape...], strides [1, ...] of a row of
/// `batch`; dynamic row dimensions are read with tensor.dim.
static void rowSlice(OpBuilder &b, Location loc, Value index, Value batch,
                     SmallVectorImpl<OpFoldResult> &offsets,
                     SmallVectorImpl<OpFoldResult> &sizes,
                     SmallVectorImpl<OpFoldResult> &strides) {
  auto type = cast<RankedTensorType>(batch.getType());
  offsets.push_back(index);
  sizes.push_back(b.getIndexAttr(1));
  strides.push_back(b.getIndexAttr(1));
  for (int64_t d = 1; d < type.getRank(); ++d) {
    offsets.push_back(b.getIndexAttr(0));
    if (type.isDynamicDim(d))
      sizes.push_back(b.create<tensor::DimOp>(loc, batch, d).getResult());
    else
      sizes.push_back(b.getIndexAttr(type.getDimSize(d)));
    strides.push_back(b.getIndexAttr(1));
  }
}

func::FuncOp buildKernel(OpBuilder &b, ModuleOp module, Location loc,
                         const KernelSpec &spec) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  SmallVector<Type> args, results;
  for (auto [i, t] : llvm::enumerate(spec.inputRows))
    args.push_back(llvm::is_contained(spec.raggedInputs, i) ? t : batchType(t));
  for (auto [i, t] : llvm::enumerate(spec.scalars))
    args.push_back(llvm::is_contained(spec.bufferedScalars, i)
                       ? RankedTensorType::get({1}, t)
                       : t);
  for (auto [i, t] : llvm::enumerate(spec.outputRows)) {
    Type type = llvm::is_contained(spec.raggedOutputs, i) ? t : batchType(t);
    args.push_back(type);
    results.push_back(type);
  }
  auto func =
      b.create<func::FuncOp>(loc, spec.name, b.getFunctionType(args, results));
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  size_t nIn = spec.inputRows.size(), nScalar = spec.scalars.size();
  for (size_t i = 0; i < args.size(); ++i) {
    bool isOutput = i >= nIn + nScalar;
    if (isa<TensorType>(args[i]))
      func.setArgAttr(i, bufferization::BufferizationDialect::kWritableAttrName,
                      b.getBoolAttr(isOutput));
    if (isOutput)
      func.setArgAttr(i, "gfl.output", b.getUnitAttr());
  }
  for (size_t i = 0; i < spec.argNames.size() && i < args.size(); ++i)
    func.setArgAttr(i, "gfl.name", b.getStringAttr(spec.argNames[i]));
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  ValueRange inputs = entry->getArguments().take_front(nIn);
  ValueRange scalars = entry->getArguments().slice(nIn, nScalar);
  ValueRange outputs = entry->getArguments().drop_front(nIn + nScalar);

  // The batch size comes from the offsets of ragged rows, else from the
  // first output (every kernel has one).
  assert(!spec.outputRows.empty() && "a kernel needs an output");
  Value size =
      spec.offsetsInput
          ? b.create<arith::SubIOp>(
                 loc,
                 b.create<tensor::DimOp>(loc, inputs[*spec.offsetsInput], 0),
                 constIndex(b, loc, 1))
                .getResult()
          : b.create<tensor::DimOp>(loc, outputs.front(), 0).getResult();
  auto forall = b.create<scf::ForallOp>(loc, ArrayRef<OpFoldResult>{size},
                                        ValueRange(outputs), std::nullopt);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(forall.getTerminator());
    Value index = forall.getInductionVars().front();
    // Row `index` of ragged rows: [offsets[index], offsets[index + 1]).
    Value rowStart, rowSize;
    if (spec.offsetsInput) {
      Value offsets = inputs[*spec.offsetsInput];
      auto at = [&](Value i) -> Value {
        return b.create<arith::IndexCastOp>(
            loc, b.getIndexType(),
            b.create<tensor::ExtractOp>(loc, offsets, i));
      };
      rowStart = at(index);
      rowSize = b.create<arith::SubIOp>(
          loc, at(b.create<arith::AddIOp>(loc, index, constIndex(b, loc, 1))),
          rowStart);
    }
    SmallVector<Value> rows;
    for (auto [i, in] : llvm::enumerate(inputs)) {
      auto type = cast<RankedTensorType>(in.getType());
      if (llvm::is_contained(spec.raggedInputs, i)) {
        rows.push_back(b.create<tensor::ExtractSliceOp>(
            loc, in, ArrayRef<OpFoldResult>{rowStart},
            ArrayRef<OpFoldResult>{rowSize},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1)}));
        continue;
      }
      if (type.getRank() == 1) {
        rows.push_back(b.create<tensor::ExtractOp>(loc, in, index));
        continue;
      }
      SmallVector<OpFoldResult> offsets, sizes, strides;
      rowSlice(b, loc, index, in, offsets, sizes, strides);
      auto rowType = RankedTensorType::get(type.getShape().drop_front(),
                                           type.getElementType());
      rows.push_back(b.create<tensor::ExtractSliceOp>(loc, rowType, in, offsets,
                                                      sizes, strides));
    }
    // Buffered scalars are read inside the loop: on a GPU the loop body is
    // the device code.
    SmallVector<Value> scalarValues(scalars.begin(), scalars.end());
    for (unsigned i : spec.bufferedScalars)
      scalarValues[i] = b.create<tensor::ExtractOp>(
          loc, scalars[i], ValueRange{constIndex(b, loc, 0)});
    SmallVector<Value> outRows =
        spec.body(b, loc, index, rows, scalarValues);
    assert(outRows.size() == outputs.size() && "one row per output");
    // Row slices (and the dims they need) are computed before the
    // terminator, whose region may only hold the parallel inserts.
    SmallVector<Value> sources;
    SmallVector<SmallVector<OpFoldResult>> offsetsOf, sizesOf, stridesOf;
    for (auto [i, row, dest] :
         llvm::enumerate(outRows, forall.getRegionIterArgs())) {
      Value src = row;
      if (!isa<RankedTensorType>(row.getType()))
        src = b.create<tensor::FromElementsOp>(
            loc, RankedTensorType::get({1}, row.getType()), ValueRange{row});
      sources.push_back(src);
      if (llvm::is_contained(spec.raggedOutputs, i)) {
        offsetsOf.push_back({rowStart});
        sizesOf.push_back({b.create<tensor::DimOp>(loc, src, 0).getResult()});
        stridesOf.push_back({b.getIndexAttr(1)});
        continue;
      }
      rowSlice(b, loc, index, dest, offsetsOf.emplace_back(),
               sizesOf.emplace_back(), stridesOf.emplace_back());
    }
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    for (auto [i, dest] : llvm::enumerate(forall.getRegionIterArgs()))
      b.create<tensor::ParallelInsertSliceOp>(
          loc, sources[i], dest, offsetsOf[i], sizesOf[i], stridesOf[i]);
  }
  b.create<func::ReturnOp>(loc, forall.getResults());
  return func;
}

SmallVector<Value> inlineRegion(OpBuilder &b, Region &region, ValueRange args) {
  Block &block = region.front();
  IRMapping mapping;
  mapping.map(block.getArguments(), args);
  for (Operation &op : block.without_terminator())
    b.clone(op, mapping);
  SmallVector<Value> results;
  for (Value v : block.getTerminator()->getOperands())
    results.push_back(mapping.lookupOrDefault(v));
  return results;
}

SmallVector<Value> decodeActionParams(OpBuilder &b, Location loc, Value local,
                                      ActionOp action) {
  int64_t n = action.getNumParams();
  SmallVector<Value> params(n);
  Value rest = local;
  for (int64_t i = n - 1; i >= 0; --i) {
    auto [lo, hi] = action.getParamRange(i);
    Value size = constI32(b, loc, hi - lo);
    Value digit = b.create<arith::RemSIOp>(loc, rest, size);
    params[i] = b.create<arith::AddIOp>(loc, digit, constI32(b, loc, lo));
    rest = b.create<arith::DivSIOp>(loc, rest, size);
  }
  return params;
}

ActionLayout getActionLayout(EnvOp env) {
  ActionLayout layout;
  for (ActionOp a : env.getActions()) {
    layout.families.push_back(a);
    layout.offsets.push_back(layout.numBackward);
    layout.numBackward += a.getNumActions();
  }
  layout.hasStop = static_cast<bool>(env.getStop());
  layout.numForward = layout.numBackward + (layout.hasStop ? 1 : 0);
  return layout;
}

Value statesEqual(OpBuilder &b, Location loc, Value x, Value y) {
  auto type = dyn_cast<RankedTensorType>(x.getType());
  Type elem = type ? type.getElementType() : x.getType();
  auto cmp = [&](Value p, Value q) -> Value {
    if (isa<FloatType>(elem))
      return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, p, q);
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, p, q);
  };
  if (!type)
    return cmp(x, y);
  Value eq = cmp(x, y); // elementwise on tensors
  return b.create<ReduceOp>(loc, ReduceKind::All, eq);
}

Value inDomain(OpBuilder &b, Location loc, StateOp state, Value v) {
  if (!state.hasDomain())
    return constBool(b, loc, true);
  auto type = dyn_cast<RankedTensorType>(v.getType());
  auto splat = [&](int64_t c) -> Value {
    Value s = constI32(b, loc, c);
    if (!type)
      return s;
    return b.create<tensor::SplatOp>(loc, s, type);
  };
  Value lo = splat(state.getDomainLoAttr().getInt()),
        hi = splat(state.getDomainHiAttr().getInt());
  Value ok = b.create<arith::AndIOp>(
      loc, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, v, lo),
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, v, hi));
  if (!type)
    return ok;
  return b.create<ReduceOp>(loc, ReduceKind::All, ok);
}

} // namespace mlir::gfl

//===- MLIRGen.cpp - Environments and objectives to gfl ops ---------------===//

#include "MLIRGenImpl.h"
#include "gfl/Compiler/Artifact.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

namespace gfl {

using namespace mlir;

Location MLIRGenImpl::loc(SourceRange r) {
  bool inLibrary = library_ && r.begin.file == library_->id();
  return FileLineColLoc::get(inLibrary ? libraryName_ : fileName_,
                             r.begin.line, r.begin.col);
}

mlir::Type MLIRGenImpl::elemType(ScalarKind k) {
  switch (k) {
  case ScalarKind::Int:
    return b_.getI32Type();
  case ScalarKind::Float:
    return b_.getF32Type();
  case ScalarKind::Bool:
    return b_.getI1Type();
  }
  return {};
}

mlir::Type MLIRGenImpl::mlirType(const ::gfl::Type &t) {
  if (t.kind == TypeKind::Trajectory)
    return mlir::gfl::TrajType::get(&ctx_);
  if (t.kind == TypeKind::Seq)
    return mlir::gfl::SeqType::get(elemType(t.scalar));
  if (t.shape.empty())
    return elemType(t.scalar);
  return RankedTensorType::get(t.shape, elemType(t.scalar));
}

Attribute MLIRGenImpl::constAttr(const ConstValue &v) {
  mlir::Type elem = elemType(v.type.scalar);
  auto one = [&](double d) -> Attribute {
    switch (v.type.scalar) {
    case ScalarKind::Int:
      return b_.getI32IntegerAttr(static_cast<int32_t>(d));
    case ScalarKind::Float:
      return b_.getF32FloatAttr(static_cast<float>(d));
    case ScalarKind::Bool:
      return b_.getBoolAttr(d != 0.0);
    }
    return {};
  };
  if (v.type.shape.empty())
    return one(v.scalar());
  auto type = RankedTensorType::get(v.type.shape, elem);
  SmallVector<Attribute> elems;
  elems.reserve(v.data.size());
  for (double d : v.data)
    elems.push_back(one(d));
  return DenseElementsAttr::get(type, elems);
}

Block *MLIRGenImpl::beginRegion(Region &region, Location l, size_t extraI32Args,
                                bool withConditions) {
  SmallVector<mlir::Type> types;
  for (const StateInfo &s : checked_.env->states)
    types.push_back(mlirType(s.type));
  for (size_t i = 0; i < extraI32Args; ++i)
    types.push_back(b_.getI32Type());
  if (withConditions)
    for (const ConditionInfo &c : checked_.env->conditions)
      types.push_back(mlirType(c.type));
  SmallVector<Location> locs(types.size(), l);
  Block *block = b_.createBlock(&region, {}, types, locs);
  size_t n = checked_.env->states.size();
  state_.assign(block->args_begin(), block->args_begin() + n);
  auto extra = block->getArguments().drop_front(n);
  actionArgs_.assign(extra.begin(), extra.end());
  conditionArgs_.clear();
  if (withConditions)
    std::swap(actionArgs_, conditionArgs_);
  locals_.clear();
  return block;
}

void MLIRGenImpl::genEnv(const EnvInfo &env) {
  const EnvDecl &decl = *env.decl;
  auto envOp = b_.create<mlir::gfl::EnvOp>(loc(decl.name.range), env.name);
  OpBuilder::InsertionGuard guard(b_);
  b_.setInsertionPointToEnd(envOp.getBody());

  for (const StateInfo &s : env.states) {
    IntegerAttr lo, hi;
    if (s.hasDomain) {
      lo = b_.getI64IntegerAttr(static_cast<int64_t>(s.lo));
      hi = b_.getI64IntegerAttr(static_cast<int64_t>(s.hi));
    }
    ConstValue init = s.init;
    b_.create<mlir::gfl::StateOp>(loc(s.decl->range), b_.getStringAttr(s.name),
                            TypeAttr::get(mlirType(s.type)), lo, hi,
                            cast<TypedAttr>(constAttr(init)));
  }
  for (const ConditionInfo &c : env.conditions)
    b_.create<mlir::gfl::ConditionOp>(
        loc(c.decl->range), b_.getStringAttr(c.name),
        TypeAttr::get(mlirType(c.type)), b_.getStringAttr(c.distribution),
        b_.getDenseF64ArrayAttr(c.params), b_.getDenseF64ArrayAttr(c.value));
  for (const ActionInfo &a : env.actions)
    genAction(a);

  if (decl.stop) {
    auto stop = b_.create<mlir::gfl::StopOp>(loc(decl.stop->range));
    if (decl.stop->guard) {
      OpBuilder::InsertionGuard g(b_);
      beginRegion(stop.getGuard(), loc(decl.stop->range));
      Value ok = gen(*decl.stop->guard);
      b_.create<mlir::gfl::YieldOp>(loc(decl.stop->guard->range), ok);
    }
  }
  if (decl.terminal) {
    auto term = b_.create<mlir::gfl::TerminalOp>(loc(decl.terminalRange));
    OpBuilder::InsertionGuard g(b_);
    beginRegion(term.getBody(), loc(decl.terminalRange));
    Value done = gen(*decl.terminal);
    b_.create<mlir::gfl::YieldOp>(loc(decl.terminal->range), done);
  }
  if (decl.rewardModel) {
    // The model's input per state; gfl-run calls the module on a batch.
    auto proxy = b_.create<mlir::gfl::ProxyRewardOp>(
        loc(decl.rewardRange), b_.getStringAttr(env.rewardModelPath),
        b_.getStringAttr(fileSha256(env.rewardModelPath)),
        b_.getI64IntegerAttr(env.rewardModelInputs),
        decl.rewardIsLog ? b_.getUnitAttr() : UnitAttr());
    OpBuilder::InsertionGuard g(b_);
    beginRegion(proxy.getBody(), loc(decl.rewardRange));
    b_.create<mlir::gfl::YieldOp>(loc(decl.reward->range),
                                  genFloatVector(*decl.reward));
  } else {
    auto reward = b_.create<mlir::gfl::LogRewardOp>(loc(decl.rewardRange));
    OpBuilder::InsertionGuard g(b_);
    beginRegion(reward.getBody(), loc(decl.rewardRange), 0,
                /*withConditions=*/true);
    Location l = loc(decl.reward->range);
    Value r = convert(gen(*decl.reward), decl.reward->type, ScalarKind::Float,
                      l);
    // `reward R` is stored as log R; log 0 = -inf marks a zero reward.
    if (!decl.rewardIsLog)
      r = b_.create<math::LogOp>(l, r);
    b_.create<mlir::gfl::YieldOp>(l, r);
  }
  if (decl.stepReward) {
    auto step = b_.create<mlir::gfl::StepRewardOp>(loc(decl.stepRewardRange));
    OpBuilder::InsertionGuard g(b_);
    beginRegion(step.getBody(), loc(decl.stepRewardRange));
    Location l = loc(decl.stepReward->range);
    b_.create<mlir::gfl::YieldOp>(l, convert(gen(*decl.stepReward),
                                             decl.stepReward->type,
                                             ScalarKind::Float, l));
  }
  if (decl.features) {
    auto feats = b_.create<mlir::gfl::FeaturesOp>(
        loc(decl.featuresRange), b_.getI64IntegerAttr(env.featureSize));
    OpBuilder::InsertionGuard g(b_);
    beginRegion(feats.getBody(), loc(decl.featuresRange));
    b_.create<mlir::gfl::YieldOp>(loc(decl.features->range),
                                  genFloatVector(*decl.features));
  }
}

void MLIRGenImpl::genAction(const ActionInfo &a) {
  const ActionDecl &decl = *a.decl;
  SmallVector<int64_t> ranges;
  for (auto [lo, hi] : a.paramRanges) {
    ranges.push_back(lo);
    ranges.push_back(hi);
  }
  Location l = loc(decl.range);
  auto op = b_.create<mlir::gfl::ActionOp>(l, b_.getStringAttr(a.name),
                                     b_.getDenseI64ArrayAttr(ranges));
  OpBuilder::InsertionGuard g(b_);
  size_t nParams = a.paramRanges.size();

  beginRegion(op.getGuard(), l, nParams);
  Value ok = decl.guard ? gen(*decl.guard)
                        : b_.create<arith::ConstantOp>(l, b_.getBoolAttr(true))
                              .getResult();
  b_.create<mlir::gfl::YieldOp>(decl.guard ? loc(decl.guard->range) : l, ok);

  beginRegion(op.getUpdate(), l, nParams);
  genStmts(decl.body);
  b_.create<mlir::gfl::YieldOp>(l, state_);

  if (decl.hasUndo) {
    beginRegion(op.getUndo(), l, nParams);
    genStmts(decl.undo);
    b_.create<mlir::gfl::YieldOp>(l, state_);
  }
}

void MLIRGenImpl::genObjective(const ObjectiveInfo &obj) {
  const ObjectiveDecl &decl = *obj.decl;
  SmallVector<mlir::Type> extra;
  SmallVector<Attribute> defaults;
  bool allDefaults = !obj.scalarParams.empty();
  for (size_t i = 0; i < obj.scalarParams.size(); ++i) {
    extra.push_back(mlirType(obj.scalarParams[i].second));
    if (obj.defaults[i])
      defaults.push_back(constAttr(*obj.defaults[i]));
    else
      allDefaults = false;
  }
  ArrayAttr defaultsAttr = allDefaults ? b_.getArrayAttr(defaults) : ArrayAttr();
  Location l = loc(decl.name.range);
  auto op = b_.create<mlir::gfl::ObjectiveOp>(l, obj.name, extra, defaultsAttr);
  OpBuilder::InsertionGuard g(b_);
  b_.setInsertionPointToEnd(op.getBody());
  objectiveArgs_.assign(op.getBody()->args_begin(), op.getBody()->args_end());
  locals_.clear();
  Location bl = loc(decl.body->range);
  Value loss = convert(gen(*decl.body), decl.body->type, ScalarKind::Float, bl);
  b_.create<mlir::gfl::YieldOp>(bl, loss);
  objectiveArgs_.clear();
}

OwningOpRef<ModuleOp> MLIRGenImpl::generate() {
  ctx_.loadDialect<mlir::gfl::GflDialect, arith::ArithDialect, math::MathDialect,
                   scf::SCFDialect, tensor::TensorDialect>();
  fileName_ = b_.getStringAttr(buffer_.name());
  if (library_)
    libraryName_ = b_.getStringAttr(library_->name());
  auto module = ModuleOp::create(FileLineColLoc::get(fileName_, 1, 1));
  b_.setInsertionPointToEnd(module.getBody());

  // The params, so that later stages (and the artifact) know their values.
  SmallVector<NamedAttribute> params;
  for (const ParamInfo &p : checked_.params)
    params.push_back(b_.getNamedAttr(p.name, constAttr(p.value)));
  module->setAttr("gfl.params", b_.getDictionaryAttr(params));

  if (checked_.train && !checked_.train->objective.empty())
    module->setAttr("gfl.train_objective",
                    b_.getStringAttr(checked_.train->objective));
  if (checked_.env)
    genEnv(*checked_.env);
  for (const ObjectiveInfo &o : checked_.objectives)
    genObjective(o);
  return module;
}

OwningOpRef<ModuleOp> mlirGen(MLIRContext &context, const SourceBuffer &buffer,
                              const CheckedProgram &checked,
                              const SourceBuffer *library) {
  return MLIRGenImpl(context, buffer, checked, library).generate();
}

} // namespace gfl

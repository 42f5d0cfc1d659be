//===- EnvKernels.cpp - The environment kernels and gfl-generate-kernels --===//

#include "EnvKernelGen.h"
#include "gfl/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <cmath>
#include <limits>
#include <numeric>

namespace mlir::gfl {

#define GEN_PASS_DEF_GENERATEKERNELS
#include "gfl/Transforms/Passes.h.inc"

EnvKernelGen::EnvKernelGen(EnvOp env, ModuleOp module)
    : env_(env), module_(module), loc_(env.getLoc()), states_(env.getStates()),
      stateTypes_(env.getStateTypes()), conditions_(env.getConditions()),
      layout_(getActionLayout(env)) {
  for (ConditionOp c : conditions_)
    conditionSize_ += c.getSize();
  // Enumerable: every field an int with a domain or a bool, and the product
  // of the radices fits comfortably in an i64.
  double count = 1;
  enumerable_ = true;
  for (StateOp s : states_) {
    Type t = s.getType();
    auto tensor = dyn_cast<RankedTensorType>(t);
    Type elem = tensor ? tensor.getElementType() : t;
    int64_t numel = tensor ? tensor.getNumElements() : 1;
    double radix;
    if (elem.isInteger(1))
      radix = 2;
    else if (elem.isInteger(32) && s.hasDomain())
      radix = static_cast<double>(s.getDomainHiAttr().getInt() -
                                  s.getDomainLoAttr().getInt());
    else {
      enumerable_ = false;
      break;
    }
    count *= std::pow(radix, static_cast<double>(numel));
  }
  if (enumerable_ && count > std::ldexp(1.0, 62))
    enumerable_ = false;
  stateCount_ = enumerable_ ? static_cast<int64_t>(count) : 0;
}

//===----------------------------------------------------------------------===//
// Row-level pieces
//===----------------------------------------------------------------------===//

Value EnvKernelGen::isTerminal(OpBuilder &b, Location loc, ValueRange states) {
  if (TerminalOp term = env_.getTerminal())
    return inlineRegion(b, term.getBody(), states).front();
  return constBool(b, loc, false);
}

Value EnvKernelGen::familyOf(OpBuilder &b, Location loc, Value action) {
  Value family = constI32(b, loc, -1);
  for (auto [index, offset] : llvm::enumerate(layout_.offsets)) {
    Value past = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, action,
                                         constI32(b, loc, offset));
    family =
        b.create<arith::SelectOp>(loc, past, constI32(b, loc, index), family);
  }
  Value beyond = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, action,
                                         constI32(b, loc, layout_.numBackward));
  family = b.create<arith::SelectOp>(loc, beyond, constI32(b, loc, -1), family);
  return b.create<arith::IndexCastOp>(loc, b.getIndexType(), family);
}

scf::IndexSwitchOp EnvKernelGen::switchOnFamily(
    OpBuilder &b, Location loc, Value action, TypeRange resultTypes,
    ValueRange defaults,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ActionOp,
                                    ValueRange)>
        body) {
  SmallVector<int64_t> cases(layout_.families.size());
  std::iota(cases.begin(), cases.end(), 0);
  auto switchOp = b.create<scf::IndexSwitchOp>(
      loc, resultTypes, familyOf(b, loc, action), cases, cases.size());
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(&switchOp.getDefaultRegion().emplaceBlock());
  b.create<scf::YieldOp>(loc, defaults);
  for (auto [region, op, offset] : llvm::zip(
           switchOp.getCaseRegions(), layout_.families, layout_.offsets)) {
    b.setInsertionPointToStart(&region.emplaceBlock());
    Value local =
        b.create<arith::SubIOp>(loc, action, constI32(b, loc, offset));
    SmallVector<Value> params = decodeActionParams(b, loc, local, op);
    b.create<scf::YieldOp>(loc, body(b, loc, op, params));
  }
  return switchOp;
}

Value EnvKernelGen::fillFamilies(
    OpBuilder &b, Location loc, RankedTensorType rowType,
    function_ref<Value(OpBuilder &, Location, ActionOp, ValueRange)> entry) {
  // The row is filled in a stack buffer by one loop per family and then
  // becomes a tensor. Threading a tensor through the loops instead makes
  // one-shot bufferization quadratic in the number of families (each loop's
  // result aliases every other), which 1,000 families cannot afford.
  auto bufType = MemRefType::get(rowType.getShape(), rowType.getElementType());
  Value buf = b.create<memref::AllocaOp>(loc, bufType);
  Value falseValue = constBool(b, loc, false);
  b.create<scf::ForOp>(loc, constIndex(b, loc, 0),
                       constIndex(b, loc, rowType.getDimSize(0)),
                       constIndex(b, loc, 1), ValueRange{},
                       [&](OpBuilder &nb, Location nl, Value k, ValueRange) {
                         nb.create<memref::StoreOp>(nl, falseValue, buf, k);
                         nb.create<scf::YieldOp>(nl);
                       });
  for (auto [family, offset] : llvm::zip(layout_.families, layout_.offsets)) {
    ActionOp action = family;
    int64_t base = offset;
    b.create<scf::ForOp>(
        loc, constIndex(b, loc, 0), constIndex(b, loc, action.getNumActions()),
        constIndex(b, loc, 1), ValueRange{},
        [&](OpBuilder &nb, Location nl, Value k, ValueRange) {
          Value local = nb.create<arith::IndexCastOp>(nl, nb.getI32Type(), k);
          SmallVector<Value> params = decodeActionParams(nb, nl, local, action);
          Value ok = entry(nb, nl, action, params);
          Value at = nb.create<arith::AddIOp>(nl, k, constIndex(nb, nl, base));
          nb.create<memref::StoreOp>(nl, ok, buf, at);
          nb.create<scf::YieldOp>(nl);
        });
  }
  return b.create<bufferization::ToTensorOp>(loc, rowType, buf,
                                             /*restrict=*/true,
                                             /*writable=*/true);
}

Value EnvKernelGen::forwardMask(OpBuilder &b, Location loc, ValueRange states) {
  auto rowType = RankedTensorType::get({layout_.numForward}, b.getI1Type());
  Value row = fillFamilies(
      b, loc, rowType,
      [&](OpBuilder &nb, Location nl, ActionOp action, ValueRange params) {
        SmallVector<Value> args(states.begin(), states.end());
        args.append(params.begin(), params.end());
        return inlineRegion(nb, action.getGuard(), args).front();
      });
  if (StopOp stop = env_.getStop()) {
    Value ok = stop.hasGuard()
                   ? inlineRegion(b, stop.getGuard(), states).front()
                   : constBool(b, loc, true);
    row = b.create<tensor::InsertOp>(
        loc, ok, row, ValueRange{constIndex(b, loc, layout_.numBackward)});
  }
  // A terminal state allows nothing: its trajectory has ended.
  if (env_.getTerminal()) {
    Value none = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(rowType, false));
    row = b.create<arith::SelectOp>(loc, isTerminal(b, loc, states), none, row);
  }
  return row;
}

Value EnvKernelGen::backwardMask(OpBuilder &b, Location loc,
                                 ValueRange states) {
  auto rowType = RankedTensorType::get(
      {std::max<int64_t>(layout_.numBackward, 1)}, b.getI1Type());
  return fillFamilies(
      b, loc, rowType,
      [&](OpBuilder &nb, Location nl, ActionOp action, ValueRange params) {
        SmallVector<Value> args(states.begin(), states.end());
        args.append(params.begin(), params.end());
        // s' has a parent by this action when s = undo(s') is a valid
        // state, not terminal, allows the action, and steps back to s'.
        SmallVector<Value> prev = inlineRegion(nb, action.getUndo(), args);
        Value ok = constBool(nb, nl, true);
        for (auto [s, v] : llvm::zip(states_, prev))
          ok = nb.create<arith::AndIOp>(nl, ok, inDomain(nb, nl, s, v));
        SmallVector<Value> prevArgs(prev.begin(), prev.end());
        prevArgs.append(params.begin(), params.end());
        Value allowed = inlineRegion(nb, action.getGuard(), prevArgs).front();
        ok = nb.create<arith::AndIOp>(nl, ok, allowed);
        if (env_.getTerminal()) {
          Value term = isTerminal(nb, nl, prev);
          Value notTerm =
              nb.create<arith::XOrIOp>(nl, term, constBool(nb, nl, true));
          ok = nb.create<arith::AndIOp>(nl, ok, notTerm);
        }
        SmallVector<Value> again =
            inlineRegion(nb, action.getUpdate(), prevArgs);
        for (auto [x, y] : llvm::zip(again, states))
          ok = nb.create<arith::AndIOp>(nl, ok, statesEqual(nb, nl, x, y));
        return ok;
      });
}

SmallVector<Value> EnvKernelGen::dispatch(OpBuilder &b, Location loc,
                                          ValueRange states, Value action,
                                          bool backward) {
  auto sw = switchOnFamily(
      b, loc, action, TypeRange(stateTypes_), states,
      [&](OpBuilder &nb, Location nl, ActionOp op, ValueRange params) {
        SmallVector<Value> args(states.begin(), states.end());
        args.append(params.begin(), params.end());
        return inlineRegion(nb, backward ? op.getUndo() : op.getUpdate(), args);
      });
  return SmallVector<Value>(sw.getResults().begin(), sw.getResults().end());
}

SmallVector<Value> EnvKernelGen::step(OpBuilder &b, Location loc,
                                      ValueRange states, Value action) {
  return dispatch(b, loc, states, action, /*backward=*/false);
}

SmallVector<Value> EnvKernelGen::backwardStep(OpBuilder &b, Location loc,
                                              ValueRange states, Value action) {
  return dispatch(b, loc, states, action, /*backward=*/true);
}

Value EnvKernelGen::stepEnds(OpBuilder &b, Location loc, Value action,
                             ValueRange next) {
  Value ends = constBool(b, loc, false);
  if (layout_.hasStop)
    ends = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, action,
                                   constI32(b, loc, layout_.numBackward));
  if (env_.getTerminal())
    ends = b.create<arith::OrIOp>(loc, ends, isTerminal(b, loc, next));
  return ends;
}

Value EnvKernelGen::features(OpBuilder &b, Location loc, ValueRange states) {
  return inlineRegion(b, env_.getFeatures().getBody(), states).front();
}

Value EnvKernelGen::logReward(OpBuilder &b, Location loc, ValueRange states,
                              ValueRange conds) {
  SmallVector<Value> args(states.begin(), states.end());
  args.append(conds.begin(), conds.end());
  return inlineRegion(b, env_.getLogReward().getBody(), args).front();
}

SmallVector<Value> EnvKernelGen::unpackConditions(OpBuilder &b, Location loc,
                                                  Value row) {
  SmallVector<Value> values;
  int64_t offset = 0;
  for (ConditionOp c : conditions_) {
    int64_t size = c.getSize();
    if (isa<RankedTensorType>(c.getType()))
      values.push_back(b.create<tensor::ExtractSliceOp>(
          loc, cast<RankedTensorType>(c.getType()), row,
          ArrayRef<OpFoldResult>{b.getIndexAttr(offset)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(size)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1)}));
    else
      values.push_back(b.create<tensor::ExtractOp>(
          loc, row, ValueRange{constIndex(b, loc, offset)}));
    offset += size;
  }
  return values;
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

void EnvKernelGen::generate(OpBuilder &b) {
  Type i1 = b.getI1Type(), i32 = b.getI32Type(), f32 = b.getF32Type();
  auto add = [&](std::string name, SmallVector<Type> in,
                 SmallVector<Type> scalars, SmallVector<Type> out, RowBody body,
                 SmallVector<std::string> names) {
    buildKernel(b, module_, loc_,
                KernelSpec{"gfl_" + name, std::move(in), std::move(scalars),
                           std::move(out), std::move(body), std::move(names)});
  };
  // Argument names: state fields as `state.NAME` (inputs) and `next.NAME` /
  // `prev.NAME` (outputs).
  auto fields = [&](const char *prefix) {
    SmallVector<std::string> v;
    for (StateOp s : states_)
      v.push_back(std::string(prefix) + "." + s.getName().str());
    return v;
  };
  auto cat = [](SmallVector<std::string> a,
                std::initializer_list<SmallVector<std::string>> rest) {
    for (const auto &r : rest)
      a.append(r.begin(), r.end());
    return a;
  };
  SmallVector<Type> st(stateTypes_.begin(), stateTypes_.end());
  auto withState = [&](std::initializer_list<Type> extra) {
    SmallVector<Type> v = st;
    v.append(extra.begin(), extra.end());
    return v;
  };
  size_t n = st.size();

  add(
      "init", {}, {}, st,
      [&](OpBuilder &nb, Location l, Value, ValueRange, ValueRange) {
        SmallVector<Value> rows;
        for (StateOp s : states_)
          rows.push_back(nb.create<arith::ConstantOp>(l, s.getInit()));
        return rows;
      },
      fields("state"));
  add(
      "terminal", st, {}, {i1},
      [&](OpBuilder &nb, Location l, Value, ValueRange in, ValueRange) {
        return SmallVector<Value>{isTerminal(nb, l, in)};
      },
      cat(fields("state"), {{"terminal"}}));
  add(
      "forward_mask", st, {}, {RankedTensorType::get({layout_.numForward}, i1)},
      [&](OpBuilder &nb, Location l, Value, ValueRange in, ValueRange) {
        return SmallVector<Value>{forwardMask(nb, l, in)};
      },
      cat(fields("state"), {{"mask"}}));
  add(
      "step", withState({i32}), {}, withState({i1}),
      [&](OpBuilder &nb, Location l, Value, ValueRange in, ValueRange) {
        Value action = in.back();
        SmallVector<Value> next = step(nb, l, in.take_front(n), action);
        next.push_back(stepEnds(nb, l, action, next));
        return next;
      },
      cat(fields("state"), {{"action"}, fields("next"), {"done"}}));
  if (layout_.numBackward > 0) {
    add(
        "backward_mask", st, {},
        {RankedTensorType::get({layout_.numBackward}, i1)},
        [&](OpBuilder &nb, Location l, Value, ValueRange in, ValueRange) {
          return SmallVector<Value>{backwardMask(nb, l, in)};
        },
        cat(fields("state"), {{"mask"}}));
    add(
        "backward_step", withState({i32}), {}, st,
        [&](OpBuilder &nb, Location l, Value, ValueRange in, ValueRange) {
          return backwardStep(nb, l, in.take_front(n), in.back());
        },
        cat(fields("state"), {{"action"}, fields("prev")}));
  }
  // With conditions, log R(x | c) also reads a condition row per state. A
  // reward model gets its input per state instead; gfl-run calls it.
  if (ProxyRewardOp proxy = env_.getProxyReward())
    add(
        "proxy_input", st, {},
        {RankedTensorType::get({static_cast<int64_t>(proxy.getSize())}, f32)},
        [&](OpBuilder &nb, Location l, Value, ValueRange in, ValueRange) {
          return SmallVector<Value>{
              inlineRegion(nb, proxy.getBody(), in).front()};
        },
        cat(fields("state"), {{"input"}}));
  else if (conditions_.empty())
    add(
        "log_reward", st, {}, {f32},
        [&](OpBuilder &nb, Location l, Value, ValueRange in, ValueRange) {
          return SmallVector<Value>{logReward(nb, l, in, {})};
        },
        cat(fields("state"), {{"log_reward"}}));
  else
    add(
        "log_reward", withState({RankedTensorType::get({conditionSize_}, f32)}),
        {}, {f32},
        [&](OpBuilder &nb, Location l, Value, ValueRange in, ValueRange) {
          SmallVector<Value> conds = unpackConditions(nb, l, in.back());
          return SmallVector<Value>{logReward(nb, l, in.take_front(n), conds)};
        },
        cat(fields("state"), {{"cond"}, {"log_reward"}}));
  if (!conditions_.empty())
    buildConditionKernel(b);
  if (StepRewardOp stepReward = env_.getStepReward())
    add(
        "step_reward", st, {}, {f32},
        [&](OpBuilder &nb, Location l, Value, ValueRange in, ValueRange) {
          return SmallVector<Value>{
              inlineRegion(nb, stepReward.getBody(), in).front()};
        },
        cat(fields("state"), {{"reward"}}));
  buildPolicyKernels(b);
  buildPolicyStatsKernels(b);
  if (layout_.numBackward > 0)
    buildEdgeFlowKernels(b);
  if (FeaturesOp feats = env_.getFeatures()) {
    add(
        "features", st, {},
        {RankedTensorType::get({static_cast<int64_t>(feats.getSize())}, f32)},
        [&](OpBuilder &nb, Location l, Value, ValueRange in, ValueRange) {
          return SmallVector<Value>{features(nb, l, in)};
        },
        cat(fields("state"), {{"features"}}));
    buildSampleKernel(b);
    if (layout_.numBackward > 0)
      buildBackwardSampleKernel(b);
  }
  buildSamplerKernels(b);
  if (enumerable_)
    buildEnumerationKernels(b);
}

/// log pi(a | s) of a masked log-softmax policy, and its gradient with
/// respect to the logits: d logits = g (onehot(a) - softmax), zero where
/// masked. Rows with action -1 (padding) give 0 and no gradient. The action
/// count is dynamic, so the same kernels serve P_F and P_B.
void EnvKernelGen::buildPolicyKernels(OpBuilder &b) {
  Type f32 = b.getF32Type(), i32 = b.getI32Type(), i1 = b.getI1Type();
  auto logitsRow = RankedTensorType::get({ShapedType::kDynamic}, f32);
  auto maskRow = RankedTensorType::get({ShapedType::kDynamic}, i1);
  auto gather = [](OpBuilder &nb, Location l, Value row,
                   Value action) -> std::pair<Value, Value> {
    Value valid = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::sge, action,
                                           constI32(nb, l, 0));
    Value safe = nb.create<arith::MaxSIOp>(l, action, constI32(nb, l, 0));
    Value idx = nb.create<arith::IndexCastOp>(l, nb.getIndexType(), safe);
    return {valid, nb.create<tensor::ExtractOp>(l, row, idx)};
  };
  buildKernel(b, module_, loc_,
              KernelSpec{"gfl_policy_log_prob",
                         {logitsRow, maskRow, i32},
                         {},
                         {f32},
                         [&](OpBuilder &nb, Location l, Value, ValueRange in,
                             ValueRange) -> SmallVector<Value> {
                           Value lp =
                               nb.create<MaskedLogSoftmaxOp>(l, in[0], in[1]);
                           auto [valid, v] = gather(nb, l, lp, in[2]);
                           return {nb.create<arith::SelectOp>(
                               l, valid, v, constF32(nb, l, 0.0))};
                         },
                         {"logits", "mask", "action", "log_prob"}});
  buildKernel(
      b, module_, loc_,
      KernelSpec{
          "gfl_policy_log_prob_grad",
          {logitsRow, maskRow, i32, f32},
          {},
          {logitsRow},
          [&](OpBuilder &nb, Location l, Value, ValueRange in,
              ValueRange) -> SmallVector<Value> {
            Value lp = nb.create<MaskedLogSoftmaxOp>(l, in[0], in[1]);
            Value size = nb.create<tensor::DimOp>(l, in[0], 0);
            Value valid = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::sge,
                                                   in[2], constI32(nb, l, 0));
            Value g = nb.create<arith::SelectOp>(l, valid, in[3],
                                                 constF32(nb, l, 0.0));
            Value gs =
                nb.create<tensor::SplatOp>(l, g, logitsRow, ValueRange{size});
            Value p = nb.create<math::ExpOp>(l, lp);
            Value d =
                nb.create<arith::NegFOp>(l, nb.create<arith::MulFOp>(l, gs, p));
            Value safe =
                nb.create<arith::MaxSIOp>(l, in[2], constI32(nb, l, 0));
            Value idx =
                nb.create<arith::IndexCastOp>(l, nb.getIndexType(), safe);
            Value cur = nb.create<tensor::ExtractOp>(l, d, idx);
            Value next = nb.create<arith::AddFOp>(l, cur, g);
            return {nb.create<tensor::InsertOp>(l, next, d, idx)};
          },
          {"logits", "mask", "action", "d_log_prob", "d_logits"}});
}

namespace {

/// Max, normalizer and E_p[x] of the masked softmax of a dynamic row: the
/// three passes over the row that the policy statistics need.
struct SoftmaxMoments {
  Value lse;     // log sum exp over the allowed entries (0 when none)
  Value mean;    // sum_j p_j x_j (0 when none)
  Value allowed; // i1: some entry is allowed
};

SoftmaxMoments softmaxMoments(OpBuilder &b, Location l, Value logits,
                              Value mask) {
  Value size = b.create<tensor::DimOp>(l, logits, 0);
  Value negInf = constF32(b, l, -std::numeric_limits<double>::infinity());
  Value zero = constF32(b, l, 0.0);
  auto at = [](OpBuilder &ob, Location ol, Value t, Value k) -> Value {
    return ob.create<tensor::ExtractOp>(ol, t, k);
  };
  auto maxLoop = b.create<scf::ForOp>(
      l, constIndex(b, l, 0), size, constIndex(b, l, 1), ValueRange{negInf},
      [&](OpBuilder &ob, Location ol, Value k, ValueRange acc) {
        Value m = ob.create<arith::SelectOp>(
            ol, at(ob, ol, mask, k),
            ob.create<arith::MaximumFOp>(ol, acc[0], at(ob, ol, logits, k)),
            acc[0]);
        ob.create<scf::YieldOp>(ol, ValueRange{m});
      });
  Value m = maxLoop.getResult(0);
  Value allowed =
      b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, m, negInf);
  Value safeMax = b.create<arith::SelectOp>(l, allowed, m, zero);
  auto sumLoop = b.create<scf::ForOp>(
      l, constIndex(b, l, 0), size, constIndex(b, l, 1), ValueRange{zero, zero},
      [&](OpBuilder &ob, Location ol, Value k, ValueRange acc) {
        Value x = at(ob, ol, logits, k);
        Value e = ob.create<math::ExpOp>(
            ol, ob.create<arith::SubFOp>(ol, x, safeMax));
        Value ok = at(ob, ol, mask, k);
        Value s = ob.create<arith::SelectOp>(
            ol, ok, ob.create<arith::AddFOp>(ol, acc[0], e), acc[0]);
        Value w = ob.create<arith::SelectOp>(
            ol, ok,
            ob.create<arith::AddFOp>(ol, acc[1],
                                     ob.create<arith::MulFOp>(ol, e, x)),
            acc[1]);
        ob.create<scf::YieldOp>(ol, ValueRange{s, w});
      });
  Value sum = sumLoop.getResult(0);
  Value safeSum =
      b.create<arith::SelectOp>(l, allowed, sum, constF32(b, l, 1.0));
  SoftmaxMoments r;
  r.allowed = allowed;
  r.lse = b.create<arith::SelectOp>(
      l, allowed,
      b.create<arith::AddFOp>(l, safeMax, b.create<math::LogOp>(l, safeSum)),
      zero);
  r.mean = b.create<arith::SelectOp>(
      l, allowed, b.create<arith::DivFOp>(l, sumLoop.getResult(1), safeSum),
      zero);
  return r;
}

} // namespace

/// Statistics of a masked softmax policy for update rules: the logit of
/// the taken action (Q(s, a) when the logits are Q-values; 0 for action
/// -1), the log-normalizer logsumexp over the allowed actions (the soft
/// value), and the entropy; 0 for both where no action is allowed. The
/// gradient kernel takes the three adjoints.
void EnvKernelGen::buildPolicyStatsKernels(OpBuilder &b) {
  Type f32 = b.getF32Type(), i32 = b.getI32Type(), i1 = b.getI1Type();
  auto logitsRow = RankedTensorType::get({ShapedType::kDynamic}, f32);
  auto maskRow = RankedTensorType::get({ShapedType::kDynamic}, i1);
  auto takenLogit = [](OpBuilder &nb, Location l, Value logits,
                       Value action) -> Value {
    Value valid = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::sge, action,
                                           constI32(nb, l, 0));
    Value safe = nb.create<arith::MaxSIOp>(l, action, constI32(nb, l, 0));
    Value idx = nb.create<arith::IndexCastOp>(l, nb.getIndexType(), safe);
    Value x = nb.create<tensor::ExtractOp>(l, logits, ValueRange{idx});
    return nb.create<arith::SelectOp>(l, valid, x, constF32(nb, l, 0.0));
  };
  buildKernel(
      b, module_, loc_,
      KernelSpec{"gfl_policy_stats",
                 {logitsRow, maskRow, i32},
                 {},
                 {f32, f32, f32},
                 [&](OpBuilder &nb, Location l, Value, ValueRange in,
                     ValueRange) -> SmallVector<Value> {
                   SoftmaxMoments m = softmaxMoments(nb, l, in[0], in[1]);
                   Value entropy = nb.create<arith::SubFOp>(l, m.lse, m.mean);
                   return {takenLogit(nb, l, in[0], in[2]), m.lse, entropy};
                 },
                 {"logits", "mask", "action", "logit", "log_norm", "entropy"}});
  buildKernel(
      b, module_, loc_,
      KernelSpec{
          "gfl_policy_stats_grad",
          {logitsRow, maskRow, i32, f32, f32, f32},
          {},
          {logitsRow},
          [&](OpBuilder &nb, Location l, Value, ValueRange in,
              ValueRange) -> SmallVector<Value> {
            Value logits = in[0], mask = in[1], action = in[2];
            Value dLogit = in[3], dNorm = in[4], dEntropy = in[5];
            SoftmaxMoments m = softmaxMoments(nb, l, logits, mask);
            Value size = nb.create<tensor::DimOp>(l, logits, 0);
            Value init = nb.create<tensor::SplatOp>(
                l, constF32(nb, l, 0.0), logitsRow, ValueRange{size});
            // d x_j = p_j (d_norm - d_entropy (x_j - E[x])) + [j = a] d_logit
            auto loop = nb.create<scf::ForOp>(
                l, constIndex(nb, l, 0), size, constIndex(nb, l, 1),
                ValueRange{init},
                [&](OpBuilder &ob, Location ol, Value k, ValueRange acc) {
                  Value x = ob.create<tensor::ExtractOp>(ol, logits, k);
                  Value ok = ob.create<tensor::ExtractOp>(ol, mask, k);
                  Value p = ob.create<math::ExpOp>(
                      ol, ob.create<arith::SubFOp>(ol, x, m.lse));
                  Value centred = ob.create<arith::SubFOp>(ol, x, m.mean);
                  Value g = ob.create<arith::MulFOp>(
                      ol, p,
                      ob.create<arith::SubFOp>(
                          ol, dNorm,
                          ob.create<arith::MulFOp>(ol, dEntropy, centred)));
                  g = ob.create<arith::SelectOp>(ol, ok, g,
                                                 constF32(ob, ol, 0.0));
                  Value k32 =
                      ob.create<arith::IndexCastOp>(ol, ob.getI32Type(), k);
                  Value taken = ob.create<arith::CmpIOp>(
                      ol, arith::CmpIPredicate::eq, k32, action);
                  g = ob.create<arith::AddFOp>(
                      ol, g,
                      ob.create<arith::SelectOp>(ol, taken, dLogit,
                                                 constF32(ob, ol, 0.0)));
                  ob.create<scf::YieldOp>(
                      ol, ValueRange{
                              ob.create<tensor::InsertOp>(ol, g, acc[0], k)});
                });
            return {loop.getResult(0)};
          },
          {"logits", "mask", "action", "d_logit", "d_log_norm", "d_entropy",
           "d_logits"}});
}

/// Mixed-radix code of the state: fields in order, elements row-major, the
/// first element most significant.
void EnvKernelGen::buildEnumerationKernels(OpBuilder &b) {
  Type i64 = b.getI64Type();
  struct Digit {
    int64_t lo, radix;
  };
  auto digitOf = [](StateOp s) {
    Type t = s.getType();
    auto tensor = dyn_cast<RankedTensorType>(t);
    Type elem = tensor ? tensor.getElementType() : t;
    if (elem.isInteger(1))
      return Digit{0, 2};
    return Digit{s.getDomainLoAttr().getInt(),
                 s.getDomainHiAttr().getInt() - s.getDomainLoAttr().getInt()};
  };
  // Element access on a field as i64 digits; tensors are flattened.
  auto flat = [](OpBuilder &nb, Location l, Value v) -> Value {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t)
      return nb.create<tensor::FromElementsOp>(
          l, RankedTensorType::get({1}, v.getType()), ValueRange{v});
    if (t.getRank() == 1)
      return v;
    ReassociationIndices all;
    for (int64_t d = 0; d < t.getRank(); ++d)
      all.push_back(d);
    return nb.create<tensor::CollapseShapeOp>(
        l, RankedTensorType::get({t.getNumElements()}, t.getElementType()), v,
        ArrayRef<ReassociationIndices>{all});
  };

  buildKernel(
      b, module_, loc_,
      KernelSpec{
          "gfl_state_index",
          SmallVector<Type>(stateTypes_),
          {},
          {i64},
          [&](OpBuilder &nb, Location l, Value, ValueRange in, ValueRange) {
            Value code =
                nb.create<arith::ConstantOp>(l, nb.getI64IntegerAttr(0));
            for (auto [s, v] : llvm::zip(states_, in)) {
              Digit d = digitOf(s);
              Value f = flat(nb, l, v);
              int64_t numel =
                  cast<RankedTensorType>(f.getType()).getNumElements();
              auto loop = nb.create<scf::ForOp>(
                  l, constIndex(nb, l, 0), constIndex(nb, l, numel),
                  constIndex(nb, l, 1), ValueRange{code},
                  [&](OpBuilder &lb, Location ll, Value k, ValueRange acc) {
                    Value x = lb.create<tensor::ExtractOp>(ll, f, k);
                    Value x64 =
                        x.getType().isInteger(1)
                            ? lb.create<arith::ExtUIOp>(ll, lb.getI64Type(), x)
                                  .getResult()
                            : lb.create<arith::ExtSIOp>(ll, lb.getI64Type(), x)
                                  .getResult();
                    Value digit = lb.create<arith::SubIOp>(
                        ll, x64,
                        lb.create<arith::ConstantOp>(
                            ll, lb.getI64IntegerAttr(d.lo)));
                    Value scaled = lb.create<arith::MulIOp>(
                        ll, acc[0],
                        lb.create<arith::ConstantOp>(
                            ll, lb.getI64IntegerAttr(d.radix)));
                    lb.create<scf::YieldOp>(
                        ll, ValueRange{
                                lb.create<arith::AddIOp>(ll, scaled, digit)});
                  });
              code = loop.getResult(0);
            }
            // A state outside its fields' domains has no code: -1, which
            // the runtime reports (an action that leaves the domain).
            Value valid = constBool(nb, l, true);
            for (auto [s, v] : llvm::zip(states_, in))
              valid = nb.create<arith::AndIOp>(l, valid, inDomain(nb, l, s, v));
            code = nb.create<arith::SelectOp>(
                l, valid, code,
                nb.create<arith::ConstantOp>(l, nb.getI64IntegerAttr(-1)));
            return SmallVector<Value>{code};
          },
          [&] {
            SmallVector<std::string> v;
            for (StateOp s : states_)
              v.push_back("state." + s.getName().str());
            v.push_back("index");
            return v;
          }()});

  buildKernel(
      b, module_, loc_,
      KernelSpec{
          "gfl_state_decode",
          {i64},
          {},
          SmallVector<Type>(stateTypes_),
          [&](OpBuilder &nb, Location l, Value, ValueRange in, ValueRange) {
            Value rest = in.front();
            SmallVector<Value> fields(states_.size());
            // Least significant digits first: last field, last element.
            for (int64_t i = static_cast<int64_t>(states_.size()) - 1; i >= 0;
                 --i) {
              StateOp s = states_[i];
              Digit d = digitOf(s);
              Type t = s.getType();
              auto tensor = dyn_cast<RankedTensorType>(t);
              Type elem = tensor ? tensor.getElementType() : t;
              int64_t numel = tensor ? tensor.getNumElements() : 1;
              auto flatType = RankedTensorType::get({numel}, elem);
              Value init =
                  nb.create<tensor::EmptyOp>(l, flatType.getShape(), elem);
              auto loop = nb.create<scf::ForOp>(
                  l, constIndex(nb, l, 0), constIndex(nb, l, numel),
                  constIndex(nb, l, 1), ValueRange{rest, init},
                  [&](OpBuilder &lb, Location ll, Value k, ValueRange acc) {
                    Value radix = lb.create<arith::ConstantOp>(
                        ll, lb.getI64IntegerAttr(d.radix));
                    Value digit = lb.create<arith::RemSIOp>(ll, acc[0], radix);
                    Value next = lb.create<arith::DivSIOp>(ll, acc[0], radix);
                    Value v = lb.create<arith::AddIOp>(
                        ll, digit,
                        lb.create<arith::ConstantOp>(
                            ll, lb.getI64IntegerAttr(d.lo)));
                    Value x = lb.create<arith::TruncIOp>(ll, elem, v);
                    Value pos = lb.create<arith::SubIOp>(
                        ll, constIndex(lb, ll, numel - 1), k);
                    Value out = lb.create<tensor::InsertOp>(ll, x, acc[1], pos);
                    lb.create<scf::YieldOp>(ll, ValueRange{next, out});
                  });
              rest = loop.getResult(0);
              Value field = loop.getResult(1);
              if (!tensor) {
                field = nb.create<tensor::ExtractOp>(
                    l, field, ValueRange{constIndex(nb, l, 0)});
              } else if (tensor.getRank() > 1) {
                ReassociationIndices all;
                for (int64_t dd = 0; dd < tensor.getRank(); ++dd)
                  all.push_back(dd);
                field = nb.create<tensor::ExpandShapeOp>(
                    l, tensor, field, ArrayRef<ReassociationIndices>{all});
              }
              fields[i] = field;
            }
            return fields;
          },
          [&] {
            SmallVector<std::string> v{"index"};
            for (StateOp s : states_)
              v.push_back("state." + s.getName().str());
            return v;
          }()});
}

//===----------------------------------------------------------------------===//
// Safe indexing and the pass
//===----------------------------------------------------------------------===//

namespace {

/// Clamps a dynamic index into [0, size): reads and writes at indices
/// computed from state values (`bits[len]`) stay in bounds even for the
/// invalid states that masks evaluate.
Value clampIndex(OpBuilder &b, Location loc, Value index, int64_t size) {
  Value zero = constIndex(b, loc, 0);
  Value last = constIndex(b, loc, size - 1);
  return b.create<arith::MinSIOp>(
      loc, b.create<arith::MaxSIOp>(loc, index, zero), last);
}

Value indexInBounds(OpBuilder &b, Location loc, Value index, int64_t size) {
  return b.create<arith::AndIOp>(
      loc,
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, index,
                              constIndex(b, loc, 0)),
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, index,
                              constIndex(b, loc, size)));
}

/// Out-of-range reads give the nearest element; out-of-range writes leave
/// the tensor unchanged.
/// A constant index inside [0, size) needs no guard; any other index (a
/// constant outside, from a `let`, included) is clamped or guarded.
bool constantInBounds(Value index, int64_t size) {
  APInt value;
  return matchPattern(index, m_ConstantInt(&value)) &&
         value.getSExtValue() >= 0 && value.getSExtValue() < size;
}

void makeIndexingSafe(func::FuncOp func) {
  OpBuilder b(func.getContext());
  func.walk([&](tensor::ExtractOp op) {
    auto type = op.getTensor().getType();
    if (!type.hasStaticShape())
      return;
    b.setInsertionPoint(op);
    for (OpOperand &idx : op.getIndicesMutable()) {
      unsigned d = idx.getOperandNumber() - 1;
      if (constantInBounds(idx.get(), type.getDimSize(d)))
        continue;
      idx.set(clampIndex(b, op.getLoc(), idx.get(), type.getDimSize(d)));
    }
  });
  func.walk([&](tensor::InsertOp op) {
    auto type = op.getDest().getType();
    if (!type.hasStaticShape())
      return;
    b.setInsertionPoint(op);
    Value ok = constBool(b, op.getLoc(), true);
    bool dynamic = false;
    for (OpOperand &idx : op.getIndicesMutable()) {
      unsigned d = idx.getOperandNumber() - 2;
      int64_t size = type.getDimSize(d);
      if (constantInBounds(idx.get(), size))
        continue;
      dynamic = true;
      ok = b.create<arith::AndIOp>(
          op.getLoc(), ok, indexInBounds(b, op.getLoc(), idx.get(), size));
      idx.set(clampIndex(b, op.getLoc(), idx.get(), size));
    }
    if (!dynamic)
      return;
    Value old =
        b.create<tensor::ExtractOp>(op.getLoc(), op.getDest(), op.getIndices());
    Value v = b.create<arith::SelectOp>(op.getLoc(), ok, op.getScalar(), old);
    op.getScalarMutable().set(v);
  });
}

struct GenerateKernelsPass : impl::GenerateKernelsBase<GenerateKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<EnvOp> envs(module.getOps<EnvOp>());
    if (envs.size() > 1) {
      envs[1].emitError() << "only one gfl.env per module is supported";
      return signalPassFailure();
    }
    if (envs.empty())
      return;
    EnvOp env = envs.front();
    for (ActionOp action : env.getActions()) {
      if (!action.hasUndo()) {
        action.emitError() << "action '" << action.getName()
                           << "' has no undo region; run gfl-derive-backward "
                              "first";
        return signalPassFailure();
      }
    }
    OpBuilder b(module.getContext());
    EnvKernelGen gen(env, module);
    gen.generate(b);
    // Record what the runtime needs to know about the env on the module.
    ActionLayout layout = getActionLayout(env);
    module->setAttr("gfl.num_actions", b.getI64IntegerAttr(layout.numForward));
    module->setAttr("gfl.num_backward_actions",
                    b.getI64IntegerAttr(layout.numBackward));
    if (gen.enumerable())
      module->setAttr("gfl.state_count", b.getI64IntegerAttr(gen.stateCount()));
    env.erase();
    for (auto func : module.getOps<func::FuncOp>())
      makeIndexingSafe(func);
  }
};

} // namespace

} // namespace mlir::gfl

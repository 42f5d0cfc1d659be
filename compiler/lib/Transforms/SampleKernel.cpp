//===- SampleKernel.cpp - The fused sampling step and Philox --------------===//
//
// gfl_sample_step, for each trajectory that has not ended:
//   mask the policy logits, scale by 1/temperature, log-softmax, mix with the
//   uniform distribution over valid actions (epsilon), draw one uniform from
//   Philox-4x32-10 keyed by (seed; trajectory, step, iteration, stream),
//   invert the CDF, gather the log-probabilities of the chosen action, apply
//   the step, flag the end of the trajectory and write the next state's
//   features.
//
//===----------------------------------------------------------------------===//

#include "EnvKernelGen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

namespace mlir::gfl {

Value philoxUniform(OpBuilder &b, Location loc, Value seed, Value iteration,
                    Value trajectory, Value step, Value stream) {
  Type i32 = b.getI32Type();
  auto lo = [&](Value v64) -> Value {
    return b.create<arith::TruncIOp>(loc, i32, v64);
  };
  auto hi = [&](Value v64) -> Value {
    Value shifted = b.create<arith::ShRUIOp>(
        loc, v64, b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(32)));
    return b.create<arith::TruncIOp>(loc, i32, shifted);
  };
  auto c32 = [&](uint32_t v) -> Value {
    return b.create<arith::ConstantOp>(
        loc, b.getI32IntegerAttr(static_cast<int32_t>(v)));
  };
  Value traj64 =
      b.create<arith::IndexCastUIOp>(loc, b.getI64Type(), trajectory);
  // The stream goes into bits 16.. of the iteration's high word: stream 0
  // gives the numbers of the forward sampler, and iterations stay distinct
  // below 2^48.
  Value streamBits = b.create<arith::ShLIOp>(loc, lo(stream), c32(16));
  Value ctr[4] = {lo(traj64), lo(step), lo(iteration),
                  b.create<arith::XOrIOp>(loc, hi(iteration), streamBits)};
  Value key[2] = {lo(seed), hi(seed)};
  Value m0 = c32(0xD2511F53u), m1 = c32(0xCD9E8D57u);
  Value w0 = c32(0x9E3779B9u), w1 = c32(0xBB67AE85u);
  for (int round = 0; round < 10; ++round) {
    auto p0 = b.create<arith::MulUIExtendedOp>(loc, m0, ctr[0]);
    auto p1 = b.create<arith::MulUIExtendedOp>(loc, m1, ctr[2]);
    Value n0 = b.create<arith::XOrIOp>(
        loc, b.create<arith::XOrIOp>(loc, p1.getHigh(), ctr[1]), key[0]);
    Value n2 = b.create<arith::XOrIOp>(
        loc, b.create<arith::XOrIOp>(loc, p0.getHigh(), ctr[3]), key[1]);
    ctr[0] = n0;
    ctr[1] = p1.getLow();
    ctr[2] = n2;
    ctr[3] = p0.getLow();
    key[0] = b.create<arith::AddIOp>(loc, key[0], w0);
    key[1] = b.create<arith::AddIOp>(loc, key[1], w1);
  }
  // The top 24 bits of the first word, scaled into [0, 1).
  Value bits = b.create<arith::ShRUIOp>(loc, ctr[0], c32(8));
  Value f = b.create<arith::UIToFPOp>(loc, b.getF32Type(), bits);
  return b.create<arith::MulFOp>(loc, f, constF32(b, loc, 1.0 / 16777216.0));
}

Value globalRow(OpBuilder &b, Location loc, Value index, Value first) {
  return b.create<arith::AddIOp>(
      loc, index, b.create<arith::IndexCastOp>(loc, b.getIndexType(), first));
}

CategoricalDraw drawCategorical(OpBuilder &nb, Location l, Value logits,
                                Value mask, int64_t numActions, Value u,
                                Value epsilon, Value temperature) {
  Value negInf = constF32(nb, l, -std::numeric_limits<double>::infinity());
  Value zero = constF32(nb, l, 0), one = constF32(nb, l, 1);
  Value invT = nb.create<arith::DivFOp>(l, one, temperature);
  Value lb = constIndex(nb, l, 0), ub = constIndex(nb, l, numActions),
        stepIdx = constIndex(nb, l, 1);
  auto at = [&](OpBuilder &ob, Location ol, Value t, Value k) -> Value {
    return ob.create<tensor::ExtractOp>(ol, t, k);
  };
  // Pass 1: maxima of the valid logits (raw and tempered), valid count.
  auto maxLoop = nb.create<scf::ForOp>(
      l, lb, ub, stepIdx, ValueRange{negInf, negInf, zero},
      [&](OpBuilder &ob, Location ol, Value k, ValueRange acc) {
        Value valid = at(ob, ol, mask, k);
        Value x = at(ob, ol, logits, k);
        Value xt = ob.create<arith::MulFOp>(ol, x, invT);
        Value m1 = ob.create<arith::SelectOp>(
            ol, valid, ob.create<arith::MaximumFOp>(ol, acc[0], x), acc[0]);
        Value m2 = ob.create<arith::SelectOp>(
            ol, valid, ob.create<arith::MaximumFOp>(ol, acc[1], xt), acc[1]);
        Value c = ob.create<arith::SelectOp>(
            ol, valid, ob.create<arith::AddFOp>(ol, acc[2], one), acc[2]);
        ob.create<scf::YieldOp>(ol, ValueRange{m1, m2, c});
      });
  Value max1 = maxLoop.getResult(0), max2 = maxLoop.getResult(1),
        count = maxLoop.getResult(2);
  // Pass 2: normalizers.
  auto sumLoop = nb.create<scf::ForOp>(
      l, lb, ub, stepIdx, ValueRange{zero, zero},
      [&](OpBuilder &ob, Location ol, Value k, ValueRange acc) {
        Value valid = at(ob, ol, mask, k);
        Value x = at(ob, ol, logits, k);
        Value xt = ob.create<arith::MulFOp>(ol, x, invT);
        Value e1 =
            ob.create<math::ExpOp>(ol, ob.create<arith::SubFOp>(ol, x, max1));
        Value e2 =
            ob.create<math::ExpOp>(ol, ob.create<arith::SubFOp>(ol, xt, max2));
        Value s1 = ob.create<arith::SelectOp>(
            ol, valid, ob.create<arith::AddFOp>(ol, acc[0], e1), acc[0]);
        Value s2 = ob.create<arith::SelectOp>(
            ol, valid, ob.create<arith::AddFOp>(ol, acc[1], e2), acc[1]);
        ob.create<scf::YieldOp>(ol, ValueRange{s1, s2});
      });
  Value sum1 = sumLoop.getResult(0), sum2 = sumLoop.getResult(1);
  // Sampling probability of a valid action k:
  //   q_k = (1 - eps) exp(x_k / T - max2) / sum2 + eps / count.
  Value keep = nb.create<arith::SubFOp>(l, one, epsilon);
  Value uniformShare = nb.create<arith::DivFOp>(l, epsilon, count);
  auto prob = [&](OpBuilder &ob, Location ol, Value k) -> Value {
    Value x = at(ob, ol, logits, k);
    Value xt = ob.create<arith::MulFOp>(ol, x, invT);
    Value p = ob.create<arith::DivFOp>(
        ol, ob.create<math::ExpOp>(ol, ob.create<arith::SubFOp>(ol, xt, max2)),
        sum2);
    return ob.create<arith::AddFOp>(ol, ob.create<arith::MulFOp>(ol, keep, p),
                                    uniformShare);
  };
  // Pass 3: inverse CDF. The last valid action absorbs rounding.
  Value none = constI32(nb, l, -1);
  auto pick = nb.create<scf::ForOp>(
      l, lb, ub, stepIdx, ValueRange{zero, none, none},
      [&](OpBuilder &ob, Location ol, Value k, ValueRange acc) {
        Value valid = at(ob, ol, mask, k);
        Value k32 = ob.create<arith::IndexCastOp>(ol, ob.getI32Type(), k);
        Value q = ob.create<arith::SelectOp>(ol, valid, prob(ob, ol, k), zero);
        Value cum = ob.create<arith::AddFOp>(ol, acc[0], q);
        Value notChosen = ob.create<arith::CmpIOp>(
            ol, arith::CmpIPredicate::slt, acc[1], constI32(ob, ol, 0));
        Value crosses =
            ob.create<arith::CmpFOp>(ol, arith::CmpFPredicate::OLT, u, cum);
        Value takeNow = ob.create<arith::AndIOp>(
            ol, ob.create<arith::AndIOp>(ol, valid, notChosen), crosses);
        Value chosen = ob.create<arith::SelectOp>(ol, takeNow, k32, acc[1]);
        Value last = ob.create<arith::SelectOp>(ol, valid, k32, acc[2]);
        ob.create<scf::YieldOp>(ol, ValueRange{cum, chosen, last});
      });
  Value chosen = pick.getResult(1), lastValid = pick.getResult(2);
  Value unset = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, chosen,
                                         constI32(nb, l, 0));
  CategoricalDraw d;
  // -1 only when no action is valid.
  d.action = nb.create<arith::SelectOp>(l, unset, lastValid, chosen);
  d.none = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, d.action,
                                    constI32(nb, l, 0));
  Value safeAction = nb.create<arith::MaxSIOp>(l, d.action, constI32(nb, l, 0));
  Value ai = nb.create<arith::IndexCastOp>(l, nb.getIndexType(), safeAction);
  Value x = at(nb, l, logits, ai);
  Value logpPolicy = nb.create<arith::SubFOp>(
      l, nb.create<arith::SubFOp>(l, x, max1), nb.create<math::LogOp>(l, sum1));
  Value logpSample = nb.create<math::LogOp>(l, prob(nb, l, ai));
  d.logProb = nb.create<arith::SelectOp>(l, d.none, zero, logpPolicy);
  d.logSampleProb = nb.create<arith::SelectOp>(l, d.none, zero, logpSample);
  return d;
}

void EnvKernelGen::buildSampleKernel(OpBuilder &b) {
  Type i1 = b.getI1Type(), i32 = b.getI32Type(), i64 = b.getI64Type(),
       f32 = b.getF32Type();
  int64_t numActions = layout_.numForward;
  int64_t numFeatures = env_.getFeatures().getSize();
  auto logitsType = RankedTensorType::get({numActions}, f32);
  auto featType = RankedTensorType::get({numFeatures}, f32);
  size_t n = stateTypes_.size();

  SmallVector<Type> inputs(stateTypes_.begin(), stateTypes_.end());
  inputs.push_back(logitsType); // policy logits
  inputs.push_back(i1);         // trajectory already ended
  SmallVector<Type> outputs(stateTypes_.begin(), stateTypes_.end());
  outputs.append({i32, f32, f32, i1, featType});
  // Scalars: seed, iteration, step, stream (i64); epsilon, temperature
  // (f32); first (i64, the number of row 0). The iteration, epsilon and
  // temperature are one-element buffers, so that a rollout captured in a
  // CUDA graph draws new actions with the current exploration at each
  // replay; the step, stream and first row are fixed per recorded launch.
  SmallVector<Type> scalars{i64, i64, i64, i64, f32, f32, i64};

  RowBody body = [&, n](OpBuilder &nb, Location l, Value index, ValueRange in,
                        ValueRange sc) -> SmallVector<Value> {
    ValueRange states = in.take_front(n);
    Value logits = in[n], ended = in[n + 1];
    SmallVector<Type> resultTypes(outputs.begin(), outputs.end());
    auto ifOp = nb.create<scf::IfOp>(l, resultTypes, ended, true);
    OpBuilder::InsertionGuard g(nb);

    // Ended: the state stays, no action (-1), log-probabilities 0.
    nb.setInsertionPointToStart(ifOp.thenBlock());
    {
      SmallVector<Value> r(states.begin(), states.end());
      r.push_back(constI32(nb, l, -1));
      r.push_back(constF32(nb, l, 0));
      r.push_back(constF32(nb, l, 0));
      r.push_back(constBool(nb, l, true));
      r.push_back(features(nb, l, states));
      nb.create<scf::YieldOp>(l, r);
    }

    nb.setInsertionPointToStart(ifOp.elseBlock());
    Value u = philoxUniform(nb, l, sc[0], sc[1], globalRow(nb, l, index, sc[6]),
                            sc[2], sc[3]);
    CategoricalDraw d = drawCategorical(
        nb, l, logits, forwardMask(nb, l, states), numActions, u, sc[4], sc[5]);
    SmallVector<Value> next = step(nb, l, states, d.action);
    // A dead end (no valid action) ends the trajectory.
    Value ends =
        nb.create<arith::OrIOp>(l, d.none, stepEnds(nb, l, d.action, next));
    SmallVector<Value> r = next;
    r.append(
        {d.action, d.logProb, d.logSampleProb, ends, features(nb, l, next)});
    nb.create<scf::YieldOp>(l, r);
    return SmallVector<Value>(ifOp.getResults().begin(),
                              ifOp.getResults().end());
  };
  SmallVector<std::string> names;
  for (StateOp s : states_)
    names.push_back("state." + s.getName().str());
  names.append({"logits", "ended", "seed", "iteration", "step", "stream",
                "epsilon", "temperature", "first"});
  for (StateOp s : states_)
    names.push_back("next." + s.getName().str());
  names.append({"action", "log_pf", "log_q", "done", "features"});
  KernelSpec spec{"gfl_sample_step", inputs, scalars, outputs, body, names};
  spec.bufferedScalars = {1, 4, 5};
  buildKernel(b, module_, loc_, spec);
}

} // namespace mlir::gfl

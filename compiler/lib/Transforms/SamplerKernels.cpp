//===- SamplerKernels.cpp - Backward sampling, uniforms, acceptance -------===//
//
// The kernels behind the samplers beyond the forward rollout:
//
//   gfl_sample_backward_step  one step of a backward walk with P_B: the
//     backward mask, a masked log-softmax draw keyed like the forward step
//     (seed; trajectory, step, iteration, stream), the undo of the drawn
//     action, and whether the walk has reached s0;
//   gfl_uniform               one Philox uniform per row (replay draws);
//   gfl_ls_accept             the acceptance of a local-search proposal,
//     greedy or Metropolis-Hastings.
//
//===----------------------------------------------------------------------===//

#include "EnvKernelGen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

namespace mlir::gfl {

Value EnvKernelGen::isInitial(OpBuilder &b, Location loc, ValueRange states) {
  Value same = constBool(b, loc, true);
  for (auto [s, v] : llvm::zip(states_, states)) {
    Value init = b.create<arith::ConstantOp>(loc, s.getInit());
    same = b.create<arith::AndIOp>(loc, same, statesEqual(b, loc, v, init));
  }
  return same;
}

void EnvKernelGen::buildBackwardSampleKernel(OpBuilder &b) {
  Type i1 = b.getI1Type(), i32 = b.getI32Type(), i64 = b.getI64Type(),
       f32 = b.getF32Type();
  int64_t numBackward = layout_.numBackward;
  auto logitsType = RankedTensorType::get({numBackward}, f32);
  auto featType = RankedTensorType::get({env_.getFeatures().getSize()}, f32);
  size_t n = stateTypes_.size();

  SmallVector<Type> inputs(stateTypes_.begin(), stateTypes_.end());
  inputs.push_back(logitsType); // P_B logits
  inputs.push_back(i1);         // walk already ended
  SmallVector<Type> outputs(stateTypes_.begin(), stateTypes_.end());
  outputs.append({i32, f32, i1, i1, featType});
  // Scalars: seed, iteration (a one-element buffer, as in the forward
  // step), step, stream, first (the number of row 0).
  SmallVector<Type> scalars{i64, i64, i64, i64, i64};

  RowBody body = [&, n](OpBuilder &nb, Location l, Value index, ValueRange in,
                        ValueRange sc) -> SmallVector<Value> {
    ValueRange states = in.take_front(n);
    Value logits = in[n], ended = in[n + 1];
    // A walk that has ended, or stands at s0, stays where it is.
    Value stay = nb.create<arith::OrIOp>(l, ended, isInitial(nb, l, states));
    SmallVector<Type> resultTypes(outputs.begin(), outputs.end());
    auto ifOp = nb.create<scf::IfOp>(l, resultTypes, stay, true);
    OpBuilder::InsertionGuard g(nb);

    nb.setInsertionPointToStart(ifOp.thenBlock());
    {
      SmallVector<Value> r(states.begin(), states.end());
      r.append({constI32(nb, l, -1), constF32(nb, l, 0), constBool(nb, l, true),
                constBool(nb, l, false), features(nb, l, states)});
      nb.create<scf::YieldOp>(l, r);
    }

    nb.setInsertionPointToStart(ifOp.elseBlock());
    Value u = philoxUniform(nb, l, sc[0], sc[1], globalRow(nb, l, index, sc[4]),
                            sc[2], sc[3]);
    CategoricalDraw d =
        drawCategorical(nb, l, logits, backwardMask(nb, l, states), numBackward,
                        u, constF32(nb, l, 0), constF32(nb, l, 1));
    // No parent (the action -1 leaves the state as it is): the walk is
    // stuck away from s0, which the caller reports.
    SmallVector<Value> prev = backwardStep(nb, l, states, d.action);
    Value done = nb.create<arith::OrIOp>(l, d.none, isInitial(nb, l, prev));
    SmallVector<Value> r = prev;
    r.append({d.action, d.logProb, done, d.none, features(nb, l, prev)});
    nb.create<scf::YieldOp>(l, r);
    return SmallVector<Value>(ifOp.getResults().begin(),
                              ifOp.getResults().end());
  };
  SmallVector<std::string> names;
  for (StateOp s : states_)
    names.push_back("state." + s.getName().str());
  names.append(
      {"logits", "ended", "seed", "iteration", "step", "stream", "first"});
  for (StateOp s : states_)
    names.push_back("prev." + s.getName().str());
  names.append({"action", "log_pb", "done", "stuck", "features"});
  KernelSpec spec{
      "gfl_sample_backward_step", inputs, scalars, outputs, body, names};
  spec.bufferedScalars = {1};
  buildKernel(b, module_, loc_, spec);
}

void EnvKernelGen::buildSamplerKernels(OpBuilder &b) {
  Type i1 = b.getI1Type(), i64 = b.getI64Type(), f32 = b.getF32Type();
  {
    KernelSpec spec{
        "gfl_uniform",
        {},
        {i64, i64, i64, i64},
        {f32},
        [](OpBuilder &nb, Location l, Value index, ValueRange,
           ValueRange sc) -> SmallVector<Value> {
          Value step = nb.create<arith::ConstantOp>(l, nb.getI64IntegerAttr(0));
          return {philoxUniform(nb, l, sc[0], sc[1],
                                globalRow(nb, l, index, sc[3]), step, sc[2])};
        },
        {"seed", "iteration", "stream", "first", "u"}};
    spec.bufferedScalars = {1};
    buildKernel(b, module_, loc_, spec);
  }
  // Local search on the space of trajectories, with target R(x) P_B(tau|x)
  // (its marginal over x is R): a proposal keeps the first p = max(n - K, 0)
  // transitions of tau and redraws the rest with P_F. The shared prefix
  // cancels, so with sums over the whole trajectories
  //   A = [log R(x') + log P_B(tau') - log P_F(tau')]
  //     - [log R(x)  + log P_B(tau)  - log P_F(tau)],
  // and the move is reversible only when tau' cuts at the same place,
  // max(n' - K, 0) = p (else A = -inf). MH accepts with probability
  // min(1, exp A); greedy accepts when log R(x') >= log R(x). NaN rejects.
  Type i32 = b.getI32Type();
  KernelSpec spec{
      "gfl_ls_accept",
      {f32, f32, f32, f32, f32, f32, i32, i32},
      {i64, i64, i64, i64, i64, i64},
      {i1, f32},
      [](OpBuilder &nb, Location l, Value index, ValueRange in,
         ValueRange sc) -> SmallVector<Value> {
        Value logR = in[0], logRNew = in[1], logPf = in[2], logPfNew = in[3],
              logPb = in[4], logPbNew = in[5], n = in[6], nNew = in[7];
        auto balance = [&](Value r, Value pb, Value pf) -> Value {
          return nb.create<arith::SubFOp>(l, nb.create<arith::AddFOp>(l, r, pb),
                                          pf);
        };
        Value a =
            nb.create<arith::SubFOp>(l, balance(logRNew, logPbNew, logPfNew),
                                     balance(logR, logPb, logPf));
        Value zero = constF32(nb, l, 0);
        Value negInf =
            constF32(nb, l, -std::numeric_limits<double>::infinity());
        Value k = nb.create<arith::TruncIOp>(l, nb.getI32Type(), sc[4]);
        auto cut = [&](Value len) -> Value {
          return nb.create<arith::MaxSIOp>(
              l, nb.create<arith::SubIOp>(l, len, k), constI32(nb, l, 0));
        };
        Value reversible = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq,
                                                    cut(n), cut(nNew));
        // min(0, A), NaN kept (minimumf propagates it).
        Value logAccept = nb.create<arith::SelectOp>(
            l, reversible, nb.create<arith::MinimumFOp>(l, a, zero), negInf);
        Value step = nb.create<arith::ConstantOp>(l, nb.getI64IntegerAttr(0));
        Value u = philoxUniform(nb, l, sc[0], sc[1],
                                globalRow(nb, l, index, sc[5]), step, sc[2]);
        Value mh =
            nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OLT,
                                     nb.create<math::LogOp>(l, u), logAccept);
        Value better = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGE,
                                                logRNew, logR);
        Value greedy = nb.create<arith::CmpIOp>(
            l, arith::CmpIPredicate::ne, sc[3],
            nb.create<arith::ConstantOp>(l, nb.getI64IntegerAttr(0)));
        Value accept = nb.create<arith::SelectOp>(l, greedy, better, mh);
        Value greedyLog = nb.create<arith::SelectOp>(l, better, zero, negInf);
        return {accept,
                nb.create<arith::SelectOp>(l, greedy, greedyLog, logAccept)};
      },
      {"log_r", "log_r_new", "log_pf", "log_pf_new", "log_pb", "log_pb_new",
       "n", "n_new", "seed", "iteration", "stream", "greedy", "backtrack",
       "first", "accept", "log_accept"}};
  spec.bufferedScalars = {1};
  buildKernel(b, module_, loc_, spec);
}

} // namespace mlir::gfl

//===- EdgeFlowKernels.cpp - Log edge flows for flow matching -------------===//
//
// With the policy head read as log edge flows log F(s -> s'), flow matching
// needs three sums per visited state s:
//   log_out_flow  = logsumexp of the logits of s over its allowed actions
//                   (the exit included);
//   log_exit_flow = the exit logit of s (-inf when exit is not allowed);
//   log_in_flow   = logsumexp over the allowed backward actions j of s of
//                   the logit of forward action j at the parent P_j(s).
// Backward action j undoes forward action j (the action layout numbers both
// the same way), so the edge P_j(s) -> s is column j of the parent's logits.
// The runtime evaluates the network on every parent and passes its logits as
// a [Pb, A] row; gfl_edge_flows_grad gives the adjoints of both logit rows.
//
//===----------------------------------------------------------------------===//

#include "EnvKernelGen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

namespace mlir::gfl {

namespace {

/// logsumexp over i in [0, count) of the entries `entry(i)` that are valid;
/// -inf when none is.
Value maskedLogSumExp(
    OpBuilder &b, Location loc, int64_t count,
    function_ref<std::pair<Value, Value>(OpBuilder &, Location, Value)> entry) {
  auto reduce = b.create<RangeReduceOp>(
      loc, b.getF32Type(), ReduceKind::LogSumExp, constIndex(b, loc, 0),
      constIndex(b, loc, count), [&](OpBuilder &nb, Location l, Value i) {
        auto [valid, x] = entry(nb, l, i);
        Value negInf =
            constF32(nb, l, -std::numeric_limits<double>::infinity());
        nb.create<YieldOp>(
            l, nb.create<arith::SelectOp>(l, valid, x, negInf).getResult());
      });
  return reduce.getResult();
}

/// valid ? d * exp(x - lse) : 0, the adjoint of one logsumexp entry.
Value lseAdjoint(OpBuilder &b, Location loc, Value valid, Value d, Value x,
                 Value lse) {
  Value p = b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, x, lse));
  return b.create<arith::SelectOp>(
      loc, valid, b.create<arith::MulFOp>(loc, d, p), constF32(b, loc, 0.0));
}

} // namespace

void EnvKernelGen::buildEdgeFlowKernels(OpBuilder &b) {
  Type f32 = b.getF32Type(), i1 = b.getI1Type();
  int64_t numActions = layout_.numForward, numParents = layout_.numBackward;
  auto logitsRow = RankedTensorType::get({numActions}, f32);
  auto maskRow = RankedTensorType::get({numActions}, i1);
  auto parentLogitsRow = RankedTensorType::get({numParents, numActions}, f32);
  auto parentMaskRow = RankedTensorType::get({numParents}, i1);
  bool hasStop = layout_.hasStop;

  // The three sums from the rows (logits, mask, parent logits, parent mask).
  auto flows = [=](OpBuilder &nb, Location l, ValueRange in) {
    Value logits = in[0], mask = in[1], parents = in[2], parentMask = in[3];
    Value out = maskedLogSumExp(
        nb, l, numActions, [&](OpBuilder &rb, Location rl, Value i) {
          return std::make_pair(
              rb.create<tensor::ExtractOp>(rl, mask, i).getResult(),
              rb.create<tensor::ExtractOp>(rl, logits, i).getResult());
        });
    Value inFlow = maskedLogSumExp(
        nb, l, numParents, [&](OpBuilder &rb, Location rl, Value j) {
          return std::make_pair(
              rb.create<tensor::ExtractOp>(rl, parentMask, j).getResult(),
              rb.create<tensor::ExtractOp>(rl, parents, ValueRange{j, j})
                  .getResult());
        });
    Value exit = constF32(nb, l, -std::numeric_limits<double>::infinity());
    if (hasStop) {
      Value last = constIndex(nb, l, numActions - 1);
      exit = nb.create<arith::SelectOp>(
          l, nb.create<tensor::ExtractOp>(l, mask, last),
          nb.create<tensor::ExtractOp>(l, logits, last), exit);
    }
    return SmallVector<Value>{inFlow, out, exit};
  };

  buildKernel(b, module_, loc_,
              KernelSpec{"gfl_edge_flows",
                         {logitsRow, maskRow, parentLogitsRow, parentMaskRow},
                         {},
                         {f32, f32, f32},
                         [&](OpBuilder &nb, Location l, Value, ValueRange in,
                             ValueRange) { return flows(nb, l, in); },
                         {"logits", "mask", "parent_logits", "parent_mask",
                          "log_in_flow", "log_out_flow", "log_exit_flow"}});

  buildKernel(
      b, module_, loc_,
      KernelSpec{
          "gfl_edge_flows_grad",
          {logitsRow, maskRow, parentLogitsRow, parentMaskRow, f32, f32, f32},
          {},
          {logitsRow, parentLogitsRow},
          [&](OpBuilder &nb, Location l, Value, ValueRange in,
              ValueRange) -> SmallVector<Value> {
            SmallVector<Value> sums = flows(nb, l, in);
            Value logits = in[0], mask = in[1], parents = in[2],
                  parentMask = in[3], dIn = in[4], dOut = in[5], dExit = in[6];
            auto dLogits = nb.create<tensor::GenerateOp>(
                l, logitsRow, ValueRange{},
                [&](OpBuilder &gb, Location gl, ValueRange idx) {
                  Value valid = gb.create<tensor::ExtractOp>(gl, mask, idx);
                  Value x = gb.create<tensor::ExtractOp>(gl, logits, idx);
                  Value d = lseAdjoint(gb, gl, valid, dOut, x, sums[1]);
                  if (hasStop) {
                    Value isExit = gb.create<arith::AndIOp>(
                        gl, valid,
                        gb.create<arith::CmpIOp>(
                            gl, arith::CmpIPredicate::eq, idx[0],
                            constIndex(gb, gl, numActions - 1)));
                    d = gb.create<arith::AddFOp>(
                        gl, d,
                        gb.create<arith::SelectOp>(gl, isExit, dExit,
                                                   constF32(gb, gl, 0.0)));
                  }
                  gb.create<tensor::YieldOp>(gl, d);
                });
            // Only entry (j, j) of parent row j carries flow into s.
            auto dParents = nb.create<tensor::GenerateOp>(
                l, parentLogitsRow, ValueRange{},
                [&](OpBuilder &gb, Location gl, ValueRange idx) {
                  Value j = idx[0];
                  Value valid = gb.create<arith::AndIOp>(
                      gl, gb.create<tensor::ExtractOp>(gl, parentMask, j),
                      gb.create<arith::CmpIOp>(gl, arith::CmpIPredicate::eq,
                                               idx[0], idx[1]));
                  Value x = gb.create<tensor::ExtractOp>(gl, parents,
                                                         ValueRange{j, j});
                  gb.create<tensor::YieldOp>(
                      gl, lseAdjoint(gb, gl, valid, dIn, x, sums[0]));
                });
            return {dLogits, dParents};
          },
          {"logits", "mask", "parent_logits", "parent_mask", "d_log_in_flow",
           "d_log_out_flow", "d_log_exit_flow", "d_logits",
           "d_parent_logits"}});
}

} // namespace mlir::gfl

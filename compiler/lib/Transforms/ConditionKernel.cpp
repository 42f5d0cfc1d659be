//===- ConditionKernel.cpp - Per-trajectory conditions --------------------===//
//
// gfl_draw_condition writes one condition row per trajectory: for each
// gfl.condition, in order,
//
//   uniform(lo, hi)     lo + (hi - lo) u;
//   loguniform(lo, hi)  exp(log lo + (log hi - log lo) u);
//   dirichlet(alpha)    gamma(alpha_i) draws normalized to sum 1, each by
//                       Marsaglia and Tsang's method (a normal from
//                       Box-Muller, a squeeze-free acceptance test; alpha < 1
//                       through alpha + 1 and a power of a uniform).
//
// Every uniform comes from Philox keyed by (seed; trajectory, a draw counter
// in the step slot, iteration, stream), so a condition is a function of the
// seed, iteration and trajectory, the same on CPU and GPU.
//
//===----------------------------------------------------------------------===//

#include "EnvKernelGen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

namespace mlir::gfl {

namespace {

/// Rejection attempts of one gamma draw; each fails with probability below
/// 5%, so 32 all fail with probability below 1e-41.
constexpr int64_t kGammaAttempts = 32;

/// Uniforms of one gamma draw per attempt: two for the normal, one for the
/// acceptance; the fourth slot is the boost of alpha < 1.
constexpr int64_t kUniformsPerAttempt = 3;

/// A draw counter for the Philox step slot: component `c` of condition
/// `cond`, uniform `k` of its draw.
Value counter(OpBuilder &b, Location loc, int64_t cond, int64_t c, Value k) {
  Value base = b.create<arith::ConstantOp>(
      loc, b.getI64IntegerAttr(((cond << 8) + c) << 12));
  return b.create<arith::AddIOp>(loc, base, k);
}

Value constI64(OpBuilder &b, Location loc, int64_t v) {
  return b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(v));
}

/// A Gamma(alpha, 1) draw.
Value gammaDraw(OpBuilder &b, Location loc, double alpha, Value seed,
                Value iteration, Value row, Value stream, int64_t cond,
                int64_t c) {
  double a = alpha < 1 ? alpha + 1 : alpha;
  double d = a - 1.0 / 3.0, cc = 1.0 / std::sqrt(9.0 * d);
  auto uniform = [&](OpBuilder &ob, Location ol, Value k) -> Value {
    return philoxUniform(ob, ol, seed, iteration, row,
                         counter(ob, ol, cond, c, k), stream);
  };
  Value one = constF32(b, loc, 1.0), half = constF32(b, loc, 0.5);
  Value dv = constF32(b, loc, d);
  auto loop = b.create<scf::ForOp>(
      loc, constIndex(b, loc, 0), constIndex(b, loc, kGammaAttempts),
      constIndex(b, loc, 1), ValueRange{constBool(b, loc, false), dv},
      [&](OpBuilder &ob, Location ol, Value attempt, ValueRange acc) {
        Value k0 = ob.create<arith::MulIOp>(
            ol, ob.create<arith::IndexCastOp>(ol, ob.getI64Type(), attempt),
            constI64(ob, ol, kUniformsPerAttempt));
        auto at = [&](int64_t j) {
          return uniform(ob, ol,
                         ob.create<arith::AddIOp>(ol, k0, constI64(ob, ol, j)));
        };
        // A standard normal: sqrt(-2 log(1 - u1)) cos(2 pi u2).
        Value u1 = ob.create<arith::SubFOp>(ol, one, at(0));
        Value radius = ob.create<math::SqrtOp>(
            ol, ob.create<arith::MulFOp>(ol, constF32(ob, ol, -2.0),
                                         ob.create<math::LogOp>(ol, u1)));
        Value angle =
            ob.create<arith::MulFOp>(ol, constF32(ob, ol, 2.0 * M_PI), at(1));
        Value z = ob.create<arith::MulFOp>(ol, radius,
                                           ob.create<math::CosOp>(ol, angle));
        Value v = ob.create<arith::AddFOp>(
            ol, one, ob.create<arith::MulFOp>(ol, constF32(ob, ol, cc), z));
        Value positive = ob.create<arith::CmpFOp>(ol, arith::CmpFPredicate::OGT,
                                                  v, constF32(ob, ol, 0.0));
        Value v3 =
            ob.create<arith::MulFOp>(ol, v, ob.create<arith::MulFOp>(ol, v, v));
        // Accept when log u < z^2/2 + d - d v^3 + d log v^3.
        Value logV3 = ob.create<math::LogOp>(
            ol, ob.create<arith::MaximumFOp>(ol, v3, constF32(ob, ol, 1e-30)));
        Value bound = ob.create<arith::AddFOp>(
            ol,
            ob.create<arith::MulFOp>(ol, half,
                                     ob.create<arith::MulFOp>(ol, z, z)),
            ob.create<arith::MulFOp>(
                ol, dv,
                ob.create<arith::AddFOp>(
                    ol, ob.create<arith::SubFOp>(ol, one, v3), logV3)));
        Value logU = ob.create<math::LogOp>(
            ol, ob.create<arith::SubFOp>(ol, one, at(2)));
        Value accept = ob.create<arith::AndIOp>(
            ol, positive,
            ob.create<arith::CmpFOp>(ol, arith::CmpFPredicate::OLT, logU,
                                     bound));
        Value take = ob.create<arith::AndIOp>(
            ol, accept,
            ob.create<arith::XOrIOp>(ol, acc[0], constBool(ob, ol, true)));
        Value value = ob.create<arith::SelectOp>(
            ol, take, ob.create<arith::MulFOp>(ol, dv, v3), acc[1]);
        Value done = ob.create<arith::OrIOp>(ol, acc[0], accept);
        ob.create<scf::YieldOp>(ol, ValueRange{done, value});
      });
  Value g = loop.getResult(1);
  if (alpha < 1) {
    // Gamma(alpha) = Gamma(alpha + 1) * u^(1 / alpha).
    Value u =
        uniform(b, loc, constI64(b, loc, kGammaAttempts * kUniformsPerAttempt));
    Value boost = b.create<math::ExpOp>(
        loc,
        b.create<arith::MulFOp>(
            loc, constF32(b, loc, 1.0 / alpha),
            b.create<math::LogOp>(loc, b.create<arith::SubFOp>(loc, one, u))));
    g = b.create<arith::MulFOp>(loc, g, boost);
  }
  return g;
}

} // namespace

void EnvKernelGen::buildConditionKernel(OpBuilder &b) {
  Type i64 = b.getI64Type(), f32 = b.getF32Type();
  auto rowType = RankedTensorType::get({conditionSize_}, f32);
  KernelSpec spec{
      "gfl_draw_condition",
      {},
      {i64, i64, i64, i64},
      {rowType},
      [&](OpBuilder &nb, Location l, Value index, ValueRange,
          ValueRange sc) -> SmallVector<Value> {
        Value seed = sc[0], iteration = sc[1], stream = sc[2];
        Value row = globalRow(nb, l, index, sc[3]);
        SmallVector<Value> values;
        for (auto [index, c] : llvm::enumerate(conditions_)) {
          int64_t ci = static_cast<int64_t>(index);
          ArrayRef<double> params = c.getParams();
          StringRef dist = c.getDistribution();
          if (dist == "uniform" || dist == "loguniform") {
            Value u = philoxUniform(nb, l, seed, iteration, row,
                                    counter(nb, l, ci, 0, constI64(nb, l, 0)),
                                    stream);
            bool log = dist == "loguniform";
            double lo = log ? std::log(params[0]) : params[0];
            double hi = log ? std::log(params[1]) : params[1];
            Value x = nb.create<arith::AddFOp>(
                l, constF32(nb, l, lo),
                nb.create<arith::MulFOp>(l, constF32(nb, l, hi - lo), u));
            values.push_back(log ? nb.create<math::ExpOp>(l, x).getResult()
                                 : x);
            continue;
          }
          // dirichlet: normalized gamma draws.
          SmallVector<Value> g;
          Value total = constF32(nb, l, 0.0);
          for (auto [k, alpha] : llvm::enumerate(params)) {
            g.push_back(gammaDraw(nb, l, alpha, seed, iteration, row, stream,
                                  ci, static_cast<int64_t>(k)));
            total = nb.create<arith::AddFOp>(l, total, g.back());
          }
          for (Value x : g)
            values.push_back(nb.create<arith::DivFOp>(l, x, total));
        }
        return {nb.create<tensor::FromElementsOp>(l, rowType, values)};
      },
      {"seed", "iteration", "stream", "first", "cond"}};
  spec.bufferedScalars = {1};
  buildKernel(b, module_, loc_, spec);
}

} // namespace mlir::gfl

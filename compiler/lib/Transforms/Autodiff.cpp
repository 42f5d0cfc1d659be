//===- Autodiff.cpp - Objective kernels and reverse-mode gradients --------===//
//
// An objective body reads trajectory quantities through gfl.traj_* ops. Per
// batch row, those become row tensors of the padded inputs (`log_pf[b, :]`)
// with a valid length, and the body is re-emitted on them (RowLowering).
// The gradient kernel emits the same forward code and then walks the body
// backwards, accumulating adjoints of scalars and of whole sequences
// (tensors of per-step adjoints) with the chain rule of each op.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "gfl/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

#include <limits>
#include <map>
#include <set>

namespace mlir::gfl {

#define GEN_PASS_DEF_AUTODIFF
#include "gfl/Transforms/Passes.h.inc"

namespace {

/// A sequence in a batch row: its padded data and its valid length.
struct SeqVal {
  Value data; // tensor<?xf32>
  Value len;  // index
};

const TrajSeqField kAllFields[] = {
    TrajSeqField::LogPF,       TrajSeqField::LogPB,
    TrajSeqField::LogF,        TrajSeqField::LogRStep,
    TrajSeqField::Energy,      TrajSeqField::LogPFExit,
    TrajSeqField::LogInFlow,   TrajSeqField::LogOutFlow,
    TrajSeqField::LogExitFlow, TrajSeqField::LogQ,
    TrajSeqField::LogPFOld,    TrajSeqField::Entropy,
    TrajSeqField::Value,       TrajSeqField::ValueTarget,
    TrajSeqField::Logit,       TrajSeqField::LogNorm,
    TrajSeqField::LogitTarget, TrajSeqField::LogNormTarget,
    TrajSeqField::Reward};

/// Network outputs, which get gradients. Rewards, energies, what the
/// sampler recorded and what target networks give are data.
bool isLearned(TrajSeqField f) {
  switch (f) {
  case TrajSeqField::LogRStep:
  case TrajSeqField::Energy:
  case TrajSeqField::LogQ:
  case TrajSeqField::LogPFOld:
  case TrajSeqField::ValueTarget:
  case TrajSeqField::LogitTarget:
  case TrajSeqField::LogNormTarget:
  case TrajSeqField::Reward:
    return false;
  default:
    return true;
  }
}

/// Fields with one entry per action (the exit included): n + exited.
/// log_pb has n; the per-state fields n + 1.
bool perAction(TrajSeqField f) {
  switch (f) {
  case TrajSeqField::LogPF:
  case TrajSeqField::LogQ:
  case TrajSeqField::LogPFOld:
  case TrajSeqField::Logit:
  case TrajSeqField::LogitTarget:
  case TrajSeqField::Reward:
    return true;
  default:
    return false;
  }
}

/// What a batch row provides to the objective body.
struct RowInputs {
  std::map<TrajSeqField, SeqVal> fields;
  Value logR, logZ, n; // f32, f32, index
  Value exited;        // f32: 1.0 when the trajectory ended by the exit
  SmallVector<Value> params;
  /// Values of the batch collectives, in body order (their batch-wide
  /// results, computed by the runtime from the stage kernel).
  DenseMap<Operation *, Value> batch;
};

/// Re-emits an objective body on row inputs.
class RowLowering {
public:
  RowLowering(OpBuilder &b, const RowInputs &in) : b(b), in(in) {}

  LogicalResult lowerBlock(Block &block) {
    for (Operation &op : block.without_terminator())
      if (failed(lowerOp(op)))
        return failure();
    return success();
  }

  Value lookup(Value v) const { return map.lookup(v); }
  const SeqVal &seq(Value v) const { return seqs.find(v)->second; }
  const RowInputs &inputs() const { return in; }

  /// A lowering for a nested region emitted with `nb`, which sees every
  /// value lowered so far.
  RowLowering child(OpBuilder &nb) const {
    RowLowering c(nb, in);
    c.map = map;
    c.seqs = seqs;
    return c;
  }

  IRMapping map;
  DenseMap<Value, SeqVal> seqs;

private:
  Value zero(Location loc) { return constF32(b, loc, 0.0); }

  /// s[k], or 0 outside [0, len).
  Value seqAt(Location loc, const SeqVal &s, Value k) {
    Value lo = constIndex(b, loc, 0);
    Value ok = b.create<arith::AndIOp>(
        loc, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, k, lo),
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, k, s.len));
    Value size = b.create<tensor::DimOp>(loc, s.data, 0);
    Value last = b.create<arith::SubIOp>(loc, size, constIndex(b, loc, 1));
    Value kc = b.create<arith::MinSIOp>(
        loc, b.create<arith::MaxSIOp>(loc, k, lo), last);
    Value v = b.create<tensor::ExtractOp>(loc, s.data, kc);
    return b.create<arith::SelectOp>(loc, ok, v, zero(loc));
  }

  LogicalResult lowerOp(Operation &op) {
    Location loc = op.getLoc();
    if (auto t = dyn_cast<TrajSeqOp>(op)) {
      auto it = in.fields.find(t.getField());
      if (it == in.fields.end())
        return op.emitError("internal: sequence field has no kernel input");
      seqs[t.getResult()] = it->second;
      return success();
    }
    if (auto t = dyn_cast<TrajScalarOp>(op)) {
      Value v = t.getField() == TrajScalarField::LogR   ? in.logR
                : t.getField() == TrajScalarField::LogZ ? in.logZ
                                                        : in.exited;
      map.map(t.getResult(), v);
      return success();
    }
    if (auto t = dyn_cast<TrajLenOp>(op)) {
      map.map(t.getResult(), in.n);
      return success();
    }
    if (auto at = dyn_cast<SeqAtOp>(op)) {
      map.map(at.getResult(),
              seqAt(loc, seqs[at.getSeq()], map.lookup(at.getIndex())));
      return success();
    }
    if (auto r = dyn_cast<SeqReduceOp>(op)) {
      SeqVal s = seqs[r.getSeq()];
      auto rr = b.create<RangeReduceOp>(
          loc, r.getType(), r.getKind(), constIndex(b, loc, 0), s.len,
          [&](OpBuilder &nb, Location l, Value i) {
            Value x = nb.create<tensor::ExtractOp>(l, s.data, i);
            nb.create<YieldOp>(l, x);
          });
      map.map(r.getResult(), rr.getResult());
      return success();
    }
    if (auto c = dyn_cast<SeqCumsumOp>(op)) {
      SeqVal s = seqs[c.getSeq()];
      auto loop = b.create<scf::ForOp>(
          loc, constIndex(b, loc, 0), s.len, constIndex(b, loc, 1),
          ValueRange{zero(loc), s.data},
          [&](OpBuilder &nb, Location l, Value i, ValueRange acc) {
            Value x = nb.create<tensor::ExtractOp>(l, s.data, i);
            Value sum = nb.create<arith::AddFOp>(l, acc[0], x);
            Value out = nb.create<tensor::InsertOp>(l, sum, acc[1], i);
            nb.create<scf::YieldOp>(l, ValueRange{sum, out});
          });
      seqs[c.getResult()] = {loop.getResult(1), s.len};
      return success();
    }
    if (auto sb = dyn_cast<SeqBuildOp>(op)) {
      // At least one slot, so that reads past the end stay in bounds.
      Value len = map.lookup(sb.getLen());
      Value slots = b.create<arith::MaxSIOp>(loc, len, constIndex(b, loc, 1));
      Value init = b.create<tensor::SplatOp>(
          loc, zero(loc),
          RankedTensorType::get({ShapedType::kDynamic}, b.getF32Type()),
          ValueRange{slots});
      LogicalResult result = success();
      Block &body = sb.getBody().front();
      auto loop = b.create<scf::ForOp>(
          loc, constIndex(b, loc, 0), len, constIndex(b, loc, 1),
          ValueRange{init},
          [&](OpBuilder &nb, Location l, Value k, ValueRange acc) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
            map.map(body.getArgument(0), k);
            result = lowerBlock(body);
            Value v = map.lookupOrDefault(
                cast<YieldOp>(body.getTerminator()).getValues().front());
            b.create<scf::YieldOp>(
                l, ValueRange{b.create<tensor::InsertOp>(l, v, acc[0], k)});
          });
      seqs[sb.getResult()] = {loop.getResult(0), len};
      return result;
    }
    if (auto rt = dyn_cast<SeqReturnsOp>(op)) {
      // G_k = s_k + gamma G_{k+1}, from the last valid entry down.
      SeqVal s = seqs[rt.getSeq()];
      Value gamma = map.lookup(rt.getGamma());
      auto loop = b.create<scf::ForOp>(
          loc, constIndex(b, loc, 0), s.len, constIndex(b, loc, 1),
          ValueRange{zero(loc), s.data},
          [&](OpBuilder &nb, Location l, Value i, ValueRange acc) {
            Value k = nb.create<arith::SubIOp>(
                l, nb.create<arith::SubIOp>(l, s.len, constIndex(nb, l, 1)), i);
            Value x = nb.create<tensor::ExtractOp>(l, s.data, k);
            Value g = nb.create<arith::AddFOp>(
                l, x, nb.create<arith::MulFOp>(l, gamma, acc[0]));
            nb.create<scf::YieldOp>(
                l, ValueRange{g, nb.create<tensor::InsertOp>(l, g, acc[1], k)});
          });
      seqs[rt.getResult()] = {loop.getResult(1), s.len};
      return success();
    }
    if (auto gae = dyn_cast<SeqGaeOp>(op)) {
      // delta_k = r_k + gamma v_{k+1} [k + 1 < L] - v_k;
      // A_k = delta_k + gamma lambda A_{k+1}.
      SeqVal r = seqs[gae.getRewards()], v = seqs[gae.getValues()];
      Value gamma = map.lookup(gae.getGamma());
      Value gl =
          b.create<arith::MulFOp>(loc, gamma, map.lookup(gae.getLambda()));
      auto loop = b.create<scf::ForOp>(
          loc, constIndex(b, loc, 0), r.len, constIndex(b, loc, 1),
          ValueRange{zero(loc), r.data},
          [&](OpBuilder &nb, Location l, Value i, ValueRange acc) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
            Value one = constIndex(b, l, 1);
            Value k = b.create<arith::SubIOp>(
                l, b.create<arith::SubIOp>(l, r.len, one), i);
            Value k1 = b.create<arith::AddIOp>(l, k, one);
            Value inRange = b.create<arith::CmpIOp>(
                l, arith::CmpIPredicate::slt, k1, r.len);
            Value vNext =
                b.create<arith::SelectOp>(l, inRange, seqAt(l, v, k1), zero(l));
            Value delta = b.create<arith::SubFOp>(
                l,
                b.create<arith::AddFOp>(
                    l, b.create<tensor::ExtractOp>(l, r.data, k),
                    b.create<arith::MulFOp>(l, gamma, vNext)),
                seqAt(l, v, k));
            Value a = b.create<arith::AddFOp>(
                l, delta, b.create<arith::MulFOp>(l, gl, acc[0]));
            b.create<scf::YieldOp>(
                l, ValueRange{a, b.create<tensor::InsertOp>(l, a, acc[1], k)});
          });
      seqs[gae.getResult()] = {loop.getResult(1), r.len};
      return success();
    }
    if (auto br = dyn_cast<BatchReduceOp>(op)) {
      auto it = in.batch.find(br.getOperation());
      if (it == in.batch.end())
        return op.emitError("a batch collective (batch_mean, batch_sum) may "
                            "only appear at the top level of an objective, "
                            "outside loops and branches");
      map.map(br.getResult(), it->second);
      return success();
    }
    if (auto rr = dyn_cast<RangeReduceOp>(op)) {
      LogicalResult result = success();
      auto lowered = b.create<RangeReduceOp>(
          loc, rr.getType(), rr.getKind(), map.lookup(rr.getLo()),
          map.lookup(rr.getHi()), [&](OpBuilder &nb, Location l, Value i) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPoint(nb.getInsertionBlock(),
                                nb.getInsertionPoint());
            Block &body = rr.getBody().front();
            map.map(body.getArgument(0), i);
            result = lowerBlock(body);
            Value v = map.lookupOrDefault(
                cast<YieldOp>(body.getTerminator()).getValues().front());
            b.create<YieldOp>(l, v);
          });
      map.map(rr.getResult(), lowered.getResult());
      return result;
    }
    if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      auto lowered = b.create<scf::IfOp>(loc, ifOp.getResultTypes(),
                                         map.lookup(ifOp.getCondition()),
                                         /*withElseRegion=*/true);
      for (auto [src, dst] : {std::pair{ifOp.thenBlock(), lowered.thenBlock()},
                              std::pair{ifOp.elseBlock(), lowered.elseBlock()}}) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(dst);
        if (failed(lowerBlock(*src)))
          return failure();
        SmallVector<Value> ys;
        for (Value y : src->getTerminator()->getOperands())
          ys.push_back(map.lookupOrDefault(y));
        b.create<scf::YieldOp>(loc, ys);
      }
      map.map(ifOp.getResults(), lowered.getResults());
      return success();
    }
    if (op.getNumRegions() != 0)
      return op.emitError() << "'" << op.getName()
                            << "' is not supported in objectives";
    b.clone(op, map);
    return success();
  }

  OpBuilder &b;
  const RowInputs &in;
};

/// The reverse sweep over the top-level block of an objective body.
class Adjoints {
public:
  Adjoints(OpBuilder &b, RowLowering &fwd) : b(b), fwd(fwd) {}

  LogicalResult run(Block &body, Value loss, Value dLoss) {
    return run(body, ValueRange{loss}, ValueRange{dLoss});
  }

  /// Back-propagates through `body` given the adjoints of some of its
  /// values (null adjoints are skipped).
  LogicalResult run(Block &body, ValueRange outs, ValueRange grads) {
    for (auto [v, g] : llvm::zip(outs, grads))
      if (g)
        add(v, g);
    for (Operation &op : llvm::reverse(body.without_terminator()))
      if (failed(backprop(op)))
        return failure();
    return success();
  }

  /// Accumulated gradient of a learned field (zeros if none reached it).
  Value fieldGradient(Location loc, TrajSeqField f, const SeqVal &row) {
    auto it = fieldAdj.find(f);
    if (it != fieldAdj.end())
      return it->second;
    return zeros(loc, row.data);
  }
  Value logZGradient(Location loc) {
    return dLogZ ? dLogZ : constF32(b, loc, 0.0);
  }
  /// The adjoint a value received (0 if none).
  Value adjointOf(Location loc, Value v) {
    auto it = scalar.find(v);
    return it != scalar.end() ? it->second : constF32(b, loc, 0.0);
  }

private:
  bool isFloat(Value v) { return v.getType().isF32(); }

  void add(Value orig, Value g) {
    if (!isFloat(orig))
      return;
    Value &slot = scalar[orig];
    slot = slot ? b.create<arith::AddFOp>(g.getLoc(), slot, g).getResult() : g;
  }

  Value zeros(Location loc, Value like) {
    Value size = b.create<tensor::DimOp>(loc, like, 0);
    return b.create<tensor::SplatOp>(loc, constF32(b, loc, 0.0),
                                     cast<RankedTensorType>(like.getType()),
                                     ValueRange{size});
  }

  /// The adjoint tensor of sequence `orig`, created on first use.
  Value &seqSlot(Location loc, Value orig) {
    Value &slot = seqAdj[orig];
    if (!slot)
      slot = zeros(loc, fwd.seq(orig).data);
    return slot;
  }

  /// adj[i] += w(i) for i in [0, len); `weight` computes w from x_i.
  void addOverValid(Location loc, Value orig,
                    function_ref<Value(OpBuilder &, Location, Value)> weight) {
    const SeqVal &s = fwd.seq(orig);
    Value &adj = seqSlot(loc, orig);
    auto loop = b.create<scf::ForOp>(
        loc, constIndex(b, loc, 0), s.len, constIndex(b, loc, 1),
        ValueRange{adj}, [&](OpBuilder &nb, Location l, Value i, ValueRange a) {
          Value x = nb.create<tensor::ExtractOp>(l, s.data, i);
          Value cur = nb.create<tensor::ExtractOp>(l, a[0], i);
          Value next = nb.create<arith::AddFOp>(l, cur, weight(nb, l, x));
          nb.create<scf::YieldOp>(
              l, ValueRange{nb.create<tensor::InsertOp>(l, next, a[0], i)});
        });
    adj = loop.getResult(0);
  }

  /// Float values and sequences defined outside `region` and used inside.
  static void outerUses(Region &region, SetVector<Value> &floats,
                        SetVector<Value> &seqVals) {
    region.walk([&](Operation *op) {
      for (Value v : op->getOperands()) {
        if (region.isAncestor(v.getParentRegion()))
          continue;
        if (isa<SeqType>(v.getType()))
          seqVals.insert(v);
        else if (v.getType().isF32())
          floats.insert(v);
      }
    });
  }

  /// Emits the reverse of `block` at `nb`'s insertion point: recomputes the
  /// block's forward values (with `setup` binding its arguments), seeds the
  /// adjoints of its yielded values with `seed(yielded forward values)`,
  /// and returns the contributions to the outer floats followed by the
  /// updated adjoints of the outer sequences (seeded from `seqIn`).
  FailureOr<SmallVector<Value>>
  reverseBlock(OpBuilder &nb, Location loc, Block &block,
               function_ref<void(RowLowering &)> setup,
               function_ref<SmallVector<Value>(ValueRange)> seed,
               ArrayRef<Value> floats, ArrayRef<Value> seqVals,
               ValueRange seqIn) {
    RowLowering child = fwd.child(nb);
    setup(child);
    if (failed(child.lowerBlock(block)))
      return failure();
    SmallVector<Value> yielded;
    for (Value y : block.getTerminator()->getOperands())
      yielded.push_back(child.map.lookupOrDefault(y));
    Adjoints inner(nb, child);
    for (auto [q, t] : llvm::zip(seqVals, seqIn))
      inner.seqAdj[q] = t;
    SmallVector<Value> grads = seed(yielded);
    if (failed(inner.run(block, block.getTerminator()->getOperands(), grads)))
      return failure();
    if (!inner.fieldAdj.empty() || inner.dLogZ)
      return block.getParentOp()->emitError(
          "internal: trajectory reads inside a differentiated region");
    SmallVector<Value> out;
    for (Value f : floats) {
      auto it = inner.scalar.find(f);
      out.push_back(it != inner.scalar.end() ? it->second
                                             : constF32(nb, loc, 0.0));
    }
    for (Value q : seqVals)
      out.push_back(inner.seqAdj[q]);
    return out;
  }

  /// d result / d (value of one iteration) of a range reduction, times g.
  Value iterationWeight(OpBuilder &nb, Location l, ReduceKind kind, Value v,
                        Value r, Value g) {
    switch (kind) {
    case ReduceKind::Sum:
      return g;
    case ReduceKind::LogSumExp:
      return nb.create<arith::MulFOp>(
          l, g,
          nb.create<math::ExpOp>(l, nb.create<arith::SubFOp>(l, v, r)));
    case ReduceKind::Prod:
      return nb.create<arith::MulFOp>(l, g,
                                      nb.create<arith::DivFOp>(l, r, v));
    case ReduceKind::Min:
    case ReduceKind::Max: {
      Value hit =
          nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ, v, r);
      return nb.create<arith::SelectOp>(l, hit, g, constF32(nb, l, 0.0));
    }
    default:
      return Value();
    }
  }

  /// The reverse pass of a loop body over index range [lo, hi) whose
  /// block argument is the index: `seed` gives the adjoint of the body's
  /// yielded value at index i; the adjoints of the outer values the body
  /// reads accumulate over the iterations.
  LogicalResult
  backpropIndexedBody(Location loc, Block &body, Value lo, Value hi,
                      function_ref<Value(OpBuilder &, Location, Value index,
                                         ValueRange yielded)>
                          seed) {
    SetVector<Value> floats, seqVals;
    outerUses(*body.getParent(), floats, seqVals);
    SmallVector<Value> inits;
    for (size_t i = 0; i < floats.size(); ++i)
      inits.push_back(constF32(b, loc, 0.0));
    for (Value q : seqVals)
      inits.push_back(seqSlot(loc, q));
    LogicalResult status = success();
    auto loop = b.create<scf::ForOp>(
        loc, lo, hi, constIndex(b, loc, 1), inits,
        [&](OpBuilder &nb, Location l, Value i, ValueRange acc) {
          auto contrib = reverseBlock(
              nb, l, body,
              [&](RowLowering &c) { c.map.map(body.getArgument(0), i); },
              [&](ValueRange ys) -> SmallVector<Value> {
                return {seed(nb, l, i, ys)};
              },
              floats.getArrayRef(), seqVals.getArrayRef(),
              acc.drop_front(floats.size()));
          SmallVector<Value> next;
          if (failed(contrib)) {
            status = failure();
            next.assign(acc.begin(), acc.end());
          } else {
            for (size_t k = 0; k < floats.size(); ++k)
              next.push_back(nb.create<arith::AddFOp>(l, acc[k], (*contrib)[k]));
            for (size_t k = 0; k < seqVals.size(); ++k)
              next.push_back((*contrib)[floats.size() + k]);
          }
          nb.create<scf::YieldOp>(l, next);
        });
    for (auto [k, f] : llvm::enumerate(floats))
      add(f, loop.getResult(k));
    for (auto [k, q] : llvm::enumerate(seqVals))
      seqAdj[q] = loop.getResult(floats.size() + k);
    return status;
  }

  LogicalResult backpropRangeReduce(RangeReduceOp rr, Value g) {
    if (!rr.getType().isF32())
      return success();
    Value r = fwd.lookup(rr.getResult());
    return backpropIndexedBody(
        rr.getLoc(), rr.getBody().front(), fwd.lookup(rr.getLo()),
        fwd.lookup(rr.getHi()),
        [&](OpBuilder &nb, Location l, Value, ValueRange ys) {
          return iterationWeight(nb, l, rr.getKind(), ys[0], r, g);
        });
  }

  /// A sequence built from a body: each iteration's value gets the
  /// adjoint of its entry.
  LogicalResult backpropSeqBuild(SeqBuildOp sb) {
    auto it = seqAdj.find(sb.getResult());
    if (it == seqAdj.end())
      return success();
    Value outAdj = it->second;
    Location loc = sb.getLoc();
    return backpropIndexedBody(
        loc, sb.getBody().front(), constIndex(b, loc, 0),
        fwd.lookup(sb.getLen()),
        [&](OpBuilder &nb, Location l, Value k, ValueRange) -> Value {
          return nb.create<tensor::ExtractOp>(l, outAdj, k);
        });
  }

  LogicalResult backpropIf(scf::IfOp ifOp) {
    Location loc = ifOp.getLoc();
    SmallVector<Value> grads;
    bool any = false;
    for (Value res : ifOp.getResults()) {
      auto it = scalar.find(res);
      grads.push_back(it != scalar.end() ? it->second : Value());
      any |= it != scalar.end();
    }
    if (!any)
      return success();
    SetVector<Value> floats, seqVals;
    outerUses(ifOp.getThenRegion(), floats, seqVals);
    outerUses(ifOp.getElseRegion(), floats, seqVals);
    SmallVector<Type> types;
    SmallVector<Value> seqIn;
    for (size_t i = 0; i < floats.size(); ++i)
      types.push_back(b.getF32Type());
    for (Value q : seqVals) {
      seqIn.push_back(seqSlot(loc, q));
      types.push_back(seqIn.back().getType());
    }
    auto rev = b.create<scf::IfOp>(loc, types, fwd.lookup(ifOp.getCondition()),
                                   /*withElseRegion=*/true);
    LogicalResult status = success();
    for (auto [src, dst] : {std::pair{ifOp.thenBlock(), rev.thenBlock()},
                            std::pair{ifOp.elseBlock(), rev.elseBlock()}}) {
      OpBuilder nb = OpBuilder::atBlockEnd(dst);
      auto contrib = reverseBlock(
          nb, loc, *src, [](RowLowering &) {},
          [&](ValueRange) { return grads; }, floats.getArrayRef(),
          seqVals.getArrayRef(), seqIn);
      if (failed(contrib)) {
        status = failure();
        SmallVector<Value> keep;
        for (size_t i = 0; i < floats.size(); ++i)
          keep.push_back(constF32(nb, loc, 0.0));
        keep.append(seqIn.begin(), seqIn.end());
        nb.create<scf::YieldOp>(loc, keep);
        continue;
      }
      nb.create<scf::YieldOp>(loc, *contrib);
    }
    for (auto [k, f] : llvm::enumerate(floats))
      add(f, rev.getResult(k));
    for (auto [k, q] : llvm::enumerate(seqVals))
      seqAdj[q] = rev.getResult(floats.size() + k);
    return status;
  }

  LogicalResult backprop(Operation &op) {
    Location loc = op.getLoc();
    if (auto ifOp = dyn_cast<scf::IfOp>(op))
      return backpropIf(ifOp);
    // Sequences first: their adjoints are tensors.
    if (auto t = dyn_cast<TrajSeqOp>(op)) {
      auto it = seqAdj.find(t.getResult());
      if (it == seqAdj.end() || !isLearned(t.getField()))
        return success();
      Value &f = fieldAdj[t.getField()];
      f = f ? b.create<arith::AddFOp>(loc, f, it->second).getResult()
            : it->second;
      return success();
    }
    if (auto c = dyn_cast<SeqCumsumOp>(op)) {
      auto it = seqAdj.find(c.getResult());
      if (it == seqAdj.end())
        return success();
      // d in[j] = sum_{k >= j, k < len} d out[k]: a reversed running sum.
      Value outAdj = it->second;
      const SeqVal &s = fwd.seq(c.getSeq());
      Value &inAdj = seqSlot(loc, c.getSeq());
      auto loop = b.create<scf::ForOp>(
          loc, constIndex(b, loc, 0), s.len, constIndex(b, loc, 1),
          ValueRange{constF32(b, loc, 0.0), inAdj},
          [&](OpBuilder &nb, Location l, Value i, ValueRange a) {
            Value last = nb.create<arith::SubIOp>(l, s.len, constIndex(nb, l, 1));
            Value j = nb.create<arith::SubIOp>(l, last, i);
            Value run = nb.create<arith::AddFOp>(
                l, a[0], nb.create<tensor::ExtractOp>(l, outAdj, j));
            Value cur = nb.create<tensor::ExtractOp>(l, a[1], j);
            Value next = nb.create<arith::AddFOp>(l, cur, run);
            nb.create<scf::YieldOp>(
                l, ValueRange{run, nb.create<tensor::InsertOp>(l, next, a[1], j)});
          });
      inAdj = loop.getResult(1);
      return success();
    }

    if (auto sb = dyn_cast<SeqBuildOp>(op))
      return backpropSeqBuild(sb);
    if (auto rt = dyn_cast<SeqReturnsOp>(op)) {
      auto it = seqAdj.find(rt.getResult());
      if (it == seqAdj.end())
        return success();
      // d s_j = sum_{k <= j} gamma^(j-k) d G_k: a forward discounted sum.
      Value outAdj = it->second;
      Value gamma = fwd.lookup(rt.getGamma());
      const SeqVal &s = fwd.seq(rt.getSeq());
      Value &inAdj = seqSlot(loc, rt.getSeq());
      auto loop = b.create<scf::ForOp>(
          loc, constIndex(b, loc, 0), s.len, constIndex(b, loc, 1),
          ValueRange{constF32(b, loc, 0.0), inAdj},
          [&](OpBuilder &nb, Location l, Value j, ValueRange a) {
            Value run = nb.create<arith::AddFOp>(
                l, nb.create<tensor::ExtractOp>(l, outAdj, j),
                nb.create<arith::MulFOp>(l, gamma, a[0]));
            Value next = nb.create<arith::AddFOp>(
                l, nb.create<tensor::ExtractOp>(l, a[1], j), run);
            nb.create<scf::YieldOp>(
                l,
                ValueRange{run, nb.create<tensor::InsertOp>(l, next, a[1], j)});
          });
      inAdj = loop.getResult(1);
      return success();
    }
    if (auto gae = dyn_cast<SeqGaeOp>(op)) {
      auto it = seqAdj.find(gae.getResult());
      if (it == seqAdj.end())
        return success();
      // c_j = d A_j + gamma lambda c_{j-1} is d delta_j; then d r_j += c_j,
      // d v_j -= c_j and d v_{j+1} += gamma c_j where j + 1 < L.
      Value outAdj = it->second;
      Value gamma = fwd.lookup(gae.getGamma());
      Value gl =
          b.create<arith::MulFOp>(loc, gamma, fwd.lookup(gae.getLambda()));
      const SeqVal &r = fwd.seq(gae.getRewards());
      const SeqVal &v = fwd.seq(gae.getValues());
      Value rAdj = seqSlot(loc, gae.getRewards());
      Value vAdj = seqSlot(loc, gae.getValues());
      auto loop = b.create<scf::ForOp>(
          loc, constIndex(b, loc, 0), r.len, constIndex(b, loc, 1),
          ValueRange{constF32(b, loc, 0.0), rAdj, vAdj},
          [&](OpBuilder &nb, Location l, Value j, ValueRange a) {
            Value c = nb.create<arith::AddFOp>(
                l, nb.create<tensor::ExtractOp>(l, outAdj, j),
                nb.create<arith::MulFOp>(l, gl, a[0]));
            auto bump = [&](Value t, Value k, Value by, Value ok) -> Value {
              Value last = nb.create<arith::SubIOp>(
                  l, nb.create<tensor::DimOp>(l, t, 0), constIndex(nb, l, 1));
              Value kc = nb.create<arith::MinSIOp>(l, k, last);
              Value cur = nb.create<tensor::ExtractOp>(l, t, kc);
              Value add =
                  nb.create<arith::SelectOp>(l, ok, by, constF32(nb, l, 0.0));
              return nb.create<tensor::InsertOp>(
                  l, nb.create<arith::AddFOp>(l, cur, add), t, kc);
            };
            Value yes = constBool(nb, l, true);
            Value dr = bump(a[1], j, c, yes);
            Value inV = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt,
                                                 j, v.len);
            Value dv = bump(a[2], j, nb.create<arith::NegFOp>(l, c), inV);
            Value j1 = nb.create<arith::AddIOp>(l, j, constIndex(nb, l, 1));
            Value next = nb.create<arith::AndIOp>(
                l,
                nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, j1,
                                         r.len),
                nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, j1,
                                         v.len));
            dv = bump(dv, j1, nb.create<arith::MulFOp>(l, gamma, c), next);
            nb.create<scf::YieldOp>(l, ValueRange{c, dr, dv});
          });
      seqAdj[gae.getRewards()] = loop.getResult(1);
      seqAdj[gae.getValues()] = loop.getResult(2);
      return success();
    }

    // Scalar results: nothing to do without an adjoint.
    if (op.getNumResults() != 1)
      return success();
    Value r = op.getResult(0);
    auto found = scalar.find(r);
    if (found == scalar.end())
      return success();
    Value g = found->second;
    auto L = [&](Value v) { return fwd.lookup(v); };
    auto mul = [&](Value x, Value y) -> Value {
      return b.create<arith::MulFOp>(loc, x, y);
    };
    auto neg = [&](Value x) -> Value { return b.create<arith::NegFOp>(loc, x); };
    auto zero = [&]() { return constF32(b, loc, 0.0); };

    if (auto o = dyn_cast<arith::AddFOp>(op)) {
      add(o.getLhs(), g);
      add(o.getRhs(), g);
    } else if (auto o = dyn_cast<arith::SubFOp>(op)) {
      add(o.getLhs(), g);
      add(o.getRhs(), neg(g));
    } else if (auto o = dyn_cast<arith::MulFOp>(op)) {
      add(o.getLhs(), mul(g, L(o.getRhs())));
      add(o.getRhs(), mul(g, L(o.getLhs())));
    } else if (auto o = dyn_cast<arith::DivFOp>(op)) {
      add(o.getLhs(), b.create<arith::DivFOp>(loc, g, L(o.getRhs())));
      add(o.getRhs(), neg(b.create<arith::DivFOp>(loc, mul(g, L(r)),
                                                  L(o.getRhs()))));
    } else if (auto o = dyn_cast<arith::NegFOp>(op)) {
      add(o.getOperand(), neg(g));
    } else if (isa<arith::MaximumFOp, arith::MinimumFOp>(op)) {
      Value a = op.getOperand(0), c = op.getOperand(1);
      auto pred = isa<arith::MaximumFOp>(op) ? arith::CmpFPredicate::OGE
                                             : arith::CmpFPredicate::OLE;
      Value first = b.create<arith::CmpFOp>(loc, pred, L(a), L(c));
      add(a, b.create<arith::SelectOp>(loc, first, g, zero()));
      add(c, b.create<arith::SelectOp>(loc, first, zero(), g));
    } else if (auto o = dyn_cast<arith::SelectOp>(op)) {
      Value c = L(o.getCondition());
      add(o.getTrueValue(), b.create<arith::SelectOp>(loc, c, g, zero()));
      add(o.getFalseValue(), b.create<arith::SelectOp>(loc, c, zero(), g));
    } else if (auto o = dyn_cast<math::ExpOp>(op)) {
      add(o.getOperand(), mul(g, L(r)));
    } else if (auto o = dyn_cast<math::LogOp>(op)) {
      add(o.getOperand(), b.create<arith::DivFOp>(loc, g, L(o.getOperand())));
    } else if (auto o = dyn_cast<math::Log1pOp>(op)) {
      Value onePlus = b.create<arith::AddFOp>(loc, constF32(b, loc, 1.0),
                                              L(o.getOperand()));
      add(o.getOperand(), b.create<arith::DivFOp>(loc, g, onePlus));
    } else if (auto o = dyn_cast<math::ExpM1Op>(op)) {
      add(o.getOperand(),
          mul(g, b.create<arith::AddFOp>(loc, L(r), constF32(b, loc, 1.0))));
    } else if (auto o = dyn_cast<math::SqrtOp>(op)) {
      add(o.getOperand(),
          b.create<arith::DivFOp>(loc, mul(g, constF32(b, loc, 0.5)), L(r)));
    } else if (auto o = dyn_cast<math::TanhOp>(op)) {
      Value one = constF32(b, loc, 1.0);
      add(o.getOperand(),
          mul(g, b.create<arith::SubFOp>(loc, one, mul(L(r), L(r)))));
    } else if (auto o = dyn_cast<math::AbsFOp>(op)) {
      Value pos = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGE,
                                          L(o.getOperand()), zero());
      add(o.getOperand(), b.create<arith::SelectOp>(loc, pos, g, neg(g)));
    } else if (auto o = dyn_cast<math::FPowIOp>(op)) {
      Value n = b.create<arith::SIToFPOp>(loc, b.getF32Type(), L(o.getRhs()));
      Value nm1 = b.create<arith::SubIOp>(loc, L(o.getRhs()),
                                          constI32(b, loc, 1));
      Value p = b.create<math::FPowIOp>(loc, L(o.getLhs()), nm1);
      add(o.getLhs(), mul(g, mul(n, p)));
    } else if (auto o = dyn_cast<math::PowFOp>(op)) {
      Value a = L(o.getLhs()), e = L(o.getRhs());
      Value em1 = b.create<arith::SubFOp>(loc, e, constF32(b, loc, 1.0));
      add(o.getLhs(), mul(g, mul(e, b.create<math::PowFOp>(loc, a, em1))));
      add(o.getRhs(), mul(g, mul(L(r), b.create<math::LogOp>(loc, a))));
    } else if (isa<math::FloorOp, math::CeilOp, StopGradOp>(op)) {
      // Zero gradient.
    } else if (auto o = dyn_cast<HuberOp>(op)) {
      // d/dx huber(x, d) = clamp(x, -d, d).
      Value d = L(o.getDelta());
      Value x = L(o.getInput());
      Value c = b.create<arith::MinimumFOp>(
          loc, b.create<arith::MaximumFOp>(loc, x, neg(d)), d);
      add(o.getInput(), mul(g, c));
    } else if (auto o = dyn_cast<LogsumexpOp>(op)) {
      for (Value x : o.getInputs())
        add(x, mul(g, b.create<math::ExpOp>(
                          loc, b.create<arith::SubFOp>(loc, L(x), L(r)))));
    } else if (auto o = dyn_cast<TrajScalarOp>(op)) {
      if (o.getField() == TrajScalarField::LogZ)
        dLogZ = dLogZ ? b.create<arith::AddFOp>(loc, dLogZ, g).getResult() : g;
    } else if (auto o = dyn_cast<SeqAtOp>(op)) {
      const SeqVal &s = fwd.seq(o.getSeq());
      Value &adj = seqSlot(loc, o.getSeq());
      Value k = L(o.getIndex());
      Value lo = constIndex(b, loc, 0);
      Value ok = b.create<arith::AndIOp>(
          loc, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, k, lo),
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, k, s.len));
      Value last = b.create<arith::SubIOp>(
          loc, b.create<tensor::DimOp>(loc, adj, 0), constIndex(b, loc, 1));
      Value kc = b.create<arith::MinSIOp>(
          loc, b.create<arith::MaxSIOp>(loc, k, lo), last);
      Value cur = b.create<tensor::ExtractOp>(loc, adj, kc);
      Value next = b.create<arith::AddFOp>(
          loc, cur, b.create<arith::SelectOp>(loc, ok, g, zero()));
      adj = b.create<tensor::InsertOp>(loc, next, adj, kc);
    } else if (auto o = dyn_cast<SeqReduceOp>(op)) {
      Value res = L(r);
      switch (o.getKind()) {
      case ReduceKind::Sum:
        addOverValid(loc, o.getSeq(),
                     [&](OpBuilder &, Location, Value) { return g; });
        break;
      case ReduceKind::LogSumExp:
        addOverValid(loc, o.getSeq(),
                     [&](OpBuilder &nb, Location l, Value x) -> Value {
                       Value w = nb.create<math::ExpOp>(
                           l, nb.create<arith::SubFOp>(l, x, res));
                       return nb.create<arith::MulFOp>(l, g, w);
                     });
        break;
      case ReduceKind::Min:
      case ReduceKind::Max:
        // Every entry equal to the extreme shares the gradient (ties are
        // measure-zero for continuous inputs).
        addOverValid(loc, o.getSeq(),
                     [&](OpBuilder &nb, Location l, Value x) -> Value {
                       Value hit = nb.create<arith::CmpFOp>(
                           l, arith::CmpFPredicate::OEQ, x, res);
                       return nb.create<arith::SelectOp>(
                           l, hit, g, constF32(nb, l, 0.0));
                     });
        break;
      default:
        return op.emitError("cannot differentiate this sequence reduction");
      }
    } else if (auto rr = dyn_cast<RangeReduceOp>(op)) {
      return backpropRangeReduce(rr, g);
    } else if (isa<BatchReduceOp>(op)) {
      // A batch-wide value: its adjoint is an output of the kernel; the
      // runtime sums it over the batch and feeds the stage's gradient.
    } else if (isa<arith::ConstantOp, arith::SIToFPOp, arith::UIToFPOp>(op)) {
      // Constants and values computed from integers carry no gradient.
    } else {
      return op.emitError() << "cannot differentiate '" << op.getName()
                            << "' yet";
    }
    return success();
  }

  OpBuilder &b;
  RowLowering &fwd;
  DenseMap<Value, Value> scalar;
  DenseMap<Value, Value> seqAdj;
  std::map<TrajSeqField, Value> fieldAdj;
  Value dLogZ;
};

struct ObjectiveUse {
  SmallVector<TrajSeqField> fields; // in kAllFields order
  bool logZ = false;
};

ObjectiveUse usesOf(ObjectiveOp obj) {
  ObjectiveUse use;
  std::set<TrajSeqField> seen;
  obj.walk([&](Operation *op) {
    if (auto t = dyn_cast<TrajSeqOp>(op))
      seen.insert(t.getField());
    if (auto t = dyn_cast<TrajScalarOp>(op))
      use.logZ |= t.getField() == TrajScalarField::LogZ;
  });
  for (TrajSeqField f : kAllFields)
    if (seen.count(f))
      use.fields.push_back(f);
  return use;
}

std::string fieldName(TrajSeqField f) { return stringifyTrajSeqField(f).str(); }

/// Moves the trajectory reads (which depend on nothing but the trajectory)
/// to the top of the body, out of loops and branches, so that gradients
/// reach them once.
void hoistTrajectoryReads(ObjectiveOp obj) {
  Block &body = obj.getBodyRegion().front();
  SmallVector<Operation *> reads;
  obj.walk([&](Operation *op) {
    if (isa<TrajSeqOp, TrajScalarOp, TrajLenOp>(op) && op->getBlock() != &body)
      reads.push_back(op);
  });
  for (Operation *op : reads)
    op->moveBefore(&body.front());
}

/// Builds gfl_obj_NAME (and gfl_obj_NAME_grad when `withGradient`).
///
/// Batch collectives split the work in stages. `gfl_obj_NAME_batch` gives
/// every row's operand of each collective (`batch_mean_J` / `batch_sum_J`);
/// the runtime reduces them over the batch and passes the results to the
/// loss kernels as the same-named inputs. The gradient kernel then also
/// returns each result's adjoint (`d_batch_..._J`), which the runtime sums
/// over the batch (divided by B for a mean) and feeds to
/// `gfl_obj_NAME_batch_grad` as the operands' upstream gradients; its
/// gradients add to the loss kernel's.
LogicalResult buildObjectiveKernels(OpBuilder &b, ModuleOp module,
                                    ObjectiveOp obj, bool withGradient) {
  Location loc = obj.getLoc();
  hoistTrajectoryReads(obj);
  ObjectiveUse use = usesOf(obj);
  Type f32 = b.getF32Type(), i32 = b.getI32Type(), i1 = b.getI1Type();
  auto row = RankedTensorType::get({ShapedType::kDynamic}, f32);
  Block &body = obj.getBodyRegion().front();
  Value loss = cast<YieldOp>(body.getTerminator()).getValues().front();

  // Collectives at the top level, in order; nested ones are reported when
  // the body is lowered.
  SmallVector<BatchReduceOp> collectives;
  for (Operation &op : body.without_terminator())
    if (auto br = dyn_cast<BatchReduceOp>(op))
      collectives.push_back(br);
  for (BatchReduceOp br : collectives) {
    bool nestedCollective = false;
    SmallVector<Value> work{br.getInput()};
    DenseSet<Value> seen;
    while (!work.empty()) {
      Value v = work.pop_back_val();
      if (!seen.insert(v).second)
        continue;
      Operation *def = v.getDefiningOp();
      if (!def)
        continue;
      if (isa<BatchReduceOp>(def))
        nestedCollective = true;
      def->walk([&](Operation *inner) {
        for (Value o : inner->getOperands())
          work.push_back(o);
      });
    }
    if (nestedCollective)
      return br.emitError("a batch collective may not depend on another");
  }
  auto collectiveName = [&](size_t j) {
    return std::string("batch_") +
           (collectives[j].getKind() == BatchReduceKind::Mean ? "mean_"
                                                              : "sum_") +
           std::to_string(j);
  };

  SmallVector<Type> inputs;
  SmallVector<std::string> names;
  for (TrajSeqField f : use.fields) {
    inputs.push_back(row);
    names.push_back(fieldName(f));
  }
  // The sequences are ragged rows: trajectory b's entries are
  // [offsets[b], offsets[b + 1]) of each (packed states, or the padded grid
  // with offsets b (T + 1)). A row has room for every entry its length
  // counts, and reads past the length are masked.
  inputs.append({f32, f32, i32, i1, i32});
  names.append({"log_r", "log_z", "n", "exited", "offsets"});
  size_t numBase = inputs.size();
  size_t numLearned = llvm::count_if(use.fields, isLearned);
  // Ragged inputs and outputs of a kernel whose gradient outputs (one per
  // learned sequence first) start at output `gradientsAt`.
  auto ragged = [&](KernelSpec spec, std::optional<size_t> gradientsAt) {
    spec.offsetsInput = numBase - 1;
    for (size_t i = 0; i < use.fields.size(); ++i)
      spec.raggedInputs.push_back(i);
    if (gradientsAt)
      for (size_t i = 0; i < numLearned; ++i)
        spec.raggedOutputs.push_back(*gradientsAt + i);
    return spec;
  };
  SmallVector<Type> scalars;
  for (BlockArgument a : obj.getExtraArgs())
    scalars.push_back(a.getType());
  SmallVector<std::string> scalarNames;
  for (size_t i = 0; i < scalars.size(); ++i)
    scalarNames.push_back("param" + std::to_string(i));

  // Row inputs -> RowInputs; `batch` gives the collectives' values.
  auto rowInputs = [&](OpBuilder &nb, Location l, ValueRange in,
                       ValueRange sc, ValueRange batch) {
    RowInputs r;
    size_t k = use.fields.size();
    r.logR = in[k];
    r.logZ = in[k + 1];
    r.n = nb.create<arith::IndexCastOp>(l, nb.getIndexType(), in[k + 2]);
    Value exited = nb.create<arith::IndexCastOp>(
        l, nb.getIndexType(), nb.create<arith::ExtUIOp>(l, i32, in[k + 3]));
    r.exited = nb.create<arith::UIToFPOp>(l, f32, in[k + 3]);
    Value one = constIndex(nb, l, 1);
    for (auto [i, f] : llvm::enumerate(use.fields)) {
      Value len = perAction(f)
                      ? nb.create<arith::AddIOp>(l, r.n, exited).getResult()
                  : f == TrajSeqField::LogPB
                      ? r.n
                      : nb.create<arith::AddIOp>(l, r.n, one).getResult();
      r.fields[f] = {in[i], len};
    }
    r.params.assign(sc.begin(), sc.end());
    for (size_t j = 0; j < collectives.size(); ++j)
      r.batch[collectives[j].getOperation()] =
          j < batch.size() ? batch[j] : constF32(nb, l, 0.0);
    return r;
  };
  auto lowerBody = [&](RowLowering &lower, const RowInputs &r) {
    for (auto [arg, v] : llvm::zip(obj.getExtraArgs(), r.params))
      lower.map.map(arg, v);
    return lower.lowerBlock(body);
  };

  LogicalResult status = success();
  std::string base = "gfl_obj_" + obj.getSymName().str();
  SmallVector<Type> withBatch = inputs;
  SmallVector<std::string> withBatchNames = names;
  for (size_t j = 0; j < collectives.size(); ++j) {
    withBatch.push_back(f32);
    withBatchNames.push_back(collectiveName(j));
  }

  // Stage: every row's operand of each collective.
  if (!collectives.empty()) {
    SmallVector<Type> outs(collectives.size(), f32);
    SmallVector<std::string> stageNames = names;
    stageNames.append(scalarNames.begin(), scalarNames.end());
    for (size_t j = 0; j < collectives.size(); ++j)
      stageNames.push_back(collectiveName(j));
    auto stage = [&](OpBuilder &nb, Location l, Value, ValueRange in,
                     ValueRange sc) -> SmallVector<Value> {
      RowInputs r = rowInputs(nb, l, in, sc, {});
      RowLowering lower(nb, r);
      SmallVector<Value> vals;
      if (failed(lowerBody(lower, r)))
        status = failure();
      for (BatchReduceOp br : collectives) {
        Value v = lower.lookup(br.getInput());
        vals.push_back(v ? v : constF32(nb, l, 0.0));
      }
      return vals;
    };
    buildKernel(b, module, loc,
                ragged(KernelSpec{base + "_batch", inputs, scalars, outs, stage,
                                  stageNames},
                       std::nullopt));
  }

  auto forward = [&](OpBuilder &nb, Location l, Value, ValueRange in,
                     ValueRange sc) -> SmallVector<Value> {
    RowInputs r = rowInputs(nb, l, in.take_front(numBase), sc,
                            in.drop_front(numBase));
    RowLowering lower(nb, r);
    if (failed(lowerBody(lower, r)))
      status = failure();
    Value out = lower.lookup(loss);
    return {out ? out : constF32(nb, l, 0.0)};
  };
  SmallVector<std::string> fwdNames = withBatchNames;
  fwdNames.append(scalarNames.begin(), scalarNames.end());
  fwdNames.push_back("loss");
  buildKernel(
      b, module, loc,
      ragged(KernelSpec{base, withBatch, scalars, {f32}, forward, fwdNames},
             std::nullopt));
  if (failed(status) || !withGradient)
    return status;

  // Gradient outputs shared by the loss and stage gradient kernels.
  SmallVector<Type> gradOutputs;
  SmallVector<std::string> gradOutNames;
  for (TrajSeqField f : use.fields)
    if (isLearned(f)) {
      gradOutputs.push_back(row);
      gradOutNames.push_back("d_" + fieldName(f));
    }
  if (use.logZ) {
    gradOutputs.push_back(f32);
    gradOutNames.push_back("d_log_z");
  }
  auto gradientsOf = [&](OpBuilder &nb, Location l, Adjoints &adj,
                         const RowInputs &r) {
    SmallVector<Value> outs;
    for (TrajSeqField f : use.fields)
      if (isLearned(f))
        outs.push_back(adj.fieldGradient(l, f, r.fields.at(f)));
    if (use.logZ)
      outs.push_back(adj.logZGradient(l));
    return outs;
  };
  auto placeholders = [&](OpBuilder &nb, Location l, const RowInputs &r) {
    SmallVector<Value> outs;
    for (TrajSeqField f : use.fields)
      if (isLearned(f))
        outs.push_back(r.fields.at(f).data);
    if (use.logZ)
      outs.push_back(constF32(nb, l, 0.0));
    return outs;
  };

  SmallVector<Type> gradInputs = withBatch;
  gradInputs.push_back(f32);
  SmallVector<std::string> gradNames = withBatchNames;
  gradNames.push_back("d_loss");
  gradNames.append(scalarNames.begin(), scalarNames.end());
  SmallVector<Type> lossGradOutputs{f32};
  lossGradOutputs.append(gradOutputs.begin(), gradOutputs.end());
  gradNames.push_back("loss");
  gradNames.append(gradOutNames.begin(), gradOutNames.end());
  for (size_t j = 0; j < collectives.size(); ++j) {
    lossGradOutputs.push_back(f32);
    gradNames.push_back("d_" + collectiveName(j));
  }
  auto gradient = [&](OpBuilder &nb, Location l, Value, ValueRange in,
                      ValueRange sc) -> SmallVector<Value> {
    RowInputs r = rowInputs(nb, l, in.take_front(numBase), sc,
                            in.slice(numBase, collectives.size()));
    RowLowering lower(nb, r);
    SmallVector<Value> outs;
    if (succeeded(lowerBody(lower, r))) {
      Adjoints adj(nb, lower);
      if (succeeded(adj.run(body, loss, in.back()))) {
        outs.push_back(lower.lookup(loss));
        outs.append(gradientsOf(nb, l, adj, r));
        for (BatchReduceOp br : collectives)
          outs.push_back(adj.adjointOf(l, br.getResult()));
        return outs;
      }
    }
    status = failure();
    outs.push_back(constF32(nb, l, 0.0));
    outs.append(placeholders(nb, l, r));
    for (size_t j = 0; j < collectives.size(); ++j)
      outs.push_back(constF32(nb, l, 0.0));
    return outs;
  };
  buildKernel(b, module, loc,
              ragged(KernelSpec{base + "_grad", gradInputs, scalars,
                                lossGradOutputs, gradient, gradNames},
                     /*after the loss*/ 1));

  // The stage's gradient exists when there is something to differentiate.
  if (!collectives.empty() && !gradOutputs.empty()) {
    SmallVector<Type> stageGradInputs = inputs;
    SmallVector<std::string> stageGradNames = names;
    for (size_t j = 0; j < collectives.size(); ++j) {
      stageGradInputs.push_back(f32);
      stageGradNames.push_back("d_" + collectiveName(j));
    }
    stageGradNames.append(scalarNames.begin(), scalarNames.end());
    stageGradNames.append(gradOutNames.begin(), gradOutNames.end());
    auto stageGradient = [&](OpBuilder &nb, Location l, Value, ValueRange in,
                             ValueRange sc) -> SmallVector<Value> {
      RowInputs r = rowInputs(nb, l, in.take_front(numBase), sc, {});
      RowLowering lower(nb, r);
      if (succeeded(lowerBody(lower, r))) {
        Adjoints adj(nb, lower);
        SmallVector<Value> operands;
        for (BatchReduceOp br : collectives)
          operands.push_back(br.getInput());
        if (succeeded(adj.run(body, operands, in.drop_front(numBase))))
          return gradientsOf(nb, l, adj, r);
      }
      status = failure();
      return placeholders(nb, l, r);
    };
    buildKernel(
        b, module, loc,
        ragged(KernelSpec{base + "_batch_grad", stageGradInputs, scalars,
                          gradOutputs, stageGradient, stageGradNames},
               0));
  }
  return status;
}

struct AutodiffPass : impl::AutodiffBase<AutodiffPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto train = module->getAttrOfType<StringAttr>("gfl.train_objective");
    OpBuilder b(module.getContext());
    bool failedAny = false;
    for (ObjectiveOp obj :
         llvm::make_early_inc_range(module.getOps<ObjectiveOp>())) {
      bool withGradient = !train || train.getValue() == obj.getSymName();
      if (failed(buildObjectiveKernels(b, module, obj, withGradient)))
        failedAny = true;
      obj.erase();
    }
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace

} // namespace mlir::gfl

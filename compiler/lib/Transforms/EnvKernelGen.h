//===- EnvKernelGen.h - Per-state building blocks of env kernels -*- C++
//-*-===//
//
// Row-level pieces shared by the environment kernels and the fused sampling
// kernel: the forward mask of a state, the step dispatch over action
// families, termination, features. Each inlines the env's regions.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_TRANSFORMS_ENVKERNELGEN_H
#define GFL_TRANSFORMS_ENVKERNELGEN_H

#include "KernelBuilder.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::gfl {

class EnvKernelGen {
public:
  EnvKernelGen(EnvOp env, ModuleOp module);

  /// Emits every kernel into the module.
  void generate(OpBuilder &b);

  // Row-level pieces.
  Value forwardMask(OpBuilder &b, Location loc, ValueRange states);
  Value backwardMask(OpBuilder &b, Location loc, ValueRange states);
  Value isTerminal(OpBuilder &b, Location loc, ValueRange states);
  /// The state after flat forward action `action`; the exit (and any index
  /// out of range) leaves the state unchanged.
  SmallVector<Value> step(OpBuilder &b, Location loc, ValueRange states,
                          Value action);
  /// The state before flat backward action `action`.
  SmallVector<Value> backwardStep(OpBuilder &b, Location loc, ValueRange states,
                                  Value action);
  /// True when the trajectory ends after taking `action` into `next`.
  Value stepEnds(OpBuilder &b, Location loc, Value action, ValueRange next);
  Value features(OpBuilder &b, Location loc, ValueRange states);
  /// log R of `states` at the conditions `conds` (one value per condition).
  Value logReward(OpBuilder &b, Location loc, ValueRange states,
                  ValueRange conds);
  /// The conditions' values from a condition row (tensor<C x f32>).
  SmallVector<Value> unpackConditions(OpBuilder &b, Location loc, Value row);

  /// True when `states` is the initial state s0.
  Value isInitial(OpBuilder &b, Location loc, ValueRange states);

  /// Builds gfl_sample_step (SampleKernel.cpp).
  void buildSampleKernel(OpBuilder &b);
  /// Builds gfl_sample_backward_step (SamplerKernels.cpp).
  void buildBackwardSampleKernel(OpBuilder &b);
  /// Builds the env-independent sampler kernels: gfl_uniform and
  /// gfl_ls_accept (SamplerKernels.cpp).
  void buildSamplerKernels(OpBuilder &b);
  /// Builds gfl_draw_condition (ConditionKernel.cpp).
  void buildConditionKernel(OpBuilder &b);

  bool enumerable() const { return enumerable_; }
  int64_t stateCount() const { return stateCount_; }

private:
  /// The family index (an index) of flat action `action`: the last family
  /// whose offset is <= action, -1 for the exit or out of range.
  Value familyOf(OpBuilder &b, Location loc, Value action);
  /// One flat scf.index_switch over the families (linear in their number,
  /// unlike a chain of nested ifs): case f yields `body` of family f with
  /// the decoded parameters of `action`; the default yields `defaults`.
  scf::IndexSwitchOp
  switchOnFamily(OpBuilder &b, Location loc, Value action,
                 TypeRange resultTypes, ValueRange defaults,
                 function_ref<SmallVector<Value>(OpBuilder &, Location,
                                                 ActionOp, ValueRange)>
                     body);
  /// A row of `rowType` (i1) whose entry (family offset + k) is
  /// `entry(action, params)` for every flat action k of every family, and
  /// false elsewhere; one loop per family.
  Value fillFamilies(
      OpBuilder &b, Location loc, RankedTensorType rowType,
      function_ref<Value(OpBuilder &, Location, ActionOp, ValueRange)> entry);
  SmallVector<Value> dispatch(OpBuilder &b, Location loc, ValueRange states,
                              Value action, bool backward);
  void buildEnumerationKernels(OpBuilder &b);
  void buildPolicyKernels(OpBuilder &b);
  void buildPolicyStatsKernels(OpBuilder &b);
  void buildEdgeFlowKernels(OpBuilder &b);

  EnvOp env_;
  ModuleOp module_;
  Location loc_;
  SmallVector<StateOp, 4> states_;
  SmallVector<Type> stateTypes_;
  SmallVector<ConditionOp, 2> conditions_;
  int64_t conditionSize_ = 0; // f32 values in a condition row
  ActionLayout layout_;
  bool enumerable_ = false;
  int64_t stateCount_ = 0;
};

/// A uniform float in [0, 1) from Philox-4x32-10 keyed by `seed` (i64) with
/// the counter (trajectory, step, iteration low, iteration high XOR stream
/// << 16); `iteration`, `step` and `stream` are i64, `trajectory` an index.
Value philoxUniform(OpBuilder &b, Location loc, Value seed, Value iteration,
                    Value trajectory, Value step, Value stream);

/// The trajectory number Philox is keyed by: the kernel's row `index` plus
/// `first` (i64), the number of the launch's first row. Workers of a
/// data-parallel run each draw a share of the batch; numbering rows
/// globally makes their draws those of one process drawing the whole batch.
Value globalRow(OpBuilder &b, Location loc, Value index, Value first);

/// One categorical draw by inverse CDF from uniform `u`.
struct CategoricalDraw {
  Value action;        // i32; -1 when no action is valid
  Value none;          // i1: no action is valid
  Value logProb;       // log-softmax of the masked logits (0 when none)
  Value logSampleProb; // log of the tempered, epsilon-mixed probability
};

/// Draws from the masked logits (a tensor of `numActions` f32, mask of i1)
/// scaled by 1/temperature and mixed with the uniform distribution over the
/// valid actions with weight epsilon (both f32).
CategoricalDraw drawCategorical(OpBuilder &b, Location loc, Value logits,
                                Value mask, int64_t numActions, Value u,
                                Value epsilon, Value temperature);

} // namespace mlir::gfl

#endif // GFL_TRANSFORMS_ENVKERNELGEN_H

//===- Passes.td - gfl transformation passes ---------------*- tablegen -*-===//

#ifndef GFL_TRANSFORMS_PASSES_TD
#define GFL_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def DeriveBackward : Pass<"gfl-derive-backward", "ModuleOp"> {
  let summary = "Derive the undo region of every action from its update";
  let description = [{
    For every `gfl.action` without an explicit `undo`, builds the inverse of
    its `update` region field by field:

    - an unchanged field stays unchanged;
    - `x + c` / `x - c` (and `x[i] += c`, `x[i] -= c`), with `c` and `i`
      independent of the state, invert to `x - c` / `x + c`;
    - `x[i] = v` or `x = v` is inverted when the guard states the old value,
      i.e. contains the conjunct `x[i] == k` (`x == k`) with `k` independent
      of the state: the undo writes `k` back.

    Anything else is reported at the action with a request for an explicit
    `undo { ... }`.
  }];
}

def GenerateKernels : Pass<"gfl-generate-kernels", "ModuleOp"> {
  let summary = "Generate the batched environment and sampling kernels";
  let description = [{
    Turns the `gfl.env` into `func.func` kernels on batch tensors, each a
    parallel loop (`scf.forall`) over the batch whose body is the env's
    per-state regions inlined:

    `gfl_init`, `gfl_forward_mask`, `gfl_terminal`, `gfl_step`,
    `gfl_backward_mask`, `gfl_backward_step`, `gfl_log_reward`,
    `gfl_features`, the fused `gfl_sample_step` (mask, temperature,
    log-softmax, epsilon mixing, Philox-4x32-10 sampling keyed by
    (seed, iteration, trajectory, step), log-probability gather, env step,
    termination flag, next features), and, for enumerable environments (every
    field an int with a domain, or a bool), `gfl_state_index` and
    `gfl_state_decode`. Batch inputs are read-only, outputs are
    destination tensors returned by the kernel (see docs/artifact.md for the
    ABI after bufferization). The env itself is erased.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // GFL_TRANSFORMS_PASSES_TD

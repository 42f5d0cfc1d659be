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
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect", "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def Autodiff : Pass<"gfl-autodiff", "ModuleOp"> {
  let summary = "Compile objectives into loss kernels and fused gradient kernels";
  let description = [{
    For every `gfl.objective @NAME`, generates `gfl_obj_NAME`: the loss of
    every trajectory of a padded batch. Its inputs are the per-step rows the
    body reads (`log_pf`, `log_pb`, `log_f`, `log_r_step`, `energy`:
    `[B, T]`), `log_r`, `log_z`, `n` (non-exit transitions) and `exited`
    (the trajectory ended with the exit action, so `log_pf` has `n + 1`
    valid entries instead of `n`), then the objective's scalar parameters.

    For the objective named by the module attribute `gfl.train_objective`
    (all objectives when it is absent) it also generates
    `gfl_obj_NAME_grad`, the fused forward and reverse-mode pass. Given the
    same inputs and the upstream gradient `d_loss` of each trajectory, it
    returns the loss and the gradients with respect to the learned
    quantities the body reads (`d_log_pf`, `d_log_pb`, `d_log_f`: `[B, T]`;
    `d_log_z`). Entries past a row's valid length get gradient 0.

    Differentiation covers arithmetic, math functions, `huber`,
    `logsumexp`, `stop_grad`, `select`, sequence reads, reductions (sum,
    min, max, logsumexp), `cumsum`, comprehension loops (`range_reduce`,
    recomputed in reverse), `if`-expressions and batch collectives (through
    the `_batch` stage kernels).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // GFL_TRANSFORMS_PASSES_TD

//===- Passes.td - gfl conversion passes -------------------*- tablegen -*-===//

#ifndef GFL_CONVERSION_PASSES_TD
#define GFL_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertGflToStandard : Pass<"convert-gfl-to-standard", "ModuleOp"> {
  let summary = "Lower gfl expression ops to linalg, tensor, scf, arith and math";
  let description = [{
    Rewrites the value-level gfl ops into upstream dialects on tensors:

    - `gfl.reduce` becomes `linalg.reduce` (two passes for `logsumexp`);
    - `gfl.range_reduce` becomes an `scf.for` with the accumulator as
      iteration argument (an online max/sum pair for `logsumexp`);
    - `gfl.onehot` becomes a `linalg.generic` comparing `linalg.index` with
      the value; `gfl.concat` a chain of `tensor.insert_slice`;
    - `gfl.masked_log_softmax`, `gfl.logsumexp` and `gfl.huber` become
      arith/math with -inf-safe max subtraction;
    - `gfl.stop_grad` becomes its operand (gradients are handled before).

    The environment structure ops and the trajectory ops are left alone.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // GFL_CONVERSION_PASSES_TD

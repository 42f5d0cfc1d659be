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

def ConvertKernelsToGpu : Pass<"gfl-kernels-to-gpu", "ModuleOp"> {
  let summary = "Map the batch loop of every bufferized kernel to GPU threads";
  let description = [{
    Runs on bufferized kernels: `func.func`s whose body is pure setup
    (constants, `memref.get_global`, `memref.dim`), one `scf.forall` over
    the batch and a `return`. Each becomes a `gpu.func` kernel with the same
    arguments, in the same order, in `gpu.module @gfl_cuda`. Thread
    `blockIdx.x * blockDim.x + threadIdx.x` runs the loop body for that row
    when the row is below the loop bound. Per-row temporaries
    (`memref.alloc` in the body) become `memref.alloca`: each thread keeps
    them in its own local memory. The globals that the kernels read are
    copied into the GPU module. The host functions are then removed. The
    module keeps only the GPU code, which the CUDA pipeline turns into
    NVVM and then into a binary.

    The runtime launches kernel K with the memref arguments expanded as
    descriptors: allocated and aligned pointer, offset, sizes, strides (see
    docs/artifact.md).
  }];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"
  ];
}

#endif // GFL_CONVERSION_PASSES_TD

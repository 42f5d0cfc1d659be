//===- Pipeline.cpp - The one gfl pass pipeline ---------------------------===//

#include "gfl/Pipeline/Pipeline.h"
#include "gfl/Conversion/Passes.h"
#include "gfl/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/ErrorHandling.h"

namespace mlir::gfl {

namespace {

/// Appends a textual pipeline fragment; the fragments are fixed strings, so
/// a parse failure is a bug in this file.
void addPasses(OpPassManager &pm, llvm::StringRef fragment) {
  if (failed(parsePassPipeline(fragment, pm)))
    llvm::report_fatal_error("gfl: invalid built-in pass pipeline fragment");
}

void addKernelPasses(OpPassManager &pm) {
  pm.addPass(createDeriveBackward());
  pm.addPass(createGenerateKernels());
  pm.addPass(createAutodiff());
}

/// gfl ops to upstream dialects, then one-shot bufferization: the common
/// input of the CPU and CUDA paths.
void addBufferizationPasses(OpPassManager &pm) {
  pm.addPass(createConvertGflToStandard());
  addPasses(pm, "canonicalize,cse,func.func(convert-elementwise-to-linalg)");
  // Kernels take their batch buffers as identity-layout memrefs (the ABI of
  // docs/artifact.md); destinations returned by a kernel become its output
  // arguments. Copies go through linalg.copy so that they lower to loops and
  // need no runtime library.
  bufferization::OneShotBufferizationOptions options;
  options.bufferizeFunctionBoundaries = true;
  options.setFunctionBoundaryTypeConversion(
      bufferization::LayoutMapOption::IdentityLayoutMap);
  options.memCpyFn = [](OpBuilder &b, Location loc, Value from,
                        Value to) -> LogicalResult {
    // Small static buffers (a state field) are copied element by element:
    // an env with many action families copies its state once per family,
    // and as many small loops make LLVM's loop passes quadratic.
    auto type = cast<MemRefType>(from.getType());
    if (type.hasStaticShape() && type.getNumElements() <= 16) {
      SmallVector<int64_t> strides = computeSuffixProduct(type.getShape());
      for (int64_t i = 0, e = type.getNumElements(); i < e; ++i) {
        SmallVector<Value> indices;
        for (auto [stride, size] : llvm::zip(strides, type.getShape()))
          indices.push_back(
              b.create<arith::ConstantIndexOp>(loc, (i / stride) % size));
        Value v = b.create<memref::LoadOp>(loc, from, indices);
        b.create<memref::StoreOp>(loc, v, to, indices);
      }
      return success();
    }
    b.create<linalg::CopyOp>(loc, from, to);
    return success();
  };
  pm.addPass(bufferization::createOneShotBufferizePass(options));
  addPasses(pm, "drop-equivalent-buffer-results");
}

void addLoweringPasses(OpPassManager &pm) {
  addBufferizationPasses(pm);
  // Per-state temporaries are hoisted out of the batch loop (one buffer per
  // kernel call, not per state) before deallocations are placed.
  addPasses(pm, "func.func(scf-forall-to-for,buffer-hoisting,"
                "buffer-loop-hoisting),"
                "buffer-deallocation-pipeline,"
                "convert-linalg-to-loops,canonicalize,cse");
}

void addLLVMPasses(OpPassManager &pm) {
  addPasses(pm, "arith-expand,convert-math-to-funcs,expand-strided-metadata,"
                "lower-affine,"
                "convert-scf-to-cf,convert-math-to-llvm,convert-math-to-libm,"
                "convert-arith-to-llvm,finalize-memref-to-llvm,"
                "convert-func-to-llvm,convert-cf-to-llvm,"
                "reconcile-unrealized-casts");
}

} // namespace

void buildGflCudaPipeline(OpPassManager &pm, bool withKernelPasses) {
  if (withKernelPasses)
    addKernelPasses(pm);
  addBufferizationPasses(pm);
  // Integer powers become helper functions, which the GPU module gets a
  // copy of.
  addPasses(pm, "convert-math-to-funcs");
  pm.addPass(createConvertKernelsToGpu());
  addPasses(pm, "convert-linalg-to-loops,canonicalize,cse,arith-expand,"
                "expand-strided-metadata,lower-affine,convert-scf-to-cf,"
                "gpu.module(convert-gpu-to-nvvm,canonicalize,cse,"
                "reconcile-unrealized-casts)");
}

void addCudaBinaryPasses(OpPassManager &pm, const CudaTarget &target,
                         llvm::StringRef format) {
  // The target decides the chip; convert-gpu-to-nvvm does not depend on it.
  addPasses(pm, "nvvm-attach-target{chip=" + target.chip +
                    " features=" + target.features + " O=3}");
  addPasses(pm, "gpu-module-to-binary{format=" + format.str() +
                    " toolkit=" + target.toolkit + "}");
}

void buildGflPipelineRange(OpPassManager &pm, PipelineStage from,
                           PipelineStage to) {
  // `from` names the stage the input is already at; the input of the first
  // range is the gfl dialect itself (below Kernels).
  auto after = [&](PipelineStage s) { return from < s && s <= to; };
  if (after(PipelineStage::Lowered))
    addLoweringPasses(pm);
  if (after(PipelineStage::LLVM))
    addLLVMPasses(pm);
}

void buildGflPipeline(OpPassManager &pm, PipelineStage stage) {
  addKernelPasses(pm);
  buildGflPipelineRange(pm, PipelineStage::Kernels, stage);
}

void registerGflPipelines() {
  PassPipelineRegistration<>(
      "gfl-to-kernels", "gfl dialect to tensor-level batched kernels",
      [](OpPassManager &pm) { buildGflPipeline(pm, PipelineStage::Kernels); });
  PassPipelineRegistration<>(
      "gfl-lower", "gfl dialect to loops over memrefs (bufferized kernels)",
      [](OpPassManager &pm) { buildGflPipeline(pm, PipelineStage::Lowered); });
  PassPipelineRegistration<>(
      "gfl-to-llvm", "gfl dialect to the LLVM dialect",
      [](OpPassManager &pm) { buildGflPipeline(pm, PipelineStage::LLVM); });
  PassPipelineRegistration<>(
      "gfl-to-nvvm", "gfl dialect to GPU kernels in the NVVM/LLVM dialect",
      [](OpPassManager &pm) { buildGflCudaPipeline(pm, true); });
}

void registerGflPassesAndPipelines() {
  registerAllPasses();
  registerGflConversionPasses();
  registerGflTransformsPasses();
  registerGflPipelines();
}

} // namespace mlir::gfl

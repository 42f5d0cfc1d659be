//===- Pipeline.h - The one gfl pass pipeline -------------------*- C++ -*-===//
//
// The lowering from the gfl dialect to the LLVM dialect, defined once and
// used by gflc (its --emit stages) and gfl-opt (registered pipelines), so
// that lit can run any stage in isolation:
//
//   gfl-to-kernels  derive backward actions, generate the batched kernels
//   gfl-lower       ... lower gfl ops, bufferize, loops over memrefs
//   gfl-to-llvm     ... the LLVM dialect, ready for translation
//
//===----------------------------------------------------------------------===//

#ifndef GFL_PIPELINE_PIPELINE_H
#define GFL_PIPELINE_PIPELINE_H

#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir {
class OpPassManager;
namespace gfl {

enum class PipelineStage {
  Kernels, // tensor-level kernels (func.func on batch tensors)
  Lowered, // loops over memrefs (after bufferization)
  LLVM,    // LLVM dialect
};

/// Appends the passes from the gfl dialect up to and including `stage` to a
/// pass manager anchored on builtin.module.
void buildGflPipeline(OpPassManager &pm, PipelineStage stage);

/// Appends the passes that take a module at `from` to `to` (from < to).
void buildGflPipelineRange(OpPassManager &pm, PipelineStage from,
                           PipelineStage to);

/// Registers gfl-to-kernels, gfl-lower and gfl-to-llvm for gfl-opt.
/// The CUDA path: the same kernels and bufferization as the CPU path, each
/// batch loop mapped to GPU threads (gfl-kernels-to-gpu), then NVVM. The
/// module keeps only `gpu.module @gfl_cuda`. Without the kernel passes the
/// input is at the Kernels stage.
void buildGflCudaPipeline(OpPassManager &pm, bool withKernelPasses);

/// Where and for what gpu-module-to-binary compiles.
struct CudaTarget {
  std::string chip = "sm_90";
  // PTX ISA 8.1: kernel parameters up to 32,764 bytes (4,352 before), so
  // that the descriptors of envs with many state fields fit.
  std::string features = "+ptx81";
  std::string toolkit = "/usr/local/cuda";
};

/// Attaches the NVVM target and serializes the GPU module: `format` is
/// `isa` (PTX text) or `bin` (cubin, through the toolkit's ptxas).
void addCudaBinaryPasses(OpPassManager &pm, const CudaTarget &target,
                         llvm::StringRef format);

void registerGflPipelines();

/// Registers every pass the pipeline uses (upstream and gfl) and the gfl
/// pipelines. Tools call it once before building a pipeline.
void registerGflPassesAndPipelines();

} // namespace gfl
} // namespace mlir

#endif // GFL_PIPELINE_PIPELINE_H

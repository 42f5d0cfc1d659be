//===- CudaCodegen.h - GPU binaries of the kernels --------------*- C++ -*-===//
//
// The CUDA half of an artifact: the kernels of a module at the "kernels"
// stage, through the CUDA pipeline (gfl-kernels-to-gpu, NVVM), serialized
// by gpu-module-to-binary as a cubin for one architecture and as PTX for
// the driver to compile on others.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_COMPILER_CUDACODEGEN_H
#define GFL_COMPILER_CUDACODEGEN_H

#include "mlir/IR/BuiltinOps.h"

#include "llvm/Support/JSON.h"

#include <string>
#include <vector>

namespace gfl {

struct CudaOptions {
  std::string toolkit = "/usr/local/cuda"; // ptxas and libdevice
  std::string cubinArch = "sm_90";
  std::string ptxArch = "sm_75"; // PTX that newer GPUs compile at load time
  int blockSize = 128;           // threads per block, one row each
};

/// Whether `toolkit` has what gpu-module-to-binary needs (bin/ptxas and
/// nvvm/libdevice/libdevice.10.bc); else the reason in `why`.
bool cudaToolkitUsable(const std::string &toolkit, std::string &why);

struct CudaBinaries {
  std::string cubin;                // ELF for cubinArch
  std::string ptx;                  // PTX text for ptxArch
  std::vector<std::string> kernels; // gpu.func names, the CPU kernels' names
  /// Set when compileCuda fails: a kernel whose parameters (the buffers'
  /// descriptors) exceed kMaxKernelParameterBytes, or ptxas's log.
  std::string tooManyParameters, error;
};

/// CUDA's kernel parameter space with PTX ISA 8.1 or later (sm_70 and up).
constexpr int64_t kMaxKernelParameterBytes = 32764;

/// Compiles the kernels (module at the "kernels" stage; it is not changed)
/// for CUDA. Errors are left in `out` (tooManyParameters, error); pipeline
/// errors before serialization go to the context's diagnostic handler.
bool compileCuda(mlir::ModuleOp kernels, const CudaOptions &options,
                 CudaBinaries &out);

/// The manifest's `cuda` section: architectures, embedded symbols and
/// sizes, block size and kernel names (docs/artifact.md).
llvm::json::Object cudaManifest(const CudaBinaries &bins,
                                const CudaOptions &options);

/// Symbols of the embedded binaries in the artifact.
constexpr const char *kCubinSymbol = "gfl_cuda_cubin";
constexpr const char *kPtxSymbol = "gfl_cuda_ptx";

} // namespace gfl

#endif // GFL_COMPILER_CUDACODEGEN_H

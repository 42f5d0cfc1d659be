//===- CudaCodegen.cpp - GPU binaries of the kernels ----------------------===//

#include "gfl/Compiler/CudaCodegen.h"
#include "gfl/Pipeline/Pipeline.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include "llvm/Support/FileSystem.h"

namespace gfl {

bool cudaToolkitUsable(const std::string &toolkit, std::string &why) {
  for (const char *part : {"/bin/ptxas", "/nvvm/libdevice/libdevice.10.bc"})
    if (!llvm::sys::fs::exists(toolkit + part)) {
      why = "no CUDA toolkit at '" + toolkit + "' (" + toolkit + part +
            " is missing)";
      return false;
    }
  return true;
}

namespace {

/// Serializes a copy of the NVVM module for one chip and format; returns the
/// object's bytes.
bool serialize(mlir::ModuleOp nvvm, const CudaOptions &options,
               const std::string &chip, llvm::StringRef format,
               std::string &bytes) {
  mlir::OwningOpRef<mlir::ModuleOp> copy = nvvm.clone();
  mlir::PassManager pm(nvvm->getContext());
  mlir::gfl::CudaTarget target;
  target.chip = chip;
  target.toolkit = options.toolkit;
  mlir::gfl::addCudaBinaryPasses(pm, target, format);
  if (mlir::failed(pm.run(*copy)))
    return false;
  for (auto binary : copy->getOps<mlir::gpu::BinaryOp>())
    for (mlir::Attribute a : binary.getObjects()) {
      bytes = llvm::cast<mlir::gpu::ObjectAttr>(a).getObject().str();
      // PTX comes NUL-terminated; the artifact adds its own terminator.
      while (format == "isa" && !bytes.empty() && bytes.back() == '\0')
        bytes.pop_back();
      return true;
    }
  copy->emitError("gpu-module-to-binary produced no object");
  return false;
}

/// The bytes a kernel's parameters take in the CUDA parameter space, each
/// aligned to its size.
int64_t parameterBytes(mlir::LLVM::LLVMFuncOp f) {
  int64_t bytes = 0;
  for (mlir::Type t : f.getArgumentTypes()) {
    int64_t size = 8; // pointers, i64, f64
    if (t.isIntOrFloat())
      size = std::max<int64_t>(1, t.getIntOrFloatBitWidth() / 8);
    bytes = (bytes + size - 1) / size * size + size;
  }
  return bytes;
}

} // namespace

bool compileCuda(mlir::ModuleOp kernels, const CudaOptions &options,
                 CudaBinaries &out) {
  mlir::MLIRContext *ctx = kernels->getContext();
  mlir::DialectRegistry registry;
  mlir::registerAllToLLVMIRTranslations(registry);
  ctx->appendDialectRegistry(registry);

  mlir::OwningOpRef<mlir::ModuleOp> nvvm = kernels.clone();
  mlir::PassManager pm(ctx);
  mlir::gfl::buildGflCudaPipeline(pm, /*withKernelPasses=*/false);
  if (mlir::failed(pm.run(*nvvm)))
    return false;
  out.kernels.clear();
  out.tooManyParameters.clear();
  nvvm->walk([&](mlir::LLVM::LLVMFuncOp f) {
    if (!f->hasAttr(mlir::gpu::GPUDialect::getKernelFuncAttrName()))
      return;
    out.kernels.push_back(f.getName().str());
    int64_t bytes = parameterBytes(f);
    if (bytes > kMaxKernelParameterBytes && out.tooManyParameters.empty())
      out.tooManyParameters =
          "kernel " + f.getName().str() + " needs " + std::to_string(bytes) +
          " bytes of parameters, more than the " +
          std::to_string(kMaxKernelParameterBytes) + " CUDA allows";
  });
  if (!out.tooManyParameters.empty())
    return false;
  // ptxas reports against its own PTX file: its log is the message, not a
  // location in the .gfl source.
  std::string log;
  mlir::ScopedDiagnosticHandler capture(ctx, [&](mlir::Diagnostic &d) {
    log += (log.empty() ? "" : "\n") + d.str();
    return mlir::success();
  });
  if (serialize(*nvvm, options, options.cubinArch, "bin", out.cubin) &&
      serialize(*nvvm, options, options.ptxArch, "isa", out.ptx))
    return true;
  out.error = log;
  return false;
}

llvm::json::Object cudaManifest(const CudaBinaries &bins,
                                const CudaOptions &options) {
  llvm::json::Array names;
  for (const std::string &k : bins.kernels)
    names.push_back(k);
  return llvm::json::Object{
      {"cubin",
       llvm::json::Object{{"arch", options.cubinArch},
                          {"symbol", kCubinSymbol},
                          {"size", static_cast<int64_t>(bins.cubin.size())}}},
      {"ptx",
       llvm::json::Object{{"arch", options.ptxArch},
                          {"symbol", kPtxSymbol},
                          {"size", static_cast<int64_t>(bins.ptx.size())}}},
      {"block_size", options.blockSize},
      {"kernels", std::move(names)}};
}

} // namespace gfl

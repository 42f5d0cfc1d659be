//===- Artifact.h - The .gflx artifact: kernels + manifest ------*- C++ -*-===//
//
// A .gflx file is an ELF shared object for the host. It exports
//   - `gfl_manifest`: a NUL-terminated JSON document (docs/artifact.md), and
//   - one `gfl_<kernel>_packed(void **args)` entry per kernel, where args[i]
//     is the memref descriptor of a buffer argument, or points at the value
//     of a scalar argument.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_COMPILER_ARTIFACT_H
#define GFL_COMPILER_ARTIFACT_H

#include "gfl/Frontend/Sema.h"

#include "mlir/IR/BuiltinOps.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <utility>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace gfl {

/// Version of the kernel ABI and manifest layout; bumped on any change that
/// an older runtime could misread.
constexpr int kArtifactAbiVersion = 6;

/// The kernel table of a module at the "lowered" stage (bufferized kernels):
/// for every kernel its packed symbol and its arguments.
llvm::json::Array kernelTable(mlir::ModuleOp lowered);

/// The SHA-256 (hex) of a file the program reads: a `load(...)` table or a
/// reward model.
std::string fileSha256(const std::string &path);

/// The manifest: ABI version, env layout, params, networks, objectives,
/// training settings and the kernel table.
llvm::json::Object buildManifest(const CheckedProgram &checked,
                                 mlir::ModuleOp kernelsModule,
                                 llvm::json::Array kernels,
                                 llvm::StringRef sourceName);

struct CodegenOptions {
  std::string cpu = "x86-64-v2"; // "native" for the host CPU
  unsigned optLevel = 3;
  /// Read-only byte arrays exported under their symbols (the CUDA
  /// binaries), each followed by a NUL byte.
  std::vector<std::pair<std::string, std::string>> blobs;
};

/// True when `cpu` ("native" included) names a CPU of the host's target, so
/// that code generation will not stop on it.
bool isKnownCpu(const std::string &cpu);

/// Translates an LLVM-dialect module to LLVM IR with the packed kernel
/// entries and the manifest global added, optimized for the target.
std::unique_ptr<llvm::Module>
translateToLLVMIR(mlir::ModuleOp llvmDialect, llvm::LLVMContext &ctx,
                  const std::string &manifestJson,
                  const CodegenOptions &options, std::string &error);

/// Emits assembly (`asObject == false`) or an object file for the module.
bool emitMachineCode(llvm::Module &module, llvm::raw_pwrite_stream &os,
                     bool asObject, const CodegenOptions &options,
                     std::string &error);

/// Writes the artifact: object code linked into a shared object at `path`
/// with the system linker driver (cc).
bool writeArtifact(llvm::Module &module, const std::string &path,
                   const CodegenOptions &options, std::string &error);

} // namespace gfl

#endif // GFL_COMPILER_ARTIFACT_H

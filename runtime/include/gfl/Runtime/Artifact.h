//===- Artifact.h - Loading .gflx artifacts ---------------------*- C++ -*-===//
//
// An artifact is a shared object exporting `gfl_manifest` (JSON) and one
// `gfl_<kernel>_packed(void **args)` entry per kernel (docs/artifact.md),
// and, when compiled for CUDA, the kernels as a cubin and as PTX. Loading
// checks the ABI version and that every entry the manifest names is there.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_ARTIFACT_H
#define GFL_RUNTIME_ARTIFACT_H

#include "gfl/Runtime/Json.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace gfl {

/// The ABI version this runtime understands.
constexpr int kRuntimeAbiVersion = 6;

/// A kernel argument's element type, read from its dtype when the artifact
/// loads (calls check it without comparing strings).
enum class ElementType { Int32, Int64, Float32, Bool, Unknown };

/// The element type a manifest's dtype names (Unknown for any other).
ElementType elementTypeOf(const std::string &dtype);

struct KernelArg {
  std::string name;
  bool buffer = true;         // false: a scalar passed by value
  std::string dtype;          // int32, int64, float32, bool
  ElementType element = ElementType::Unknown;
  std::vector<int64_t> shape; // -1 for the batch dimension
  bool output = false;
};

using PackedKernel = void (*)(void **);

struct Kernel {
  std::string name;
  PackedKernel entry = nullptr; // null in a CUDA-only artifact
  std::vector<KernelArg> args;

  /// Calls the CPU kernel; `args[i]` is the memref descriptor of a buffer
  /// argument, or points at the value of a scalar argument.
  void operator()(std::vector<void *> &args) const;
};

/// One embedded GPU binary.
struct CudaImage {
  std::string arch;           // e.g. sm_90
  const char *data = nullptr; // NUL-terminated after `size` bytes
  size_t size = 0;
};

/// The manifest's `cuda` section with its binaries.
struct CudaImages {
  CudaImage cubin, ptx;
  int blockSize = 128;
  bool present() const { return cubin.data || ptx.data; }
};

class Artifact {
public:
  /// Opens `path`; returns nullptr with a one-line reason in `error`.
  static std::unique_ptr<Artifact> open(const std::string &path,
                                        std::string &error);
  ~Artifact();
  Artifact(const Artifact &) = delete;
  Artifact &operator=(const Artifact &) = delete;

  const json::Value &manifest() const { return manifest_; }
  /// The kernel `name` (e.g. "gfl_step"), or nullptr if absent.
  const Kernel *kernel(const std::string &name) const;
  const std::string &path() const { return path_; }
  /// The CUDA kernels (empty when compiled for the CPU only).
  const CudaImages &cuda() const { return cuda_; }

private:
  Artifact() = default;
  void *handle_ = nullptr;
  std::string path_;
  json::Value manifest_;
  std::map<std::string, Kernel> kernels_;
  CudaImages cuda_;
};

} // namespace gfl

#endif // GFL_RUNTIME_ARTIFACT_H

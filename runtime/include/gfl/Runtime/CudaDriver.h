//===- CudaDriver.h - Artifact kernels on the GPU ---------------*- C++ -*-===//
//
// The CUDA half of an artifact, run through the CUDA driver API. The driver
// (libcuda.so.1) is loaded at run time, so the runtime builds without the
// CUDA toolkit and runs without a GPU: `Driver::get` then says why there is
// none.
//
// A GPU kernel has the CPU kernel's arguments (docs/artifact.md): the launch
// takes the same argument vector as `Kernel::operator()` (a memref
// descriptor per buffer, with device pointers; a pointer to the value per
// scalar), expands each descriptor into its fields, and runs one thread per
// row of the kernel's first output.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_CUDADRIVER_H
#define GFL_RUNTIME_CUDADRIVER_H

#include "gfl/Runtime/Artifact.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gfl::cuda {

using Result = int; // CUresult; 0 is success
using Device = int;
using DevicePtr = unsigned long long;
using Context = void *;
using ModuleHandle = void *;
using Function = void *;
using Stream = void *;

/// The driver entry points gfl uses.
struct Driver {
  Result (*init)(unsigned);
  Result (*deviceGet)(Device *, int);
  Result (*deviceGetCount)(int *);
  Result (*deviceGetAttribute)(int *, int, Device);
  Result (*primaryCtxRetain)(Context *, Device);
  Result (*ctxSetCurrent)(Context);
  Result (*ctxGetCurrent)(Context *);
  Result (*ctxSynchronize)();
  Result (*moduleLoadData)(ModuleHandle *, const void *);
  Result (*moduleUnload)(ModuleHandle);
  Result (*moduleGetFunction)(Function *, ModuleHandle, const char *);
  Result (*launchKernel)(Function, unsigned, unsigned, unsigned, unsigned,
                         unsigned, unsigned, unsigned, Stream, void **,
                         void **);
  Result (*memAlloc)(DevicePtr *, size_t);
  Result (*memFree)(DevicePtr);
  Result (*memcpyHtoD)(DevicePtr, const void *, size_t);
  Result (*memcpyDtoH)(void *, DevicePtr, size_t);
  Result (*getErrorString)(Result, const char **);
  Result (*memGetInfo)(size_t *, size_t *);

  /// The driver with device 0's primary context current, or nullptr with
  /// the reason (no libcuda, no device, ...) in `error`.
  static const Driver *get(std::string &error);

  /// Throws std::runtime_error naming `what` unless `r` is success.
  void check(Result r, const char *what) const;

  /// Compute capability of device 0, e.g. 90 for sm_90.
  int computeCapability() const;

  /// Makes device 0's primary context current on the calling thread if no
  /// context is (LibTorch runs backward passes on threads of its own).
  void ensureContext() const;

  Context primary = nullptr; // device 0's primary context
};

/// The artifact's kernels loaded on device 0.
class Module {
public:
  /// Loads the cubin when its architecture is the device's, else the PTX
  /// (compiled by the driver). nullptr with the reason in `error`.
  static std::unique_ptr<Module> load(const Artifact &artifact,
                                      std::string &error);
  ~Module();

  /// Which image was loaded: "cubin sm_90" or "ptx sm_75".
  const std::string &image() const { return image_; }

  /// Launches `kernel` on `stream` (nullptr: the default stream); `args` as
  /// for the CPU entry. Does not wait for it. Throws on launch errors.
  void launch(const Kernel &kernel, std::vector<void *> &args,
              Stream stream = nullptr) const;

private:
  Module() = default;
  const Driver *driver_ = nullptr;
  ModuleHandle module_ = nullptr;
  /// Kernel functions by name, looked up on first launch (from LibTorch's
  /// threads too, hence the lock).
  mutable std::map<std::string, Function> functions_;
  mutable std::mutex functionsLock_;
  int blockSize_ = 128;
  std::string image_;
};

} // namespace gfl::cuda

#endif // GFL_RUNTIME_CUDADRIVER_H

//===- TorchCompat.h - LibTorch 1.13 / 2.x differences ----------*- C++ -*-===//
//
// The runtime builds against Debian's LibTorch 1.13 (CPU) and PyTorch 2.x
// (with or without CUDA). The version and build differences it touches live
// here, and only here. GFL_TORCH_CUDA is defined (by CMake) when LibTorch
// has CUDA.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_TORCHCOMPAT_H
#define GFL_RUNTIME_TORCHCOMPAT_H

#include <torch/torch.h>
#include <torch/version.h>

#ifdef GFL_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <string>

namespace gfl::compat {

/// True when this LibTorch can put tensors on a GPU.
constexpr bool torchHasCuda() {
#ifdef GFL_TORCH_CUDA
  return true;
#else
  return false;
#endif
}

/// LibTorch's current CUDA stream on the current device (a CUstream), so
/// that compiled kernels run in order with LibTorch's own; nullptr (the
/// legacy default stream) without CUDA.
inline void *currentCudaStream() {
#ifdef GFL_TORCH_CUDA
  return c10::cuda::getCurrentCUDAStream().stream();
#else
  return nullptr;
#endif
}

#ifdef GFL_TORCH_CUDA
/// Stops the caching allocator from routing allocations to the private pool
/// of a CUDA graph whose recording failed: at::cuda::CUDAGraph::capture_end
/// skips that when cudaStreamEndCapture fails, and the allocator would go on
/// treating a recording as under way. LibTorch 2.4 and later; before, a
/// no-op. Harmless when the recording already ended.
inline void stopAllocatingToPool(c10::DeviceIndex device,
                                 c10::cuda::MempoolId_t pool) {
#if TORCH_VERSION_MAJOR > 2 ||                                                 \
    (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  try {
    c10::cuda::CUDACachingAllocator::endAllocateToPool(device, pool);
  } catch (const c10::Error &) {
    // Not recording to that pool any more.
  }
#else
  (void)device;
  (void)pool;
#endif
}
#endif

} // namespace gfl::compat

// c10d (WorkerGroup.cpp alone defines GFL_COMPAT_C10D: its headers are
// heavy). CMake defines GFL_C10D_GLOO and GFL_C10D_NCCL where the backend's
// headers were found; LibTorch's CMake config may or may not define the
// USE_C10D_* macros c10d's headers test.
#ifdef GFL_COMPAT_C10D
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef GFL_C10D_GLOO
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef GFL_C10D_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace gfl::compat {

/// The class c10d's per-backend process groups derive from: ProcessGroup in
/// 1.x, Backend in 2.x.
#if TORCH_VERSION_MAJOR >= 2
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif

constexpr bool hasNccl() {
#ifdef GFL_C10D_NCCL
  return true;
#else
  return false;
#endif
}

constexpr bool hasGloo() {
#ifdef GFL_C10D_GLOO
  return true;
#else
  return false;
#endif
}

inline c10::intrusive_ptr<CollectiveBackend>
makeNcclGroup(const c10::intrusive_ptr<c10d::Store> &store, int rank, int size,
              std::chrono::milliseconds timeout) {
#ifdef GFL_C10D_NCCL
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size,
                                                     options);
#else
  (void)store, (void)rank, (void)size, (void)timeout;
  throw std::runtime_error("this LibTorch has no NCCL");
#endif
}

} // namespace gfl::compat
#endif // GFL_COMPAT_C10D

#endif // GFL_RUNTIME_TORCHCOMPAT_H

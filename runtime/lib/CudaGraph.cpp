//===- CudaGraph.cpp - at::cuda::CUDAGraph behind GFL_TORCH_CUDA ---------===//

#include "CudaGraph.h"
#include "gfl/Runtime/TorchCompat.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef GFL_TORCH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/core/Event.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/util/Exception.h>
#endif

namespace gfl {

#ifdef GFL_TORCH_CUDA

namespace {
/// Work issued to `waiter` from now on starts after the work issued to `on`
/// so far.
void waitFor(const c10::cuda::CUDAStream &waiter,
             const c10::cuda::CUDAStream &on) {
  c10::Event done(c10::DeviceType::CUDA);
  done.record(on);
  done.block(waiter);
}
} // namespace

struct CudaSideStream::Impl {
  c10::cuda::CUDAStream previous = c10::cuda::getCurrentCUDAStream();
  c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool();
  std::optional<c10::cuda::CUDAStreamGuard> guard;
};

// The side stream starts after what was issued before (the networks'
// initialization, a loaded checkpoint), and what is issued after it ends
// waits for it.
CudaSideStream::CudaSideStream() : impl_(std::make_unique<Impl>()) {
  waitFor(impl_->side, impl_->previous);
  impl_->guard.emplace(impl_->side);
}

CudaSideStream::~CudaSideStream() {
  impl_->guard.reset();
  waitFor(impl_->previous, impl_->side);
}

struct CudaGraph::Impl {
  std::unique_ptr<at::cuda::CUDAGraph> graph;
};

CudaGraph::CudaGraph() : impl_(std::make_unique<Impl>()) {}
CudaGraph::~CudaGraph() = default;

namespace {
/// A graph whose recording failed is never destroyed: the caching allocator
/// may still hold its pool (and, before LibTorch 2.4, a routing filter that
/// refers to the graph).
void keepForever(std::unique_ptr<at::cuda::CUDAGraph> graph) {
  static auto *failed = new std::vector<std::unique_ptr<at::cuda::CUDAGraph>>;
  failed->push_back(std::move(graph));
}

std::string reasonOf(const std::exception &e) {
  if (auto *c10e = dynamic_cast<const c10::Error *>(&e))
    return c10e->what_without_backtrace();
  return e.what();
}
} // namespace

void CudaGraph::capture(const std::function<void()> &body) {
  if (c10::cuda::getCurrentCUDAStream() == c10::cuda::getDefaultCUDAStream())
    throw std::runtime_error("a CUDA graph cannot be recorded on the default "
                             "stream");
  auto graph = std::make_unique<at::cuda::CUDAGraph>();
  c10::cuda::MempoolId_t pool = at::cuda::graph_pool_handle();
  bool begun = false;
  try {
    graph->capture_begin(pool);
    begun = true;
    body();
    begun = false;
    graph->capture_end();
  } catch (const std::exception &e) {
    std::string reason = reasonOf(e);
    // End the invalidated recording so the stream is usable again.
    if (begun) {
      try {
        graph->capture_end();
      } catch (...) {
      }
    }
    compat::stopAllocatingToPool(c10::cuda::current_device(), pool);
    keepForever(std::move(graph));
    throw std::runtime_error(reason);
  }
  impl_->graph = std::move(graph);
}

void CudaGraph::replay() {
  if (!impl_->graph)
    throw std::runtime_error("no CUDA graph was recorded");
  impl_->graph->replay();
}

#else

namespace {
[[noreturn]] void noCuda() {
  throw std::runtime_error("CUDA graphs need a runtime built against "
                           "LibTorch with CUDA");
}
} // namespace

struct CudaSideStream::Impl {};
CudaSideStream::CudaSideStream() { noCuda(); }
CudaSideStream::~CudaSideStream() = default;

struct CudaGraph::Impl {};
CudaGraph::CudaGraph() { noCuda(); }
CudaGraph::~CudaGraph() = default;
void CudaGraph::capture(const std::function<void()> &) { noCuda(); }
void CudaGraph::replay() { noCuda(); }

#endif

} // namespace gfl

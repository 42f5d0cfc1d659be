//===- TorchCompat.h - LibTorch 1.13 / 2.x differences ----------*- C++ -*-===//
//
// The runtime builds against Debian's LibTorch 1.13 and PyTorch 2.x. The
// version differences it touches live here, and only here.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_TORCHCOMPAT_H
#define GFL_RUNTIME_TORCHCOMPAT_H

#include <torch/torch.h>
#include <torch/version.h>

#include <string>

namespace gfl::compat {

/// The key of a parameter in torch::optim::Optimizer::state(): a string of
/// the TensorImpl address in 1.x, the address itself in 2.x.
inline auto optimizerStateKey(const torch::Tensor &p) {
#if TORCH_VERSION_MAJOR >= 2
  return static_cast<void *>(p.unsafeGetTensorImpl());
#else
  return c10::guts::to_string(p.unsafeGetTensorImpl());
#endif
}

} // namespace gfl::compat

#endif // GFL_RUNTIME_TORCHCOMPAT_H

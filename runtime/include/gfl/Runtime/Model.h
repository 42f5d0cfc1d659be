//===- Model.h - The networks of a manifest, in LibTorch ---------*- C++ -*-===//
//
// One module per manifest network: MLPs (with their declared hidden sizes
// and activation; a network may take another's output as its input, which
// shares that trunk), scalar parameters such as log Z, and uniform policies
// (no parameters; their logits are zeros).
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_MODEL_H
#define GFL_RUNTIME_MODEL_H

#include "gfl/Runtime/Program.h"

#include <torch/torch.h>

#include <map>
#include <string>

namespace gfl {

class ModelImpl : public torch::nn::Module {
public:
  explicit ModelImpl(const std::vector<NetSpec> &nets);

  /// Outputs of every MLP for a batch of features (`[N, out]`); a network
  /// with one output is squeezed to `[N]`. With `only`, just that network
  /// and the trunks it reads.
  std::map<std::string, torch::Tensor> forward(const torch::Tensor &features,
                                               const std::string &only = "");
  /// The value of a scalar network (e.g. logZ), or an undefined tensor.
  torch::Tensor scalar(const std::string &name) const;
  /// Parameters of one network (for per-network optimizer options).
  std::vector<torch::Tensor> parametersOf(const std::string &name) const;
  /// Every parameter with a stable name `network.layer.weight`.
  std::vector<std::pair<std::string, torch::Tensor>> namedParams() const;

private:
  std::vector<NetSpec> nets_;
  std::map<std::string, torch::nn::Sequential> mlps_;
  std::map<std::string, torch::Tensor> scalars_;
};
TORCH_MODULE(Model);

} // namespace gfl

#endif // GFL_RUNTIME_MODEL_H

//===- RewardModel.h - A reward given by a user's trained model -*- C++ -*-===//
//
// `reward model("proxy.pt", input EXPR)` in an env: the compiled kernel
// gfl_proxy_input turns each terminal state into the model's input, and
// the TorchScript module, loaded here with LibTorch's JIT, maps a batch of
// inputs [B, I] to one reward per state, in one call per batch. The
// module must be the file gflc compiled against (its SHA-256 is in the
// manifest).
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_REWARDMODEL_H
#define GFL_RUNTIME_REWARDMODEL_H

#include <torch/script.h>

#include <string>

namespace gfl {

struct RewardModelSpec {
  std::string file;   // as written in the .gfl file
  std::string path;   // where gflc read it
  std::string sha256; // of the file gflc read
  std::string where;  // FILE:LINE:COL of `model(...)` in the .gfl source
  int64_t inputs = 0; // values per state
  bool log = false;   // the module gives log R (`log_reward model(...)`)
};

class RewardModel {
public:
  /// Finds the module (at `path`, else `file` next to the artifact at
  /// `artifactPath`), checks its SHA-256, loads it and checks that it maps
  /// a batch of inputs to one value per input. Throws std::runtime_error
  /// with one line.
  RewardModel(const RewardModelSpec &spec, const std::string &artifactPath);

  void to(const torch::Device &device);
  /// log R for a batch of inputs [B, I] (float32 [B]; NaN passes through
  /// for the caller to name the state). Throws std::runtime_error when the
  /// module fails or returns another shape.
  torch::Tensor logReward(const torch::Tensor &inputs);
  const RewardModelSpec &spec() const { return spec_; }
  /// "FILE:LINE:COL: the reward model 'F'", the start of its errors.
  std::string named() const;
  /// The file loaded.
  const std::string &path() const { return loaded_; }

private:
  /// The module's output for `inputs`, [B]; throws with `what` on failure.
  torch::Tensor call(const torch::Tensor &inputs);

  RewardModelSpec spec_;
  std::string loaded_;
  torch::jit::script::Module module_;
};

} // namespace gfl

#endif // GFL_RUNTIME_REWARDMODEL_H

//===- Model.h - The networks of a manifest, in LibTorch ---------*- C++ -*-===//
//
// One module per manifest network: MLPs (with their declared hidden sizes
// and activation; a network reads the state's features, the trajectory's
// conditions, or another network's output, which shares that trunk), scalar
// parameters such as log Z, and uniform policies (no parameters; their
// logits are zeros).
//
// Roles by name: `pf` (forward policy logits), `pb` (backward policy
// logits), `logZ` (a scalar, or an MLP of the conditions), `logF` (state
// flow) and `logit_scale` (multiplies the forward policy's logits, as a
// learned function of the conditions: Logit-GFN).
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_MODEL_H
#define GFL_RUNTIME_MODEL_H

#include "gfl/Runtime/FewRowLinear.h"
#include "gfl/Runtime/Program.h"

#include <torch/torch.h>

#include <map>
#include <memory>
#include <set>
#include <string>

namespace gfl {

/// The outputs of a forward's linear layers, in the order it computes them,
/// each with the activation after it where that can be fused
/// (LayerActivation.h). A forward that records them (without a graph: the
/// rollout's policy) can be replayed on the same inputs: the replay builds
/// the autograd graph without computing the layers again, and its backward
/// is each layer's usual two products.
///
/// Successive recorded forwards (the rollout's steps) append their rows:
/// each layer writes its output straight after the rows recorded so far,
/// so that the tape of a whole rollout is one tensor per layer without
/// concatenating the steps.
struct LinearTape {
  enum class Mode { Record, Replay };
  Mode mode = Mode::Record;
  /// Per layer: the recorded rows, then (while recording) room for more.
  std::vector<torch::Tensor> outputs;
  /// Per layer: the activation recorded with it.
  std::vector<LayerActivation> activations;
  int64_t rows = 0;    // rows recorded
  int64_t reserve = 0; // rows a recording makes room for at first
  size_t next = 0;     // the layer a forward is at
  /// Per layer, while recording: its weight packed for few-row products
  /// (valid while the weights stay as they are, for one rollout).
  std::vector<std::shared_ptr<const FewRowLinear>> packed;

  /// Records: the next layer's output for `x` [m, in], act(x W^T + b) (as
  /// torch::nn::Linear and the activation compute it), written after the
  /// recorded rows.
  torch::Tensor record(const torch::Tensor &x, const torch::Tensor &weight,
                       const torch::Tensor &bias, LayerActivation act);
  /// Replays: the next layer's recorded output, in the graph of x, weight
  /// and bias.
  torch::Tensor replay(const torch::Tensor &x, const torch::Tensor &weight,
                       const torch::Tensor &bias, LayerActivation act);
  /// Ends a recorded forward of `m` rows.
  void endForward(int64_t m);
  /// Drops the room past the recorded rows and the packed weights, ready
  /// for a replay.
  void trim();
};

class ModelImpl : public torch::nn::Module {
public:
  /// The networks of `program`'s manifest, for its env's conditions and
  /// action counts.
  explicit ModelImpl(const Program &program);

  /// Outputs of every MLP for a batch of features `[N, F]` and conditions
  /// `[N, C]` (undefined without conditions), each `[N, out]`; a network
  /// with one output is squeezed to `[N]`. With `only`, just those
  /// networks and the networks they read. The forward policy's logits come
  /// scaled by `logit_scale` where the model has one. With `tape`, the
  /// linear layers record their outputs into it or replay them from it.
  std::map<std::string, torch::Tensor>
  forward(const torch::Tensor &features, const torch::Tensor &cond = {},
          const std::set<std::string> &only = {}, LinearTape *tape = nullptr);
  /// The logits of policy network `name` in `outs` (contiguous), or zeros
  /// of `rows` x its width (a uniform policy, also `pb` left out of the
  /// model). An MLP missing from `outs` is an error.
  torch::Tensor logits(const std::map<std::string, torch::Tensor> &outs,
                       const std::string &name, int64_t rows,
                       const torch::TensorOptions &options) const;
  /// The forward (backward) policy's logits for a batch of states; `tape`
  /// as for forward().
  torch::Tensor policyLogits(const torch::Tensor &features,
                             const torch::Tensor &cond = {},
                             LinearTape *tape = nullptr);
  torch::Tensor backwardLogits(const torch::Tensor &features,
                               const torch::Tensor &cond = {});
  /// True when the model has a learned log Z (`logZ`).
  bool hasLogZ() const;
  /// log Z per trajectory `[B]` for conditions `[B, C]` (a scalar log Z is
  /// expanded); undefined without `logZ`.
  torch::Tensor logZ(int64_t batch, const torch::Tensor &cond,
                     const torch::TensorOptions &options);
  /// The value of a scalar network (e.g. logZ), or an undefined tensor.
  torch::Tensor scalar(const std::string &name) const;
  /// Parameters of one network (for per-network optimizer options).
  std::vector<torch::Tensor> parametersOf(const std::string &name) const;
  /// Every parameter with a stable name `network.layer.weight`.
  std::vector<std::pair<std::string, torch::Tensor>> namedParams() const;

private:
  const NetSpec *spec(const std::string &name) const;
  /// MLP `name` on `x`, its linear layers recorded or replayed by `tape`.
  torch::Tensor runMlp(const std::string &name, torch::Tensor x,
                       LinearTape *tape);
  /// The input of MLP `n`: its sources concatenated.
  torch::Tensor inputOf(const NetSpec &n, const torch::Tensor &features,
                        const torch::Tensor &cond,
                        const std::map<std::string, torch::Tensor> &out) const;

  std::vector<NetSpec> nets_;
  std::map<std::string, ConditionSpec> conditions_;
  std::map<std::string, torch::nn::Sequential> mlps_;
  std::map<std::string, torch::Tensor> scalars_;
  int64_t numActions_ = 0,
          numBackwardActions_ = 0; // a uniform pf's, pb's width
};
TORCH_MODULE(Model);

} // namespace gfl

#endif // GFL_RUNTIME_MODEL_H

//===- Optimizer.h - Adam over the model's parameter groups ------*- C++
//-*-===//
//
// One Adam parameter group per network with its own options (`optimizer
// adam(lr 1e-3) { logZ: lr 0.1 }`), the rest in one group; the learning
// rate of every group follows the train block's schedule. Parameters and
// Adam state go into checkpoints under stable names.
//
// The parameters of a group are views of one flat tensor, and so are its
// Adam moments: a step is a handful of operations on the whole group (its
// gradients gathered into one tensor) instead of that many per parameter,
// which is most of the optimizer's cost on the CPU at small batches. The
// update is LibTorch's Adam (L2 weight decay, bias correction, no
// amsgrad); a parameter without a gradient is not stepped.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_OPTIMIZER_H
#define GFL_RUNTIME_OPTIMIZER_H

#include "gfl/Runtime/Checkpoint.h"
#include "gfl/Runtime/Model.h"

#include <string>
#include <vector>

namespace gfl {

class Optimizer {
public:
  /// Makes every parameter of `model` a view of its group's flat tensor.
  Optimizer(const Program &program, Model &model);

  /// An optimizer step at `iteration` (the learning rate scheduled for it).
  void step(int64_t iteration);
  /// Makes every parameter's gradient undefined, not zero (the next
  /// backward pass writes them anew).
  void zeroGrad();
  /// The learning rate of group `group` at the last step.
  double learningRate(size_t group = 0) const;

  /// Parameters and Adam state.
  void save(Checkpoint &c) const;
  void load(const Checkpoint &c);

private:
  struct Options {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0;
  };
  struct Group {
    Options options;
    double lr = 0;                          // scheduled, at the last step
    std::vector<size_t> members;            // indices into params_
    torch::Tensor values, expAvg, expAvgSq; // flat, [total numel]
    torch::Tensor grads; // flat: the members' gradients, gathered to step
  };
  /// Adam on `value` with `grad` and its moments, at step `step` (>= 1).
  static void update(const Options &o, double lr, int64_t step,
                     const torch::Tensor &value, torch::Tensor grad,
                     const torch::Tensor &expAvg,
                     const torch::Tensor &expAvgSq);

  const Program &program_;
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  // Per parameter: views of its group's moments and gradient buffer, and its
  // step count (0: never stepped, no state in checkpoints).
  std::vector<torch::Tensor> expAvg_, expAvgSq_, gradSlot_;
  std::vector<int64_t> steps_;
  std::vector<Group> groups_;
};

} // namespace gfl

#endif // GFL_RUNTIME_OPTIMIZER_H

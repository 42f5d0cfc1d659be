//===- Optimizer.h - Adam over the model's parameter groups ------*- C++
//-*-===//
//
// One Adam parameter group per network with its own options (`optimizer
// adam(lr 1e-3) { logZ: lr 0.1 }`), the rest in one group; the learning
// rate of every group follows the train block's schedule. Parameters and
// Adam state go into checkpoints under stable names.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_OPTIMIZER_H
#define GFL_RUNTIME_OPTIMIZER_H

#include "gfl/Runtime/Checkpoint.h"
#include "gfl/Runtime/Model.h"

#include <memory>

namespace gfl {

class Optimizer {
public:
  Optimizer(const Program &program, Model &model);

  /// An optimizer step at `iteration` (the learning rate scheduled for it).
  void step(int64_t iteration);
  void zeroGrad() { adam_->zero_grad(); }
  /// The learning rate of group `group` at the last step.
  double learningRate(size_t group = 0) const;

  /// Parameters and Adam state.
  void save(Checkpoint &c) const;
  void load(const Checkpoint &c);

private:
  const Program &program_;
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::unique_ptr<torch::optim::Adam> adam_;
  std::vector<double> baseLr_; // per group
};

} // namespace gfl

#endif // GFL_RUNTIME_OPTIMIZER_H

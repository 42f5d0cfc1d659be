//===- FiniteCheck.h - Stop at the first non-finite loss or gradient -*- C++
//-*-===//
//
// After each backward pass and before the optimizer step, the trainer checks
// that the loss and every gradient are finite (read in place on the host
// for CPU tensors; one reduction and one device read per step elsewhere).
// When they are not, it names the first non-finite quantity upstream of the
// loss: a parameter (a diverged step), a log-reward or the features of a
// state (with the state), a network output (with the state), the loss, or
// a gradient.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_FINITECHECK_H
#define GFL_RUNTIME_FINITECHECK_H

#include "gfl/Runtime/Model.h"
#include "gfl/Runtime/Rollout.h"

#include <stdexcept>

namespace gfl {

/// Training met a non-finite value; gfl-run exits 2 with the message.
class NonFiniteError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Throws NonFiniteError, naming `iteration` and the first non-finite
/// quantity, when `loss` or a gradient of `model` is not finite.
void checkFinite(const Program &program, Model &model, const Rollout &r,
                 const torch::Tensor &loss, int64_t iteration);

} // namespace gfl

#endif // GFL_RUNTIME_FINITECHECK_H

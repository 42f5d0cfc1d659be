//===- ConditionSampler.h - Per-trajectory conditions ------------*- C++
//-*-===//
//
// Conditioning (temperature-conditioned and multi-objective GFlowNets): the
// env declares variables drawn per trajectory (`condition beta ~
// loguniform(1, 4)`, `condition w: float[2] ~ dirichlet(1.0)`) that its
// reward and the networks read. Training draws them with the artifact's
// compiled kernel (Philox, stream::kCondition); evaluation and sampling
// fix them (`--cond beta=8`).
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_CONDITIONSAMPLER_H
#define GFL_RUNTIME_CONDITIONSAMPLER_H

#include "gfl/Runtime/Program.h"

#include <string>
#include <utility>
#include <vector>

namespace gfl {

class ConditionSampler {
public:
  explicit ConditionSampler(const Program &program) : program_(program) {}

  /// True when the environment declares conditions.
  bool active() const { return !program_.env().conditions.empty(); }
  /// Conditions [batch, C] for trajectories first..first+batch-1 at the
  /// iteration in `iteration` ([1] on the device); undefined when none are
  /// declared.
  torch::Tensor draw(int64_t batch, const torch::Tensor &iteration,
                     int64_t first = 0) const;

  /// One condition row [C] from `NAME=V[,V...]` settings, the declared
  /// values for the names not given; undefined without conditions. Throws
  /// std::runtime_error with a one-line reason on an unknown name, a wrong
  /// number of values, or a value outside the distribution's support.
  static torch::Tensor
  parse(const Program &program,
        const std::vector<std::pair<std::string, std::string>> &settings);
  /// A condition row as JSON: {"beta": 2, "w": [0.3, 0.7]}.
  static std::string json(const Program &program, const torch::Tensor &row);

private:
  const Program &program_;
};

} // namespace gfl

#endif // GFL_RUNTIME_CONDITIONSAMPLER_H

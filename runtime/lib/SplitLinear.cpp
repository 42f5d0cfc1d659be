//===- SplitLinear.cpp - Linear layers split between the team -------------===//

#include "SplitLinear.h"

#include "CoreTeam.h"

#include <algorithm>

namespace gfl {

bool splitsLinear(const torch::Tensor &x) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
         x.is_contiguous() && CoreTeam::shared().size() > 1;
}

void linearForwardInto(torch::Tensor &out, const torch::Tensor &x,
                       const torch::Tensor &weight, const torch::Tensor &bias,
                       LayerActivation act) {
  int64_t m = x.size(0);
  CoreTeam &team = CoreTeam::shared();
  int parts = splitsLinear(x) && out.is_contiguous()
                  ? static_cast<int>(std::clamp<int64_t>(m / 2, 1, team.size()))
                  : 1;
  // Without the bias: BLAS would first copy it to every row of `out`.
  auto part = [&](int i) {
    if (i >= parts)
      return;
    int64_t begin = m * i / parts, end = m * (i + 1) / parts;
    torch::Tensor rows = out.narrow(0, begin, end - begin);
    torch::mm_out(rows, x.narrow(0, begin, end - begin), weight.t());
    addBiasAndActivate(rows, bias, act);
  };
  if (parts > 1) {
    team.run(part);
  } else {
    torch::NoGradGuard noGrad;
    part(0);
  }
}

void linearBackward(const torch::Tensor &dz, const torch::Tensor &x,
                    const torch::Tensor &weight, bool needsDx,
                    torch::Tensor &dx, torch::Tensor &dw, torch::Tensor &db) {
  auto inputGrad = [&] {
    if (needsDx)
      dx = dz.mm(weight);
  };
  auto weightGrad = [&] {
    dw = dz.t().mm(x);
    db = dz.sum(0);
  };
  // A first layer has no d x: nothing to run beside d W.
  if (!needsDx || !splitsLinear(dz)) {
    inputGrad();
    weightGrad();
    return;
  }
  CoreTeam::shared().run([&](int i) {
    if (i == 0)
      inputGrad();
    else if (i == 1)
      weightGrad();
  });
}

} // namespace gfl

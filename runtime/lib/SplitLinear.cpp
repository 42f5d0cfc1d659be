//===- SplitLinear.cpp - Linear layers split between the team -------------===//

#include "SplitLinear.h"

#include "CoreTeam.h"

#include <algorithm>

namespace gfl {

namespace {

/// The multiply-adds of a backward below which it runs on the caller alone.
constexpr int64_t kSplitProducts = 1 << 16;

} // namespace

bool splitsLinear(const torch::Tensor &x, const CoreTeam &team) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
         x.is_contiguous() && team.size() > 1;
}

void linearForwardInto(torch::Tensor &out, const torch::Tensor &x,
                       const torch::Tensor &weight, const torch::Tensor &bias,
                       LayerActivation act, CoreTeam &team) {
  int64_t m = x.size(0);
  int parts = splitsLinear(x, team) && out.is_contiguous()
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
                    torch::Tensor &dx, torch::Tensor &dw, torch::Tensor &db,
                    CoreTeam &team) {
  int64_t m = dz.size(0), outputs = dz.size(1), inputs = x.size(1);
  if (!splitsLinear(dz, team) || m * outputs * inputs < kSplitProducts) {
    if (needsDx)
      dx = dz.mm(weight);
    dw = dz.t().mm(x);
    db = dz.sum(0);
    return;
  }
  // d x by rows on half the threads, d W and d b by output rows on the
  // others (all of them for a first layer, which has no d x).
  int threads = team.size();
  int dxParts = needsDx ? threads / 2 : 0, dwParts = threads - dxParts;
  if (needsDx)
    dx = torch::empty({m, inputs}, dz.options());
  dw = torch::empty({outputs, inputs}, dz.options());
  db = torch::empty({outputs}, dz.options());
  team.run([&](int i) {
    if (i < dxParts) {
      int64_t begin = m * i / dxParts, end = m * (i + 1) / dxParts;
      torch::Tensor rows = dx.narrow(0, begin, end - begin);
      torch::mm_out(rows, dz.narrow(0, begin, end - begin), weight);
      return;
    }
    int j = i - dxParts;
    int64_t begin = outputs * j / dwParts, end = outputs * (j + 1) / dwParts;
    if (begin == end)
      return;
    torch::Tensor cols = dz.narrow(1, begin, end - begin);
    torch::Tensor dwRows = dw.narrow(0, begin, end - begin);
    torch::mm_out(dwRows, cols.t(), x);
    torch::Tensor dbRows = db.narrow(0, begin, end - begin);
    torch::sum_out(dbRows, cols, 0);
  });
}

} // namespace gfl

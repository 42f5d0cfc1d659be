//===- Metrics.cpp - Metrics and phase times as JSON ----------------------===//

#include "gfl/Runtime/Metrics.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace gfl {

std::string jsonNumber(const std::optional<double> &v) {
  if (!v || !std::isfinite(*v))
    return "null";
  std::ostringstream os;
  os.precision(9);
  os << *v;
  return os.str();
}

std::string Metrics::json() const {
  std::ostringstream os;
  os << "{\"iteration\":" << iteration << ",\"loss\":" << jsonNumber(loss)
     << ",\"l1\":" << jsonNumber(l1) << ",\"jsd\":" << jsonNumber(jsd)
     << ",\"logz\":" << jsonNumber(logz)
     << ",\"logz_true\":" << jsonNumber(logzTrue)
     << ",\"modes_found\":" << modesFound << ",\"modes_total\":" << modesTotal
     << ",\"mean_reward\":" << jsonNumber(meanReward)
     << ",\"topk_reward\":" << jsonNumber(topkReward)
     << ",\"wall_s\":" << jsonNumber(wallSeconds);
  if (!condition.empty())
    os << ",\"cond\":" << condition;
  if (!sampler.empty())
    os << ",\"sampler\":" << sampler;
  os << "}";
  return os.str();
}

std::string Profile::json() const {
  double n = std::max<int64_t>(iterations, 1);
  double total = rollout + networks + objective + optimizer + graph;
  std::ostringstream os;
  os.precision(6);
  os << "{\"iterations\":" << iterations
     << ",\"ms_per_iteration\":" << 1e3 * total / n
     << ",\"trajectories_per_s\":" << trajectories / std::max(total, 1e-12)
     << ",\"split_ms\":{\"rollout\":" << 1e3 * rollout / n
     << ",\"networks\":" << 1e3 * networks / n
     << ",\"objective\":" << 1e3 * objective / n
     << ",\"optimizer\":" << 1e3 * optimizer / n
     << ",\"graph\":" << 1e3 * graph / n << "}}";
  return os.str();
}

} // namespace gfl

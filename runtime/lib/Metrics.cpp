//===- Metrics.cpp - Metrics and phase times as JSON ----------------------===//

#include "gfl/Runtime/Metrics.h"
#include "gfl/Runtime/Checkpoint.h"
#include "gfl/Runtime/Json.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <sys/resource.h>

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
     << ",\"unique_terminal\":" << uniqueTerminal
     << ",\"topk_reward_unique\":" << jsonNumber(topkRewardUnique);
  if (referenceModesTotal >= 0)
    os << ",\"ref_modes_found\":" << referenceModesFound
       << ",\"ref_modes_total\":" << referenceModesTotal;
  if (estSamples > 0)
    os << ",\"est_spearman\":" << jsonNumber(estSpearman)
       << ",\"est_pearson\":" << jsonNumber(estPearson)
       << ",\"est_samples\":" << estSamples;
  os << ",\"wall_s\":" << jsonNumber(wallSeconds);
  if (!condition.empty())
    os << ",\"cond\":" << condition;
  if (!sampler.empty())
    os << ",\"sampler\":" << sampler;
  os << "}";
  return os.str();
}

double peakResidentMiB() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0)
    return 0;
  return static_cast<double>(usage.ru_maxrss) / 1024.0; // KiB on Linux
}

std::string Profile::json() const {
  double n = std::max<int64_t>(iterations, 1);
  double total = rollout + networks + objective + optimizer + graph + allreduce;
  std::ostringstream os;
  os.precision(6);
  os << "{\"iterations\":" << iterations
     << ",\"ms_per_iteration\":" << 1e3 * total / n
     << ",\"trajectories_per_s\":" << trajectories / std::max(total, 1e-12)
     << ",\"split_ms\":{\"rollout\":" << 1e3 * rollout / n
     << ",\"networks\":" << 1e3 * networks / n
     << ",\"objective\":" << 1e3 * objective / n
     << ",\"optimizer\":" << 1e3 * optimizer / n
     << ",\"graph\":" << 1e3 * graph / n
     << ",\"allreduce\":" << 1e3 * allreduce / n << "}"
     << ",\"live_rows\":" << liveRows / n
     << ",\"padded_rows\":" << paddedRows / n
     << ",\"gemm_floor_ms\":" << gemmFloorMs
     << ",\"peak_rss_mib\":" << peakResidentMiB() << "}";
  return os.str();
}

void keepMetricsUpTo(const std::string &path, int64_t iteration) {
  std::ifstream in(path);
  if (!in)
    return;
  std::string line, kept;
  bool dropped = false;
  while (std::getline(in, line)) {
    bool complete = !in.eof(); // a last line without its newline was torn
    std::string error;
    std::optional<json::Value> row = json::parse(line, error);
    const json::Value *at =
        row && row->isObject() ? row->get("iteration") : nullptr;
    if (complete && at && at->isNumber() && at->asInt() <= iteration)
      kept += line + "\n";
    else
      dropped = true;
  }
  in.close();
  if (dropped)
    writeAtomically(path, std::vector<char>(kept.begin(), kept.end()));
}

} // namespace gfl

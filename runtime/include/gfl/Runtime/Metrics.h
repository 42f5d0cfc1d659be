//===- Metrics.h - What training reports: metrics and phase times -*- C++
//-*-===//

#ifndef GFL_RUNTIME_METRICS_H
#define GFL_RUNTIME_METRICS_H

#include <cstdint>
#include <optional>
#include <string>

namespace gfl {

/// One line of metrics.jsonl.
struct Metrics {
  int64_t iteration = 0;
  double loss = 0;
  std::optional<double> l1, jsd, logz, logzTrue;
  int64_t modesFound = 0, modesTotal = 0;
  double meanReward = 0; // over the last sampled batch
  double topkReward = 0; // mean of its 10 largest rewards
  // From the states sampled so far (SampleMetrics): distinct terminal
  // states, the mean reward of the 10 best of them, reference modes found
  // (-1 total: none declared), and the importance-sampling estimates of
  // log P_T over the test set against log R (estSamples 0: no test set).
  int64_t uniqueTerminal = 0;
  std::optional<double> topkRewardUnique;
  int64_t referenceModesFound = 0, referenceModesTotal = -1;
  std::optional<double> estSpearman, estPearson;
  int64_t estSamples = 0;
  double wallSeconds = 0;
  /// The condition the exact metrics were computed at, as JSON (empty
  /// without conditions).
  std::string condition;
  /// The sampler's state as JSON: replay buffer sizes and the local
  /// search's acceptance in the last batch (empty for on-policy samplers).
  std::string sampler;
  std::string json() const;
};

/// Seconds spent per phase of training (summed over iterations).
struct Profile {
  double rollout = 0;   // sampling: compiled steps + policy forward
  double networks = 0;  // forward over visited states + backward through them
  double objective = 0; // compiled policy log-prob and objective kernels
  double optimizer = 0;
  double graph = 0; // replays of the recorded rollout, networks and objective
  double allreduce = 0; // waiting for the gradients summed over the workers
  int64_t iterations = 0;
  int64_t trajectories = 0;
  /// Rows of states that exist (s_0 .. s_L of each trajectory) and rows of
  /// the padded B x (T+1) grids, summed over iterations (with --profile).
  int64_t liveRows = 0, paddedRows = 0;
  /// The networks' forward and backward over an iteration's mean live rows
  /// alone, in ms (Trainer::measureGemmFloor; 0 when not measured).
  double gemmFloorMs = 0;
  std::string json() const;
};

/// This process's peak resident memory so far, in MiB.
double peakResidentMiB();

/// A number as JSON: `null` when absent or not finite.
std::string jsonNumber(const std::optional<double> &v);

/// Keeps the lines of metrics.jsonl at `path` up to `iteration` (the
/// checkpoint a run resumes from): a run killed after writing a line but
/// before its checkpoint would otherwise write that line twice. A torn last
/// line goes too. The file is rewritten atomically; a missing one is left.
void keepMetricsUpTo(const std::string &path, int64_t iteration);

} // namespace gfl

#endif // GFL_RUNTIME_METRICS_H

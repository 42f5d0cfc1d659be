//===- StateGraph.h - The state graph of an enumerable env -------*- C++ -*-===//
//
// Walks the state graph of an enumerable environment with an artifact's CPU
// kernels (no LibTorch): every state code is decoded, its valid forward
// actions applied, and the successors coded again. gflc uses it right after
// writing the artifact to refuse actions leading outside the domains,
// cycles, and a local-search backtrack longer than any trajectory.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_STATEGRAPH_H
#define GFL_RUNTIME_STATEGRAPH_H

#include "gfl/Runtime/Artifact.h"

#include <cstdint>
#include <optional>
#include <string>

namespace gfl {

/// The most states this walk visits (it holds the edges in memory).
constexpr int64_t kMaxWalkedStates = int64_t(1) << 22;

/// What a walk of the state graph from s0 found. An environment whose
/// actions leave their fields' domains, or whose graph has a cycle, is not
/// a GFlowNet environment: gflc refuses it.
struct StateGraphReport {
  /// The first allowed action (flat index) from a reachable state whose
  /// next state lies outside the domains, or -1; with its description.
  int64_t leavingAction = -1;
  std::string leaving; // "action inc(1) from state x=[0, 7]"
  /// A reachable state on a cycle, described; empty when acyclic.
  std::string cycle;
  /// The moves (non-exit actions) of the longest trajectory, when acyclic.
  std::optional<int64_t> longest;
};

/// Walks the state graph from s0 with the artifact's CPU kernels, or
/// returns nullopt with the reason in `error`: the env is not enumerable,
/// has more than kMaxWalkedStates states, or has no CPU kernels.
std::optional<StateGraphReport> walkStateGraph(const Artifact &artifact,
                                               std::string &error);

/// Flat forward action `action` of the manifest's `env` as text: `inc(1)`,
/// `stop` for the exit.
std::string describeAction(const json::Value &env, int64_t action);

} // namespace gfl

#endif // GFL_RUNTIME_STATEGRAPH_H

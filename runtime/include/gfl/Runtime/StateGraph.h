//===- StateGraph.h - The state graph of an enumerable environment -*- C++
//-*-===//
//
// Walks the state graph of an enumerable environment with an artifact's CPU
// kernels (no LibTorch): every state code is decoded, its valid forward
// actions applied, and the successors coded again. gflc uses it to check
// sampler settings against the environment (a local-search backtrack
// longer than any trajectory) right after writing the artifact.
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

/// The number of moves (non-exit actions) of the longest trajectory from s0,
/// or nullopt with the reason in `error`: the env is not enumerable, has
/// more than kMaxWalkedStates states, has no CPU kernels, or its graph has
/// a cycle reachable from s0.
std::optional<int64_t> longestTrajectory(const Artifact &artifact,
                                         std::string &error);

} // namespace gfl

#endif // GFL_RUNTIME_STATEGRAPH_H

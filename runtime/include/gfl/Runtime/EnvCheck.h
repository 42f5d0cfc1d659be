//===- EnvCheck.h - Is an enumerable env a well-posed GFlowNet env? -*- C++
//-*-===//
//
// An environment can be valid code and still be wrong for a GFlowNet: a
// backward mask that allows parents never reached from s0 leaks P_B mass,
// a step whose undo does not restore the state breaks every backward
// quantity. `gfl-run check` and the start of `gfl-run train` enumerate the
// states with the artifact's kernels and report each kind of problem once,
// with one example.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_ENVCHECK_H
#define GFL_RUNTIME_ENVCHECK_H

#include "gfl/Runtime/Program.h"

#include <cstdint>
#include <string>
#include <vector>

namespace gfl {

/// The most states the check enumerates (it holds the forward edges).
constexpr int64_t kMaxCheckedStates = int64_t(1) << 22;

/// One kind of problem: `kind` is a stable name (docs/runtime.md lists
/// them), `count` the states where it shows, `example` one of them.
struct EnvFinding {
  std::string kind;
  int64_t count = 0;
  std::string example;
};

struct EnvCheckReport {
  /// Why nothing was checked (not enumerable, too many states); empty when
  /// the check ran.
  std::string skipped;
  int64_t states = 0;    // the state space
  int64_t reachable = 0; // from s0
  int64_t terminals = 0; // reachable states where a trajectory can end
  std::vector<EnvFinding> findings; // in the order docs/runtime.md gives
  bool clean() const { return skipped.empty() && findings.empty(); }
};

/// Enumerates the states of `program`'s environment on its device, `chunk`
/// states at a time, and checks them. Rewards are taken at the declared
/// condition values.
EnvCheckReport checkEnvironment(const Program &program,
                                int64_t chunk = int64_t(1) << 16);

} // namespace gfl

#endif // GFL_RUNTIME_ENVCHECK_H

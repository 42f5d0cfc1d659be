//===- LocalLaunch.h - Start the workers of a one-machine run ----*- C++
//-*-===//
//
// `gfl-run train --nproc N` is its own launcher: it starts N copies of
// gfl-run with the variables torchrun would set (RANK, LOCAL_RANK,
// WORLD_SIZE, MASTER_ADDR=127.0.0.1, MASTER_PORT a free port;
// OMP_NUM_THREADS the cores divided between the workers unless set) and
// watches them. When one fails, the launcher says which and how in one line and
// stops the others, so that a dead worker never leaves the rest waiting.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_LOCALLAUNCH_H
#define GFL_RUNTIME_LOCALLAUNCH_H

#include <string>
#include <vector>

namespace gfl {

/// Runs `workers` copies of `program` with arguments `args` (argv[1..]) as
/// the workers of one run and waits for them. Returns 0 when every worker
/// succeeded, else the first failure's exit status (2 for a signal).
/// Throws std::runtime_error when a worker cannot be started.
int launchLocalWorkers(int workers, const std::string &program,
                       const std::vector<std::string> &args);

/// A TCP port on 127.0.0.1 that was free when asked.
int freeLoopbackPort();

} // namespace gfl

#endif // GFL_RUNTIME_LOCALLAUNCH_H

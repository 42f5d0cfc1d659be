//===- HostRows.h - Row selections of CPU tensors on the host ---*- C++ -*-===//
//
// The CPU rollout selects, each step, the rows of the trajectories still
// running and scatters the policy's output back: tensors of a few hundred
// rows, for which LibTorch's index ops cost several microseconds each in
// dispatch and set-up against well under one for the copies themselves.
// These do the same on the host for contiguous CPU tensors outside a
// graph, and call LibTorch's ops otherwise. The trainer's finite check of
// the loss and gradients reads them here in the same way.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_HOSTROWS_H
#define GFL_RUNTIME_HOSTROWS_H

#include <torch/torch.h>

namespace gfl {

/// Whether `t` can be read and written in place on the host without
/// autograd seeing it: a contiguous CPU tensor outside a graph.
bool onHost(const torch::Tensor &t);

/// flags.all() for a bool tensor, read on the host (one device read
/// elsewhere).
bool allSet(const torch::Tensor &flags);

/// The indices [K] int64 of the unset entries of a bool tensor [B]:
/// flags.logical_not().nonzero().reshape({-1}).
torch::Tensor unsetIndices(const torch::Tensor &flags);

/// x.index_select(0, rows), for int64 `rows` in [0, x.size(0)).
torch::Tensor selectRows(const torch::Tensor &x, const torch::Tensor &rows);

/// into.index_copy_(0, rows, x).
void copyRows(torch::Tensor &into, const torch::Tensor &rows,
              const torch::Tensor &x);

/// t.narrow(0, start, count), made without LibTorch's dispatcher for a
/// contiguous CPU tensor outside a graph: a narrow or select costs 4-6k
/// instructions there, most of them in dispatch and autograd's view
/// bookkeeping, and the rollout takes several such rows each step. The
/// result shares t's storage but not its version counter (nothing
/// differentiates it). Other tensors and out-of-range rows go to narrow.
torch::Tensor rowsOf(const torch::Tensor &t, int64_t start, int64_t count);

/// t[k], made as rowsOf makes its rows.
torch::Tensor rowOf(const torch::Tensor &t, int64_t k);

/// Whether every element of every float32 tensor of `ts` is finite: read in
/// place on the host when all of them are there, by one reduction and one
/// device read otherwise (where a sum that overflows counts as not finite).
bool allFinite(const std::vector<torch::Tensor> &ts);

} // namespace gfl

#endif // GFL_RUNTIME_HOSTROWS_H

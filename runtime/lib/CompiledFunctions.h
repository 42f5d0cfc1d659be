//===- CompiledFunctions.h - Compiled kernels as autograd functions -*- C++
//-*-===//
//
// The differentiable pieces of the training loss, each a compiled kernel
// whose backward is the compiled gradient kernel: the policy's log
// probabilities, the log edge flows of flow matching and the objective.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_COMPILEDFUNCTIONS_H
#define GFL_RUNTIME_COMPILEDFUNCTIONS_H

#include "gfl/Runtime/Program.h"

#include <torch/torch.h>

#include <atomic>
#include <map>
#include <string>

namespace gfl {

/// Where compiled kernel calls add their time (null: nowhere), from any
/// thread.
std::atomic<double *> &kernelTimer();

/// log pi(a | s) of a masked log-softmax policy [N]; rows with action -1
/// give 0.
torch::Tensor policyLogProb(const Program &program, const torch::Tensor &logits,
                            const torch::Tensor &mask,
                            const torch::Tensor &actions);

struct EdgeFlows {
  torch::Tensor in, out, exit; // [N] each
};

/// With logits read as log edge flows: for N states with their logits [N,
/// A] and forward masks, and the logits of their parents through each
/// backward action [N, Pb, A] with the backward masks [N, Pb].
EdgeFlows edgeFlows(const Program &program, const torch::Tensor &logits,
                    const torch::Tensor &mask,
                    const torch::Tensor &parentLogits,
                    const torch::Tensor &parentMask);

struct PolicyStats {
  torch::Tensor logit, logNorm, entropy; // [N] each
};

/// Of a masked softmax policy with logits [N, A]: the logit of action [N]
/// (Q(s, a) when the logits are Q-values; 0 for -1), the log-normalizer
/// (the soft value) and the entropy, through the compiled
/// gfl_policy_stats and its gradient.
PolicyStats policyStats(const Program &program, const torch::Tensor &logits,
                        const torch::Tensor &mask,
                        const torch::Tensor &actions);

/// The network outputs an objective kernel may read (and differentiate):
/// log_pf, log_pb, log_f, log_z, log_pf_exit, log_in_flow, log_out_flow,
/// log_exit_flow, entropy, value, logit, log_norm.
extern const char *const kLearnedInputs[12];

/// The per-trajectory loss [B] of the training objective. `learned` holds
/// the network outputs the objective reads, by name; `data` the rest
/// (log_r, n, exited, offsets and, when read, log_r_step). Sequences are
/// ragged rows: trajectory b's entries are [offsets[b], offsets[b+1]).
torch::Tensor objectiveLoss(const Program &program,
                            const std::map<std::string, torch::Tensor> &learned,
                            const std::map<std::string, torch::Tensor> &data);

} // namespace gfl

#endif // GFL_RUNTIME_COMPILEDFUNCTIONS_H

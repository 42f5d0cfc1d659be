//===- RaggedRows.h - Objective sequences from padded grids --*- C++ -*-===//
//
// The objective kernels read each trajectory's sequences as ragged rows:
// trajectory b's entries are [offsets[b], offsets[b+1]) of a flat tensor.
// Tests that hold the sequences as [B, T] grids pass them flat with
// offsets b*T; the flat tensors are views, so the kernel's writes land in
// the grids and gradients reach them.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_TEST_UNIT_RAGGEDROWS_H
#define GFL_TEST_UNIT_RAGGEDROWS_H

#include <torch/torch.h>

#include <map>
#include <string>

namespace gfl::test {

/// `args` with every [B, T] grid flat and `offsets` added.
inline std::map<std::string, torch::Tensor>
gridsAsRaggedRows(std::map<std::string, torch::Tensor> args) {
  int64_t B = -1, T = -1;
  for (auto &[name, t] : args)
    if (t.dim() == 2) {
      B = t.size(0);
      T = t.size(1);
      t = t.view({-1});
    }
  if (B >= 0)
    args["offsets"] = torch::arange(B + 1, torch::kInt32) * int32_t(T);
  return args;
}

} // namespace gfl::test

#endif // GFL_TEST_UNIT_RAGGEDROWS_H

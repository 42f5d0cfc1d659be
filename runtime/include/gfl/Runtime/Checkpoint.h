//===- Checkpoint.h - Training state in a file PyTorch can load --*- C++
//-*-===//
//
// A checkpoint is one pickled dictionary (torch.load reads it): its format
// and environment, the iteration, and whatever each part of the trainer
// saves under its own keys (parameters and Adam state, modes found, replay
// buffers). Files are written through a temporary file and a rename.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_CHECKPOINT_H
#define GFL_RUNTIME_CHECKPOINT_H

#include "gfl/Runtime/Program.h"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace gfl {

class Checkpoint {
public:
  /// An empty checkpoint of `program`'s environment.
  explicit Checkpoint(const Program &program);
  /// Reads and checks format and environment; throws std::runtime_error
  /// with a one-line reason.
  static Checkpoint read(const std::string &path, const Program &program);
  void write(const std::string &path) const;

  void put(const std::string &key, c10::IValue value);
  bool has(const std::string &key) const;
  /// The value of `key`; throws when it is missing.
  c10::IValue get(const std::string &key) const;
  /// A tensor dictionary under `key`; throws when it is missing or not one.
  c10::Dict<std::string, torch::Tensor> tensors(const std::string &key) const;
  /// The tensor `name` of dictionary `key` with the shape and dtype of
  /// `like`; throws when it is missing or differs.
  torch::Tensor tensor(const std::string &key, const std::string &name,
                       const torch::Tensor &like) const;
  /// A one-line error about this checkpoint.
  std::runtime_error error(const std::string &what) const;

private:
  std::string path_;
  c10::impl::GenericDict dict_;
};

/// Writes `bytes` to `path` through a temporary file and a rename.
void writeAtomically(const std::string &path, const std::vector<char> &bytes);

} // namespace gfl

#endif // GFL_RUNTIME_CHECKPOINT_H

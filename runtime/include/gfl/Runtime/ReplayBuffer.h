//===- ReplayBuffer.h - Terminal states kept for off-policy training -*- C++
//-*-===//
//
// A buffer of terminal states with their log-rewards, on the training
// device: a capacity, insertion of every state or only of states it does
// not hold, eviction of the oldest (FIFO) or of the lowest rewards, and
// draws that are uniform or proportional to exp(log R / temperature). The
// draws use the artifact's Philox uniforms (stream::kReplay + the buffer's
// index, keyed by iteration and trajectory), so a resumed run draws what
// an uninterrupted one would. The buffer goes into checkpoints.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_REPLAYBUFFER_H
#define GFL_RUNTIME_REPLAYBUFFER_H

#include "gfl/Runtime/Checkpoint.h"

namespace gfl {

class ReplayBuffer {
public:
  /// Throws std::runtime_error when the buffer cannot fit in the memory of
  /// the program's device.
  /// In a data-parallel run (`workers`), each worker holds a shard of
  /// the buffer: its share of the capacity (split as batches are), filled
  /// with the terminal states of its own share of the batches.
  ReplayBuffer(const Program &program, const ReplaySpec &spec, size_t index,
               WorkerGroup *workers = nullptr);

  int64_t size() const { return size_; }
  const ReplaySpec &spec() const { return spec_; }
  /// Rows of a batch of `batch` this source draws: round(fraction *
  /// batch), none while the buffer is empty.
  int64_t share(int64_t batch) const;
  /// Draws `count` terminal states for batch rows [firstRow, firstRow +
  /// count) (numbered in the whole batch, see ForwardDraw::first) at the
  /// iteration in `iteration` ([1] on the device).
  State draw(int64_t count, int64_t firstRow,
             const torch::Tensor &iteration) const;
  /// Inserts terminal states [n, ...] with their log-rewards [n].
  void insert(const State &states, const torch::Tensor &logReward);

  /// Every held state and log-reward (tests, checkpoints).
  State states() const;
  torch::Tensor logRewards() const;

  /// A checkpoint holds the whole buffer: every worker's shard in rank
  /// order (a collective: every worker calls save). Loading with M
  /// workers, worker r takes the held states r, r + M, r + 2M, ...
  void save(Checkpoint &c) const;
  void load(const Checkpoint &c);
  int64_t capacity() const { return capacity_; }

  /// Bytes one held state takes (its fields and its log-reward).
  static int64_t bytesPerState(const Program &program);

private:
  /// Flattened fields as float64 rows [n, W], to compare states.
  torch::Tensor keys(const State &s) const;
  /// True per new row when an earlier new row or a held state equals it.
  torch::Tensor seen(const State &s) const;
  std::string key() const { return "replay" + std::to_string(index_); }

  const Program &program_;
  ReplaySpec spec_;
  size_t index_;
  WorkerGroup *workers_;
  int64_t capacity_;   // this worker's shard
  State data_;         // [capacity, ...] per field
  torch::Tensor logR_; // [capacity]
  int64_t size_ = 0;   // rows held
  int64_t cursor_ = 0; // FIFO: the next row to overwrite
};

} // namespace gfl

#endif // GFL_RUNTIME_REPLAYBUFFER_H

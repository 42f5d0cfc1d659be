//===- ReplayBuffer.cpp - Terminal states kept for off-policy training ----===//

#include "gfl/Runtime/ReplayBuffer.h"
#include "gfl/Runtime/ForwardSampler.h"
#include "gfl/Runtime/WorkerGroup.h"

#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>

namespace gfl {

namespace {

/// Bytes the program's device can still give, or -1 when unknown.
int64_t availableBytes(const Program &program) {
  if (program.device().is_cuda()) {
    std::string error;
    const cuda::Driver *d = cuda::Driver::get(error);
    size_t free = 0, total = 0;
    if (d && d->memGetInfo && d->memGetInfo(&free, &total) == 0)
      return static_cast<int64_t>(free);
    return -1;
  }
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb >> unit)
    if (key == "MemAvailable:")
      return kb * 1024;
  return -1;
}

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
  return buf;
}

} // namespace

int64_t ReplayBuffer::bytesPerState(const Program &program) {
  int64_t bytes = 4; // the log-reward
  for (const FieldSpec &f : program.env().fields) {
    int64_t numel = 1;
    for (int64_t d : f.shape)
      numel *= d;
    bytes += numel * static_cast<int64_t>(c10::elementSize(f.dtype));
  }
  return bytes;
}

ReplayBuffer::ReplayBuffer(const Program &program, const ReplaySpec &spec,
                           size_t index, WorkerGroup *workers)
    : program_(program), spec_(spec), index_(index),
      workers_(workers && workers->size() > 1 ? workers : nullptr),
      capacity_(workers_ ? workers_->shareSize(spec.capacity) : spec.capacity) {
  if (capacity_ < 1)
    throw std::runtime_error("replay buffer " + std::to_string(index) +
                             " (capacity " + std::to_string(spec.capacity) +
                             ") has no room on every one of " +
                             std::to_string(workers_->size()) + " workers");
  double need = static_cast<double>(capacity_) *
                static_cast<double>(bytesPerState(program));
  int64_t free = availableBytes(program);
  if (free >= 0 && need > 0.8 * static_cast<double>(free))
    throw std::runtime_error("replay buffer " + std::to_string(index) +
                             " (capacity " + std::to_string(spec.capacity) +
                             ") needs " + gib(need) + " on " +
                             program.device().str() + ", which has " +
                             gib(double(free)) + " available");
  data_ = program.emptyState(capacity_);
  logR_ = torch::empty({capacity_}, program.options(torch::kFloat32));
}

int64_t ReplayBuffer::share(int64_t batch) const {
  if (size_ == 0)
    return 0;
  return static_cast<int64_t>(std::llround(spec_.fraction * batch));
}

State ReplayBuffer::draw(int64_t count, int64_t firstRow,
                         const torch::Tensor &iteration) const {
  // One uniform per batch row, keyed by its index in the batch.
  auto u = torch::empty({count}, program_.options(torch::kFloat32));
  program_.call("gfl_uniform", {{"iteration", iteration}, {"u", u}},
                {{"seed", double(program_.train().seed)},
                 {"stream", double(stream::kReplay + 2 * index_)},
                 {"first", double(firstRow)}});
  torch::Tensor v = u.to(torch::kFloat64);
  torch::Tensor rows;
  if (spec_.prioritized) {
    torch::Tensor w = torch::softmax(
        logR_.slice(0, 0, size_).to(torch::kFloat64) / spec_.temperature, 0);
    torch::Tensor cdf = w.cumsum(0);
    rows = torch::searchsorted(cdf, v * cdf[-1], /*out_int32=*/false,
                               /*right=*/true);
  } else {
    rows = (v * double(size_)).floor().to(torch::kInt64);
  }
  rows = rows.clamp(0, size_ - 1);
  return Program::select(data_, rows);
}

torch::Tensor ReplayBuffer::keys(const State &s) const {
  std::vector<torch::Tensor> parts;
  for (const torch::Tensor &f : s)
    parts.push_back(f.reshape({f.size(0), -1}).to(torch::kFloat64));
  return torch::cat(parts, 1);
}

torch::Tensor ReplayBuffer::seen(const State &s) const {
  torch::Tensor k = keys(s); // [n, W]
  int64_t n = k.size(0);
  // An earlier row of the same insertion.
  torch::Tensor same = k.unsqueeze(1).eq(k.unsqueeze(0)).all(2); // [n, n]
  torch::Tensor earlier = torch::ones({n, n}, same.options()).tril(-1);
  torch::Tensor out = same.logical_and(earlier).any(1);
  // A held state, compared in chunks to bound the memory.
  constexpr int64_t kChunk = 4096;
  for (int64_t begin = 0; begin < size_; begin += kChunk) {
    int64_t end = std::min(size_, begin + kChunk);
    State held;
    for (const torch::Tensor &f : data_)
      held.push_back(f.slice(0, begin, end));
    torch::Tensor h = keys(held);
    out = out.logical_or(k.unsqueeze(1).eq(h.unsqueeze(0)).all(2).any(1));
  }
  return out;
}

void ReplayBuffer::insert(const State &states, const torch::Tensor &logReward) {
  State x = states;
  torch::Tensor logR = logReward.to(torch::kFloat32);
  if (spec_.insertNew) {
    torch::Tensor keep = seen(x).logical_not().nonzero().reshape({-1});
    x = Program::select(x, keep);
    logR = logR.index_select(0, keep);
  }
  int64_t n = logR.size(0), cap = capacity_;
  if (n == 0)
    return;
  if (spec_.evictLowest) {
    // Keep the `cap` highest rewards of the held and new states, the held
    // ones first among equals.
    State all;
    for (size_t f = 0; f < x.size(); ++f)
      all.push_back(torch::cat({data_[f].slice(0, 0, size_), x[f]}, 0));
    torch::Tensor allLogR = torch::cat({logR_.slice(0, 0, size_), logR}, 0);
    int64_t keepCount = std::min(cap, size_ + n);
    torch::Tensor order =
        std::get<1>(allLogR.sort(/*stable=*/true, 0, /*descending=*/true))
            .slice(0, 0, keepCount);
    State kept = Program::select(all, order);
    for (size_t f = 0; f < x.size(); ++f)
      data_[f].slice(0, 0, keepCount).copy_(kept[f]);
    logR_.slice(0, 0, keepCount).copy_(allLogR.index_select(0, order));
    size_ = keepCount;
    return;
  }
  // FIFO: a ring; of more new states than fit, the last ones.
  if (n > cap) {
    torch::Tensor last =
        torch::arange(n - cap, n, program_.options(torch::kInt64));
    x = Program::select(x, last);
    logR = logR.index_select(0, last);
    n = cap;
  }
  torch::Tensor slots =
      (torch::arange(n, program_.options(torch::kInt64)) + cursor_) % cap;
  for (size_t f = 0; f < x.size(); ++f)
    data_[f].index_copy_(0, slots, x[f]);
  logR_.index_copy_(0, slots, logR);
  cursor_ = (cursor_ + n) % cap;
  size_ = std::min(cap, size_ + n);
}

State ReplayBuffer::states() const {
  State out;
  for (const torch::Tensor &f : data_)
    out.push_back(f.slice(0, 0, size_));
  return out;
}

torch::Tensor ReplayBuffer::logRewards() const {
  return logR_.slice(0, 0, size_);
}

void ReplayBuffer::save(Checkpoint &c) const {
  c10::Dict<std::string, torch::Tensor> t;
  const EnvSpec &env = program_.env();
  auto whole = [&](const torch::Tensor &shard) {
    return (workers_ ? workers_->allGather(shard) : shard).cpu();
  };
  for (size_t f = 0; f < env.fields.size(); ++f)
    t.insert("state." + env.fields[f].name, whole(data_[f].slice(0, 0, size_)));
  torch::Tensor logR = whole(logRewards());
  t.insert("log_reward", logR);
  c.put(key(), t);
  // The shards side by side have no one FIFO order: the next insertion
  // after a resume overwrites from the end of what is held.
  c.put(key() + "_cursor", workers_ ? logR.size(0) % spec_.capacity : cursor_);
}

void ReplayBuffer::load(const Checkpoint &c) {
  auto t = c.tensors(key());
  if (!t.contains("log_reward"))
    throw c.error("it lacks the log-rewards of " + key());
  torch::Tensor logR = t.at("log_reward");
  int64_t n = logR.dim() == 1 ? logR.size(0) : -1;
  if (n < 0 || n > spec_.capacity || logR.scalar_type() != torch::kFloat32)
    throw c.error(key() + " does not fit a buffer of capacity " +
                  std::to_string(spec_.capacity));
  c10::IValue cursor = c.get(key() + "_cursor");
  if (!cursor.isInt() || cursor.toInt() < 0 || cursor.toInt() >= spec_.capacity)
    throw c.error(key() + " has a cursor out of range");
  const EnvSpec &env = program_.env();
  // This worker's rows of the whole buffer: r, r + M, ... (all of them in
  // one process); at most its shard's capacity.
  torch::Tensor rows = torch::arange(workers_ ? workers_->rank() : 0, n,
                                     workers_ ? workers_->size() : 1);
  int64_t held = rows.size(0);
  for (size_t f = 0; f < env.fields.size(); ++f) {
    std::vector<int64_t> shape = data_[f].sizes().vec();
    shape[0] = n;
    torch::Tensor like =
        torch::empty(shape, data_[f].options().device(torch::kCPU));
    torch::Tensor v = c.tensor(key(), "state." + env.fields[f].name, like);
    data_[f].slice(0, 0, held).copy_(v.index_select(0, rows));
  }
  logR_.slice(0, 0, held).copy_(logR.index_select(0, rows));
  size_ = held;
  cursor_ = workers_ ? held % capacity_ : cursor.toInt();
}

} // namespace gfl

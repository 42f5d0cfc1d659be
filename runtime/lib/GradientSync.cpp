//===- GradientSync.cpp - Gradients summed over the workers ---------------===//

#include "gfl/Runtime/GradientSync.h"

#include <chrono>
#include <stdexcept>

namespace gfl {

GradientSync::GradientSync(WorkerGroup &group,
                           std::vector<torch::Tensor> params,
                           int64_t bucketBytes)
    : group_(group), params_(std::move(params)) {
  place_.resize(params_.size());
  got_.assign(params_.size(), false);
  int64_t bytes = 0;
  for (size_t k = params_.size(); k-- > 0;) {
    const torch::Tensor &p = params_[k];
    if (p.scalar_type() != torch::kFloat32)
      throw std::runtime_error("gradient sync: parameters must be float32");
    int64_t size = p.numel() * static_cast<int64_t>(sizeof(float));
    if (buckets_.empty() || (bytes + size > bucketBytes && bytes > 0)) {
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket &b = buckets_.back();
    place_[k] = {buckets_.size() - 1, b.params.size()};
    b.offsets.push_back(
        b.params.empty() ? 0
                         : b.offsets.back() + params_[b.params.back()].numel());
    b.params.push_back(k);
    bytes += size;
  }
  for (Bucket &b : buckets_) {
    int64_t n = b.offsets.back() + params_[b.params.back()].numel();
    b.flat = torch::zeros({n}, params_[b.params.front()].options());
  }
  // The hooks stay on the parameters, which may outlive this object: they
  // reach it through a pointer cleared on destruction.
  self_ = std::make_shared<GradientSync *>(this);
  std::shared_ptr<GradientSync *> self = self_;
  for (size_t k = 0; k < params_.size(); ++k)
    params_[k].register_hook([self, k](torch::Tensor grad) {
      if (*self && (*self)->armed_)
        (*self)->arrived(k, grad);
    });
}

GradientSync::~GradientSync() { *self_ = nullptr; }

void GradientSync::begin(double weight) {
  weight_ = weight;
  armed_ = true;
  next_ = 0;
  std::fill(got_.begin(), got_.end(), false);
  for (Bucket &b : buckets_) {
    b.missing = static_cast<int64_t>(b.params.size());
  }
}

void GradientSync::arrived(size_t index, const torch::Tensor &grad) {
  auto [bucket, slot] = place_[index];
  Bucket &b = buckets_[bucket];
  torch::Tensor into =
      b.flat.slice(0, b.offsets[slot], b.offsets[slot] + grad.numel());
  // A hook may run more than once for one parameter in a pass (a graph
  // that reaches it twice): the gradients add up, as in .grad.
  if (got_[index]) {
    into.add_(grad.reshape({-1}), weight_);
    return;
  }
  got_[index] = true;
  into.copy_(grad.reshape({-1}));
  if (weight_ != 1)
    into.mul_(weight_);
  if (--b.missing == 0)
    sendReady();
}

void GradientSync::sendReady() {
  while (next_ < buckets_.size() && buckets_[next_].missing == 0) {
    Bucket &b = buckets_[next_++];
    b.sum = group_.allReduceSumAsync(b.flat);
  }
}

void GradientSync::finish(torch::Tensor &extra) {
  armed_ = false;
  for (Bucket &b : buckets_) {
    if (b.missing == 0)
      continue;
    for (size_t slot = 0; slot < b.params.size(); ++slot)
      if (!got_[b.params[slot]])
        b.flat
            .slice(0, b.offsets[slot],
                   b.offsets[slot] + params_[b.params[slot]].numel())
            .zero_();
    b.missing = 0;
  }
  sendReady();
  WorkerGroup::Pending extraSum;
  if (extra.defined())
    extraSum = group_.allReduceSumAsync(extra);
  auto t0 = std::chrono::steady_clock::now();
  for (Bucket &b : buckets_)
    b.sum.wait();
  extraSum.wait();
  waitSeconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  // A parameter the pass did not reach keeps no gradient, as in one
  // process (the workers' graphs have the same shape).
  for (Bucket &b : buckets_)
    for (size_t slot = 0; slot < b.params.size(); ++slot) {
      if (!got_[b.params[slot]])
        continue;
      torch::Tensor &p = params_[b.params[slot]];
      torch::Tensor sum =
          b.flat.slice(0, b.offsets[slot], b.offsets[slot] + p.numel())
              .view(p.sizes());
      if (p.grad().defined())
        p.mutable_grad().copy_(sum);
      else
        p.mutable_grad() = sum.clone();
    }
}

} // namespace gfl

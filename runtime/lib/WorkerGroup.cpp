//===- WorkerGroup.cpp - The workers of a data-parallel run ---------------===//

#include "gfl/Runtime/WorkerGroup.h"

#ifdef GFL_DISTRIBUTED
#define GFL_COMPAT_C10D
#include "gfl/Runtime/TorchCompat.h"
#endif

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace gfl {

namespace {

/// The integer in variable `name`, or `fallback` when unset.
int intVariable(const char *name, int fallback, int lo, int hi) {
  const char *v = std::getenv(name);
  if (!v)
    return fallback;
  char *end = nullptr;
  errno = 0;
  long x = std::strtol(v, &end, 10);
  if (!*v || *end || errno || x < lo || x > hi)
    throw std::runtime_error(std::string(name) + "='" + v +
                             "' is not an integer in [" + std::to_string(lo) +
                             ", " + std::to_string(hi) + "]");
  return static_cast<int>(x);
}

} // namespace

std::optional<LaunchEnvironment> LaunchEnvironment::read() {
  if (!std::getenv("WORLD_SIZE"))
    return std::nullopt;
  LaunchEnvironment e;
  e.worldSize = intVariable("WORLD_SIZE", 1, 1, 1 << 20);
  e.rank = intVariable("RANK", -1, 0, e.worldSize - 1);
  if (e.rank < 0)
    throw std::runtime_error("WORLD_SIZE is set but RANK is not");
  e.localRank = intVariable("LOCAL_RANK", e.rank, 0, e.worldSize - 1);
  if (const char *addr = std::getenv("MASTER_ADDR"))
    e.masterAddr = addr;
  else if (e.worldSize > 1)
    throw std::runtime_error("WORLD_SIZE is set but MASTER_ADDR is not");
  e.masterPort = intVariable("MASTER_PORT", 29500, 1, 65535);
  return e;
}

int64_t batchShareBegin(int64_t total, int rank, int size) {
  int64_t r = rank;
  return r * (total / size) + std::min(r, total % size);
}

int64_t batchShareSize(int64_t total, int rank, int size) {
  return total / size + (rank < total % size ? 1 : 0);
}

void WorkerGroup::lost(const char *what, const std::string &reason) const {
  throw std::runtime_error(
      "worker " + std::to_string(rank()) + " of " + std::to_string(size()) +
      ": " + what + " failed (" + reason +
      "): another worker died, hung longer than the timeout (" +
      std::to_string(timeout_.count() / 1000) + " s), or cannot be reached");
}

#ifdef GFL_DISTRIBUTED

bool distributedAvailable(std::string *) { return true; }

struct WorkerGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<compat::CollectiveBackend> group;
};

namespace {

using WorkPtr = c10::intrusive_ptr<c10d::Work>;

std::string reasonOf(const std::exception &e) {
  if (auto *c = dynamic_cast<const c10::Error *>(&e))
    return c->what_without_backtrace();
  return e.what();
}

/// The port of the store rank 0 serves: MASTER_PORT, or the one after it
/// under torchrun, whose agent serves its own store at MASTER_PORT
/// (TORCHELASTIC_USE_AGENT_STORE) in the wire protocol of its PyTorch,
/// which need not be gfl-run's LibTorch's.
int rendezvousPort(const LaunchEnvironment &launch) {
  const char *agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  bool agentStore = agent && std::string(agent) == "True";
  return launch.masterPort + (agentStore ? 1 : 0);
}

#ifdef GFL_C10D_GLOO
/// Gloo binds the address it is told: the loopback one for one-machine
/// runs, GLOO_SOCKET_IFNAME's interface where set, else the host's name.
std::shared_ptr<::gloo::transport::Device>
glooDevice(const LaunchEnvironment &launch) {
  if (const char *ifname = std::getenv("GLOO_SOCKET_IFNAME"))
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  const std::string &a = launch.masterAddr;
  if (a == "127.0.0.1" || a == "localhost" || a == "::1")
    return c10d::ProcessGroupGloo::createDeviceForHostname(a);
  return c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

} // namespace

template <typename F> auto WorkerGroup::guarded(const char *what, F &&f) const {
  try {
    return f();
  } catch (const std::exception &e) {
    lost(what, reasonOf(e));
  }
}

WorkerGroup::WorkerGroup(const LaunchEnvironment &launch,
                         const WorkerGroupOptions &options,
                         torch::Device device)
    : impl_(std::make_unique<Impl>()), launch_(launch),
      backend_(options.backend), timeout_(options.timeout) {
  if (backend_.empty())
    backend_ = device.is_cuda() && compat::hasNccl() ? "nccl" : "gloo";
  if (backend_ != "gloo" && backend_ != "nccl")
    throw std::runtime_error("unknown backend '" + backend_ +
                             "' (gloo or nccl)");
  if (backend_ == "nccl" && !compat::hasNccl())
    throw std::runtime_error("--backend nccl: this gfl-run was built without "
                             "NCCL (its LibTorch has none, or nccl.h was not "
                             "found); use gloo");
  if (backend_ == "gloo" && !compat::hasGloo())
    throw std::runtime_error("--backend gloo: this gfl-run was built without "
                             "Gloo's headers (Debian: libgloo-dev)" +
                             std::string(compat::hasNccl() && !device.is_cuda()
                                             ? "; NCCL needs --device cuda"
                                             : ""));
  if (backend_ == "nccl" && !device.is_cuda())
    throw std::runtime_error("--backend nccl needs --device cuda");
  int port = rendezvousPort(launch);
  std::string rendezvous =
      "the rendezvous at " + launch.masterAddr + ":" + std::to_string(port);
  guarded(rendezvous.c_str(), [&] {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(port);
    so.isServer = launch.rank == 0;
    so.numWorkers = static_cast<size_t>(launch.worldSize);
    so.waitWorkers = true;
    so.timeout = timeout_;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(launch.masterAddr, so);
    if (backend_ == "gloo") {
#ifdef GFL_C10D_GLOO
      auto o = c10d::ProcessGroupGloo::Options::create(timeout_);
      o->devices.push_back(glooDevice(launch));
      impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
          impl_->store, launch.rank, launch.worldSize, o);
#endif
    } else {
      impl_->group = compat::makeNcclGroup(impl_->store, launch.rank,
                                           launch.worldSize, timeout_);
    }
    return 0;
  });
}

WorkerGroup::~WorkerGroup() = default;

void WorkerGroup::Pending::wait() {
  if (!impl_)
    return;
  auto work = std::static_pointer_cast<WorkPtr>(impl_);
  impl_.reset();
  group_->guarded("a collective", [&] {
    (*work)->wait(group_->timeout_);
    return 0;
  });
}

WorkerGroup::Pending WorkerGroup::allReduceSumAsync(torch::Tensor &t) {
  Pending p;
  p.group_ = this;
  p.impl_ = guarded("an all-reduce", [&] {
    std::vector<torch::Tensor> ts{t};
    return std::make_shared<WorkPtr>(impl_->group->allreduce(ts));
  });
  return p;
}

void WorkerGroup::allReduceMax(torch::Tensor &t) {
  guarded("an all-reduce", [&] {
    std::vector<torch::Tensor> ts{t};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::MAX;
    impl_->group->allreduce(ts, o)->wait(timeout_);
    return 0;
  });
}

torch::Tensor WorkerGroup::allGather(const torch::Tensor &t) {
  // Every worker's tensor of one shape, in rank order.
  auto gatherAlike = [&](const torch::Tensor &x) {
    return guarded("an all-gather", [&] {
      std::vector<std::vector<torch::Tensor>> out(1);
      for (int r = 0; r < size(); ++r)
        out[0].push_back(torch::empty_like(x));
      std::vector<torch::Tensor> in{x};
      impl_->group->allgather(out, in)->wait(timeout_);
      return out[0];
    });
  };
  // Rows differ between workers: gather the counts, pad to the longest.
  torch::Tensor counts =
      torch::cat(gatherAlike(torch::full({1}, t.size(0),
                                         t.options().dtype(torch::kInt64))))
          .cpu();
  std::vector<int64_t> shape = t.sizes().vec();
  shape[0] = counts.max().item<int64_t>();
  torch::Tensor padded = torch::zeros(shape, t.options());
  padded.slice(0, 0, t.size(0)).copy_(t);
  std::vector<torch::Tensor> parts = gatherAlike(padded);
  for (int r = 0; r < size(); ++r)
    parts[r] = parts[r].slice(0, 0, counts[r].item<int64_t>());
  return torch::cat(parts);
}

void WorkerGroup::broadcast(std::vector<torch::Tensor> &tensors) {
  guarded("a broadcast", [&] {
    for (torch::Tensor &t : tensors) {
      std::vector<torch::Tensor> ts{t};
      impl_->group->broadcast(ts)->wait(timeout_);
    }
    return 0;
  });
}

void WorkerGroup::barrier() {
  guarded("a barrier", [&] {
    impl_->group->barrier()->wait(timeout_);
    return 0;
  });
}

#else // !GFL_DISTRIBUTED

bool distributedAvailable(std::string *why) {
  if (why)
    *why = "this gfl-run was built without LibTorch's distributed layer "
           "(c10d with Gloo or NCCL: install libgloo-dev and build again)";
  return false;
}

struct WorkerGroup::Impl {};

WorkerGroup::WorkerGroup(const LaunchEnvironment &launch,
                         const WorkerGroupOptions &options, torch::Device)
    : launch_(launch), backend_(options.backend), timeout_(options.timeout) {
  std::string why;
  distributedAvailable(&why);
  throw std::runtime_error(why);
}

WorkerGroup::~WorkerGroup() = default;

void WorkerGroup::Pending::wait() {}
WorkerGroup::Pending WorkerGroup::allReduceSumAsync(torch::Tensor &) {
  return {};
}
void WorkerGroup::allReduceMax(torch::Tensor &) {}
torch::Tensor WorkerGroup::allGather(const torch::Tensor &t) { return t; }
void WorkerGroup::broadcast(std::vector<torch::Tensor> &) {}
void WorkerGroup::barrier() {}

#endif // GFL_DISTRIBUTED

} // namespace gfl

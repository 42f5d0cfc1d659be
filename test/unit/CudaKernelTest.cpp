//===- CudaKernelTest.cpp - GPU kernels against the CPU kernels -----------===//
//
// The artifact's CUDA kernels, launched through the driver API, give the CPU
// kernels' results on the same inputs: masks, steps, rewards and features of
// every hypergrid state, the fused sampler (same seed, same actions), the
// policy and edge-flow kernels and an objective with its gradient. Needs a
// GPU: without one (or without a driver) every test skips and says why. The
// artifact must carry CUDA kernels (gflc's default where the toolkit is).
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/Artifact.h"
#include "gfl/Runtime/CudaDriver.h"
#include "gfl/Runtime/MemRef.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace gfl;

namespace {

/// A host buffer of any dtype, as bytes.
struct HostBuf {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  static size_t elemSize(const std::string &dtype) {
    return dtype == "bool" ? 1 : dtype == "int64" ? 8 : 4;
  }
  size_t count() const {
    size_t n = 1;
    for (int64_t d : shape)
      n *= static_cast<size_t>(d);
    return n;
  }
  template <typename T>
  static HostBuf of(const std::string &dtype, std::vector<int64_t> shape,
                    const std::vector<T> &values) {
    HostBuf b{dtype, std::move(shape), {}};
    b.bytes.resize(b.count() * elemSize(dtype));
    EXPECT_EQ(values.size() * sizeof(T), b.bytes.size());
    std::memcpy(b.bytes.data(), values.data(), b.bytes.size());
    return b;
  }
  static HostBuf zeros(const std::string &dtype, std::vector<int64_t> shape) {
    HostBuf b{dtype, std::move(shape), {}};
    b.bytes.assign(b.count() * elemSize(dtype), 0);
    return b;
  }
  float f32(size_t i) const {
    float v;
    std::memcpy(&v, bytes.data() + 4 * i, 4);
    return v;
  }
};

class CudaKernels : public ::testing::Test {
protected:
  void SetUp() override {
    std::string error;
    artifact_ = Artifact::open(GFL_HYPERGRID_2D, error);
    ASSERT_TRUE(artifact_) << error;
    if (!artifact_->cuda().present())
      GTEST_SKIP() << "the test artifact has no CUDA kernels (no CUDA "
                      "toolkit when it was compiled)";
    driver_ = cuda::Driver::get(error);
    if (!driver_)
      GTEST_SKIP() << error;
    module_ = cuda::Module::load(*artifact_, error);
    ASSERT_TRUE(module_) << error;
  }

  /// Runs kernel `name` on the CPU and on the GPU with the same buffers
  /// (by argument name) and scalars; returns {cpu, gpu} buffers.
  std::pair<std::map<std::string, HostBuf>, std::map<std::string, HostBuf>>
  both(const std::string &name, const std::map<std::string, HostBuf> &bufs,
       const std::map<std::string, double> &scalarValues = {}) {
    const Kernel *k = artifact_->kernel(name);
    EXPECT_NE(k, nullptr) << name;
    if (!k)
      return {};
    std::map<std::string, HostBuf> cpu = bufs, gpu = bufs;
    std::vector<AnyRankDescriptor> descs(k->args.size());
    std::vector<int64_t> ints(k->args.size());
    std::vector<float> floats(k->args.size());
    auto scalarArg = [&](size_t i) -> void * {
      const KernelArg &a = k->args[i];
      double v = scalarValues.at(a.name);
      if (a.dtype == "float32") {
        floats[i] = static_cast<float>(v);
        return &floats[i];
      }
      ints[i] = static_cast<int64_t>(v);
      return &ints[i];
    };
    // CPU.
    std::vector<void *> args;
    for (size_t i = 0; i < k->args.size(); ++i) {
      const KernelArg &a = k->args[i];
      if (!a.buffer) {
        args.push_back(scalarArg(i));
        continue;
      }
      HostBuf &b = cpu.at(a.name);
      descs[i] = rowMajorDescriptor(b.bytes.data(), b.shape);
      args.push_back(&descs[i]);
    }
    (*k)(args);
    // GPU: upload every buffer, launch, download.
    std::vector<cuda::DevicePtr> device(k->args.size(), 0);
    args.clear();
    for (size_t i = 0; i < k->args.size(); ++i) {
      const KernelArg &a = k->args[i];
      if (!a.buffer) {
        args.push_back(scalarArg(i));
        continue;
      }
      HostBuf &b = gpu.at(a.name);
      driver_->check(driver_->memAlloc(&device[i], b.bytes.size() + 1),
                     "cuMemAlloc");
      driver_->check(
          driver_->memcpyHtoD(device[i], b.bytes.data(), b.bytes.size()),
          "cuMemcpyHtoD");
      descs[i] =
          rowMajorDescriptor(reinterpret_cast<void *>(device[i]), b.shape);
      args.push_back(&descs[i]);
    }
    module_->launch(*k, args);
    driver_->check(driver_->ctxSynchronize(), name.c_str());
    for (size_t i = 0; i < k->args.size(); ++i) {
      if (!k->args[i].buffer)
        continue;
      HostBuf &b = gpu.at(k->args[i].name);
      driver_->check(
          driver_->memcpyDtoH(b.bytes.data(), device[i], b.bytes.size()),
          "cuMemcpyDtoH");
      driver_->memFree(device[i]);
    }
    return {cpu, gpu};
  }

  /// Every output agrees: exactly for integers and bools, within relative
  /// 1e-5 for floats (the GPU's exp/log are not bit-identical).
  void expectSame(const std::string &name,
                  const std::map<std::string, HostBuf> &bufs,
                  const std::map<std::string, double> &scalars = {}) {
    auto [cpu, gpu] = both(name, bufs, scalars);
    const Kernel *k = artifact_->kernel(name);
    ASSERT_NE(k, nullptr);
    for (const KernelArg &a : k->args) {
      if (!a.buffer || !a.output)
        continue;
      const HostBuf &c = cpu.at(a.name), &g = gpu.at(a.name);
      if (a.dtype != "float32") {
        EXPECT_EQ(c.bytes, g.bytes) << name << " output " << a.name;
        continue;
      }
      int bad = 0;
      for (size_t i = 0; i < c.count(); ++i) {
        float x = c.f32(i), y = g.f32(i);
        bool same = (std::isinf(x) && x == y) ||
                    (std::isnan(x) && std::isnan(y)) ||
                    std::fabs(x - y) <= 1e-5f * (1 + std::fabs(x));
        bad += !same;
      }
      EXPECT_EQ(bad, 0) << name << " output " << a.name;
    }
  }

  std::unique_ptr<Artifact> artifact_;
  const cuda::Driver *driver_ = nullptr;
  std::unique_ptr<cuda::Module> module_;
};

/// Every state of hypergrid 2D H8 (64 rows of x).
HostBuf allStates() {
  std::vector<int32_t> x;
  for (int a = 0; a < 8; ++a)
    for (int b = 0; b < 8; ++b) {
      x.push_back(a);
      x.push_back(b);
    }
  return HostBuf::of("int32", {64, 2}, x);
}

TEST_F(CudaKernels, EnvKernelsOnEveryState) {
  HostBuf x = allStates();
  expectSame("gfl_forward_mask",
             {{"state.x", x}, {"mask", HostBuf::zeros("bool", {64, 3})}});
  expectSame("gfl_backward_mask",
             {{"state.x", x}, {"mask", HostBuf::zeros("bool", {64, 2})}});
  expectSame("gfl_terminal",
             {{"state.x", x}, {"terminal", HostBuf::zeros("bool", {64})}});
  expectSame("gfl_log_reward",
             {{"state.x", x}, {"log_reward", HostBuf::zeros("float32", {64})}});
  expectSame(
      "gfl_features",
      {{"state.x", x}, {"features", HostBuf::zeros("float32", {64, 16})}});
  expectSame("gfl_state_index",
             {{"state.x", x}, {"index", HostBuf::zeros("int64", {64})}});
  expectSame("gfl_init", {{"state.x", HostBuf::zeros("int32", {64, 2})}});
  for (int32_t action : {0, 1, 2}) {
    std::vector<int32_t> acts(64, action);
    expectSame("gfl_step", {{"state.x", x},
                            {"action", HostBuf::of("int32", {64}, acts)},
                            {"next.x", HostBuf::zeros("int32", {64, 2})},
                            {"done", HostBuf::zeros("bool", {64})}});
    if (action < 2)
      expectSame("gfl_backward_step",
                 {{"state.x", x},
                  {"action", HostBuf::of("int32", {64}, acts)},
                  {"prev.x", HostBuf::zeros("int32", {64, 2})}});
  }
}

/// Same seed, same trajectories: the fused sampler draws the same actions
/// on both devices, over several steps of 512 trajectories with fixed
/// random logits, for several seeds, epsilons and temperatures.
TEST_F(CudaKernels, SamplerDrawsTheSameActions) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  const int64_t B = 512;
  for (auto [eps, temp] : {std::pair<double, double>{0.0, 1.0}, {0.2, 2.0}}) {
    std::vector<int32_t> x(2 * B, 0);
    std::vector<uint8_t> ended(B, 0);
    for (int64_t step = 0; step < 6; ++step) {
      std::vector<float> logits(3 * B);
      for (float &l : logits)
        l = normal(rng);
      std::map<std::string, HostBuf> bufs{
          {"state.x", HostBuf::of("int32", {B, 2}, x)},
          {"logits", HostBuf::of("float32", {B, 3}, logits)},
          {"ended", HostBuf::of("bool", {B}, ended)},
          {"next.x", HostBuf::zeros("int32", {B, 2})},
          {"action", HostBuf::zeros("int32", {B})},
          {"log_pf", HostBuf::zeros("float32", {B})},
          {"log_q", HostBuf::zeros("float32", {B})},
          {"done", HostBuf::zeros("bool", {B})},
          {"features", HostBuf::zeros("float32", {B, 16})},
          {"iteration", HostBuf::of("int64", {1}, std::vector<int64_t>{7})},
          {"epsilon",
           HostBuf::of("float32", {1}, std::vector<float>{float(eps)})},
          {"temperature",
           HostBuf::of("float32", {1}, std::vector<float>{float(temp)})}};
      std::map<std::string, double> scalars{
          {"seed", 1234}, {"step", double(step)}, {"stream", 0}, {"first", 0}};
      expectSame("gfl_sample_step", bufs, scalars);
      auto [cpu, gpu] = both("gfl_sample_step", bufs, scalars);
      std::memcpy(x.data(), cpu.at("next.x").bytes.data(), 8 * B);
      std::memcpy(ended.data(), cpu.at("done").bytes.data(), B);
    }
  }
}

/// The backward step draws the same parents on both devices: 512 walks
/// from random hypergrid states back to s0 with random P_B logits.
TEST_F(CudaKernels, BackwardSamplerDrawsTheSameParents) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  std::uniform_int_distribution<int32_t> coord(0, 7);
  const int64_t B = 512;
  std::vector<int32_t> x(2 * B);
  for (int32_t &v : x)
    v = coord(rng);
  std::vector<uint8_t> ended(B, 0);
  // A 2D H8 walk back to s0 takes at most 14 steps.
  for (int64_t step = 0; step < 15; ++step) {
    std::vector<float> logits(2 * B);
    for (float &l : logits)
      l = normal(rng);
    std::map<std::string, HostBuf> bufs{
        {"state.x", HostBuf::of("int32", {B, 2}, x)},
        {"logits", HostBuf::of("float32", {B, 2}, logits)},
        {"ended", HostBuf::of("bool", {B}, ended)},
        {"prev.x", HostBuf::zeros("int32", {B, 2})},
        {"action", HostBuf::zeros("int32", {B})},
        {"log_pb", HostBuf::zeros("float32", {B})},
        {"done", HostBuf::zeros("bool", {B})},
        {"stuck", HostBuf::zeros("bool", {B})},
        {"features", HostBuf::zeros("float32", {B, 16})},
        {"iteration", HostBuf::of("int64", {1}, std::vector<int64_t>{3})}};
    std::map<std::string, double> scalars{
        {"seed", 99}, {"step", double(step)}, {"stream", 1}, {"first", 0}};
    expectSame("gfl_sample_backward_step", bufs, scalars);
    auto [cpu, gpu] = both("gfl_sample_backward_step", bufs, scalars);
    std::memcpy(x.data(), cpu.at("prev.x").bytes.data(), 8 * B);
    std::memcpy(ended.data(), cpu.at("done").bytes.data(), B);
  }
  for (uint8_t e : ended)
    EXPECT_EQ(e, 1);
  for (int32_t v : x)
    EXPECT_EQ(v, 0);
}

TEST_F(CudaKernels, PolicyEdgeFlowAndObjectiveKernels) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  std::bernoulli_distribution coin(0.7);
  const int64_t N = 300, A = 3, P = 2;
  auto randoms = [&](size_t n) {
    std::vector<float> v(n);
    for (float &f : v)
      f = normal(rng);
    return v;
  };
  auto mask = [&](size_t n) {
    std::vector<uint8_t> m(n);
    for (auto &b : m)
      b = coin(rng);
    return m;
  };
  std::vector<int32_t> acts(N);
  for (auto &a : acts)
    a = static_cast<int32_t>(rng() % 4) - 1; // -1 is padding
  HostBuf logits = HostBuf::of("float32", {N, A}, randoms(N * A));
  HostBuf m = HostBuf::of("bool", {N, A}, mask(N * A));
  expectSame("gfl_policy_log_prob",
             {{"logits", logits},
              {"mask", m},
              {"action", HostBuf::of("int32", {N}, acts)},
              {"log_prob", HostBuf::zeros("float32", {N})}});
  expectSame("gfl_policy_log_prob_grad",
             {{"logits", logits},
              {"mask", m},
              {"action", HostBuf::of("int32", {N}, acts)},
              {"d_log_prob", HostBuf::of("float32", {N}, randoms(N))},
              {"d_logits", HostBuf::zeros("float32", {N, A})}});
  std::map<std::string, HostBuf> flows{
      {"logits", logits},
      {"mask", m},
      {"parent_logits", HostBuf::of("float32", {N, P, A}, randoms(N * P * A))},
      {"parent_mask", HostBuf::of("bool", {N, P}, mask(N * P))},
      {"log_in_flow", HostBuf::zeros("float32", {N})},
      {"log_out_flow", HostBuf::zeros("float32", {N})},
      {"log_exit_flow", HostBuf::zeros("float32", {N})}};
  expectSame("gfl_edge_flows", flows);
  flows["d_log_in_flow"] = HostBuf::of("float32", {N}, randoms(N));
  flows["d_log_out_flow"] = HostBuf::of("float32", {N}, randoms(N));
  flows["d_log_exit_flow"] = HostBuf::of("float32", {N}, randoms(N));
  flows["d_logits"] = HostBuf::zeros("float32", {N, A});
  flows["d_parent_logits"] = HostBuf::zeros("float32", {N, P, A});
  expectSame("gfl_edge_flows_grad", flows);

  // TB and its gradient on ragged rows: trajectory b's n_b + 1 entries
  // and 0..2 of padding.
  const int64_t B = 64, T = 9;
  std::vector<int32_t> n(B), offsets(B + 1, 0);
  std::vector<uint8_t> exited(B);
  for (int64_t b = 0; b < B; ++b) {
    n[b] = static_cast<int32_t>(rng() % (T - 1));
    exited[b] = rng() % 2;
    offsets[b + 1] = offsets[b] + n[b] + 1 + static_cast<int32_t>(b % 3);
  }
  const int64_t M = offsets[B];
  expectSame("gfl_obj_tb_grad",
             {{"log_pf", HostBuf::of("float32", {M}, randoms(M))},
              {"log_pb", HostBuf::of("float32", {M}, randoms(M))},
              {"log_r", HostBuf::of("float32", {B}, randoms(B))},
              {"log_z", HostBuf::of("float32", {B}, randoms(B))},
              {"n", HostBuf::of("int32", {B}, n)},
              {"exited", HostBuf::of("bool", {B}, exited)},
              {"offsets", HostBuf::of("int32", {B + 1}, offsets)},
              {"d_loss", HostBuf::of("float32", {B}, randoms(B))},
              {"loss", HostBuf::zeros("float32", {B})},
              {"d_log_pf", HostBuf::zeros("float32", {M})},
              {"d_log_pb", HostBuf::zeros("float32", {M})},
              {"d_log_z", HostBuf::zeros("float32", {B})}});
}

} // namespace

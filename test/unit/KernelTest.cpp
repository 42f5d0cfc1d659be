//===- KernelTest.cpp - The compiled hypergrid kernels, through dlopen ----===//
//
// Loads hypergrid artifacts built by gflc (2-D and, with --set D=4, 4-D; H=8)
// and checks the kernels against reference.md: masks and steps, rewards,
// backward steps inverting forward steps, the sampler's distribution and
// determinism, and exact enumeration of log Z.
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/Artifact.h"
#include "gfl/Runtime/ArtifactSeal.h"
#include "gfl/Runtime/MemRef.h"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <vector>

using namespace gfl;

namespace {

/// Calls kernels of a loaded artifact on host buffers.
class Kernels {
public:
  explicit Kernels(const std::string &path) {
    std::string error;
    artifact = Artifact::open(path, error);
    if (!artifact)
      ADD_FAILURE() << error;
  }

  const Kernel &get(const std::string &name) {
    const Kernel *k = artifact->kernel(name);
    EXPECT_NE(k, nullptr) << name;
    return *k;
  }

  int64_t dims() {
    const json::Value &x = *artifact->manifest().get("env")->get("states")->at(0);
    return x.get("shape")->at(0)->asInt();
  }

  std::unique_ptr<Artifact> artifact;
};

/// Reference reward of reference.md.
double hypergridReward(const std::vector<int> &x, int H) {
  bool all1 = true, all2 = true;
  for (int v : x) {
    double a = std::fabs(double(v) / (H - 1) - 0.5);
    all1 = all1 && a > 0.25;
    all2 = all2 && a > 0.3 && a < 0.4;
  }
  return 0.1 + 0.5 * all1 + 2.0 * all2;
}

class Hypergrid2D : public ::testing::Test {
protected:
  Kernels k{GFL_HYPERGRID_2D};
  static constexpr int D = 2, H = 8, A = 3;

  Buffer<int32_t> states(const std::vector<std::vector<int>> &xs) {
    Buffer<int32_t> b({int64_t(xs.size()), D});
    for (size_t i = 0; i < xs.size(); ++i)
      for (int d = 0; d < D; ++d)
        b[i * D + d] = xs[i][d];
    return b;
  }
};

TEST_F(Hypergrid2D, ManifestDescribesTheEnvironment) {
  const json::Value &env = *k.artifact->manifest().get("env");
  EXPECT_EQ(env.get("num_actions")->asInt(), 3);
  EXPECT_EQ(env.get("num_backward_actions")->asInt(), 2);
  EXPECT_EQ(env.get("state_count")->asInt(), 64);
  EXPECT_EQ(env.get("feature_size")->asInt(), 16);
  EXPECT_TRUE(env.get("has_stop")->asBool());
}

TEST_F(Hypergrid2D, ForwardMaskAndStep) {
  Buffer<int32_t> s = states({{0, 0}, {7, 3}, {7, 7}, {3, 4}});
  Buffer<uint8_t> mask({4, A});
  std::vector<void *> args{s.descriptor(), mask.descriptor()};
  k.get("gfl_forward_mask")(args);
  std::vector<uint8_t> expected = {1, 1, 1, /**/ 0, 1, 1, /**/ 0, 0, 1,
                                   /**/ 1, 1, 1};
  EXPECT_EQ(mask.vector(), expected);

  Buffer<int32_t> from = states({{3, 4}, {3, 4}, {3, 4}});
  Buffer<int32_t> actions({3});
  actions[0] = 0;
  actions[1] = 1;
  actions[2] = 2; // exit
  Buffer<int32_t> next({3, D});
  Buffer<uint8_t> done({3});
  std::vector<void *> stepArgs{from.descriptor(), actions.descriptor(),
                               next.descriptor(), done.descriptor()};
  k.get("gfl_step")(stepArgs);
  EXPECT_EQ(next.vector(), (std::vector<int32_t>{4, 4, 3, 5, 3, 4}));
  EXPECT_EQ(done.vector(), (std::vector<uint8_t>{0, 0, 1}));
}

TEST_F(Hypergrid2D, InitAndFeatures) {
  Buffer<int32_t> s({5, D}, 99);
  std::vector<void *> initArgs{s.descriptor()};
  k.get("gfl_init")(initArgs);
  EXPECT_EQ(s.vector(), std::vector<int32_t>(10, 0));

  Buffer<int32_t> x = states({{2, 5}});
  Buffer<float> f({1, D * H});
  std::vector<void *> args{x.descriptor(), f.descriptor()};
  k.get("gfl_features")(args);
  for (int i = 0; i < D * H; ++i)
    EXPECT_EQ(f[i], (i == 2 || i == H + 5) ? 1.0f : 0.0f) << i;
}

TEST_F(Hypergrid2D, LogRewardOfEveryState) {
  std::vector<std::vector<int>> all;
  for (int a = 0; a < H; ++a)
    for (int b = 0; b < H; ++b)
      all.push_back({a, b});
  Buffer<int32_t> s = states(all);
  Buffer<float> logr({int64_t(all.size())});
  std::vector<void *> args{s.descriptor(), logr.descriptor()};
  k.get("gfl_log_reward")(args);
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_NEAR(logr[i], std::log(hypergridReward(all[i], H)), 1e-6)
        << all[i][0] << "," << all[i][1];
}

TEST_F(Hypergrid2D, BackwardStepInvertsForwardStep) {
  std::vector<std::vector<int>> all;
  for (int a = 0; a < H; ++a)
    for (int b = 0; b < H; ++b)
      all.push_back({a, b});
  int64_t n = all.size();
  Buffer<int32_t> s = states(all);
  Buffer<uint8_t> fmask({n, A});
  std::vector<void *> margs{s.descriptor(), fmask.descriptor()};
  k.get("gfl_forward_mask")(margs);
  int checked = 0;
  for (int action = 0; action < D; ++action) {
    Buffer<int32_t> acts({n}, action), next({n, D}), back({n, D});
    Buffer<uint8_t> done({n}), bmask({n, D});
    std::vector<void *> stepArgs{s.descriptor(), acts.descriptor(),
                                 next.descriptor(), done.descriptor()};
    k.get("gfl_step")(stepArgs);
    std::vector<void *> bmArgs{next.descriptor(), bmask.descriptor()};
    k.get("gfl_backward_mask")(bmArgs);
    std::vector<void *> bsArgs{next.descriptor(), acts.descriptor(),
                               back.descriptor()};
    k.get("gfl_backward_step")(bsArgs);
    for (int64_t i = 0; i < n; ++i) {
      if (!fmask[i * A + action])
        continue;
      ++checked;
      EXPECT_TRUE(bmask[i * D + action]) << i;
      EXPECT_EQ(back[i * D], s[i * D]) << i;
      EXPECT_EQ(back[i * D + 1], s[i * D + 1]) << i;
    }
  }
  EXPECT_EQ(checked, 2 * 8 * 7); // valid (state, non-exit action) pairs

  // A backward action is valid exactly where the coordinate is positive.
  Buffer<uint8_t> bmask({n, D});
  std::vector<void *> bmArgs{s.descriptor(), bmask.descriptor()};
  k.get("gfl_backward_mask")(bmArgs);
  for (int64_t i = 0; i < n; ++i)
    for (int d = 0; d < D; ++d)
      EXPECT_EQ(bool(bmask[i * D + d]), all[i][d] > 0) << i << " " << d;
}

/// Runs the sampling step for `n` trajectories all in `state` with the
/// same logits; returns the chosen actions.
struct SampleResult {
  std::vector<int32_t> actions;
  std::vector<float> logpf, logq;
};

SampleResult sample(Kernels &k, const std::vector<int> &state,
                    const std::vector<float> &logits, int64_t n, int64_t seed,
                    int64_t iteration, int64_t step, float epsilon,
                    float temperature, int64_t stream = 0, int64_t first = 0) {
  const int D = state.size(), A = logits.size();
  Buffer<int32_t> s({n, D}), next({n, D}), action({n});
  for (int64_t i = 0; i < n; ++i)
    for (int d = 0; d < D; ++d)
      s[i * D + d] = state[d];
  Buffer<float> l({n, A}), logpf({n}), logq({n}), feats({n, D * 8});
  for (int64_t i = 0; i < n; ++i)
    for (int a = 0; a < A; ++a)
      l[i * A + a] = logits[a];
  Buffer<uint8_t> ended({n}, 0), done({n});
  // One-element buffers, read at launch (CUDA graphs).
  Buffer<int64_t> it({1}, iteration);
  Buffer<float> eps({1}, epsilon), temp({1}, temperature);
  std::vector<void *> args{s.descriptor(),
                           l.descriptor(),
                           ended.descriptor(),
                           &seed,
                           it.descriptor(),
                           &step,
                           &stream,
                           eps.descriptor(),
                           temp.descriptor(),
                           &first,
                           next.descriptor(),
                           action.descriptor(),
                           logpf.descriptor(),
                           logq.descriptor(),
                           done.descriptor(),
                           feats.descriptor()};
  k.get("gfl_sample_step")(args);
  return {action.vector(), logpf.vector(), logq.vector()};
}

/// Chi-square statistic of observed counts against probabilities.
double chiSquare(const std::vector<int64_t> &counts,
                 const std::vector<double> &p, int64_t n) {
  double chi = 0;
  for (size_t a = 0; a < p.size(); ++a) {
    if (p[a] == 0) {
      EXPECT_EQ(counts[a], 0) << "action " << a << " has probability 0";
      continue;
    }
    double e = n * p[a];
    chi += (counts[a] - e) * (counts[a] - e) / e;
  }
  return chi;
}

TEST_F(Hypergrid2D, SamplerMatchesSoftmax) {
  const int64_t n = 60000;
  std::vector<float> logits = {0.5f, -1.0f, 1.2f};
  struct Case {
    std::vector<int> state;
    float epsilon, temperature;
  };
  for (const Case &c : {Case{{2, 3}, 0.0f, 1.0f}, Case{{2, 3}, 0.3f, 2.0f},
                        Case{{7, 3}, 0.0f, 1.0f}}) {
    SampleResult r = sample(k, c.state, logits, n, 1234, 7, 2, c.epsilon,
                            c.temperature);
    // Expected: (1 - eps) softmax(l / T) + eps / #valid over valid actions.
    std::vector<bool> valid = {c.state[0] < H - 1, c.state[1] < H - 1, true};
    double z = 0, zt = 0;
    int nvalid = 0;
    for (int a = 0; a < A; ++a)
      if (valid[a]) {
        z += std::exp(logits[a] / c.temperature);
        zt += std::exp(logits[a]);
        ++nvalid;
      }
    std::vector<double> p(A, 0.0);
    for (int a = 0; a < A; ++a)
      if (valid[a])
        p[a] = (1 - c.epsilon) * std::exp(logits[a] / c.temperature) / z +
               c.epsilon / nvalid;
    std::vector<int64_t> counts(A, 0);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_GE(r.actions[i], 0);
      ASSERT_LT(r.actions[i], A);
      ++counts[r.actions[i]];
      int a = r.actions[i];
      // log P_F is the untempered policy; log q the sampling distribution.
      EXPECT_NEAR(r.logpf[i], logits[a] - std::log(zt), 1e-5);
      EXPECT_NEAR(r.logq[i], std::log(p[a]), 1e-5);
    }
    // 2 degrees of freedom (1 with a masked action): 0.1% critical values.
    double limit = nvalid == 3 ? 13.82 : 10.83;
    EXPECT_LT(chiSquare(counts, p, n), limit)
        << "eps " << c.epsilon << " T " << c.temperature;
  }
}

TEST_F(Hypergrid2D, SameSeedSameTrajectories) {
  std::vector<float> logits = {0.1f, 0.2f, 0.3f};
  SampleResult a = sample(k, {1, 1}, logits, 4096, 42, 3, 5, 0.1f, 1.0f);
  SampleResult b = sample(k, {1, 1}, logits, 4096, 42, 3, 5, 0.1f, 1.0f);
  EXPECT_EQ(a.actions, b.actions);
  // Another seed, iteration, step or stream gives other draws.
  for (auto [seed, it, step, stream] :
       {std::tuple{43, 3, 5, 0}, std::tuple{42, 4, 5, 0},
        std::tuple{42, 3, 6, 0}, std::tuple{42, 3, 5, 1}}) {
    SampleResult c =
        sample(k, {1, 1}, logits, 4096, seed, it, step, 0.1f, 1.0f, stream);
    EXPECT_NE(a.actions, c.actions);
  }
}

// A launch whose row 0 is row `first` of the batch draws what the rows
// [first, first + n) of one launch for the whole batch draw: data-parallel
// workers, each drawing a share, draw one process's trajectories.
TEST_F(Hypergrid2D, FirstRowNumbersTheDraws) {
  std::vector<float> logits = {0.1f, 0.2f, 0.3f};
  SampleResult whole = sample(k, {1, 1}, logits, 64, 42, 3, 5, 0.1f, 1.0f);
  SampleResult head = sample(k, {1, 1}, logits, 40, 42, 3, 5, 0.1f, 1.0f, 0, 0);
  SampleResult tail =
      sample(k, {1, 1}, logits, 24, 42, 3, 5, 0.1f, 1.0f, 0, 40);
  std::vector<int32_t> joined = head.actions;
  joined.insert(joined.end(), tail.actions.begin(), tail.actions.end());
  EXPECT_EQ(joined, whole.actions);
  EXPECT_NE(
      std::vector<int32_t>(whole.actions.begin(), whole.actions.begin() + 24),
      tail.actions);
}

TEST_F(Hypergrid2D, EndedTrajectoriesStayPut) {
  int64_t n = 2;
  Buffer<int32_t> s({n, D}, 3), next({n, D}), action({n});
  Buffer<float> l({n, A}, 0.0f), logpf({n}), logq({n}), feats({n, D * H});
  Buffer<uint8_t> ended({n}), done({n});
  ended[0] = 1;
  Buffer<int64_t> it({1}, 0);
  Buffer<float> eps({1}, 0.0f), temp({1}, 1.0f);
  int64_t seed = 1, step = 0, stream = 0, first = 0;
  std::vector<void *> args{s.descriptor(),
                           l.descriptor(),
                           ended.descriptor(),
                           &seed,
                           it.descriptor(),
                           &step,
                           &stream,
                           eps.descriptor(),
                           temp.descriptor(),
                           &first,
                           next.descriptor(),
                           action.descriptor(),
                           logpf.descriptor(),
                           logq.descriptor(),
                           done.descriptor(),
                           feats.descriptor()};
  k.get("gfl_sample_step")(args);
  EXPECT_EQ(action[0], -1);
  EXPECT_EQ(done[0], 1);
  EXPECT_EQ(next[0], 3);
  EXPECT_GE(action[1], 0);
}

/// log Z by enumerating the states reachable from the initial state with the
/// forward kernels; every hypergrid state may terminate.
double exactLogZ(Kernels &k) {
  const json::Value &env = *k.artifact->manifest().get("env");
  int64_t count = env.get("state_count")->asInt();
  int64_t A = env.get("num_actions")->asInt();
  int64_t D = k.dims();
  Buffer<int64_t> index({count});
  for (int64_t i = 0; i < count; ++i)
    index[i] = i;
  Buffer<int32_t> all({count, D});
  std::vector<void *> dargs{index.descriptor(), all.descriptor()};
  k.get("gfl_state_decode")(dargs);
  Buffer<int64_t> roundTrip({count});
  std::vector<void *> iargs{all.descriptor(), roundTrip.descriptor()};
  k.get("gfl_state_index")(iargs);
  EXPECT_EQ(roundTrip.vector(), index.vector());

  // Breadth-first search from the initial state over valid actions.
  Buffer<int32_t> s0({1, D});
  std::vector<void *> initArgs{s0.descriptor()};
  k.get("gfl_init")(initArgs);
  Buffer<int64_t> i0({1});
  std::vector<void *> i0args{s0.descriptor(), i0.descriptor()};
  k.get("gfl_state_index")(i0args);
  std::vector<bool> reached(count, false);
  std::vector<int64_t> frontier{i0[0]};
  reached[i0[0]] = true;
  Buffer<uint8_t> mask({count, A});
  std::vector<void *> margs{all.descriptor(), mask.descriptor()};
  k.get("gfl_forward_mask")(margs);
  std::vector<std::vector<int64_t>> children(count);
  for (int64_t a = 0; a + 1 < A; ++a) {
    Buffer<int32_t> acts({count}, int32_t(a)), next({count, D});
    Buffer<uint8_t> done({count});
    Buffer<int64_t> nextIndex({count});
    std::vector<void *> sargs{all.descriptor(), acts.descriptor(),
                              next.descriptor(), done.descriptor()};
    k.get("gfl_step")(sargs);
    std::vector<void *> nargs{next.descriptor(), nextIndex.descriptor()};
    k.get("gfl_state_index")(nargs);
    for (int64_t i = 0; i < count; ++i)
      if (mask[i * A + a])
        children[i].push_back(nextIndex[i]);
  }
  while (!frontier.empty()) {
    std::vector<int64_t> next;
    for (int64_t i : frontier)
      for (int64_t c : children[i])
        if (!reached[c]) {
          reached[c] = true;
          next.push_back(c);
        }
    frontier = std::move(next);
  }
  Buffer<float> logr({count});
  std::vector<void *> rargs{all.descriptor(), logr.descriptor()};
  k.get("gfl_log_reward")(rargs);
  double m = -INFINITY;
  for (int64_t i = 0; i < count; ++i)
    if (reached[i] && mask[i * A + A - 1])
      m = std::max(m, double(logr[i]));
  double sum = 0;
  for (int64_t i = 0; i < count; ++i)
    if (reached[i] && mask[i * A + A - 1])
      sum += std::exp(double(logr[i]) - m);
  return m + std::log(sum);
}

TEST(HypergridEnumeration, TrueLogZ2DAnd4D) {
  Kernels k2(GFL_HYPERGRID_2D);
  EXPECT_NEAR(exactLogZ(k2), 3.1091, 1e-4);
  Kernels k4(GFL_HYPERGRID_4D);
  EXPECT_EQ(k4.artifact->manifest().get("env")->get("state_count")->asInt(),
            4096);
  EXPECT_NEAR(exactLogZ(k4), 6.3449, 1e-4);
}

TEST(ArtifactLoading, BadFilesGiveOneLineErrors) {
  std::string error;
  EXPECT_EQ(Artifact::open("/nonexistent.gflx", error), nullptr);
  EXPECT_NE(error.find("cannot load artifact"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos);
  // A shared object that is not an artifact, by its path.
  Dl_info libm{};
  ASSERT_NE(dladdr(reinterpret_cast<void *>(&cos), &libm), 0);
  EXPECT_EQ(Artifact::open(libm.dli_fname, error), nullptr);
  EXPECT_NE(error.find("not a gfl artifact"), std::string::npos) << error;
  // A bare name is a file in the current directory, not a library on the
  // search path.
  EXPECT_EQ(Artifact::open("libm.so.6", error), nullptr);
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

/// A copy of the 2D hypergrid artifact with `edit` applied to its bytes.
std::string damagedCopy(const std::string &name,
                        void (*edit)(std::string &bytes)) {
  std::ifstream in(GFL_HYPERGRID_2D, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  edit(bytes);
  std::string path = ::testing::TempDir() + "/" + name + ".gflx";
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return path;
}

// Each damaged artifact is refused with one line before anything maps it
// (a truncated ELF file made dlopen raise SIGBUS).
TEST(ArtifactLoading, DamagedArtifactsAreRefusedBeforeLoading) {
  std::string error;
  ASSERT_NE(Artifact::open(GFL_HYPERGRID_2D, error), nullptr) << error;
  struct Case {
    const char *name;
    void (*edit)(std::string &);
    const char *message;
  } cases[] = {
      {"half", [](std::string &b) { b.resize(b.size() / 2); },
       "does not end with the seal"},
      {"sealonly",
       [](std::string &b) { b.erase(0, b.size() - kArtifactSealSize); },
       "which records"},
      {"cut", [](std::string &b) { b.erase(b.size() / 2, 4096); },
       "which records"},
      {"grown", [](std::string &b) { b.insert(b.size() / 2, 16, 'x'); },
       "which records"},
      {"flipped", [](std::string &b) { b[b.size() / 3] ^= 1; },
       "SHA-256 does not match"},
      {"empty", [](std::string &b) { b.clear(); },
       "does not end with the seal"},
  };
  for (const Case &c : cases) {
    std::string path = damagedCopy(c.name, c.edit);
    EXPECT_EQ(Artifact::open(path, error), nullptr) << c.name;
    EXPECT_NE(error.find(c.message), std::string::npos)
        << c.name << ": " << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
  // A FIFO is refused at once, not opened for reading (that would block).
  std::string fifo = ::testing::TempDir() + "/artifact.fifo";
  unlink(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(Artifact::open(fifo, error), nullptr);
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
  unlink(fifo.c_str());
}

} // namespace

namespace {

TEST(PolicyKernels, MaskedLogSoftmaxGatherAndGradient) {
  Kernels k(GFL_HYPERGRID_2D);
  const int64_t N = 3, A = 4;
  Buffer<float> logits({N, A});
  float vals[] = {0.3f, -1.2f, 2.0f, 0.5f, 1.0f, 1.0f, 1.0f, 1.0f,
                  -0.5f, 0.0f, 4.0f, -3.0f};
  for (int i = 0; i < N * A; ++i)
    logits[i] = vals[i];
  Buffer<uint8_t> mask({N, A}, 1);
  mask[0 * A + 2] = 0; // masked in row 0
  mask[2 * A + 0] = 0;
  Buffer<int32_t> action({N});
  action[0] = 1;
  action[1] = -1; // padding
  action[2] = 3;
  Buffer<float> logp({N});
  std::vector<void *> args{logits.descriptor(), mask.descriptor(),
                           action.descriptor(), logp.descriptor()};
  k.get("gfl_policy_log_prob")(args);
  Buffer<float> g({N}, 2.0f), dlogits({N, A});
  std::vector<void *> gargs{logits.descriptor(), mask.descriptor(),
                            action.descriptor(), g.descriptor(),
                            dlogits.descriptor()};
  k.get("gfl_policy_log_prob_grad")(gargs);
  for (int64_t i = 0; i < N; ++i) {
    double z = 0;
    for (int64_t a = 0; a < A; ++a)
      if (mask[i * A + a])
        z += std::exp(double(logits[i * A + a]));
    if (action[i] < 0) {
      EXPECT_EQ(logp[i], 0.0f);
      for (int64_t a = 0; a < A; ++a)
        EXPECT_EQ(dlogits[i * A + a], 0.0f);
      continue;
    }
    EXPECT_NEAR(logp[i], logits[i * A + action[i]] - std::log(z), 1e-6);
    for (int64_t a = 0; a < A; ++a) {
      double p = mask[i * A + a] ? std::exp(double(logits[i * A + a])) / z : 0;
      double expected = 2.0 * ((a == action[i]) - p);
      EXPECT_NEAR(dlogits[i * A + a], expected, 1e-6) << i << " " << a;
    }
  }
}

} // namespace

namespace {

/// gflc embeds the CUDA kernels (where the toolkit is): an sm_90 cubin and
/// PTX, found through the manifest's cuda section. Running them needs a GPU
/// (CudaKernelTest).
TEST(CudaImages, EmbeddedInTheArtifact) {
  std::string error;
  auto artifact = gfl::Artifact::open(GFL_HYPERGRID_2D, error);
  ASSERT_TRUE(artifact) << error;
  const gfl::CudaImages &cuda = artifact->cuda();
  if (!cuda.present())
    GTEST_SKIP() << "compiled without the CUDA toolkit";
  EXPECT_EQ(cuda.cubin.arch, "sm_90");
  ASSERT_GT(cuda.cubin.size, 64u);
  EXPECT_EQ(std::string(cuda.cubin.data, 4), "\x7f" "ELF");
  EXPECT_EQ(static_cast<unsigned char>(cuda.cubin.data[18]), 190); // EM_CUDA
  std::string ptx(cuda.ptx.data, cuda.ptx.size);
  EXPECT_EQ(ptx.size(), std::strlen(cuda.ptx.data)); // NUL-terminated
  EXPECT_NE(ptx.find(".target " + cuda.ptx.arch), std::string::npos);
  for (const char *k : {"gfl_step", "gfl_sample_step", "gfl_obj_tb_grad"})
    EXPECT_NE(ptx.find(std::string(".entry ") + k + "("), std::string::npos)
        << k;
  EXPECT_EQ(cuda.blockSize, 128);
}

} // namespace

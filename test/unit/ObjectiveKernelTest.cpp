//===- ObjectiveKernelTest.cpp - Compiled objectives and gradients --------===//
//
// Checks every objective of Inputs/objectives.gfl: the gradient kernel's
// loss equals the loss kernel's, and its gradients match central finite
// differences of the loss kernel on random ragged batches: trajectory b's
// entries are [offsets[b], offsets[b+1]), n_b + 1 of them (packed rows) or
// up to 2 more (padding), and entries past a row's valid length must get
// zero gradient.
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/Artifact.h"
#include "gfl/Runtime/MemRef.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace gfl;

namespace {

constexpr int64_t B = 6, T = 6;

struct Batch {
  std::map<std::string, Buffer<float>> rows; // log_pf, log_pb, log_f, ...
  Buffer<float> logR{{B}}, logZ{{B}};
  Buffer<int32_t> n{{B}};
  Buffer<uint8_t> exited{{B}};
  Buffer<int32_t> offsets{{B + 1}};
  int64_t entries = 0; // offsets[B]
  int64_t start(int64_t row) const { return offsets[row]; }
  int64_t width(int64_t row) const { return offsets[row + 1] - offsets[row]; }
};

Batch randomBatch(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Batch b;
  for (int64_t i = 0; i < B; ++i) {
    b.logR[i] = normal(rng);
    b.logZ[i] = normal(rng);
    b.n[i] = 1 + int32_t(i % (T - 1)); // 1..T-1 transitions
    b.exited[i] = i % 2;
    // n + 1 states, and 0..2 entries of padding.
    b.offsets[i + 1] = b.offsets[i] + b.n[i] + 1 + int32_t(i % 3);
  }
  b.entries = b.offsets[B];
  for (const char *f :
       {"log_pf", "log_pb", "log_f", "log_r_step", "energy", "log_pf_exit"}) {
    Buffer<float> r({b.entries});
    float shift = std::string(f).rfind("log_p", 0) == 0 ? 1.0f : 0.0f;
    for (int64_t row = 0; row < B; ++row)
      for (int64_t i = b.start(row); i < b.start(row + 1); ++i) {
        // Entries of a row differ by more than the finite differences'
        // step: a min or max of the row has no kink within it.
        auto nearAnother = [&] {
          for (int64_t j = b.start(row); j < i; ++j)
            if (std::fabs(r[i] - r[j]) < 0.05f)
              return true;
          return false;
        };
        do
          r[i] = normal(rng) - shift;
        while (nearAnother());
      }
    b.rows[f] = std::move(r);
  }
  return b;
}

class Objective {
public:
  Objective(Artifact &a, const std::string &name)
      : loss(a.kernel("gfl_obj_" + name)),
        grad(a.kernel("gfl_obj_" + name + "_grad")) {}

  const Kernel *loss, *grad;

  /// Arguments for `k` from the batch; `extra` holds outputs by name.
  std::vector<void *> args(const Kernel &k, Batch &b,
                           std::map<std::string, Buffer<float>> &outs,
                           Buffer<float> &dLoss, std::vector<float> &params) {
    std::vector<void *> v;
    size_t p = 0;
    for (const KernelArg &a : k.args) {
      if (!a.buffer) {
        v.push_back(&params.at(p++));
      } else if (a.output) {
        // The gradients of sequences are ragged rows; the rest one per row.
        bool sequence = a.name.rfind("d_", 0) == 0 && a.name != "d_log_z" &&
                        b.rows.count(a.name.substr(2));
        outs[a.name] = Buffer<float>({sequence ? b.entries : B}, -7.0f);
        v.push_back(outs[a.name].descriptor());
      } else if (a.name == "log_r") {
        v.push_back(b.logR.descriptor());
      } else if (a.name == "log_z") {
        v.push_back(b.logZ.descriptor());
      } else if (a.name == "n") {
        v.push_back(b.n.descriptor());
      } else if (a.name == "exited") {
        v.push_back(b.exited.descriptor());
      } else if (a.name == "offsets") {
        v.push_back(b.offsets.descriptor());
      } else if (a.name == "d_loss") {
        v.push_back(dLoss.descriptor());
      } else {
        v.push_back(b.rows.at(a.name).descriptor());
      }
    }
    return v;
  }

  std::vector<float> lossOf(Batch &b, std::vector<float> params) {
    std::map<std::string, Buffer<float>> outs;
    Buffer<float> none({B});
    auto v = args(*loss, b, outs, none, params);
    (*loss)(v);
    return outs["loss"].vector();
  }
};

std::vector<float> defaults(const std::string &name) {
  if (name == "tb_huber")
    return {0.5f};
  if (name == "subtb")
    return {0.9f};
  return {};
}

int64_t validLength(const std::string &field, const Batch &b, int64_t row) {
  if (field == "log_pf")
    return b.n[row] + b.exited[row];
  if (field == "log_pb")
    return b.n[row];
  return b.n[row] + 1;
}

class ObjectiveGradients : public ::testing::TestWithParam<const char *> {};

TEST_P(ObjectiveGradients, MatchFiniteDifferences) {
  std::string error;
  auto artifact = Artifact::open(GFL_OBJECTIVES_ARTIFACT, error);
  ASSERT_TRUE(artifact) << error;
  std::string name = GetParam();
  Objective obj(*artifact, name);
  ASSERT_NE(obj.loss, nullptr);
  ASSERT_NE(obj.grad, nullptr);
  std::vector<float> params = defaults(name);

  for (uint32_t seed : {1u, 2u, 3u}) {
    Batch b = randomBatch(seed);
    std::map<std::string, Buffer<float>> outs;
    Buffer<float> dLoss({B}, 1.0f);
    auto v = obj.args(*obj.grad, b, outs, dLoss, params);
    (*obj.grad)(v);
    std::vector<float> loss = obj.lossOf(b, params);
    for (int64_t i = 0; i < B; ++i)
      EXPECT_NEAR(outs["loss"][i], loss[i], 1e-4f * (1 + std::fabs(loss[i])));

    // Central differences of the loss kernel, per learned input entry.
    auto check = [&](const std::string &gradName, Buffer<float> &input,
                     const std::string &field) {
      SCOPED_TRACE(name + " " + gradName);
      const Buffer<float> &g = outs.at(gradName);
      for (int64_t row = 0; row < B; ++row) {
        int64_t valid = field.empty() ? 1 : validLength(field, b, row);
        int64_t width = field.empty() ? 1 : b.width(row);
        for (int64_t k = 0; k < width; ++k) {
          size_t at = field.empty() ? row : b.start(row) + k;
          if (k >= valid) {
            EXPECT_EQ(g[at], 0.0f) << "row " << row << " k " << k;
            continue;
          }
          const float h = 1e-2f;
          float saved = input[at];
          input[at] = saved + h;
          float up = obj.lossOf(b, params)[row];
          input[at] = saved - h;
          float down = obj.lossOf(b, params)[row];
          input[at] = saved;
          float fd = (up - down) / (2 * h);
          EXPECT_NEAR(g[at], fd, 2e-2f * (1 + std::fabs(fd)))
              << "row " << row << " k " << k;
        }
      }
    };
    for (const char *field : {"log_pf", "log_pb", "log_f", "log_pf_exit"})
      if (outs.count(std::string("d_") + field))
        check(std::string("d_") + field, b.rows.at(field), field);
    if (outs.count("d_log_z"))
      check("d_log_z", b.logZ, "");
  }
}

INSTANTIATE_TEST_SUITE_P(Library, ObjectiveGradients,
                         ::testing::Values("tb", "tb_huber", "db", "subtb",
                                           "mix", "mdb"));

TEST(ObjectiveLoss, TrajectoryBalanceValue) {
  std::string error;
  auto artifact = Artifact::open(GFL_OBJECTIVES_ARTIFACT, error);
  ASSERT_TRUE(artifact) << error;
  Objective tb(*artifact, "tb");
  Batch b = randomBatch(9);
  std::vector<float> loss = tb.lossOf(b, {});
  for (int64_t i = 0; i < B; ++i) {
    double r = b.logZ[i] - b.logR[i];
    for (int64_t k = 0; k < b.n[i] + b.exited[i]; ++k)
      r += b.rows["log_pf"][b.start(i) + k];
    for (int64_t k = 0; k < b.n[i]; ++k)
      r -= b.rows["log_pb"][b.start(i) + k];
    EXPECT_NEAR(loss[i], r * r, 1e-4 * (1 + r * r)) << i;
  }
}

} // namespace

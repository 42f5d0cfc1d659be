//===- RewardModelTest.cpp - Rewards given by TorchScript modules ---------===//
//
// The reward gfl-run computes for examples/proxy.gfl is the module called
// directly on the one-hot encoding of the sequence; modules that fail,
// return the wrong shape or are not the compiled-against file give one
// line each.
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/RewardModel.h"
#include "gfl/Runtime/Program.h"
#include "gfl/Runtime/Sha256.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace gfl;

namespace {

std::string sha256Of(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  return Sha256::hex(Sha256::of(bytes.data(), bytes.size()));
}

/// A module whose forward is `body` (TorchScript), saved to a temporary
/// file; the spec that names it.
RewardModelSpec saveModule(const std::string &name, const std::string &body) {
  torch::jit::Module m("Proxy");
  m.define("def forward(self, x):\n  " + body + "\n");
  std::string path =
      (std::filesystem::temp_directory_path() / ("gfl-" + name + ".pt"))
          .string();
  m.save(path);
  RewardModelSpec spec;
  spec.file = name + ".pt";
  spec.path = path;
  spec.sha256 = sha256Of(path);
  spec.where = "model.gfl:3:14";
  spec.inputs = 4;
  spec.log = true;
  return spec;
}

std::string errorOf(const RewardModelSpec &spec,
                    const torch::Tensor &input = {}) {
  try {
    RewardModel model(spec, "/nonexistent/a.gflx");
    if (input.defined())
      model.logReward(input);
  } catch (const std::runtime_error &e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST(RewardModel, CompiledRewardIsTheModuleCalledDirectly) {
  std::string error;
  auto program =
      Program::load(std::string(GFL_TEST_ARTIFACTS_DIR) + "/proxy.gflx", error);
  ASSERT_TRUE(program) << error;
  torch::manual_seed(5);
  torch::Tensor tok = torch::randint(0, 4, {256, 8}, torch::kInt32);
  State terminal{tok, torch::full({256}, 8, torch::kInt32)};
  torch::Tensor compiled = program->logReward(terminal);

  torch::jit::Module direct = torch::jit::load(GFL_PROXY_MODULE);
  torch::Tensor input = torch::one_hot(tok.to(torch::kInt64), 4)
                            .reshape({256, 32})
                            .to(torch::kFloat32);
  torch::NoGradGuard noGrad;
  torch::Tensor expected = direct.forward({input}).toTensor();
  ASSERT_EQ(compiled.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(compiled, expected, 0, 1e-6))
      << (compiled - expected).abs().max();
  // The rewards differ from sequence to sequence (the input is the state).
  EXPECT_GT(compiled.std().item<double>(), 0.5);
}

TEST(RewardModel, AModuleGivesOneValuePerInput) {
  RewardModelSpec sum = saveModule("sum", "return x.sum(1)");
  RewardModel model(sum, "/nonexistent/a.gflx");
  torch::Tensor x = torch::arange(12, torch::kFloat32).view({3, 4});
  EXPECT_TRUE(torch::equal(model.logReward(x), x.sum(1)));
  // `reward model(...)` gives R: its log is taken.
  RewardModelSpec column = saveModule("column", "return x.sum(1, True) + 1.0");
  column.log = false;
  RewardModel rewards(column, "/nonexistent/a.gflx");
  EXPECT_TRUE(torch::allclose(rewards.logReward(x), (x.sum(1) + 1).log()));
}

TEST(RewardModel, BadModulesGiveOneLine) {
  EXPECT_EQ(errorOf(saveModule("wide", "return x")),
            "model.gfl:3:14: the reward model 'wide.pt' returned shape [2, 4] "
            "for 2 inputs; it must return one value per input ([2] or [2, "
            "1])");
  EXPECT_EQ(errorOf(saveModule("ints", "return x.sum(1).long()")),
            "model.gfl:3:14: the reward model 'ints.pt' returned Long values, "
            "not floats");
  std::string raised =
      errorOf(saveModule("raise", "return x.view(-1, 3).sum(1)"));
  EXPECT_EQ(raised.rfind("model.gfl:3:14: the reward model 'raise.pt' failed "
                         "on a batch of 2 inputs of 4 values: ",
                         0),
            0u)
      << raised;
  EXPECT_EQ(raised.find('\n'), std::string::npos) << raised;
  RewardModelSpec changed = saveModule("changed", "return x.sum(1)");
  changed.sha256 = std::string(64, '0');
  EXPECT_NE(errorOf(changed).find("changed since gflc compiled the artifact"),
            std::string::npos);
  // NaN passes through, for the program to name the state.
  RewardModelSpec nan = saveModule("nan", "return x.sum(1) * float('nan')");
  RewardModel model(nan, "/nonexistent/a.gflx");
  EXPECT_TRUE(model.logReward(torch::ones({2, 4})).isnan().all().item<bool>());
}

//===- EnvCheckTest.cpp - The environment check, chunk by chunk -----------===//
//
// The check enumerates the states in chunks; its report must not depend on
// where the chunks end.
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/EnvCheck.h"

#include <gtest/gtest.h>

using namespace gfl;

namespace {

std::unique_ptr<Program> load(const std::string &path) {
  std::string error;
  auto p = Program::load(path, error);
  EXPECT_TRUE(p) << error;
  return p;
}

void expectSameReport(const EnvCheckReport &a, const EnvCheckReport &b) {
  EXPECT_EQ(a.skipped, b.skipped);
  EXPECT_EQ(a.states, b.states);
  EXPECT_EQ(a.reachable, b.reachable);
  EXPECT_EQ(a.terminals, b.terminals);
  ASSERT_EQ(a.findings.size(), b.findings.size());
  for (size_t i = 0; i < a.findings.size(); ++i) {
    EXPECT_EQ(a.findings[i].kind, b.findings[i].kind);
    EXPECT_EQ(a.findings[i].count, b.findings[i].count);
    EXPECT_EQ(a.findings[i].example, b.findings[i].example);
  }
}

TEST(EnvCheck, HypergridIsWellPosedWhateverTheChunks) {
  auto p = load(GFL_HYPERGRID_4D);
  ASSERT_TRUE(p);
  EnvCheckReport whole = checkEnvironment(*p);
  EXPECT_TRUE(whole.clean());
  EXPECT_EQ(whole.states, 4096);
  EXPECT_EQ(whole.reachable, 4096);
  EXPECT_EQ(whole.terminals, 4096);
  for (int64_t chunk : {1, 7, 1000})
    expectSameReport(whole, checkEnvironment(*p, chunk));
}

TEST(EnvCheck, UnreachableParentsWhateverTheChunks) {
  auto p = load(std::string(GFL_TEST_ARTIFACTS_DIR) + "/walk_counter.gflx");
  ASSERT_TRUE(p);
  EnvCheckReport whole = checkEnvironment(*p);
  // x in 0..6, t in 0..9: from s0 = (0, 0) the states with x <= t and
  // x = t mod 2 are reached (21). State (t, t) allows undoing `left` to
  // (t + 1, t - 1), which is not, for t = 1..4 (x = 6 is outside the
  // domain, where the backward mask says no).
  EXPECT_EQ(whole.states, 54);
  EXPECT_EQ(whole.reachable, 21);
  ASSERT_EQ(whole.findings.size(), 1u);
  EXPECT_EQ(whole.findings[0].kind, "unreachable-parent");
  EXPECT_EQ(whole.findings[0].count, 4);
  for (int64_t chunk : {1, 4, 53})
    expectSameReport(whole, checkEnvironment(*p, chunk));
}

} // namespace

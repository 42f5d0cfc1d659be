//===- SemaTest.cpp - Summaries and constants computed by Sema ------------===//

#include "FrontendTestUtil.h"

#include <gtest/gtest.h>

using namespace gfl;
using gfl::test::compile;

namespace {

double param(const test::Compiled &c, const std::string &name) {
  const ParamInfo *p = c.checked.findParam(name);
  EXPECT_NE(p, nullptr) << name;
  return p ? p->value.scalar() : 0.0;
}

TEST(Sema, ConstantEvaluation) {
  auto c = compile("param A = 7 % 3\nparam B = (-1) % 3\nparam C = 7 / 2\n"
                   "param D = 2 ^ 10\nparam E = max(3, A * 4)\n"
                   "param F = [1, 2, 3]\nparam G = sum(F) + F[2]\n"
                   "param H = if A > 0 { 1.5 } else { 2 }");
  ASSERT_TRUE(c.ok()) << c.messages();
  EXPECT_EQ(param(c, "A"), 1);
  EXPECT_EQ(param(c, "B"), 2); // floored modulo
  EXPECT_EQ(param(c, "C"), 3.5); // `/` is true division
  EXPECT_EQ(param(c, "D"), 1024);
  EXPECT_EQ(param(c, "E"), 4);
  EXPECT_EQ(param(c, "G"), 9);
  EXPECT_EQ(param(c, "H"), 1.5);
  EXPECT_TRUE(c.checked.findParam("C")->value.type.is(ScalarKind::Float));
  EXPECT_EQ(c.checked.findParam("F")->value.type.shape,
            std::vector<int64_t>{3});
}

TEST(Sema, HypergridSummary) {
  auto c = compile(test::readExample("hypergrid.gfl"));
  ASSERT_TRUE(c.ok()) << c.messages();
  const EnvInfo &env = *c.checked.env;
  EXPECT_EQ(env.name, "hypergrid");
  ASSERT_EQ(env.states.size(), 1u);
  EXPECT_EQ(env.states[0].type, Type::tensorOf(ScalarKind::Int, {2}));
  EXPECT_TRUE(env.states[0].hasDomain);
  EXPECT_EQ(env.states[0].hi, 8);
  EXPECT_EQ(env.numActions, 3);         // inc(0), inc(1), stop
  EXPECT_EQ(env.numBackwardActions, 2); // P_B has no exit
  EXPECT_EQ(env.featureSize, 16);       // onehot of 2 coordinates, 8 classes
  const NetInfo *pf = c.checked.findNet("pf");
  ASSERT_NE(pf, nullptr);
  EXPECT_EQ(pf->inputSize, 16);
  EXPECT_EQ(pf->outputSize, 3);
  EXPECT_EQ(pf->hidden, (std::vector<int64_t>{256, 256}));
  EXPECT_EQ(c.checked.findNet("pb")->kind, NetKind::Uniform);
  EXPECT_EQ(c.checked.findNet("logZ")->kind, NetKind::Scalar);
  const TrainInfo &t = *c.checked.train;
  EXPECT_EQ(t.objective, "tb");
  EXPECT_EQ(t.batch, 16);
  EXPECT_EQ(t.iterations, 1000);
  EXPECT_EQ(t.seed, 4444);
  EXPECT_EQ(t.evalEvery, 100);
  EXPECT_EQ(t.optimizer.name, "adam");
  ASSERT_EQ(t.groupOverrides.count("logZ"), 1u);
  EXPECT_FLOAT_EQ(t.groupOverrides.at("logZ").args.at(0).second.scalar(), 0.1f);
}

TEST(Sema, OtherExamples) {
  auto bits = compile(test::readExample("bitseq.gfl"));
  ASSERT_TRUE(bits.ok()) << bits.messages();
  EXPECT_EQ(bits.checked.env->numActions, 2); // append(0), append(1)
  EXPECT_FALSE(bits.checked.env->hasStop);
  EXPECT_EQ(bits.checked.env->featureSize, 8 * 3 + 9);
  EXPECT_EQ(bits.checked.env->states[0].init.data,
            std::vector<double>(8, 2.0));
  EXPECT_EQ(bits.checked.findNet("pf")->inputSize, 128); // from the trunk

  auto ising = compile(test::readExample("ising.gfl"));
  ASSERT_TRUE(ising.ok()) << ising.messages();
  EXPECT_EQ(ising.checked.env->numActions, 3 * 3 * 2);
  EXPECT_EQ(ising.checked.env->featureSize, 27);
  ASSERT_EQ(ising.checked.train->objectiveArgs.size(), 1u);
  EXPECT_EQ(ising.checked.train->objectiveArgs[0].scalar(), 2.0);
}

TEST(Sema, ExpressionTypes) {
  auto c = compile(test::readExample("hypergrid.gfl"));
  ASSERT_TRUE(c.ok()) << c.messages();
  const EnvDecl &env = *c.checked.env->decl;
  // The reward block mixes float params with bool reductions: float scalar.
  EXPECT_EQ(env.reward->type, Type::floatTy());
  EXPECT_EQ(env.features->type, Type::tensorOf(ScalarKind::Float, {2, 8}));
  EXPECT_EQ(env.actions[0].guard->type, Type::boolTy());
}

TEST(Sema, ManyErrorsAreCappedAndReported) {
  std::string text;
  for (int i = 0; i < 50; ++i)
    text += "param P" + std::to_string(i) + " = nope\n";
  auto c = compile(text);
  EXPECT_EQ(c.diags->errorCount(), 20u);
  EXPECT_NE(c.messages().find("too many errors"), std::string::npos);
}

} // namespace

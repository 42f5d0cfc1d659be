//===- ParserTest.cpp - Structure of parsed .gfl programs -----------------===//

#include "FrontendTestUtil.h"

#include <gtest/gtest.h>

using namespace gfl;
using gfl::test::compile;

namespace {

const BinaryExpr &asBinary(const Expr &e) {
  EXPECT_EQ(e.kind, ExprKind::Binary);
  return static_cast<const BinaryExpr &>(e);
}

const Expr &paramValue(const test::Compiled &c, size_t i) {
  return *static_cast<const ParamDecl &>(*c.program.decls.at(i)).value;
}

TEST(Parser, Precedence) {
  auto c = compile("param A = 1 + 2 * 3 ^ 2\nparam B = -2 ^ 2\n"
                   "param C = 1 < 2 and not 3 > 4 or false",
                   /*runSema=*/false);
  ASSERT_TRUE(c.ok()) << c.messages();
  // 1 + (2 * (3 ^ 2))
  const auto &a = asBinary(paramValue(c, 0));
  EXPECT_EQ(a.op, BinaryOp::Add);
  EXPECT_EQ(asBinary(*a.rhs).op, BinaryOp::Mul);
  EXPECT_EQ(asBinary(*asBinary(*a.rhs).rhs).op, BinaryOp::Pow);
  // -(2 ^ 2)
  const Expr &b = paramValue(c, 1);
  ASSERT_EQ(b.kind, ExprKind::Unary);
  EXPECT_EQ(static_cast<const UnaryExpr &>(b).operand->kind, ExprKind::Binary);
  // ((1 < 2) and (not (3 > 4))) or false
  const auto &o = asBinary(paramValue(c, 2));
  EXPECT_EQ(o.op, BinaryOp::Or);
  EXPECT_EQ(asBinary(*o.lhs).op, BinaryOp::And);
}

TEST(Parser, PowerIsRightAssociative) {
  auto c = compile("param A = 2 ^ 3 ^ 2", false);
  ASSERT_TRUE(c.ok()) << c.messages();
  const auto &p = asBinary(paramValue(c, 0));
  EXPECT_EQ(p.lhs->kind, ExprKind::IntLit);
  EXPECT_EQ(asBinary(*p.rhs).op, BinaryOp::Pow);
}

TEST(Parser, NewlineEndsAnExpressionOutsideBrackets) {
  // `- 1` on its own line does not continue `let a = 2`: it becomes the
  // block's value, so the trailing `a` is an error.
  auto bad = compile("env e {\n  reward {\n    let a = 2\n    - 1\n    a\n"
                     "  }\n}",
                     false);
  EXPECT_FALSE(bad.ok());
  // Inside parentheses a line break is only whitespace.
  auto good = compile("param A = (1\n  - 1)", false);
  EXPECT_TRUE(good.ok()) << good.messages();
}

TEST(Parser, ComprehensionAndCall) {
  auto c = compile("param A = sum(i in 0..3, j in 0..2: i * j) + max(1, 2)",
                   false);
  ASSERT_TRUE(c.ok()) << c.messages();
  const auto &add = asBinary(paramValue(c, 0));
  ASSERT_EQ(add.lhs->kind, ExprKind::Reduce);
  const auto &r = static_cast<const ReduceExpr &>(*add.lhs);
  EXPECT_EQ(r.func.name, "sum");
  ASSERT_EQ(r.iters.size(), 2u);
  EXPECT_EQ(r.iters[1].name.name, "j");
  ASSERT_EQ(add.rhs->kind, ExprKind::Call);
  EXPECT_EQ(static_cast<const CallExpr &>(*add.rhs).args.size(), 2u);
}

TEST(Parser, ExamplesParseWithRanges) {
  for (const char *name : {"hypergrid.gfl", "bitseq.gfl", "ising.gfl"}) {
    auto c = compile(test::readExample(name), false);
    ASSERT_TRUE(c.ok()) << name << "\n" << c.messages();
    for (const auto &d : c.program.decls)
      EXPECT_TRUE(d->range.isValid()) << name;
  }
}

TEST(Parser, ConfigCallsTakeKeywordArguments) {
  auto c = compile(test::readExample("hypergrid.gfl"), false);
  ASSERT_TRUE(c.ok()) << c.messages();
  const TrainDecl *train = nullptr;
  for (const auto &d : c.program.decls)
    if (d->kind == DeclKind::Train)
      train = static_cast<const TrainDecl *>(d.get());
  ASSERT_NE(train, nullptr);
  const TrainItem *opt = nullptr;
  for (const TrainItem &i : train->items)
    if (i.key.name == "optimizer")
      opt = &i;
  ASSERT_NE(opt, nullptr);
  const auto &call = static_cast<const CallExpr &>(*opt->value);
  ASSERT_EQ(call.args.size(), 1u);
  ASSERT_TRUE(call.args[0].keyword.has_value());
  EXPECT_EQ(call.args[0].keyword->name, "lr");
  ASSERT_EQ(opt->overrides.size(), 1u);
  EXPECT_EQ(opt->overrides[0].group.name, "logZ");
}

TEST(Parser, RecoversAndReportsSeveralErrors) {
  auto c = compile("param = 1\nparam B = 2 +\nparam C = )\nparam D = 4",
                   false);
  EXPECT_EQ(c.diags->errorCount(), 3u) << c.messages();
}

TEST(Parser, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "param A = " + std::string(100000, '(') + "1" +
                     std::string(100000, ')');
  auto c = compile(deep, false);
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.messages().find("nested too deeply"), std::string::npos);
}

} // namespace
